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


GROUPS = ("coarse", "middle", "fine")
DIRECTIONS = 8  # principal directions of W a route may move along (the model's top ones, by variance)

TARGETS: dict[str, Target] = {t.name: t for t in [
    Target("y", (0.0, 10.0), "how far the audio moves w from the centre (units of Z_std)"),
    Target("c", (0.0, 2.0), "leaky-tanh slope: loud outliers keep pushing"),
    Target("onset/strength", (0.0, 10.0), "how much onsets switch between the two projections"),
    Target("chroma/strength", (0.0, 1.0), "blend of the pitch means into the centre"),
    *(Target(f"smoothing/{group}", (0.0, 10.0), f"seconds averaged for the {group} layers") for group in GROUPS),
    Target("truncation", (0.0, 2.0), "truncation psi: 0 the average image, 1 untruncated"),
    *(Target(f"truncation/{group}", (-2.0, 2.0), f"added to truncation psi in the {group} layers") for group in GROUPS),
    *(Target(f"direction/{k}", (-20.0, 20.0), f"move w along W's principal direction {k}, in its standard deviations")
      for k in range(1, DIRECTIONS + 1)),
    *(Target(f"direction/{k}/{group}", (-20.0, 20.0), f"principal direction {k}, in the {group} layers only")
      for k in range(1, DIRECTIONS + 1) for group in GROUPS),
    Target("seed/mix", (0.0, 1.0), "crossfade towards the look of the preset's second seed ([modulation] seed_b)"),
    Target("transform/x", (-10.0, 10.0), "StyleGAN3: move the picture right, in units of its own size"),
    Target("transform/y", (-10.0, 10.0), "StyleGAN3: move the picture down, in units of its own size"),
    Target("transform/rotate", (-360.0, 360.0), "StyleGAN3: turn the picture counter-clockwise, degrees"),
    *(Target(f"noise/{group}", (0.0, 10.0), f"StyleGAN2: strength of the noise in the {group} layers (1: as trained)")
      for group in GROUPS),
    Target("bend/x", (-1.0, 1.0), "move the feature maps at the bent block right, in units of their width"),
    Target("bend/y", (-1.0, 1.0), "move the feature maps at the bent block down, in units of their height"),
    Target("bend/rotate", (-360.0, 360.0), "turn the feature maps at the bent block counter-clockwise, degrees"),
    Target("bend/zoom", (-3.0, 3.0), "zoom into the feature maps at the bent block: 2^zoom times"),
    Target("effect/flash", (-1.0, 1.0), "towards white (above 0) or black (below): 1 is all white"),
    Target("effect/hue", (-180.0, 180.0), "turn the picture's hues, degrees"),
    Target("effect/mirror", (0.0, 1.0), "fade to the picture mirrored about its vertical middle"),
    Target("effect/kaleidoscope", (0.0, 1.0), "fade to a six-fold kaleidoscope of the picture"),
    Target("effect/zoom", (-1.0, 3.0), "zoom into the finished picture: 2^zoom times (mirrored at the edges)"),
    Target("effect/feedback", (0.0, 0.98), "trails: the share of the previous picture kept in each new one"),
]}
MAPPING_TARGETS = {"y": "y", "c": "c", "onset/strength": "onset_strength",
                   "chroma/strength": "chroma_strength"}  # target → the LAV mapping's coefficient it moves
SMOOTHING_TARGETS = tuple(f"smoothing/{group}" for group in GROUPS)
TRUNCATION_TARGETS = ("truncation", *(f"truncation/{group}" for group in GROUPS))
TRANSFORM_TARGETS = ("transform/x", "transform/y", "transform/rotate")
NOISE_TARGETS = tuple(f"noise/{group}" for group in GROUPS)
BEND_TARGETS = ("bend/x", "bend/y", "bend/rotate", "bend/zoom")
EFFECT_TARGETS = ("effect/flash", "effect/hue", "effect/mirror", "effect/kaleidoscope", "effect/zoom",
                  "effect/feedback")
PICTURE = (*TRANSFORM_TARGETS, *NOISE_TARGETS, *BEND_TARGETS, "bend/block", *EFFECT_TARGETS)
"""What every frame carries besides its ws, in this order: the controls the synthesis device applies while drawing
it (a route target each but 'bend/block', the resolution whose feature maps are bent, which a preset sets)."""
PICTURE_NEUTRAL = dict.fromkeys(PICTURE, 0.0) | dict.fromkeys(NOISE_TARGETS, 1.0) | {"bend/block": 16.0}
_BLOCK = PICTURE.index("bend/block")


def blend_pictures(a: np.ndarray, b: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    """Picture controls [..., len(PICTURE)] faded from a to b by alpha (per row, or one for all): linearly, but for
    the block bent, which is the heavier side's (a resolution has no in-between)."""
    alpha = np.asarray(alpha, np.float64)
    weight = alpha[..., None] if alpha.ndim else alpha
    out = (1 - weight) * a + weight * b
    out[..., _BLOCK] = np.where(alpha >= 0.5, b[..., _BLOCK], a[..., _BLOCK])
    return out
