"""Live input's frames, and switching models on stage without stalling the picture.

A model is loaded elsewhere (in the background, while the old one plays on) and `offer`ed; between
two blocks its look joins the control path beside the current one (the same analysis, the same
running statistics), frames carry both pictures with a dissolve weight rising over the crossfade,
and then the new model takes over the plan alone.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..control import ControlPath, Look, WStatistics, smoothstep
from ..stage import StageLink
from .frame import Frame
from .setlist import MIN_VISUAL_CROSSFADE
from .synthesizer import Synthesizer
from .track import TrackPlan

log = logging.getLogger(__name__)


@dataclass
class _Dissolve:
    """A model switch in progress: frames from `start` (seconds) blend to `synthesizer`'s picture of the ws beside."""

    start: float
    seconds: float
    synthesizer: Synthesizer


class LivePlan:
    """The input's frames (a TrackPlan over it), each naming the synthesizer that draws it, with model switches:
    `offer` a loaded model from any thread; it joins at the next block and then dissolves in over `seconds`."""

    def __init__(self, source: Iterable[np.ndarray], path: ControlPath, fps: Fraction, synthesizer: Synthesizer,
                 stage: StageLink) -> None:
        self.plan = TrackPlan(source, path, fps, before_block=self._between_blocks)
        self.fps = self.plan.fps
        self.stage, self.synthesizer = stage, synthesizer
        self._offered: tuple[Synthesizer, WStatistics, float] | None = None  # a loaded model, waiting for a block
        self._lock = threading.Lock()
        self._dissolve: _Dissolve | None = None

    @property
    def path(self) -> ControlPath:
        return self.plan.path

    def offer(self, synthesizer: Synthesizer, stats: WStatistics, seconds: float) -> None:
        """A loaded model (its synthesizer and W statistics) to dissolve to over `seconds` (at least 0.5 s)."""
        with self._lock:
            self._offered = (synthesizer, stats, max(seconds, MIN_VISUAL_CROSSFADE))

    @property
    def switching(self) -> bool:
        """A model was offered and has not taken over yet."""
        return self._dissolve is not None or self._offered is not None

    def __iter__(self) -> Iterator[Frame]:
        for frame in self.plan:
            yield self._dressed(frame)

    def _between_blocks(self, path: ControlPath) -> None:
        self.stage.apply_to([(path, 0.0)])
        d = self._dissolve
        if d is not None:
            if float(self.plan.next / self.fps) >= d.start + d.seconds:  # every frame from here shows the new model alone
                self.plan.hand_over()
                self.synthesizer, self._dissolve = d.synthesizer, None
            return
        with self._lock:
            offered, self._offered = self._offered, None
        if offered is not None:
            self._join(path, *offered)

    def _join(self, path: ControlPath, synthesizer: Synthesizer, stats: WStatistics, seconds: float) -> None:
        """The offered model's look joins beside the one on screen; its first control frame is the path's next."""
        G = synthesizer.G
        try:
            path.beside = Look.like(path.look.newest, stats, G.num_ws, G.img_resolution, G.config.ws_resolutions)
        except Exception as e:  # noqa: BLE001 - a model that does not fit is a log line, not the end of the show
            log.warning("model: %s refused (%s)", G.source.describe(), e)
            return
        self._dissolve = _Dissolve((self.plan.control.count + 1) / path.frame_rate, seconds, synthesizer)

    def _dressed(self, frame: Frame) -> Frame:
        """The frame drawn by the model on screen, with the one dissolving in blended over it."""
        frame.synthesizer = self.synthesizer
        d, beside = self._dissolve, self.plan.beside
        if d is not None and beside is not None and frame.time >= d.start:
            frame.alpha = smoothstep((frame.time - d.start) / d.seconds)
            frame.blend = Frame(frame.index, frame.time, beside.sample(min(frame.time, beside.end_time)),
                                synthesizer=d.synthesizer, picture=frame.picture)
        return frame
