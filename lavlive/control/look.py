"""The look: what a preset shapes once the audio is analysed, and crossfades between two looks.

    embeddings, onset, chroma, level ─▶ LavMapper (w) ─▶ HierarchicalSmoother (ws)     one Look
                                        and the input transform (x, y, rotate) it draws with (StyleGAN3)

A preset or seed switch on stage must not cut: `Crossfade` pushes the outgoing look (or a crossfade
still in progress) and the incoming one side by side on the same inputs, and moves ws from one to
the other with a smoothstep over `seconds`, optionally starting on the next beat. Both keep
running, so the incoming look's smoothing and statistics are warm when it takes over, and a frame
moves at most 1.5 / (seconds · rate) of the distance between the two looks further than they move
themselves.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence

import numpy as np

from ..snapshot import array_of, reading
from .mapping import LavMapper
from .smoothing import HierarchicalSmoother
from .statistics import WStatistics

MAX_LOOKS = 4  # looks pushed at once in overlapping crossfades (see fade_to for what happens beyond)
BEAT_WAIT_SECONDS = 2.0  # a crossfade waiting for a beat starts anyway after this long


def smoothstep(x: float) -> float:
    """0 → 1 with zero slope at both ends (steepest 1.5 in the middle): the shape of every fade here."""
    x = min(1.0, max(0.0, x))
    return x * x * (3 - 2 * x)


class Look:
    """A mapper and a smoother: control inputs → ws, with their running state; and the input transform
    (x, y, rotate: presets.TRANSFORM_KEYS) its pictures are drawn with."""

    def __init__(self, mapper: LavMapper, smoother: HierarchicalSmoother,
                 transform: Sequence[float] = (0.0, 0.0, 0.0)) -> None:
        self.mapper, self.smoother = mapper, smoother
        self.transform = np.array(transform, np.float64)

    @property
    def newest(self) -> Look:
        return self

    def looks(self) -> int:
        return 1

    def push(self, emb: np.ndarray, onset: np.ndarray, chroma: np.ndarray, levels: np.ndarray,
             beats: np.ndarray) -> np.ndarray:
        return self.smoother.push(self.mapper.push(emb, onset, chroma, levels))

    def transforms(self, count: int) -> np.ndarray:
        """The transform of each of the `count` frames last pushed: [count, 3]."""
        return np.tile(self.transform, (count, 1))

    @classmethod
    def like(cls, look: Look, stats: WStatistics, num_ws: int, img_resolution: int,
             resolutions: Sequence[float] | None = None) -> Look:
        """`look`'s settings and running statistics, for another generator (a model switch on stage; its ws
        `resolutions`, default StyleGAN2's). Its smoothing starts empty: the new model has no past."""
        m, s = look.mapper, look.smoother
        mapper = LavMapper(stats, m.settings, m.frame_rate, m.truncation_psi, m.emb_dim)
        mapper.adopt_statistics(m)
        seconds = dict(zip(("coarse", "middle", "fine"), (n / s.frame_rate for n in s.windows)))
        smoother = HierarchicalSmoother(num_ws, img_resolution, dataclasses.replace(s.settings, **seconds),
                                        s.frame_rate, w_dim=stats.z_mean.shape[0], resolutions=resolutions)
        return cls(mapper, smoother, look.transform)

    def state(self) -> dict:
        """Its mapper's and smoother's running state and its transform, as plain data (see lavlive/snapshot.py)."""
        return {"mapper": self.mapper.state(), "smoother": self.smoother.state(), "transform": self.transform.copy()}

    def load_state(self, state: dict) -> None:
        with reading("the look"):
            mapper, smoother = state["mapper"], state["smoother"]
            transform = array_of(state["transform"], "the look's transform", (3,), np.float64)
        self.mapper.load_state(mapper)
        self.smoother.load_state(smoother)
        self.transform = transform

    def copy(self) -> Look:
        """An independent look in the same state (changing one leaves the other as it was)."""
        mapper = copy.copy(self.mapper)
        mapper.mean, mapper.var = self.mapper.mean.copy(), self.mapper.var.copy()
        mapper.x_mean, mapper.x_cov = self.mapper.x_mean.copy(), self.mapper.x_cov.copy()
        smoother = copy.copy(self.smoother)
        smoother.ring, smoother.windows = self.smoother.ring.copy(), list(self.smoother.windows)
        return Look(mapper, smoother, self.transform)


class Crossfade:
    """From `old` (a Look or a Crossfade in progress) to `new` over `seconds` of control frames.

    The ramp starts at once, on the next beat (`on_beat`), or at `at`: a control-frame position, counted
    from the first frame this crossfade pushes and possibly fractional, so a switch can start on a line
    of another timeline (an Ableton Link bar) more finely than the control rate. Frame k gets the weight
    smoothstep((k - start) / frames); starting at once is start = -1, so the first frame already moves."""

    def __init__(self, old: Look | Crossfade, new: Look, seconds: float, frame_rate: float,
                 on_beat: bool = False, at: float | None = None) -> None:
        self.old, self.new = old, new
        self.frames = max(1, round(seconds * frame_rate))
        waits = on_beat and at is None
        self.wait = round(BEAT_WAIT_SECONDS * frame_rate) if waits else 0  # frames to wait at most for a beat
        self.count = 0  # control frames pushed
        self.start: float | None = None if waits else (-1.0 if at is None else max(-1.0, float(at)))
        self.pushed = np.zeros(0)
        self._transforms = np.zeros((0, 3)), np.zeros((0, 3))  # of the old and new looks, last pushed

    @property
    def newest(self) -> Look:
        return self.new

    @property
    def finished(self) -> bool:
        return self.start is not None and self.count - 1 >= self.start + self.frames

    @property
    def alpha(self) -> float:
        """The incoming look's weight in the frame last pushed."""
        return 0.0 if self.start is None else smoothstep((self.count - 1 - self.start) / self.frames)

    def looks(self) -> int:
        return self.old.looks() + 1

    def weights(self, beats: np.ndarray) -> np.ndarray:
        """The incoming look's weight for the next len(beats) frames (smoothstep of the ramp)."""
        alpha = np.empty(len(beats))
        for t, beat in enumerate(beats):
            if self.start is None and (beat or self.count >= self.wait):
                self.start = self.count - 1.0
            alpha[t] = 0.0 if self.start is None else smoothstep((self.count - self.start) / self.frames)
            self.count += 1
        return alpha

    def push(self, emb: np.ndarray, onset: np.ndarray, chroma: np.ndarray, levels: np.ndarray,
             beats: np.ndarray) -> np.ndarray:
        self.pushed = self.weights(beats)  # the incoming look's weight per frame, for the cues
        alpha = self.pushed[:, None, None].astype(np.float32)
        ws_new = self.new.push(emb, onset, chroma, levels, beats)
        ws_old = self.old.push(emb, onset, chroma, levels, beats)
        self._transforms = self.old.transforms(len(beats)), self.new.transforms(len(beats))
        if isinstance(self.old, Crossfade) and self.old.finished:
            self.old = self.old.new
        return (1 - alpha) * ws_old + alpha * ws_new

    def transforms(self, count: int) -> np.ndarray:
        """The transforms of the `count` frames last pushed, faded as their ws are: [count, 3]."""
        old, new = self._transforms
        alpha = self.pushed[:count, None]
        return (1 - alpha) * old[:count] + alpha * new[:count]


def fade_to(current: Look | Crossfade, seconds: float, frame_rate: float, on_beat: bool,
            at: float | None = None) -> Look | Crossfade:
    """A crossfade from `current` to a copy of its newest look, for the caller to change (`newest`); that
    copy alone when seconds is 0 (and `at` is None: a cut at a given position is a 1-frame fade there).

    With MAX_LOOKS looks running (switches faster than their fades) one of two things gives way, whichever
    moves the picture less: the look fading in is changed instead of a new one (a step of its weight so
    far), or the oldest crossfade ends at once on its heavier side (a step of its lighter weight, times
    the share the later fades leave it)."""
    if seconds <= 0 and at is None:
        return current.newest.copy()
    if current.looks() >= MAX_LOOKS:
        fades = _crossfades(current)  # the newest first
        oldest = fades[-1]
        share = float(np.prod([1 - f.alpha for f in fades[:-1]]))
        if fades[0].alpha <= share * min(oldest.alpha, 1 - oldest.alpha):
            return current
        heavier = oldest.new if oldest.alpha >= 0.5 else oldest.old
        if len(fades) == 1:
            current = heavier
        else:
            fades[-2].old = heavier
    return Crossfade(current, current.newest.copy(), seconds, frame_rate, on_beat, at)


def _crossfades(look: Look | Crossfade) -> list[Crossfade]:
    """The crossfades nested in `look`, from the outermost (the newest switch) in."""
    fades = []
    while isinstance(look, Crossfade):
        fades.append(look)
        look = look.old
    return fades
