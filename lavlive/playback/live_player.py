"""Live input: a sound card's signal in, pictures out as soon as they can be drawn.

There is no future to wait for here: the control path (low-latency mode) turns each captured
block into ws, synthesis always draws the newest planned frame (skipping older ones), and the
display shows each picture as soon as it is ready. Every shown frame can be logged with the times
of its stages, measured on one monotonic clock:

    captured  the frame's audio reached the sound card (from the input stream's callbacks)
    planned   its ws were known (the block arrived and went through the control path)
    drawn     synthesis finished its picture
    shown     the buffer swap returned
    beat_captured  the newest beat in its audio (`beats` counts them) reached the sound card: on the first
              frame of a new beat, shown − beat_captured is the click-to-picture latency
    dissolve  the weight of the model switched to, while a switch dissolves (else 0)

Switching model on stage (/lavlive/model) must not stall the picture: the checkpoint is loaded and
its statistics computed in a background thread while the old model plays on, then offered to the
plan (pipeline/live.py), which dissolves to it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..audio.sources import DeviceSource
from ..files import FileKeeper
from ..output.display import Display
from ..output.display.ndi import NdiOutput
from ..pipeline.engine import Engine
from ..pipeline.frame import Frame
from ..pipeline.live import LivePlan
from ..pipeline.model import load_model
from ..pipeline.setlist import MIN_VISUAL_CROSSFADE
from ..pipeline.synthesizer import SynthesisOptions
from ..stage import StageLink
from .health import Health, HealthReporter, process_usage
from .presenter import FrameLog, Presenter

if TYPE_CHECKING:
    from ..web.server import WebServer
    from .recording import Recording

log = logging.getLogger(__name__)


class LivePlayer:
    """Shows the newest frames of a live plan until the user quits, the input fails or stop() is called."""

    def __init__(self, plan: LivePlan, source: DeviceSource, display: Display, stage: StageLink,
                 synthesis_threads: int = 1, frame_log: Path | None = None, stats: bool = False,
                 ndi: NdiOutput | None = None, health_file: Path | None = None, web: WebServer | None = None,
                 recording: Recording | None = None) -> None:
        self.plan, self.source, self.stage = plan, source, stage
        self.engine = Engine(plan, None, ahead_frames=8, synthesis_threads=synthesis_threads, newest=True)
        self.presenter = Presenter(display, stage, ndi, stats, web)
        self._switching = threading.Event()  # a model is loading
        self.frame_log = frame_log
        self.stage.clock = self._seen
        self.stopped_by: int | None = None
        self.latencies: deque[float] = deque(maxlen=512)
        self._latency = 0.0  # their median, updated with the stats (read by the analysis thread)
        self._log: FrameLog | None = None
        self.health_file = health_file
        self._last_frame: float | None = None  # Unix time the last frame reached the screen
        self.recording = recording  # what is shown and heard, into a video (its audio: the input, tapped by run)

    @property
    def shown(self) -> int:
        return self.presenter.shown

    def stop(self, signum: int) -> None:
        """Called from a signal handler: end the loop at its next pass."""
        self.stopped_by = signum

    def run(self) -> int:
        if self.frame_log is not None:
            self._log = FrameLog(self.frame_log,
                                 "index,time,captured,planned,drawn,shown,latency,beats,beat_captured,dissolve")
        files = FileKeeper(log.warning) if self.health_file is not None else None
        self._health = HealthReporter(self.health_file, files)
        complete = False
        try:
            code = self._loop()
            complete = self.stopped_by is None
            return code
        finally:
            self._health.close()
            if files is not None:
                files.close()
            self.engine.close(0.3)
            if self._log is not None:
                self._log.close()
            if self.recording is not None:
                self.recording.close(complete)

    def _loop(self) -> int:
        while self.stopped_by is None:
            for action in self.presenter.events():
                if action == "quit":
                    return 0
            for action in self.stage.actions():
                if action.name == "model":
                    self.switch_model(action.value)
                elif action.name in ("pause", "next", "previous"):
                    log.info("%s is not available on live input", action.name)
            frame = self.engine.take(float("inf"))
            if frame is not None:
                self.presenter.present(frame)
                self._shown(frame, time.monotonic())
            elif self.engine.ended:
                return 0
            if self.presenter.report(self.stats_line, self.figures) and self.latencies:
                self._latency = float(np.median(self.latencies))
            if self._health.due():
                self._health.report(self.health())
            if frame is None:
                time.sleep(0.004)
        return 128 + self.stopped_by

    def health(self) -> Health:
        """The health line (playback/health.py); the offsets are from the input's capture to the screen."""
        lat = np.array(self.latencies) * 1000 if self.latencies else None
        s, tally = self.engine.stats, self._health.tally
        return Health(time=time.time(), state="starting" if self._last_frame is None else "playing",
                      last_frame=self._last_frame, fps=round(self.presenter.fps, 2), frames_shown=self.shown,
                      frames_skipped=s.frames_skipped, frames_dropped=s.frames_dropped,
                      av_offset_ms_mean=None if lat is None else round(float(np.mean(lat)), 2),
                      av_offset_ms_p95=None if lat is None else round(float(np.percentile(lat, 95)), 2),
                      track=None, track_seconds=None, tracks_played=0, tracks_skipped=0, warnings=tally.warnings,
                      errors=tally.errors, last_problem=tally.last, pid=os.getpid(), **process_usage())

    def switch_model(self, checkpoint: str | None) -> None:
        """Load `checkpoint` (None: the embedded network) in the background, then dissolve to it; a
        checkpoint that fails to load is logged and the show goes on with the model it has."""
        plan = self.plan
        if self._switching.is_set() or plan.switching:
            log.info("model: a switch is still in progress; %s ignored", checkpoint or "default")
            return
        self._switching.set()
        name = checkpoint or "the embedded network"
        current = plan.synthesizer
        options = SynthesisOptions(noise_mode=current.noise_mode, to_host=False, precision=current.precision,
                                   execution=current.execution, canvas=current.canvas)
        seconds = self.stage.controls.state()["crossfade"]

        def load() -> None:
            torch.set_num_threads(1)  # beside synthesis and analysis, not instead of them
            try:
                model = load_model(checkpoint, current.device, options)
                G = model.G
                model.synthesizer(np.repeat(model.stats.w_avg[None, None], G.num_ws, axis=1).astype(np.float32))
            except Exception as e:  # noqa: BLE001 - a bad file on stage is a log line, never the end of the show
                log.warning("model: %s refused (%s)", name, e)
                self._switching.clear()
                return
            plan.offer(model.synthesizer, model.stats, seconds)
            self._switching.clear()  # from here plan.switching says it
            log.info("model: %s ready (%s), dissolving over %.1f s", name, model.describe(),
                     max(seconds, MIN_VISUAL_CROSSFADE))

        log.info("model: loading %s", name)
        threading.Thread(target=load, name="lavlive-model", daemon=True).start()

    def _shown(self, frame: Frame, shown: float) -> None:
        self.presenter.count(frame, shown)
        if self.recording is not None:
            self.recording.frame(frame.time, frame)
        self._last_frame = time.time()
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
                            f"{'' if beat is None else f'{beat:.6f}'},{frame.alpha if frame.blend else 0:.4f}")

    def _seen(self) -> float:
        """Seconds of input whose picture is on screen now (captured one input-to-screen latency ago), so a
        switch on a Link line is seen on the line; -inf before the input delivers."""
        start = self.source.captured_at(0)
        if start is None:
            return -float("inf")
        return time.monotonic() - start - self._latency

    def figures(self) -> dict[str, Any]:
        """How the show runs now: for the stats line and the control page."""
        lat = np.array(self.latencies) * 1000 if self.latencies else np.zeros(1)
        s = self.engine.stats
        ws_q, frame_q = self.engine.queue_depths()
        return {"fps": round(self.presenter.fps, 1), "skipped": s.frames_skipped, "dropped": s.frames_dropped,
                "latency_ms": round(float(np.median(lat)), 1),
                "latency_p95_ms": round(float(np.percentile(lat, 95)), 1),
                "draw_ms": round(s.draw_seconds * 1000, 1), "queue_ws": ws_q, "queue_frames": frame_q,
                "backlog_ms": round(self.source.backlog * 1000, 1)}

    def stats_line(self) -> str:
        f = self.figures()
        return (f"{f['fps']:.1f} fps | skipped {f['skipped']} | input to screen {f['latency_ms']:.0f} ms "
                f"median, {f['latency_p95_ms']:.0f} ms p95 | draw {f['draw_ms']:.0f} ms | "
                f"input backlog {f['backlog_ms']:.0f} ms, skipped "
                f"{self.source.skipped / self.source.sample_rate:.1f} s"
                + ("" if (link := self.stage.link_status()) is None else f" | {link}"))
