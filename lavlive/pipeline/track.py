"""One track's frames: audio blocks through the control path, ws read off at frame i / fps."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction

import numpy as np

from ..control import ControlPath, ControlTrack, frame_time
from ..errors import LavliveError
from .frame import Frame

RENDER_BLOCK_SECONDS = 0.5  # offline: large blocks are cheapest per second of audio (benchmarks/control_path.py)


class TrackPlan:
    """One track's frames: audio blocks through the control path, ws read off at frame i / fps.

    Frames i < round(duration · fps) exist; the last ones are clamped to the last control frame.
    `audio_seconds` grows as blocks are read; `duration` is known once the source is exhausted.

    While another model's look runs beside the one on screen (a live model switch), its ws are kept
    too (`beside`), from the first control frame it emitted, until `hand_over` makes it the plan's.

    Between blocks, `state()` is everything the plan needs to go on (the control path's state,
    the control frames later frames still read, the counters) as plain data; a plan made with
    that `state` over a source resumed at `state["samples"]` plans the same frames, to the bit.
    """

    def __init__(self, source: Iterable[np.ndarray], path: ControlPath, fps: Fraction,
                 before_block: Callable[[ControlPath], None] | None = None, state: dict | None = None) -> None:
        self.source, self.path, self.fps = source, path, Fraction(fps)
        self.before_block = before_block  # e.g. stage control applying its changes between blocks
        self.sample_rate = path.encoder.sample_rate
        self.samples = 0  # samples read from the source
        self.audio_seconds = 0.0
        self.duration: float | None = None
        # Control frames kept: enough for interpolation between frames even at 1 fps.
        self.control = ControlTrack(path.frame_rate, capacity=int(path.frame_rate * 2) + 4)
        self.cues = ControlTrack(path.frame_rate, capacity=self.control.capacity)  # ControlPath.cues
        self.beside: ControlTrack | None = None  # the ws of the look beside, while there is one
        self.next = 0  # the next frame to plan
        if state is not None:
            self._load_state(state)

    def state(self) -> dict:
        """The plan between two blocks (e.g. in `before_block`), for a segment to resume from."""
        keep = int(np.floor(frame_time(self.next, self.fps) * self.control.frame_rate))  # the oldest still read

        def held(track: ControlTrack) -> dict:
            first = min(max(track.first, keep), track.count)
            return {"first": first, "frames": np.array(track.frames[first - track.first:])}

        return {"path": self.path.state(), "track": held(self.control), "cues": held(self.cues),
                "next": self.next, "samples": self.samples, "sample_rate": self.sample_rate, "fps": str(self.fps)}

    def _load_state(self, state: dict) -> None:
        if state["sample_rate"] != self.sample_rate or Fraction(state["fps"]) != self.fps:
            raise LavliveError(f"snapshot is of a plan at {state['sample_rate']} Hz and {state['fps']} fps, "
                               f"not {self.sample_rate} Hz and {self.fps} fps")
        self.path.load_state(state["path"])
        self.control, self.cues = self._restored(state["track"]), self._restored(state["cues"])
        self.next, self.samples = int(state["next"]), int(state["samples"])
        self.audio_seconds = self.samples / self.sample_rate

    def _restored(self, held: dict) -> ControlTrack:
        track = ControlTrack(self.path.frame_rate, self.control.capacity, start=int(held["first"]))
        track.extend(held["frames"])
        return track

    def hand_over(self) -> None:
        """Between blocks: the look beside takes over, with the ws it has emitted so far (a model switch ends)."""
        self.path.look, self.path.beside = self.path.beside, None
        self.control, self.beside = self.beside, None

    def __iter__(self) -> Iterator[Frame]:
        for block in self.source:
            if self.before_block is not None:
                self.before_block(self.path)
            self.samples += block.shape[1]
            self.audio_seconds = self.samples / self.sample_rate
            # `samples` only grows, so this bound on the frame count is safe early.
            ws = self.path.push(block)
            yield from self._advance(ws, self.path.cues, round(Fraction(self.samples, self.sample_rate) * self.fps))
        total = round(Fraction(self.samples, self.sample_rate) * self.fps)
        ws = self.path.flush()
        yield from self._advance(ws, self.path.cues, total)
        self.duration = self.samples / self.sample_rate
        while self.next < total:  # the last frames may lie past the last control frame
            yield self._plan(min(frame_time(self.next, self.fps), self.control.end_time))

    def _advance(self, ws: np.ndarray, cues: np.ndarray, limit: int) -> Iterator[Frame]:
        """Add control frames to the tracks, planning every frame below `limit` they reach.

        In chunks of half the track's capacity, so a large block never pushes out control frames
        that frames still to be planned need."""
        step = max(1, self.control.capacity // 2)
        for i in range(0, len(ws), step):
            self._extend(slice(i, i + step), ws, cues)
            while self.next < limit and frame_time(self.next, self.fps) <= self.control.end_time:
                yield self._plan(frame_time(self.next, self.fps))

    def _extend(self, part: slice, ws: np.ndarray, cues: np.ndarray) -> None:
        """Add `part` of the control frames the path just emitted to the tracks frames are read from."""
        if self.path.beside is not None and self.beside is None:  # a look joined beside: from its first frame
            self.beside = ControlTrack(self.path.frame_rate, self.control.capacity, self.control.count)
        self.control.extend(ws[part])
        self.cues.extend(cues[part])
        if self.beside is not None:
            self.beside.extend(self.path.beside_ws[part])

    def _plan(self, t: float) -> Frame:
        onset, beats, switch, *picture = self.cues.sample(t)
        frame = Frame(self.next, frame_time(self.next, self.fps), self.control.sample(t), onset=float(onset),
                      beats=int(beats), beat_time=self.path.beat_time(int(beats)), switch=float(switch),
                      picture=np.array(picture))
        self.next += 1
        return frame
