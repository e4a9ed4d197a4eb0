"""The engine: planned frames in, finished frames out, with each stage in its own thread.

    plan ─▶ [analysis thread] frames with their ws (TrackPlan: source → ControlPath → ControlTrack) ─▶ ws queue
         ─▶ [synthesis thread] Synthesizer, in batches ─▶ frame queue ─▶ sink (the caller's thread)

Render, play and live all run this; only the plan, the sink and the clock differ. A plan is any
iterable of frames with their ws: one track (TrackPlan), or a playlist with crossfades (the
player's). Frame i of a track is presented at exactly i / fps seconds from the start of its
audio, whatever the block size, so the same track gives the same ws in every mode. Both queues
are bounded: the plan runs at most `ahead_frames` frames ahead of synthesis, synthesis at most a
few batches ahead of the sink, and memory does not grow with the length of the track.

With a `clock` (play, live), the synthesis thread skips frames that would be late on that clock
by the time they are drawn (it keeps a running estimate of its draw time), and the sink takes
frames with `take(now)`, which never waits and drops frames whose successor is already due.
Without one (render) every frame is drawn, in order, and the sink iterates `frames()`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import torch

from .errors import LavliveError
from .frames import Synthesizer
from .lav.control import ControlPath
from .lav.timeline import ControlTrack, frame_time

log = logging.getLogger(__name__)
_END = object()  # sentinel: the stream is over
RENDER_BLOCK_SECONDS = 0.5  # offline: large blocks are cheapest per second of audio (benchmarks/control_path.py)


@dataclass
class Frame:
    index: int
    time: float  # presentation time in seconds from the start of the audio
    ws: np.ndarray  # [num_ws, w_dim]
    image: np.ndarray | torch.Tensor | None = None  # [H, W, 3] uint8
    synthesizer: Synthesizer | None = None  # draws this frame; None: the engine's
    blend: Frame | None = None  # a second picture dissolved over this one (a crossfade between models)
    alpha: float = 0.0  # weight of `blend`
    onset: float = 0.0  # percussive onset strength at its time, in [0, 1]
    beats: int = 0  # beats detected up to its time (counting on through a show: a rise is a new beat)
    beat_time: float | None = None  # audio time of the newest of those beats (live: click-to-picture latency)
    switch: float = 1.0  # weight of the look a seed or preset switch went to last (0 → 1 while it fades in)
    planned_at: float = 0.0  # time.monotonic() when its ws were known
    drawn_at: float = 0.0  # time.monotonic() when its picture was ready


@dataclass
class EngineStats:
    frames_planned: int = 0  # frames whose ws are known
    frames_drawn: int = 0
    frames_skipped: int = 0  # would have been late on the clock: never drawn
    frames_dropped: int = 0  # drawn, but a newer frame was already due when the sink took them
    draw_seconds: float = 0.0  # running estimate of one frame's synthesis time
    draw_jitter: float = 0.0  # running mean of its deviation
    errors: list[BaseException] = field(default_factory=list)


class TrackPlan:
    """One track's frames: audio blocks through the control path, ws read off at frame i / fps.

    Frames i < round(duration · fps) exist; the last ones are clamped to the last control frame.
    `audio_seconds` grows as blocks are read; `duration` is known once the source is exhausted.

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
        self.track = ControlTrack(path.frame_rate, capacity=int(path.frame_rate * 2) + 4)
        self.cues = ControlTrack(path.frame_rate, capacity=self.track.capacity)  # onset, beats, switch (ControlPath.cues)
        self.next = 0  # the next frame to plan
        if state is not None:
            self._load_state(state)

    def state(self) -> dict:
        """The plan between two blocks (e.g. in `before_block`), for a segment to resume from."""
        keep = int(np.floor(frame_time(self.next, self.fps) * self.track.frame_rate))  # the oldest still read

        def held(track: ControlTrack) -> dict:
            first = min(max(track.first, keep), track.count)
            return {"first": first, "frames": np.array(track.frames[first - track.first:])}

        return {"path": self.path.state(), "track": held(self.track), "cues": held(self.cues),
                "next": self.next, "samples": self.samples, "sample_rate": self.sample_rate, "fps": str(self.fps)}

    def _load_state(self, state: dict) -> None:
        if state["sample_rate"] != self.sample_rate or Fraction(state["fps"]) != self.fps:
            raise LavliveError(f"snapshot is of a plan at {state['sample_rate']} Hz and {state['fps']} fps, "
                               f"not {self.sample_rate} Hz and {self.fps} fps")
        self.path.load_state(state["path"])
        for track, held in ((self.track, state["track"]), (self.cues, state["cues"])):
            track.__init__(track.frame_rate, track.capacity, start=int(held["first"]))
            track.extend(held["frames"])
        self.next, self.samples = int(state["next"]), int(state["samples"])
        self.audio_seconds = self.samples / self.sample_rate

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
            yield self._plan(min(frame_time(self.next, self.fps), self.track.end_time))

    def _advance(self, ws: np.ndarray, cues: np.ndarray, limit: int) -> Iterator[Frame]:
        """Add control frames to the track, planning every frame below `limit` they reach.

        In chunks of half the track's capacity, so a large block never pushes out control frames
        that frames still to be planned need."""
        step = max(1, self.track.capacity // 2)
        for i in range(0, len(ws), step):
            self._extend(slice(i, i + step), ws, cues)
            while self.next < limit and frame_time(self.next, self.fps) <= self.track.end_time:
                yield self._plan(frame_time(self.next, self.fps))

    def _extend(self, part: slice, ws: np.ndarray, cues: np.ndarray) -> None:
        """Add `part` of the control frames the path just emitted to the tracks frames are read from."""
        self.track.extend(ws[part])
        self.cues.extend(cues[part])

    def _plan(self, t: float) -> Frame:
        onset, beats, switch = self.cues.sample(t)
        frame = Frame(self.next, frame_time(self.next, self.fps), self.track.sample(t), onset=float(onset),
                      beats=int(beats), beat_time=self.path.beat_time(int(beats)), switch=float(switch))
        self.next += 1
        return frame


class EngineStopped(Exception):
    """Raised inside worker threads to unwind when the engine is closed."""


class Engine:
    """Run a plan (an iterable of frames with their ws) through synthesis, in worker threads.

    `synthesizer` draws frames that do not name their own (it may be None if every frame does)."""

    def __init__(self, plan: Iterable[Frame], synthesizer: Synthesizer | None, batch: int = 1,
                 clock: Callable[[], float] | None = None, ahead_frames: int = 64, analysis_threads: int = 1,
                 synthesis_threads: int | None = None, max_lead: float = 0.5, newest: bool = False) -> None:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self.plan, self.synthesizer, self.batch, self.clock = plan, synthesizer, batch, clock
        self.analysis_threads = analysis_threads
        self.synthesis_threads = synthesis_threads or torch.get_num_threads()
        self.max_lead = max_lead  # seconds: a draw-time estimate never makes it skip further ahead than this
        self.newest = newest  # live input: always draw the newest planned frame, skipping any older ones
        self._warm: set[int] = set()  # synthesizers that have drawn once (their first draw is not timed)
        self.stats = EngineStats()
        self._ws: queue.Queue = queue.Queue(maxsize=max(ahead_frames, batch))
        self._frames: queue.Queue = queue.Queue(maxsize=2 * batch + 2)
        self._next: Frame | None = None  # taken from the frame queue but not yet due (take())
        self._ended = False  # the frame queue's end was reached
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._guard, args=(self._analyse, self._ws), name="lavlive-analysis",
                                          daemon=True),
                         threading.Thread(target=self._guard, args=(self._synthesise, self._frames),
                                          name="lavlive-synthesis", daemon=True)]
        self._started = False

    @classmethod
    def for_track(cls, source: Iterable[np.ndarray], path: ControlPath, synthesizer: Synthesizer, fps: Fraction,
                  before_block: Callable[[ControlPath], None] | None = None, **kw) -> Engine:
        """The engine over one track's audio blocks (at the control path's sample rate)."""
        return cls(TrackPlan(source, path, fps, before_block), synthesizer, **kw)

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Engine:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        if not self._started:
            self._started = True
            for t in self._threads:
                t.start()

    def stop(self) -> None:
        """Ask the workers to stop, without waiting (safe from a signal handler); frames() then ends."""
        self._stop.set()

    def close(self, timeout: float = 10.0) -> bool:
        """Stop the workers and wait for them; safe to call more than once. False if one is still busy."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            if t.is_alive():
                t.join(max(0.0, deadline - time.monotonic()))
            if t.is_alive():
                log.warning("%s did not stop within %.1f s", t.name, timeout)
        return not any(t.is_alive() for t in self._threads)

    # -- sinks -------------------------------------------------------------------------------

    def frames(self) -> Iterator[Frame]:
        """Finished frames in order, until the plan ends; re-raises a worker's error here."""
        self.start()
        while True:
            item = self._get(self._frames)
            if item is _END:
                self._raise_errors()
                return
            yield item

    def take(self, now: float) -> Frame | None:
        """The newest finished frame due at `now` (time <= now), without waiting; None if none is.

        Older due frames are dropped (counted), so a sink that fell behind catches up at once
        instead of showing a backlog late. Re-raises a worker's error."""
        self.start()
        due = None
        while True:
            if self._next is None:
                try:
                    item = self._frames.get_nowait()
                except queue.Empty:
                    break
                if item is _END:
                    self._ended = True
                    self._raise_errors()
                    break
                self._next = item
            if self._next.time > now:
                break
            if due is not None:
                self.stats.frames_dropped += 1
            due, self._next = self._next, None
        if due is None and not self._ended and self.stats.errors and not any(t.is_alive() for t in self._threads):
            self._ended = True
            self._raise_errors()
        return due

    @property
    def next_time(self) -> float | None:
        """Presentation time of the next finished frame not yet due, if one is waiting."""
        return None if self._next is None else self._next.time

    @property
    def ended(self) -> bool:
        """True once take() has handed out the last frame of the plan."""
        return self._ended and self._next is None

    def queue_depths(self) -> tuple[int, int]:
        """(planned frames waiting for synthesis, finished frames waiting for the sink)."""
        return self._ws.qsize(), self._frames.qsize() + (self._next is not None)

    def _raise_errors(self) -> None:
        if self.stats.errors:
            self.stop()
            raise self.stats.errors[0]

    # -- workers -----------------------------------------------------------------------------

    def _guard(self, work: Callable[[], None], out: queue.Queue) -> None:
        """Run a worker; on any error, record it and end the stream so the sink sees it."""
        try:
            work()
        except EngineStopped:
            return
        except BaseException as e:  # noqa: BLE001 - handed to the consumer thread
            self.stats.errors.append(e)
            try:
                self._put(out, _END)
            except EngineStopped:
                pass

    def _put(self, q: queue.Queue, item: object) -> None:
        while True:
            if self._stop.is_set():
                raise EngineStopped
            try:
                q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _get(self, q: queue.Queue) -> object:
        while True:
            try:
                return q.get(timeout=0.1)
            except queue.Empty:
                if self._stop.is_set():
                    return _END
                if self.stats.errors and not any(t.is_alive() for t in self._threads):
                    return _END

    def _analyse(self) -> None:
        torch.set_num_threads(self.analysis_threads)  # leave the cores to synthesis
        for frame in self.plan:
            if self._stop.is_set():
                raise EngineStopped
            frame.planned_at = time.monotonic()
            self._put(self._ws, frame)
            self.stats.frames_planned = frame.index + 1
        self._put(self._ws, _END)

    def _newest(self, item: Frame) -> tuple[Frame, bool]:
        """The newest planned frame waiting (older ones are skipped), and whether the plan ended."""
        while True:
            try:
                nxt = self._ws.get_nowait()
            except queue.Empty:
                return item, False
            if nxt is _END:
                return item, True
            self.stats.frames_skipped += 1
            item = nxt

    def _late(self, frame: Frame) -> bool:
        """Would this frame be late if drawn now? (Only with a clock.)"""
        s = self.stats  # aim for a frame that is ready in time in all but the slowest draws
        lead = min(s.draw_seconds + 2 * s.draw_jitter, self.max_lead)
        return self.clock is not None and frame.time < self.clock() + lead

    def _synthesise(self) -> None:
        torch.set_num_threads(self.synthesis_threads)
        ended = False
        while not ended:
            batch: list[Frame] = []
            while len(batch) < self.batch:
                item = self._get(self._ws)
                if item is _END:
                    if self._stop.is_set():
                        raise EngineStopped
                    ended = True
                    break
                if self.newest:
                    item, ended = self._newest(item)  # on END, this last frame is still drawn
                if self._late(item):
                    self.stats.frames_skipped += 1
                    continue
                batch.append(item)
                if self.clock is not None or item.synthesizer is not None or item.blend is not None:
                    break  # on a clock, or a frame of its own: draw each frame as soon as its ws is known
            if not batch:
                continue
            started = time.perf_counter()
            self._draw(batch)
            self._time_draw(batch, time.perf_counter() - started)
            done = time.monotonic()
            for frame in batch:
                frame.drawn_at = done
                self._put(self._frames, frame)
            self.stats.frames_drawn += len(batch)
        self._put(self._frames, _END)

    def _time_draw(self, batch: list[Frame], seconds: float) -> None:
        """Update the draw-time estimate, except for a synthesizer's first draw (warm-up, not typical)."""
        used = {id(f.synthesizer or self.synthesizer) for f in batch} | \
            {id(f.blend.synthesizer) for f in batch if f.blend is not None}
        if not used <= self._warm:
            self._warm |= used
            return
        per_frame = seconds / len(batch)
        s, first = self.stats, self.stats.draw_seconds == 0
        s.draw_jitter = 0.0 if first else 0.8 * s.draw_jitter + 0.2 * abs(per_frame - s.draw_seconds)
        s.draw_seconds = per_frame if first else 0.8 * s.draw_seconds + 0.2 * per_frame

    def _draw(self, batch: list[Frame]) -> None:
        if len(batch) > 1 and any(f.synthesizer is not None or f.blend is not None for f in batch):
            for frame in batch:  # frames with their own synthesizer are drawn one by one
                self._draw([frame])
            return
        first = batch[0]
        synthesizer = first.synthesizer or self.synthesizer
        images = synthesizer(np.stack([f.ws for f in batch]), first.index)  # ready on return, also on CUDA
        for frame, image in zip(batch, images):
            frame.image = image
        if first.blend is not None:
            self._draw([first.blend])
