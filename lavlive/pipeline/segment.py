"""A segment of a render: frames [first, end) of a track, resumed from a snapshot of its plan."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction
from itertools import takewhile

import numpy as np

from ..control import ControlPath
from .frame import Frame
from .track import TrackPlan


class SegmentPlan:
    """Frames [first, end) of a track, its plan resumed from `state` (None: from the top) over a source resumed
    at `state["samples"]`: the same frames, to the bit, as the whole track's plan gives there."""

    def __init__(self, source: Iterable[np.ndarray], path: ControlPath, fps: Fraction, first: int, end: int,
                 state: dict | None = None) -> None:
        self.plan = TrackPlan(source, path, fps, state=state)
        self.fps, self.first, self.end = self.plan.fps, first, end

    def __iter__(self) -> Iterator[Frame]:
        """The track's frames up to `end`, those before `first` passed over."""
        return (f for f in takewhile(lambda f: f.index < self.end, self.plan) if f.index >= self.first)
