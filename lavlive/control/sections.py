"""Following a song's sections: at each boundary (audio/sections.py) the look switches to the next seed or
preset, starting on the first bar line of the beat clock at or after it, so a change lands where a VJ would
make it. With no bar line within BAR_WAIT_SECONDS (no steady beat) it starts there anyway.

The switcher runs inside the control path on audio time, so a render, a play and a segmented render of the
same file switch on the same control frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..presets import Preset, load_preset
from ..snapshot import reading, same_settings, scalar_of

BAR_WAIT_SECONDS = 4.0


@dataclass(frozen=True)
class SectionSwitch:
    """What the j-th boundary switches to: a seed, or a preset."""

    seed: int | None = None
    preset: Preset | None = None


class SectionSwitcher:
    """Streaming: `due(times, bar_lines)` → where in this block the next switch starts and to what, or None."""

    def __init__(self, boundaries: Sequence[float], switches: Sequence[SectionSwitch], crossfade: float) -> None:
        self.boundaries = tuple(float(b) for b in boundaries)
        self.switches, self.crossfade = tuple(switches), float(crossfade)
        self.passed = 0  # boundaries switched at so far

    @classmethod
    def for_preset(cls, preset: Preset, boundaries: Sequence[float]) -> SectionSwitcher | None:
        """The switcher `preset`'s [sections] ask for (None for switch = "none"), for a song with `boundaries`."""
        s = preset.sections
        if s.switch == "none":
            return None
        count = max(1, len(boundaries))
        if s.switch == "seed":
            seeds = s.seeds or [(preset.modulation.seed + j) % 2**31 for j in range(1, count + 1)]
            switches = [SectionSwitch(seed=seed) for seed in seeds]
        else:
            switches = [SectionSwitch(preset=load_preset(name)) for name in s.presets]
        return cls(boundaries, switches, s.crossfade)

    def due(self, times: np.ndarray, bar_lines: np.ndarray) -> tuple[int, SectionSwitch] | None:
        """The frame (an index into times) where the next boundary's switch starts, if it is in this block (the
        first bar line at or after the boundary, or BAR_WAIT_SECONDS after it), and what it switches to (the
        lists taken in turn, round and round). Counts the boundary as passed."""
        if self.passed >= len(self.boundaries) or not len(times):
            return None
        boundary = self.boundaries[self.passed]
        ready = (times >= boundary) & (bar_lines | (times >= boundary + BAR_WAIT_SECONDS))
        frames = np.flatnonzero(ready)
        if not len(frames):
            return None
        switch = self.switches[self.passed % len(self.switches)]
        self.passed += 1
        return int(frames[0]), switch

    def state(self) -> dict:
        return {"boundaries": list(self.boundaries), "passed": self.passed}

    def load_state(self, state: dict) -> None:
        with reading("the section switcher"):
            same_settings({"boundaries": list(state["boundaries"])}, {"boundaries": list(self.boundaries)},
                          "a song's sections")
            self.passed = int(scalar_of(state["passed"], "the sections passed", (int, np.integer)))
