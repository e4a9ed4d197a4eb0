"""Live input: a sound card's signal in, pictures out as soon as they can be drawn.

There is no future to wait for here: the control path (low-latency mode) turns each captured
block into ws, synthesis always draws the newest planned frame (skipping older ones), and the
window shows each picture as soon as it is ready. Every shown frame can be logged with the times
of its stages, measured on one monotonic clock:

    captured  the frame's audio reached the sound card (from the input stream's callbacks)
    planned   its ws were known (the block arrived and went through the control path)
    drawn     synthesis finished its picture
    shown     the buffer swap returned
    beat_captured  the newest beat in its audio (`beats` counts them) reached the sound card: on the first
              frame of a new beat, shown − beat_captured is the click-to-picture latency
    dissolve  the weight of the model switched to, while a switch dissolves (else 0)

Switching model on stage (/lavlive/model) must not stall the picture: the checkpoint is loaded and
its statistics computed in a background thread while the old model plays on; then its look joins
the control path beside the old one (same analysis, the same running statistics) and the window
dissolves from one picture to the other over the crossfade, after which the new model takes over.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TextIO

import numpy as np
import torch

from ..audio.sources import DeviceSource
from ..engine import Engine, Frame, TrackPlan
from ..frames import Synthesizer
from ..generator import load_generator
from ..lav.control import ControlPath
from ..lav.look import Look, smoothstep
from ..lav.statistics import WStatistics, w_statistics
from ..lav.timeline import ControlTrack
from ..presets import Preset
from ..stage.link import StageLink
from .ndi_out import NdiOutput
from .player import ViewKeys, open_frame_log, recent_rate
from .setlist import MIN_VISUAL_CROSSFADE
from .window import Window

log = logging.getLogger(__name__)

STATS_EVERY = 1.0


@dataclass
class _Dissolve:
    """A model switch in progress: frames from `start` (seconds) blend to `synthesizer`'s picture of `ws`."""
    start: float
    seconds: float
    synthesizer: Synthesizer
    ws: ControlTrack  # the new model's ws, from the control frame it joined at


class LivePlan(TrackPlan):
    """The live input's frames (a TrackPlan), each naming the synthesizer that draws it, plus model
    switches: `offer` a loaded model from any thread; between two blocks it joins the control path
    beside the current one, frames dissolve to it over `seconds`, and then it is the only one."""

    def __init__(self, source: Iterable[np.ndarray], path: ControlPath, fps: Fraction, synthesizer: Synthesizer,
                 stage: StageLink) -> None:
        super().__init__(source, path, fps, before_block=self._between_blocks)
        self.stage, self.synthesizer = stage, synthesizer
        self._offered: tuple[Synthesizer, WStatistics, float] | None = None  # a loaded model, waiting for a block
        self._lock = threading.Lock()
        self._dissolve: _Dissolve | None = None

    def offer(self, synthesizer: Synthesizer, stats: WStatistics, seconds: float) -> None:
        with self._lock:
            self._offered = (synthesizer, stats, max(seconds, MIN_VISUAL_CROSSFADE))

    @property
    def switching(self) -> bool:
        """A model was offered and has not taken over yet."""
        return self._dissolve is not None or self._offered is not None

    def _between_blocks(self, path: ControlPath) -> None:
        self.stage.apply_to([(path, 0.0)])
        d = self._dissolve
        if d is not None:
            if float(self.next / self.fps) >= d.start + d.seconds:  # every frame from here shows the new model alone
                path.look, path.beside = path.beside, None
                self.track, self.synthesizer, self._dissolve = d.ws, d.synthesizer, None
            return
        with self._lock:
            offered, self._offered = self._offered, None
        if offered is not None:
            synthesizer, stats, seconds = offered
            G = synthesizer.G
            try:
                path.beside = Look.like(path.look.newest, stats, G.num_ws, G.img_resolution)
            except Exception as e:  # noqa: BLE001 - a model that does not fit is a log line, not the end of the show
                log.warning("model: %s refused (%s)", G.source.describe(), e)
                return
            start = self.track.count  # the path's next control frame is the new model's first
            self._dissolve = _Dissolve((start + 1) / path.frame_rate, seconds, synthesizer,
                                       ControlTrack(path.frame_rate, self.track.capacity, start))

    def _extend(self, part: slice, ws: np.ndarray, cues: np.ndarray) -> None:
        super()._extend(part, ws, cues)
        if self._dissolve is not None:
            self._dissolve.ws.extend(self.path.beside_ws[part])

    def _plan(self, t: float) -> Frame:
        frame = super()._plan(t)
        frame.synthesizer = self.synthesizer
        d = self._dissolve
        if d is not None and t >= d.start:
            frame.alpha = smoothstep((t - d.start) / d.seconds)
            frame.blend = Frame(frame.index, frame.time, d.ws.sample(min(t, d.ws.end_time)), synthesizer=d.synthesizer)
        return frame


class LivePlayer:
    """Shows the engine's newest frames until the user quits, the input fails or stop() is called."""

    def __init__(self, engine: Engine, source: DeviceSource, window: Window, frame_log: Path | None = None,
                 stats: bool = False, stage: StageLink | None = None, noise_mode: str = "const",
                 ndi: NdiOutput | None = None) -> None:
        self.engine, self.source, self.window, self.ndi = engine, source, window, ndi
        self.noise_mode = noise_mode  # of models switched to on stage
        self._switching = threading.Event()  # a model is loading
        self.stage = stage or StageLink(Preset())  # keys, OSC, MIDI (the analysis thread applies their values)
        self.frame_log = frame_log
        self.keys = ViewKeys(window, self.stage, stats)
        self.stage.clock = self._seen
        self.stopped_by: int | None = None
        self.shown = 0
        self.latencies: deque[float] = deque(maxlen=512)
        self._latency = 0.0  # their median, updated with the stats (read by the analysis thread)
        self._shown_times: deque[float] = deque(maxlen=512)
        self._next_stats = 0.0
        self._log: TextIO | None = None

    def stop(self, signum: int) -> None:
        """Called from a signal handler: end the loop at its next pass."""
        self.stopped_by = signum

    def run(self) -> int:
        if self.frame_log is not None:
            self._log = open_frame_log(self.frame_log)
            self._log.write("index,time,captured,planned,drawn,shown,latency,beats,beat_captured,dissolve\n")
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
                self.keys.handle(action)
            for action in self.stage.actions():
                if action.name == "model":
                    self.switch_model(action.value)
                elif action.name in ("pause", "next", "previous"):
                    log.info("%s is not available on live input", action.name)
            frame = self.engine.take(float("inf"))
            if frame is not None:
                self.window.show(frame.image, None if frame.blend is None else frame.blend.image, frame.alpha)
                self.window.swap()
                if self.ndi is not None:
                    self.ndi.send_frame(frame)
                self._shown(frame, time.monotonic())
            elif self.engine.ended:
                return 0
            self._stats()
            if frame is None:
                time.sleep(0.004)
        return 128 + self.stopped_by

    def switch_model(self, checkpoint: str | None) -> None:
        """Load `checkpoint` (None: the embedded network) in the background, then dissolve to it; a
        checkpoint that fails to load is logged and the show goes on with the model it has."""
        plan = self.engine.plan
        if self._switching.is_set() or plan.switching:
            log.info("model: a switch is still in progress; %s ignored", checkpoint or "default")
            return
        self._switching.set()
        name = checkpoint or "the embedded network"
        device = plan.synthesizer.device
        seconds = self.stage.controls.state()["crossfade"]

        def load() -> None:
            torch.set_num_threads(1)  # beside synthesis and analysis, not instead of them
            try:
                G = load_generator(checkpoint, device)
                current = plan.synthesizer
                synthesizer = Synthesizer(G, noise_mode=self.noise_mode, to_host=False, precision=current.precision,
                                          execution=current.execution)
                stats = w_statistics(G)
                synthesizer(np.repeat(stats.w_avg[None, None], G.num_ws, axis=1).astype(np.float32))  # warm up here
            except Exception as e:  # noqa: BLE001 - a bad file on stage is a log line, never the end of the show
                log.warning("model: %s refused (%s)", name, e)
                self._switching.clear()
                return
            plan.offer(synthesizer, stats, seconds)
            self._switching.clear()  # from here plan.switching says it
            log.info("model: %s ready (%s), dissolving over %.1f s", name, G.source.describe(),
                     max(seconds, MIN_VISUAL_CROSSFADE))

        log.info("model: loading %s", name)
        threading.Thread(target=load, name="lavlive-model", daemon=True).start()

    def _shown(self, frame: Frame, shown: float) -> None:
        self.shown += 1
        self._shown_times.append(shown)
        self.stage.shown(frame.onset, frame.beats)
        captured = self.source.captured_at(round(frame.time * self.source.sample_rate))
        if captured is None:
            return
        latency = shown - captured
        self.latencies.append(latency)
        if self._log is not None:
            beat = frame.beat_time
            if beat is not None:
                beat = self.source.captured_at(round(beat * self.source.sample_rate))
            self._log.write(f"{frame.index},{frame.time:.6f},{captured:.6f},{frame.planned_at:.6f},"
                            f"{frame.drawn_at:.6f},{shown:.6f},{latency:.6f},{frame.beats},"
                            f"{'' if beat is None else f'{beat:.6f}'},{frame.alpha if frame.blend else 0:.4f}\n")

    def _seen(self) -> float:
        """Seconds of input whose picture is on screen now (captured one input-to-screen latency ago), so a
        switch on a Link line is seen on the line; -inf before the input delivers."""
        start = self.source.captured_at(0)
        if start is None:
            return -float("inf")
        return time.monotonic() - start - self._latency

    def stats_line(self) -> str:
        fps = recent_rate(self._shown_times)
        lat = np.array(self.latencies) * 1000 if self.latencies else np.zeros(1)
        s = self.engine.stats
        return (f"{fps:.1f} fps | skipped {s.frames_skipped} | input to screen {np.median(lat):.0f} ms median, "
                f"{np.percentile(lat, 95):.0f} ms p95 | draw {s.draw_seconds * 1000:.0f} ms | "
                f"input backlog {self.source.backlog * 1000:.0f} ms, skipped {self.source.skipped / self.source.sample_rate:.1f} s"
                + ("" if (link := self.stage.link_status()) is None else f" | {link}"))

    def _stats(self) -> None:
        now = time.monotonic()
        if now < self._next_stats:
            return
        self._next_stats = now + STATS_EVERY
        if self.latencies:
            self._latency = float(np.median(self.latencies))
        self.stage.send_state(recent_rate(self._shown_times))
        if not self.keys.stats_on:
            return
        line = self.stats_line()
        self.window.set_overlay(line)
        log.info("%s", line)
