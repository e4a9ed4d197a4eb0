"""The look: what a preset shapes once the audio is analysed, and crossfades between two looks.

    embeddings, onset, chroma, level ─▶ LavMapper (w) ─▶ HierarchicalSmoother (ws)     one Look
                                        and the input transform (x, y, rotate) it draws with (StyleGAN3)
    sources (modulation) ─▶ its routes (ModulationMatrix) ─▶ the mapping's coefficients and the transform, per frame

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

from ..modulation import (MAPPING_TARGETS, TARGETS, TRANSFORM_TARGETS, TRUNCATION_TARGETS, ModulationMatrix, Route,
                          SourceFrames)
from ..snapshot import array_of, reading, scalar_of
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
    """A mapper and a smoother: control inputs → ws, with their running state; the truncation ψ applied to the
    smoothed ws (the same as before smoothing while ψ holds still, both being linear; a ψ that moves, by hand or
    by a route, shows at once instead of over the smoothing windows); the input transform (x, y, rotate:
    presets.TRANSFORM_KEYS) its pictures are drawn with; and the routes that move the mapping's coefficients, ψ
    (also per layer group) and the transform per frame around those values (lavlive/modulation)."""

    def __init__(self, mapper: LavMapper, smoother: HierarchicalSmoother,
                 transform: Sequence[float] = (0.0, 0.0, 0.0), routes: Sequence[Route] = (),
                 truncation: float = 1.0) -> None:
        self.mapper, self.smoother = mapper, smoother
        self.truncation = truncation
        self.transform = np.array(transform, np.float64)
        self.matrix = ModulationMatrix(routes, mapper.frame_rate)
        self._moved: np.ndarray | None = None  # the transforms of the frames last pushed, when routes move them

    def set_routes(self, routes: Sequence[Route]) -> None:
        """Other routes from the next push on (a preset switch), their followers starting at rest."""
        self.matrix = ModulationMatrix(routes, self.mapper.frame_rate)

    @property
    def newest(self) -> Look:
        return self

    def looks(self) -> int:
        return 1

    def push(self, emb: np.ndarray, onset: np.ndarray, chroma: np.ndarray, levels: np.ndarray,
             beats: np.ndarray, sources: SourceFrames | None = None) -> np.ndarray:
        offsets = self.matrix.push(sources) if self.matrix and sources is not None else {}
        count = len(emb)
        coefficients = {key: TARGETS[target].clipped(self._base(key), offsets[target], count)
                        for target, key in MAPPING_TARGETS.items() if target in offsets}
        self._moved = None
        if any(target in offsets for target in TRANSFORM_TARGETS):
            self._moved = np.stack([TARGETS[t].clipped(base, offsets.get(t), count)
                                    for t, base in zip(TRANSFORM_TARGETS, self.transform)], axis=1)
        ws = self.smoother.push(self.mapper.push(emb, onset, chroma, levels, coefficients))
        return self._truncated(ws, offsets)

    def _base(self, key: str) -> float:
        """A mapping coefficient as set (by the preset or live), before routes move it."""
        return getattr(self.mapper.settings, key)

    def _truncated(self, ws: np.ndarray, offsets: dict[str, np.ndarray]) -> np.ndarray:
        """w_avg + ψ (ws − w_avg), ψ per frame and layer group: the truncation plus its routes, clipped to [0, 2]."""
        w_avg = self.mapper.stats.w_avg.astype(np.float32)
        if not any(t in offsets for t in TRUNCATION_TARGETS):
            return w_avg + np.float32(self.truncation) * (ws - w_avg)
        psi = TARGETS["truncation"].clipped(self.truncation, offsets.get("truncation"), len(ws))
        per_ws = np.repeat(psi[:, None], ws.shape[1], axis=1)
        for group, members in enumerate(self.smoother.members):
            extra = offsets.get(TRUNCATION_TARGETS[1 + group])
            if extra is not None:
                per_ws[:, members] = np.clip(psi[:, None] + extra[:, None], *TARGETS["truncation"].range)
        return w_avg + per_ws[:, :, None].astype(np.float32) * (ws - w_avg)
    def transforms(self, count: int) -> np.ndarray:
        """The transform of each of the `count` frames last pushed: [count, 3]."""
        if self._moved is not None and len(self._moved) == count:
            return self._moved.copy()
        return np.tile(self.transform, (count, 1))

    @classmethod
    def like(cls, look: Look, stats: WStatistics, num_ws: int, img_resolution: int,
             resolutions: Sequence[float] | None = None) -> Look:
        """`look`'s settings and running statistics, for another generator (a model switch on stage; its ws
        `resolutions`, default StyleGAN2's). Its smoothing starts empty: the new model has no past."""
        m, s = look.mapper, look.smoother
        mapper = LavMapper(stats, m.settings, m.frame_rate, emb_dim=m.emb_dim)
        mapper.adopt_statistics(m)
        seconds = dict(zip(("coarse", "middle", "fine"), (n / s.frame_rate for n in s.windows)))
        smoother = HierarchicalSmoother(num_ws, img_resolution, dataclasses.replace(s.settings, **seconds),
                                        s.frame_rate, w_dim=stats.z_mean.shape[0], resolutions=resolutions)
        new = cls(mapper, smoother, look.transform, truncation=look.truncation)
        new.matrix = look.matrix.copy()
        return new

    def state(self) -> dict:
        """Its mapper's, smoother's and routes' running state and its transform, as plain data (see
        lavlive/snapshot.py)."""
        return {"mapper": self.mapper.state(), "smoother": self.smoother.state(), "transform": self.transform.copy(),
                "matrix": self.matrix.state(), "truncation": float(self.truncation)}

    def load_state(self, state: dict) -> None:
        with reading("the look"):
            mapper, smoother, matrix = state["mapper"], state["smoother"], state["matrix"]
            transform = array_of(state["transform"], "the look's transform", (3,), np.float64)
            truncation = float(scalar_of(state["truncation"], "the look's truncation", (int, float, np.floating)))
        self.mapper.load_state(mapper)
        self.smoother.load_state(smoother)
        self.matrix.load_state(matrix)
        self.transform, self.truncation = transform, truncation

    def copy(self) -> Look:
        """An independent look in the same state (changing one leaves the other as it was)."""
        mapper = copy.copy(self.mapper)
        mapper.mean, mapper.var = self.mapper.mean.copy(), self.mapper.var.copy()
        mapper.x_mean, mapper.x_cov = self.mapper.x_mean.copy(), self.mapper.x_cov.copy()
        smoother = copy.copy(self.smoother)
        smoother.ring, smoother.windows = self.smoother.ring.copy(), list(self.smoother.windows)
        look = Look(mapper, smoother, self.transform, truncation=self.truncation)
        look.matrix = self.matrix.copy()
        return look


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
             beats: np.ndarray, sources: SourceFrames | None = None) -> np.ndarray:
        self.pushed = self.weights(beats)  # the incoming look's weight per frame, for the cues
        alpha = self.pushed[:, None, None].astype(np.float32)
        ws_new = self.new.push(emb, onset, chroma, levels, beats, sources)
        ws_old = self.old.push(emb, onset, chroma, levels, beats, sources)
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
