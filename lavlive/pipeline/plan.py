"""What the engine runs: a plan, frames with their ws in order of presentation.

Frame i of a plan is presented at exactly i / fps seconds (timeline.frame_time), and its ws are read
off the control path's output at that time, so every plan gives the same ws for the same audio
whatever the block sizes. The plans:

    TrackPlan    one track: audio blocks through a control path (render, analyze)
    SegmentPlan  frames [first, end) of a track, resumed from a snapshot (a segment of a render, on Ray)
    SetlistPlan  a playlist on one timeline, with crossfades in W or dissolves between models (play)
    LivePlan     a sound card's input, with models switched on stage (live)
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Protocol

from .frame import Frame


class Plan(Protocol):
    """Frames with their ws, planned as the audio is analysed (iterated in the engine's analysis thread)."""

    fps: Fraction

    def __iter__(self) -> Iterator[Frame]: ...
