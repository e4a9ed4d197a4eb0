"""Live input: a sound card's signal in, pictures out as soon as they can be drawn.

There is no future to wait for here: the control path (low-latency mode) turns each captured
block into ws, synthesis always draws the newest planned frame (skipping older ones), and the
window shows each picture as soon as it is ready. Every shown frame can be logged with the times
of its stages, measured on one monotonic clock:

    captured  the frame's audio reached the sound card (from the input stream's callbacks)
    planned   its ws were known (the block arrived and went through the control path)
    drawn     synthesis finished its picture
    shown     the buffer swap returned
"""

from __future__ import annotations

import logging
import time
from collections import deque
from pathlib import Path
from typing import TextIO

import numpy as np

from ..audio.sources import DeviceSource
from ..engine import Engine, Frame
from .player import recent_rate
from .window import Window

log = logging.getLogger(__name__)

STATS_EVERY = 1.0


class LivePlayer:
    """Shows the engine's newest frames until the user quits, the input fails or stop() is called."""

    def __init__(self, engine: Engine, source: DeviceSource, window: Window, frame_log: Path | None = None,
                 stats: bool = False, reseed=None, stage=None) -> None:
        self.engine, self.source, self.window = engine, source, window
        self.stage = stage  # a StageLink: OSC / MIDI control (the analysis thread applies its values)
        self.frame_log, self.stats_on, self.reseed = frame_log, stats, reseed
        self.stopped_by: int | None = None
        self.shown = 0
        self.latencies: deque[float] = deque(maxlen=512)
        self._shown_times: deque[float] = deque(maxlen=512)
        self._next_stats = 0.0
        self._log: TextIO | None = None
        self._seed_rng = np.random.default_rng()

    def stop(self, signum: int) -> None:
        """Called from a signal handler: end the loop at its next pass."""
        self.stopped_by = signum

    def run(self) -> int:
        if self.frame_log is not None:
            self._log = open(self.frame_log, "w", encoding="utf-8", buffering=1)
            self._log.write("index,time,captured,planned,drawn,shown,latency\n")
        try:
            return self._loop()
        finally:
            self.engine.close(0.3)
            if self._log is not None:
                self._log.close()

    def _loop(self) -> int:
        while self.stopped_by is None:
            for action in self.window.events():
                if action == "quit":
                    return 0
                if action == "fullscreen":
                    self.window.toggle_fullscreen()
                elif action == "stats":
                    self.stats_on = not self.stats_on
                    if not self.stats_on:
                        self.window.set_overlay(None)
                elif action == "seed" and self.reseed is not None:
                    seed = int(self._seed_rng.integers(2**31))
                    self.reseed(seed)
                    log.info("new seed %d", seed)
            if self.stage is not None:
                for action in self.stage.actions():
                    if action.name == "pause":
                        log.info("pause is not available on live input")
            frame = self.engine.take(float("inf"))
            if frame is not None:
                self.window.show(frame.image)
                self.window.swap()
                self._shown(frame, time.monotonic())
            elif self.engine.ended:
                return 0
            self._stats()
            if frame is None:
                time.sleep(0.004)
        return 128 + self.stopped_by

    def _shown(self, frame: Frame, shown: float) -> None:
        self.shown += 1
        self._shown_times.append(shown)
        captured = self.source.captured_at(round(frame.time * self.source.sample_rate))
        if captured is None:
            return
        latency = shown - captured
        self.latencies.append(latency)
        if self._log is not None:
            self._log.write(f"{frame.index},{frame.time:.6f},{captured:.6f},{frame.planned_at:.6f},"
                            f"{frame.drawn_at:.6f},{shown:.6f},{latency:.6f}\n")

    def stats_line(self) -> str:
        fps = recent_rate(self._shown_times)
        lat = np.array(self.latencies) * 1000 if self.latencies else np.zeros(1)
        s = self.engine.stats
        return (f"{fps:.1f} fps | skipped {s.frames_skipped} | input to screen {np.median(lat):.0f} ms median, "
                f"{np.percentile(lat, 95):.0f} ms p95 | draw {s.draw_seconds * 1000:.0f} ms | "
                f"input backlog {self.source.backlog * 1000:.0f} ms, skipped {self.source.skipped / self.source.sample_rate:.1f} s")

    def _stats(self) -> None:
        now = time.monotonic()
        if now < self._next_stats or not (self.stats_on or self.stage is not None):
            return
        self._next_stats = now + STATS_EVERY
        if self.stage is not None:
            self.stage.send_state(recent_rate(self._shown_times))
        if not self.stats_on:
            return
        line = self.stats_line()
        self.window.set_overlay(line)
        log.info("%s", line)
