"""What a route may move: each target's name (as OSC names the live parameter), its range and what it does.

A target's value on a frame is its base (the preset's value, or the one set live) plus what every route to it
adds, clipped to its range: routes move a look around where the hands put it, never outside what a preset
file could hold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Target:
    name: str
    range: tuple[float, float]  # inclusive
    doc: str

    @property
    def span(self) -> float:
        lo, hi = self.range
        return hi - lo

    def clipped(self, base: float, offsets: np.ndarray | None, count: int) -> np.ndarray:
        """base + offsets per frame, within range: [count] float64."""
        values = np.full(count, float(base)) if offsets is None else base + offsets
        return np.clip(values, *self.range)


TARGETS: dict[str, Target] = {t.name: t for t in [
    Target("y", (0.0, 10.0), "how far the audio moves w from the centre (units of Z_std)"),
    Target("c", (0.0, 2.0), "leaky-tanh slope: loud outliers keep pushing"),
    Target("onset/strength", (0.0, 10.0), "how much onsets switch between the two projections"),
    Target("chroma/strength", (0.0, 1.0), "blend of the pitch means into the centre"),
    Target("truncation", (0.0, 2.0), "truncation psi: 0 the average image, 1 untruncated"),
    *(Target(f"truncation/{group}", (-2.0, 2.0), f"added to truncation psi in the {group} layers")
      for group in ("coarse", "middle", "fine")),
    Target("transform/x", (-10.0, 10.0), "StyleGAN3: move the picture right, in units of its own size"),
    Target("transform/y", (-10.0, 10.0), "StyleGAN3: move the picture down, in units of its own size"),
    Target("transform/rotate", (-360.0, 360.0), "StyleGAN3: turn the picture counter-clockwise, degrees"),
]}
MAPPING_TARGETS = {"y": "y", "c": "c", "onset/strength": "onset_strength",
                   "chroma/strength": "chroma_strength"}  # target → the LAV mapping's coefficient it moves
TRUNCATION_TARGETS = ("truncation", "truncation/coarse", "truncation/middle", "truncation/fine")
TRANSFORM_TARGETS = ("transform/x", "transform/y", "transform/rotate")  # in the order frames carry them
