"""The engine: planned frames in, finished frames out, with each stage in its own thread.

    plan ─▶ [analysis thread] frames with their ws (a Plan: track, segment, setlist, live) ─▶ ws queue
         ─▶ [synthesis thread] Synthesizer, in batches ─▶ frame queue ─▶ sink (the caller's thread)

Render, play and live all run this; only the plan, the sink and the clock differ (pipeline/plan.py).
Both queues are bounded: the plan runs at most `ahead_frames` frames ahead of synthesis, synthesis at
most a few batches ahead of the sink, and memory does not grow with the length of the track.

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

from ..control import ControlPath
from .frame import Frame
from .plan import Plan
from .synthesizer import Synthesizer
from .track import TrackPlan

log = logging.getLogger(__name__)
_END = object()  # sentinel: the stream is over


@dataclass
class EngineStats:
    frames_planned: int = 0  # frames whose ws are known
    frames_drawn: int = 0
    frames_skipped: int = 0  # would have been late on the clock: never drawn
    frames_dropped: int = 0  # drawn, but a newer frame was already due when the sink took them
    draw_seconds: float = 0.0  # running estimate of one frame's synthesis time
    draw_jitter: float = 0.0  # running mean of its deviation
    errors: list[BaseException] = field(default_factory=list)


class EngineStopped(Exception):
    """Raised inside worker threads to unwind when the engine is closed."""


class Engine:
    """Run a plan (frames with their ws) through synthesis, in worker threads.

    `synthesizer` draws frames that do not name their own (it may be None if every frame does)."""

    def __init__(self, plan: Plan, synthesizer: Synthesizer | None, batch: int = 1,
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
        pictures = None if any(f.picture is None for f in batch) else np.stack([f.picture for f in batch])
        images = synthesizer(np.stack([f.ws for f in batch]), first.index, pictures)  # ready on return, even on CUDA
        for frame, image in zip(batch, images):
            frame.image = image
        if first.blend is not None:
            self._draw([first.blend])
