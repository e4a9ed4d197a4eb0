"""The whole control path as one streaming operator: audio blocks → ws at the encoder's frame rate.

    block ──▶ EnCodec embeddings e_k (encoder rate) ─┐
          └─▶ onset, chroma (50 Hz) ─ interpolated at each e_k's time ─▶ LAV mapping ─▶ smoothing ─▶ ws_k
                                                      └─▶ beats                  (the look: look.py)

An embedding frame waits until the features reach its time, so the path's lookahead is the larger
of the two analysers' lookaheads, each plus one of its frames (a frame is final only once it has
ended, and the features are interpolated between two frames).

Time stamps: control frame k (embedding k, its hop's RMS level, features interpolated at k/rate)
is stamped k / rate, the start of the hop it encodes; feature frames are stamped at their centre.
The half-hop difference (6.7 ms at 75 Hz) is far below a video frame and is left as is.

Besides ws, each push leaves `cues` (columns CUES): per control frame it emitted, the onset strength
and the number of beats so far, for what follows the music outside the picture (OSC), the weight of
the look switched to last (0 → 1 over a seed or preset switch's fade; 1 when none is fading), and the
controls its picture is drawn with (modulation.PICTURE: transform, noise, bend, effects), faded as ws
are. While another model is dissolved in (live), its look runs `beside` on the same analysis and leaves
its ws in `beside_ws`. For a file, `follow_song` has it switch seed or preset at the song's sections,
each on the first bar line of the beat clock after the section begins (control/sections.py).

Between two pushes, `state()` is the path's whole streaming state as plain data (every stage's, and
the frames waiting here) and `load_state()` puts it into a path built alike (same encoder, preset and
generator size), which then emits exactly, to the bit, what the first would have: a long render can
be split into segments that resume one another on other machines (lavlive/snapshot.py). Snapshots
are of a single look: not during a crossfade, nor while another model dissolves in.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..audio.encodec_stream import load_encoder
from ..audio.features import MusicFeatures, MusicFrames
from ..audio.sections import Sections, find_sections
from ..generator import Generator
from ..errors import LavliveError
from ..modulation import PICTURE, SourceFrames, SourceTracker, band_levels
from ..presets import Preset
from ..snapshot import array_of, fits, reading, same_settings, scalar_of
from .beats import BeatDetector
from .look import Crossfade, Look, fade_to
from .mapping import LavMapper
from .sections import SectionSwitch, SectionSwitcher
from .smoothing import HierarchicalSmoother
from .statistics import WStatistics, w_statistics

FEATURE_RATE = 50
CUES = ("onset", "beats", "switch", *PICTURE)  # the columns of `cues`: see the module docstring


class ControlPath:
    """See the module docstring. `low_latency` (live input) trades the features' 0.2 s lookahead for
    about 21 ms: no harmonic median over time (the harmonic/percussive split then comes from the
    frequency median alone) and a 43 ms instead of 85 ms analysis window (coarser low notes)."""

    def __init__(self, encoder, stats: WStatistics, preset: Preset, num_ws: int, img_resolution: int,
                 low_latency: bool = False, resolutions: Sequence[float] | None = None) -> None:
        self.encoder = encoder
        sr = encoder.sample_rate
        window = 512 if low_latency else 1024  # half the FFT length at 24 kHz; the same seconds at any rate
        self.features = MusicFeatures(sample_rate=sr, hop_length=sr // FEATURE_RATE,
                                      n_fft=2 * round(window * sr / 24000), harmonic_kernel=1 if low_latency else 17)
        self.frame_rate = encoder.frame_rate
        self.look: Look | Crossfade = Look(
            LavMapper(stats, preset.modulation, self.frame_rate, emb_dim=encoder.dim),
            HierarchicalSmoother(num_ws, img_resolution, preset.smoothing, self.frame_rate, w_dim=stats.z_mean.shape[0],
                                 resolutions=resolutions), preset.picture(), preset.routes,
            preset.synthesis.truncation_psi)
        self.beats = BeatDetector(self.frame_rate)
        self.sources = SourceTracker(self.frame_rate)  # what routes read, per control frame (lavlive/modulation)
        self.last_sources: SourceFrames | None = None  # what they read in the frames last emitted (for plots)
        self.cues = np.zeros((0, len(CUES)))  # [k, CUES] for the frames last emitted
        self.sections: SectionSwitcher | None = None  # switches at a song's sections (follow_sections)
        self._beat_times: deque[float] = deque(maxlen=32)  # audio time of the latest beats, the newest last
        self.beside: Look | Crossfade | None = None  # another model's look on the same analysis (a model switch)
        self.beside_ws = np.zeros((0,), np.float32)  # its ws for the frames last emitted
        self.lookahead = max(encoder.lookahead + 1 / self.frame_rate,
                             self.features.lookahead + 1 / self.features.frame_rate)
        self._emb: list[np.ndarray] = []  # embedding frames waiting for their features
        self._next_emb = 0  # index of the first waiting embedding frame
        self._feat = MusicFrames.concat([])  # recent feature frames (bounded)
        self._hop = int(round(sr / self.frame_rate))
        self._audio = np.zeros(0, np.float32)  # samples not yet in a full hop
        self._levels: list[float] = []  # RMS level (dBFS) of each hop, from the first not yet emitted
        self._bands: list[np.ndarray] = []  # and its low, mid and high band levels (dBFS) [3]

    @property
    def mapper(self) -> LavMapper:
        """The mapper of the look on screen, or of the one fading in: where changes go."""
        return self.look.newest.mapper

    @property
    def smoother(self) -> HierarchicalSmoother:
        return self.look.newest.smoother

    def beat_time(self, number: int) -> float | None:
        """Audio time (s) of beat `number` (counting from 1), while it is among the latest 32; else None."""
        age = self.beats.count - number  # 0: the newest
        return self._beat_times[-1 - age] if 0 <= age < len(self._beat_times) and number > 0 else None

    def follow_sections(self, preset: Preset, boundaries: Sequence[float], duration: float | None = None) -> None:
        """Switch seed or preset at the song's section `boundaries` (seconds into this path's audio) as `preset`'s
        [sections] say (nothing for switch = "none"); with the song's `duration`, the 'section' source runs
        0 → 1 through each section."""
        self.sections = SectionSwitcher.for_preset(preset, boundaries)
        if duration is not None:
            self.sources.set_sections(boundaries, duration)

    def _switch_section(self, frame: int, switch: SectionSwitch) -> None:
        """Fade to the section's seed or preset from `frame` of the block being emitted (its bar line)."""
        fade, start = self.sections.crossfade, float(frame) - 1  # the bar line's frame is the first to move
        self.look = fade_to(self.look, fade, self.frame_rate, False, start)
        if self.beside is not None:
            self.beside = fade_to(self.beside, fade, self.frame_rate, False, start)
        for look in self.changeable():
            if switch.seed is not None:
                look.mapper.update(seed=switch.seed)
            else:
                look.take_preset(switch.preset)

    @property
    def snapshottable(self) -> bool:
        """Whether `state()` can be taken now: not during a crossfade, nor while another model dissolves in."""
        return isinstance(self.look, Look) and self.beside is None

    def crossfade(self, seconds: float, on_beat: bool = False, at: float | None = None) -> None:
        """From the next push on, fade over `seconds` (after the next beat if on_beat, or from `at` seconds
        into this path's audio) from the look now shown to a copy of it, for the caller to change
        (`changeable`); 0: cut. A model dissolving in beside fades the same way."""
        start = None if at is None else at * self.frame_rate - self._next_emb  # in frames from the next one
        self.look = fade_to(self.look, seconds, self.frame_rate, on_beat, start)
        if self.beside is not None:
            self.beside = fade_to(self.beside, seconds, self.frame_rate, on_beat, start)

    @property
    def next_time(self) -> float:
        """Seconds into this path's audio of the next control frame it emits: the earliest a change can show."""
        return self._next_emb / self.frame_rate

    def changeable(self) -> list[Look]:
        """Where stage changes go: the look on screen (or fading in), and that of a model dissolving in."""
        return [self.look.newest] + ([self.beside.newest] if self.beside is not None else [])

    @classmethod
    def for_generator(cls, G: Generator, preset: Preset, encoder_weights: str | None = None,
                      download: bool = False, device: str = "cpu", low_latency: bool = False,
                      stats: WStatistics | None = None) -> tuple[ControlPath, str | None]:
        """The control path a preset describes, for generator G (its W statistics as given, else read from the
        cache or sampled); plus a notice if the encoder is random."""
        encoder, notice = load_encoder(preset.encoder.name, encoder_weights or preset.encoder.weights or None,
                                       download=download, device=device)
        stats = w_statistics(G) if stats is None else stats
        return cls(encoder, stats, preset, G.num_ws, G.img_resolution, low_latency, G.config.ws_resolutions), notice

    def state(self) -> dict:
        """The streaming state between two pushes, as plain data (see the module docstring)."""
        if not isinstance(self.look, Look):
            raise LavliveError("cannot snapshot the control path during a crossfade")
        if self.beside is not None:
            raise LavliveError("cannot snapshot the control path while another model dissolves in")
        f = self._feat
        return {
            "kind": self._kind(), "encoder": self.encoder.state(), "features": self.features.state(),
            "look": self.look.state(), "beats": self.beats.state(), "sources": self.sources.state(),
            "emb": np.array(self._emb, np.float32).reshape(-1, self.encoder.dim), "next_emb": self._next_emb,
            "feat": {"start": f.start, "onset": f.onset.copy(), "onset_raw": f.onset_raw.copy(),
                     "chroma": f.chroma.copy()},
            "audio": self._audio.copy(), "levels": np.array(self._levels, np.float64),
            "bands": np.array(self._bands, np.float64).reshape(-1, 3),
            "beat_times": np.array(self._beat_times, np.float64), "cues": self.cues.copy(),
            "beside_ws": self.beside_ws.copy(),
            "sections": None if self.sections is None else self.sections.state(),
        }

    def load_state(self, state: dict) -> None:
        """Go on from `state` (a snapshot of a path built alike). A snapshot that does not fit is a one-line
        LavliveError, and the path is then left as it was."""
        if not isinstance(self.look, Look) or self.beside is not None:
            raise LavliveError("cannot load a snapshot into the control path during a crossfade")
        before = self.state()
        try:
            self._load(state)
        except BaseException:
            self._load(before)
            raise

    def _kind(self) -> dict:
        return {"encoder": self.encoder.name, "sample_rate": self.encoder.sample_rate,
                "frame_rate": float(self.frame_rate), "num_ws": self.smoother.num_ws, "w_dim": self.smoother.w_dim}

    def _load(self, state: dict) -> None:
        with reading("the control path"):
            fits(isinstance(state, dict), "it is not a table of the control path's state")
            same_settings(state["kind"], self._kind(), "a control path")
            dim, f = self.encoder.dim, state["feat"]
            emb = array_of(state["emb"], "the waiting embeddings", (None, dim), np.float32)
            next_emb = int(scalar_of(state["next_emb"], "the next embedding's index", (int, np.integer)))
            chroma = array_of(f["chroma"], "the recent chroma", (None, 12), np.float32)
            feat = MusicFrames(int(scalar_of(f["start"], "the first feature frame", (int, np.integer))),
                               array_of(f["onset"], "the recent onsets", (len(chroma),), np.float32),
                               array_of(f["onset_raw"], "the recent raw onsets", (len(chroma),), np.float32), chroma)
            audio = array_of(state["audio"], "the audio of the current hop", (None,))
            fits(audio.dtype.kind == "f" and len(audio) < self._hop, "the audio of the current hop is not a hop's part")
            levels = array_of(state["levels"], "the hop levels", (None,), np.float64)
            bands = array_of(state["bands"], "the hop band levels", (len(levels), 3), np.float64)
            beat_times = array_of(state["beat_times"], "the beat times", (None,), np.float64)
            cues = array_of(state["cues"], "the cues", (None, len(CUES)), np.float64)
            beside_ws = array_of(state["beside_ws"], "the ws beside", None, np.float32)
            parts = state["encoder"], state["features"], state["look"], state["beats"], state["sources"]
            fits((state["sections"] is None) == (self.sections is None),
                 "it is of a path that follows a song's sections differently")
        for stage, part in zip((self.encoder, self.features, self.look, self.beats, self.sources), parts):
            stage.load_state(part)
        if self.sections is not None:
            self.sections.load_state(state["sections"])
        self._emb, self._next_emb, self._feat = list(emb), next_emb, feat
        self._audio, self._levels, self._bands = audio, list(levels), list(bands)
        self._beat_times = deque(beat_times, maxlen=self._beat_times.maxlen)
        self.cues, self.beside_ws = cues, beside_ws

    def push(self, block: np.ndarray) -> np.ndarray:
        """block [channels, n] at the encoder's rate → ws [k, num_ws, w_dim] for frames now final."""
        mono = block.mean(axis=0)
        self._emb.extend(self.encoder.push(block).cpu().numpy())
        self._add_features(self.features.push(mono))
        self._add_levels(mono, final=False)
        return self._emit(final=False)

    def flush(self) -> np.ndarray:
        self._emb.extend(self.encoder.flush().cpu().numpy())
        self._add_features(self.features.flush())
        self._add_levels(np.zeros(0, np.float32), final=True)
        return self._emit(final=True)

    def _add_levels(self, mono: np.ndarray, final: bool) -> None:
        audio = np.concatenate([self._audio, mono])
        hops = len(audio) // self._hop
        if final and len(audio) % self._hop:
            hops += 1
            audio = np.pad(audio, (0, hops * self._hop - len(audio)))
        frames = audio[:hops * self._hop].reshape(hops, self._hop).astype(np.float64)
        self._levels.extend(10 * np.log10(np.mean(frames**2, axis=1) + 1e-12))
        self._bands.extend(band_levels(frames, self.encoder.sample_rate))
        self._audio = audio[hops * self._hop:]

    def _add_features(self, frames: MusicFrames) -> None:
        self._feat = MusicFrames.concat([self._feat, frames], start=self._feat.start)

    def _drop_features_before(self, t: float) -> None:
        """Forget feature frames more than one frame before time t (the oldest still needed)."""
        f = self._feat
        drop = min(max(0, int(np.floor(t * self.features.frame_rate)) - 1 - f.start), max(0, len(f) - 1))
        if drop:
            self._feat = MusicFrames(f.start + drop, f.onset[drop:], f.onset_raw[drop:], f.chroma[drop:])

    def _no_frames(self) -> np.ndarray:
        self.cues = np.zeros((0, len(CUES)))
        if self.beside is not None:
            smoother = self.beside.newest.smoother
            self.beside_ws = np.zeros((0, smoother.num_ws, smoother.w_dim), np.float32)
        return np.zeros((0, self.smoother.num_ws, self.smoother.w_dim), np.float32)

    def _emit(self, final: bool) -> np.ndarray:
        f = self._feat
        if not len(f) or not self._emb:
            return self._no_frames()
        times = (self._next_emb + np.arange(len(self._emb))) / self.frame_rate
        feat_times = (f.start + np.arange(len(f))) / self.features.frame_rate
        ready = len(self._emb) if final else int(np.searchsorted(times, feat_times[-1], side="right"))
        if ready == 0:
            return self._no_frames()
        t = times[:ready]
        onset = np.interp(t, feat_times, f.onset)
        flux = np.interp(t, feat_times, f.onset_raw)
        chroma = np.stack([np.interp(t, feat_times, f.chroma[:, k]) for k in range(12)], axis=1)
        emb = np.stack(self._emb[:ready])
        assert len(self._levels) >= ready, "every embedding frame's hop has a level"
        levels = np.asarray(self._levels[:ready])
        bands = np.asarray(self._bands[:ready]).reshape(-1, 3)
        del self._emb[:ready], self._levels[:ready], self._bands[:ready]
        self._next_emb += ready
        self._drop_features_before(self._next_emb / self.frame_rate)
        before = self.beats.count
        beats = self.beats.push(onset)
        self._beat_times.extend(t[beats])
        sources = self.last_sources = self.sources.push(t, onset, flux, chroma, levels, bands, beats)
        due = self.sections.due(t, sources.bar_line) if self.sections is not None else None
        if due is not None:
            self._switch_section(*due)
        ws = self.look.push(emb, onset, chroma, levels, beats, sources)
        switch = self.look.pushed if isinstance(self.look, Crossfade) else np.ones(ready)
        self.cues = np.concatenate([np.stack([onset, before + np.cumsum(beats), switch], axis=1),
                                    self.look.pictures(ready)], axis=1)  # float64: exact beat counts for years
        self.look = _settled(self.look)
        if self.beside is not None:
            self.beside_ws = self.beside.push(emb, onset, chroma, levels, beats, sources)
            self.beside = _settled(self.beside)
        return ws


def _settled(look: Look | Crossfade) -> Look | Crossfade:
    """A finished crossfade is its new look."""
    return look.new if isinstance(look, Crossfade) and look.finished else look


def follow_song(path: ControlPath, preset: Preset, file: str | Path, start: float = 0.0,
                duration: float | None = None) -> Sections | None:
    """When `preset` switches at sections or routes the 'section' source: find the sections of `file` (from `start`
    for `duration` s: the audio `path` will be given) and have `path` follow them; they are returned for the
    caller to say."""
    if not preset.follows_sections:
        return None
    sections = find_sections(file, start, duration)
    path.follow_sections(preset, sections.boundaries, sections.duration)
    return sections
