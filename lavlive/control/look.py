"""The look: what a preset shapes once the audio is analysed, and crossfades between two looks.

    embeddings, onset, chroma, level ─▶ LavMapper (w) ─▶ HierarchicalSmoother (ws)     one Look
                                        and the picture controls it draws with (transform, noise, bend, effects)
    sources (modulation) ─▶ its routes (ModulationMatrix) ─▶ the mapping's coefficients, smoothing, truncation,
                                                              directions and the picture controls, per frame

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

from ..modulation import (DIRECTIONS, GROUPS, MAPPING_TARGETS, PICTURE, PICTURE_NEUTRAL, SMOOTHING_TARGETS, TARGETS,
                          TRUNCATION_TARGETS, ModulationMatrix, Route, SourceFrames, blend_pictures)
from ..presets import Preset
from ..snapshot import array_of, reading, scalar_of
from .mapping import LavMapper
from .smoothing import HierarchicalSmoother
from .statistics import WStatistics

DIRECTION_TARGETS = [(f"direction/{k}", *(f"direction/{k}/{g}" for g in GROUPS)) for k in range(1, DIRECTIONS + 1)]
MAX_LOOKS = 4  # looks pushed at once in overlapping crossfades (see fade_to for what happens beyond)
BEAT_WAIT_SECONDS = 2.0  # a crossfade waiting for a beat starts anyway after this long


def smoothstep(x: float) -> float:
    """0 → 1 with zero slope at both ends (steepest 1.5 in the middle): the shape of every fade here."""
    x = min(1.0, max(0.0, x))
    return x * x * (3 - 2 * x)


class Look:
    """A mapper and a smoother: control inputs → ws, with their running state; the truncation ψ applied to the
    smoothed ws (the same as before smoothing while ψ holds still, both being linear; a ψ that moves, by hand or
    by a route, shows at once instead of over the smoothing windows); the picture controls (modulation.PICTURE:
    StyleGAN3's input transform, noise, bending, effects) its pictures are drawn with; and the routes that move
    all of these per frame around their values (lavlive/modulation):

        mapping coefficients, seed/mix ─▶ w ─▶ smoothing (seconds per group) ─▶ truncation ─▶ + directions ─▶ ws
        picture controls ─▶ pictures (per frame, for the synthesis device)

    A 'seed/mix' route fades w towards a partner mapper's, the preset's second seed (its statistics adopted from
    this look's, so it moves as if it had listened all along); principal directions move ws after truncation,
    in standard deviations of W along them, so ψ does not scale them."""

    def __init__(self, mapper: LavMapper, smoother: HierarchicalSmoother,
                 picture: Sequence[float] | None = None, routes: Sequence[Route] = (),
                 truncation: float = 1.0) -> None:
        self.mapper, self.smoother = mapper, smoother
        self.truncation = truncation
        self.picture = np.array([PICTURE_NEUTRAL[n] for n in PICTURE] if picture is None else picture, np.float64)
        self.matrix = ModulationMatrix(routes, mapper.frame_rate)
        self.partner: LavMapper | None = None  # the second seed's mapper, while a route mixes it in
        self._moved: np.ndarray | None = None  # the picture controls of the frames last pushed, when routes move them

    def set_routes(self, routes: Sequence[Route]) -> None:
        """Other routes from the next push on (a preset switch), their followers starting at rest."""
        self.matrix = ModulationMatrix(routes, self.mapper.frame_rate)

    def take_preset(self, preset: Preset) -> None:
        """Become `preset`'s look from the next push on (a switch at a song's section): its modulation, smoothing
        seconds, truncation, picture controls and routes. The layer groups stay (they are the network's)."""
        self.mapper.update(**dataclasses.asdict(preset.modulation))
        s = preset.smoothing
        self.smoother.set_seconds(s.coarse, s.middle, s.fine)
        self.truncation = preset.synthesis.truncation_psi
        self.picture = np.array(preset.picture(), np.float64)
        self.set_routes(preset.routes)

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
        if any(target in offsets for target in PICTURE):
            self._moved = np.stack([TARGETS[t].clipped(base, offsets.get(t), count) if t in TARGETS
                                    else np.full(count, base) for t, base in zip(PICTURE, self.picture)], axis=1)
        partner = self._partner() if "seed/mix" in offsets else None  # made before the push: as if it had listened
        w = self.mapper.push(emb, onset, chroma, levels, coefficients)
        if partner is not None:
            mix = TARGETS["seed/mix"].clipped(0.0, offsets["seed/mix"], count)[:, None]
            w = (1 - mix) * w + mix * partner.push(emb, onset, chroma, levels, coefficients)
        seconds = None
        if any(t in offsets for t in SMOOTHING_TARGETS):
            bases = [n / self.smoother.frame_rate for n in self.smoother.windows]
            seconds = np.stack([TARGETS[t].clipped(b, offsets.get(t), count)
                                for t, b in zip(SMOOTHING_TARGETS, bases)], axis=1)
        ws = self._truncated(self.smoother.push(w, seconds), offsets)
        return self._directed(ws, offsets)

    def _base(self, key: str) -> float:
        """A mapping coefficient as set (by the preset or live), before routes move it."""
        return getattr(self.mapper.settings, key)

    def _partner(self) -> LavMapper:
        """The mapper of the preset's second seed (seed_b; −1: seed + 1), made (again) when that seed changes."""
        s = self.mapper.settings
        seed = s.seed_b if s.seed_b >= 0 else (s.seed + 1) % 2**31
        if self.partner is None or self.partner.settings.seed != seed:
            self.partner = LavMapper(self.mapper.stats, dataclasses.replace(s, seed=seed), self.mapper.frame_rate,
                                     emb_dim=self.mapper.emb_dim)
            self.partner.adopt_statistics(self.mapper)
        elif self.partner.settings != dataclasses.replace(s, seed=seed):
            self.partner.update(**{k: v for k, v in dataclasses.asdict(s).items() if k != "seed"})
        return self.partner

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

    def _directed(self, ws: np.ndarray, offsets: dict[str, np.ndarray]) -> np.ndarray:
        """ws moved along W's principal directions by the routes to 'direction/k' (all layers) and
        'direction/k/<group>' (that group's)."""
        moves = [(k, name) for k in range(DIRECTIONS) for name in DIRECTION_TARGETS[k] if name in offsets]
        if not moves:
            return ws
        vectors = self.mapper.stats.direction_vectors()
        per_group = np.zeros((len(ws), len(GROUPS), ws.shape[2]), np.float64)
        for k, name in moves:
            amount = TARGETS[name].clipped(0.0, offsets[name], len(ws))[:, None] * vectors[k]
            groups = range(len(GROUPS)) if name.count("/") == 1 else [GROUPS.index(name.rsplit("/", 1)[1])]
            for g in groups:
                per_group[:, g] += amount
        for g, members in enumerate(self.smoother.members):
            ws[:, members] += per_group[:, g, None].astype(np.float32)
        return ws

    def pictures(self, count: int) -> np.ndarray:
        """The picture controls of each of the `count` frames last pushed: [count, len(PICTURE)]."""
        if self._moved is not None and len(self._moved) == count:
            return self._moved.copy()
        return np.tile(self.picture, (count, 1))

    @classmethod
    def like(cls, look: Look, stats: WStatistics, num_ws: int, img_resolution: int,
             resolutions: Sequence[float] | None = None) -> Look:
        """`look`'s settings and running statistics, for another generator (a model switch on stage; its ws
        `resolutions`, default StyleGAN2's). Its smoothing starts empty: the new model has no past."""
        m, s = look.mapper, look.smoother
        mapper = LavMapper(stats, m.settings, m.frame_rate, emb_dim=m.emb_dim)
        mapper.adopt_statistics(m)
        seconds = dict(zip(GROUPS, (n / s.frame_rate for n in s.windows)))
        smoother = HierarchicalSmoother(num_ws, img_resolution, dataclasses.replace(s.settings, **seconds),
                                        s.frame_rate, w_dim=stats.z_mean.shape[0], resolutions=resolutions)
        new = cls(mapper, smoother, look.picture, truncation=look.truncation)
        new.matrix = look.matrix.copy()
        return new

    def state(self) -> dict:
        """Its mapper's (and partner's), smoother's and routes' running state and its picture controls, as plain
        data (see lavlive/snapshot.py)."""
        return {"mapper": self.mapper.state(), "smoother": self.smoother.state(), "picture": self.picture.copy(),
                "matrix": self.matrix.state(), "truncation": float(self.truncation),
                "partner": None if self.partner is None else {"seed": self.partner.settings.seed,
                                                              "mapper": self.partner.state()}}

    def load_state(self, state: dict) -> None:
        with reading("the look"):
            mapper, smoother, matrix, partner = state["mapper"], state["smoother"], state["matrix"], state["partner"]
            picture = array_of(state["picture"], "the look's picture controls", (len(PICTURE),), np.float64)
            truncation = float(scalar_of(state["truncation"], "the look's truncation", (int, np.integer, float,
                                                                                          np.floating)))
            seed = None if partner is None else int(scalar_of(partner["seed"], "the partner's seed",
                                                              (int, np.integer)))
        self.mapper.load_state(mapper)
        self.smoother.load_state(smoother)
        self.matrix.load_state(matrix)
        self.picture, self.truncation = picture, truncation
        self.partner = None
        if partner is not None:
            self.partner = LavMapper(self.mapper.stats, dataclasses.replace(self.mapper.settings, seed=seed),
                                     self.mapper.frame_rate, emb_dim=self.mapper.emb_dim)
            self.partner.load_state(partner["mapper"])

    def copy(self) -> Look:
        """An independent look in the same state (changing one leaves the other as it was)."""
        look = Look(_mapper_copy(self.mapper), copy.copy(self.smoother), self.picture, truncation=self.truncation)
        look.smoother.ring, look.smoother.windows = self.smoother.ring.copy(), list(self.smoother.windows)
        look.matrix = self.matrix.copy()
        look.partner = None if self.partner is None else _mapper_copy(self.partner)
        return look


def _mapper_copy(mapper: LavMapper) -> LavMapper:
    """An independent mapper in the same state."""
    other = copy.copy(mapper)
    other.mean, other.var = mapper.mean.copy(), mapper.var.copy()
    other.x_mean, other.x_cov = mapper.x_mean.copy(), mapper.x_cov.copy()
    return other


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
        self._pictures = np.zeros((0, len(PICTURE))), np.zeros((0, len(PICTURE)))  # of old and new, last pushed

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
        self._pictures = self.old.pictures(len(beats)), self.new.pictures(len(beats))
        if isinstance(self.old, Crossfade) and self.old.finished:
            self.old = self.old.new
        return (1 - alpha) * ws_old + alpha * ws_new

    def pictures(self, count: int) -> np.ndarray:
        """The picture controls of the `count` frames last pushed, faded as their ws are."""
        old, new = self._pictures
        return blend_pictures(old[:count], new[:count], self.pushed[:count])


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
