"""A playlist's frames: tracks laid out on one timeline of output samples, seen as they are heard.

Track k sounds over samples [start_k, end_k) of the stream sent to the sound card; consecutive
tracks overlap by their crossfade (0: gapless, sample-exact). The player's feeder decides where
each track starts, because only decoding tells a track's exact length, and publishes that as
`slots` (a `Timeline`). The plan, run in the engine's analysis thread, follows the slots: for each
frame time it reads ws off the tracks sounding then and crossfades them in W, or, when the two
tracks use different models, hands both to synthesis for a cross-dissolve in the window.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from ..audio.sources import FileSource
from ..control import ControlPath, ControlTrack, frame_time, smoothstep
from ..modulation import PICTURE, PICTURE_NEUTRAL, blend_pictures
from ..stage import StageLink
from .frame import Frame
from .model import Model

log = logging.getLogger(__name__)

ANALYSIS_BLOCK_SECONDS = 0.25  # control path blocks: large is cheaper; the plan runs ahead anyway
MIN_VISUAL_CROSSFADE = 0.5  # seconds; even a gapless switch blends the pictures this long
POLL = 0.005


class Excerpt(Protocol):
    """What a track plays: a part of an audio file (a playlist entry)."""

    path: Path
    start: float

    @property
    def duration(self) -> float | None: ...

    @property
    def name(self) -> str: ...


@dataclass
class Track:
    """A playlist entry made ready: its model, a fresh control path, and its audio opened."""

    entry: Excerpt
    position: int  # in the play order, counting on across passes when looping
    model: Model
    path: ControlPath | None
    preset: str
    audio: Iterator[np.ndarray] | None  # [channels, n] blocks at the device rate, first block already decoded
    duration: float | None  # what the file's header says: for the log line only (the timeline counts decoded samples)

    def release(self) -> None:
        """Drop what only playing needs (the control path holds an encoder): a kiosk runs for months."""
        self.path = self.audio = None

    def describe(self) -> str:
        length = f", {int(self.duration // 60)}:{self.duration % 60:04.1f}" if self.duration else ""
        model = "default" if self.model.source.path is None else self.model.describe()
        return f"{self.entry.name} (preset {self.preset}, model {model}{length})"


@dataclass
class Slot:
    """Where a track sounds on the timeline, in output samples from the show's start."""

    track: Track
    start: int
    end: int | None = None  # known once the track is decoded to its end


class Slots:
    """A show's slots by number, 0, 1, … for as long as it runs, keeping only the latest: a kiosk's show goes on
    for months. The feeder appends; the plan forgets the ones the picture has left `KEEP_SLOTS` tracks behind
    (the sound is never that far behind the picture). Thread-safe."""

    def __init__(self) -> None:
        self.first = 0  # the number of the oldest slot kept
        self._kept: list[Slot] = []
        self._lock = threading.Lock()

    def append(self, slot: Slot) -> None:
        with self._lock:
            self._kept.append(slot)

    def __len__(self) -> int:
        """Slots so far, forgotten ones included: the number the next one gets."""
        with self._lock:
            return self.first + len(self._kept)

    def __getitem__(self, k: int) -> Slot:
        with self._lock:
            if k < 0:
                k += self.first + len(self._kept)
            if not self.first <= k < self.first + len(self._kept):
                raise IndexError(f"slot {k} is not kept (slots {self.first} to {self.first + len(self._kept) - 1})")
            return self._kept[k - self.first]

    def __iter__(self) -> Iterator[Slot]:
        with self._lock:
            return iter(list(self._kept))

    def newest_first(self) -> list[tuple[int, Slot]]:
        with self._lock:
            return [(self.first + i, slot) for i, slot in reversed(list(enumerate(self._kept)))]

    def forget_before(self, k: int) -> None:
        with self._lock:
            drop = min(k - self.first, len(self._kept) - 1)  # the newest is always kept
            if drop > 0:
                del self._kept[:drop]
                self.first += drop


KEEP_SLOTS = 8  # slots kept behind the one on screen


class Timeline(Protocol):
    """Where each track sounds, published while the audio is written (the player's feeder)."""

    rate: int  # output samples per second
    slots: Slots  # numbered from 0 for the whole show; only the latest are kept
    safe_until: float  # samples: every track that starts before this is in `slots`
    finished: bool  # every track is written; the last slot's end is the end of the show
    error: BaseException | None


class TrackVisuals:
    """One track's control path run over its audio at the encoder's rate; ws and cues at any local time."""

    def __init__(self, track: Track, before_block: Callable[[ControlPath], None] | None = None) -> None:
        self.track = track
        self.before_block = before_block  # a replay applying the show's changes where the show did (render/replay.py)
        self.control = ControlTrack(track.path.frame_rate, capacity=int(track.path.frame_rate * 4) + 4)
        self.cues = ControlTrack(track.path.frame_rate, capacity=self.control.capacity)  # ControlPath.cues
        self.source: Iterator[np.ndarray] | None = None
        self.done = False

    def _open(self) -> Iterator[np.ndarray]:
        path, entry = self.track.path, self.track.entry
        rate = path.encoder.sample_rate
        return iter(FileSource(entry.path, rate, path.encoder.channels, block_size=int(ANALYSIS_BLOCK_SECONDS * rate),
                               start=entry.start, duration=entry.duration))

    def at(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """ws and cues (ControlPath.CUES) at `t` seconds into the track, clamped to its first and last control
        frames."""
        while not self.done and (self.control.count == 0 or self.control.end_time < t):
            try:
                if self.source is None:
                    self.source = self._open()
                block = next(self.source, None)
                path = self.track.path
                if self.before_block is not None:
                    self.before_block(path)
                ws = path.flush() if block is None else path.push(block)
                self.done = block is None
            except Exception as e:  # noqa: BLE001 - a damaged (or vanished) file freezes its picture; the show goes on
                log.warning("%s: analysis stopped (%s)", self.track.entry.path, e)
                self.done = True
                continue
            self.control.extend(ws)
            self.cues.extend(path.cues)
        if self.control.count == 0:
            return (np.zeros((self.track.model.G.num_ws, self.track.model.G.w_dim), np.float32),
                    np.array([0.0, 0.0, 1.0, *(PICTURE_NEUTRAL[name] for name in PICTURE)]))  # ControlPath.CUES
        t = min(max(t, self.control.first / self.control.frame_rate), self.control.end_time)
        return self.control.sample(t), self.cues.sample(t)


class SetlistPlan:
    """Frames on the show's timeline (frame i at i / fps), following its slots."""

    def __init__(self, timeline: Timeline, fps: Fraction, stage: StageLink | None = None) -> None:
        self.timeline, self.fps = timeline, Fraction(fps)
        self.stage = stage  # a StageLink (keys, OSC, MIDI), applied to the paths on screen before each frame
        self.rate = timeline.rate
        self._visuals: dict[int, TrackVisuals] = {}  # by slot number
        self._beats_before = 0  # added to the beats of the track on screen, so the count never jumps
        self._beats = 0  # beats counted up to the last frame
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def visuals(self, k: int) -> TrackVisuals:
        if k not in self._visuals:
            track = self.timeline.slots[k].track
            if self.stage is not None and track.path is not None:
                self.stage.catch_up(track.path)  # a seed or values set on stage before this track began
            self._visuals[k] = TrackVisuals(track)
        return self._visuals[k]

    def __iter__(self) -> Iterator[Frame]:
        torch.set_num_threads(1)
        current = 0  # the first slot that may still be on screen
        for i in itertools.count():
            t = frame_time(i, self.fps)
            while self.timeline.safe_until <= t * self.rate:  # wait until the timeline says what sounds at t
                if self._stop.wait(POLL):
                    return
            if self.timeline.error is not None:
                raise self.timeline.error
            slots = self.timeline.slots
            if not slots:
                return  # nothing could be played
            end = slots[-1].end
            if self.timeline.finished and end is not None and i >= round(Fraction(end, self.rate) * self.fps):
                return
            while current + 1 < len(slots) and self._fade(current)[1] <= t:
                self._visuals.pop(current, None)
                slots[current].track.release()
                current += 1
                slots.forget_before(current - KEEP_SLOTS)
                # The count carries on from the last frame: the new track's beats so far were in the fade.
                self._beats_before = self._beats - int(self._local(current, t)[2][1])
            if self.stage is not None:
                self.stage.apply_to([(v.track.path, self.timeline.slots[k].start / self.rate)
                                     for k, v in list(self._visuals.items()) if v.track.path is not None])
            yield self._frame(i, t, current)

    def _fade(self, k: int) -> tuple[float, float]:
        """The pictures' crossfade from slot k to k+1, in seconds: over their overlap, but at least
        MIN_VISUAL_CROSSFADE, so a gapless switch is not a cut. It starts where the next track does:
        the first moments of a track move fast (its smoothing is filling), and are mostly faded out."""
        slots = self.timeline.slots
        start = slots[k + 1].start / self.rate
        return start, max(slots[k].end / self.rate, start + MIN_VISUAL_CROSSFADE)

    def _local(self, k: int, t: float) -> tuple[Track, np.ndarray, np.ndarray]:
        slot = self.timeline.slots[k]
        return slot.track, *self.visuals(k).at(t - slot.start / self.rate)

    def _frame(self, i: int, t: float, k: int) -> Frame:
        slots = self.timeline.slots
        track, ws, (onset, beats, switch, *picture) = self._local(k, t)
        self._beats = self._beats_before + int(beats)
        cues = dict(onset=float(onset), beats=self._beats, switch=float(switch))
        picture = np.array(picture)
        if k + 1 < len(slots) and t >= (fade := self._fade(k))[0]:
            lo, hi = fade
            alpha = smoothstep((t - lo) / (hi - lo))
            nxt, ws_next, next_cues = self._local(k + 1, t)
            if nxt.model is track.model:  # same model: crossfade in W (and the picture's controls)
                ws = ((1 - alpha) * ws + alpha * ws_next).astype(ws.dtype)
                picture = blend_pictures(picture, next_cues[3:], alpha)
            else:  # another model: both pictures, dissolved in the window
                return Frame(i, t, ws, synthesizer=track.model.synthesizer, alpha=alpha, picture=picture,
                             blend=Frame(i, t, ws_next, synthesizer=nxt.model.synthesizer,
                                         picture=next_cues[3:]), **cues)
        return Frame(i, t, ws, synthesizer=track.model.synthesizer, picture=picture, **cues)
