"""The engine: audio blocks in, finished frames out, with each stage in its own thread.

    source ─▶ [analysis thread] ControlPath → ControlTrack → ws at frame times ─▶ ws queue
          ─▶ [synthesis thread] Synthesizer, in batches ─▶ frame queue ─▶ sink (the caller's thread)

Render, play and live all run this; only the source, the sink and the clock differ. Frame i is
presented at exactly i / fps seconds from the start of the audio, whatever the block size, so
the same track gives the same ws in every mode. Both queues are bounded: the analysis runs at
most `ahead_frames` frames ahead of synthesis, synthesis at most a few batches ahead of the sink,
and memory does not grow with the length of the track.

With a `clock` (play, live), the synthesis thread skips frames whose time has already passed on
that clock instead of drawing them late; without one (render) every frame is drawn, in order.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import torch

from .frames import Synthesizer
from .lav.control import ControlPath
from .lav.timeline import ControlTrack, frame_time

log = logging.getLogger(__name__)
_END = object()  # sentinel: the stream is over


@dataclass
class Frame:
    index: int
    time: float  # presentation time in seconds from the start of the audio
    ws: np.ndarray  # [num_ws, w_dim]
    image: np.ndarray | torch.Tensor | None = None  # [H, W, 3] uint8


@dataclass
class EngineStats:
    audio_seconds: float = 0.0  # audio analysed so far
    frames_planned: int = 0  # frames whose ws are known
    frames_drawn: int = 0
    frames_skipped: int = 0  # late on the clock, never drawn
    duration: float | None = None  # audio length, known once the source is exhausted
    errors: list[BaseException] = field(default_factory=list)


class EngineStopped(Exception):
    """Raised inside worker threads to unwind when the engine is closed."""


class Engine:
    """Run the pipeline over `source` (blocks [channels, n] at the control path's sample rate)."""

    def __init__(self, source: Iterable[np.ndarray], path: ControlPath, synthesizer: Synthesizer,
                 fps: Fraction, batch: int = 1, clock: Callable[[], float] | None = None,
                 ahead_frames: int = 64, analysis_threads: int = 1, synthesis_threads: int | None = None) -> None:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self.source, self.path, self.synthesizer = source, path, synthesizer
        self.fps, self.batch, self.clock = Fraction(fps), batch, clock
        self.analysis_threads = analysis_threads
        self.synthesis_threads = synthesis_threads or torch.get_num_threads()
        self.sample_rate = path.encoder.sample_rate
        self.stats = EngineStats()
        # Control frames kept: enough for interpolation between frames even at 1 fps.
        self.track = ControlTrack(path.frame_rate, capacity=int(path.frame_rate * 2) + 4)
        self._ws: queue.Queue = queue.Queue(maxsize=max(ahead_frames, batch))
        self._frames: queue.Queue = queue.Queue(maxsize=2 * batch + 2)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._guard, args=(self._analyse, self._ws), name="lavlive-analysis",
                                          daemon=True),
                         threading.Thread(target=self._guard, args=(self._synthesise, self._frames),
                                          name="lavlive-synthesis", daemon=True)]
        self._started = False

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

    def close(self, timeout: float = 10.0) -> None:
        """Stop the workers and wait for them; safe to call more than once."""
        self._stop.set()
        for t in self._threads:
            if t.is_alive():
                t.join(timeout)
            if t.is_alive():
                log.warning("%s did not stop within %.0f s", t.name, timeout)

    def frames(self) -> Iterator[Frame]:
        """Finished frames in order, until the audio ends; re-raises a worker's error here."""
        self.start()
        while True:
            item = self._get(self._frames)
            if item is _END:
                if self.stats.errors:
                    self.stop()
                    raise self.stats.errors[0]
                return
            yield item

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
        samples = 0
        for block in self.source:
            if self._stop.is_set():
                raise EngineStopped
            samples += block.shape[1]
            self.stats.audio_seconds = samples / self.sample_rate
            # Frames i < round(duration · fps) exist; `samples` only grows, so this bound is safe early.
            self._advance(self.path.push(block), round(Fraction(samples, self.sample_rate) * self.fps))
        total = round(Fraction(samples, self.sample_rate) * self.fps)
        self._advance(self.path.flush(), total)
        self.stats.duration = samples / self.sample_rate
        while (i := self.stats.frames_planned) < total:  # the last frames may lie past the last control frame
            self._plan(i, min(frame_time(i, self.fps), self.track.end_time))
        self._put(self._ws, _END)

    def _advance(self, ws: np.ndarray, limit: int) -> None:
        """Add control frames to the track, planning every frame below `limit` they reach.

        In chunks of half the track's capacity, so a large block never pushes out control frames
        that frames still to be planned need."""
        step = max(1, self.track.capacity // 2)
        for i in range(0, len(ws), step):
            self.track.extend(ws[i:i + step])
            while (i := self.stats.frames_planned) < limit and frame_time(i, self.fps) <= self.track.end_time:
                self._plan(i, frame_time(i, self.fps))

    def _plan(self, index: int, t: float) -> None:
        ws = self.track.sample(t)
        self._put(self._ws, Frame(index, frame_time(index, self.fps), ws))
        self.stats.frames_planned = index + 1

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
                if self.clock is not None and item.time < self.clock():
                    self.stats.frames_skipped += 1
                    continue
                batch.append(item)
                if self.clock is not None:
                    break  # live: draw each frame as soon as its ws is known
            if not batch:
                continue
            images = self.synthesizer(np.stack([f.ws for f in batch]), batch[0].index)
            for frame, image in zip(batch, images):
                frame.image = image
                self._put(self._frames, frame)
            self.stats.frames_drawn += len(batch)
        self._put(self._frames, _END)
