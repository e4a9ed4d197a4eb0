"""Sources: what the music (and the hands) give a route, per control frame, each in [0, 1].

    onset              percussive onset strength (the features' causal normalisation: a hit as loud as the
                       recent ones is near 1)
    loudness           the hop's RMS level, −60 dBFS → 0 and 0 dBFS → 1
    low, mid, high     the level in each band (below 250 Hz, 250 Hz–2 kHz, above): loudness of the band's share
    flux               the raw percussive spectral flux: a mean rise of 10 dB across the mel bands is 1
    chroma/C … chroma/B  each pitch class's chroma
    beat, bar          the beat clock's phase: 0 → 1 over each beat, and over each bar of 4 beats
    fader/1 … fader/8  set by hand over OSC and MIDI (0 until then)
    lfo                an oscillator (lfo.py), its shape and rate in the route

Everything is computed from the audio's own time (control frame k is at k / rate), never the wall clock, so
a render and a show of the same track give the same values.

The beat clock: each detected beat (control/beats.py) starts a beat; between beats the position runs on
at the tempo of the recent beats (the median of up to 8 intervals between 0.25 and 2 s; 120 bpm until there
are two), so it keeps counting through a break. A detected beat is the clock's nearest whole beat, and the
clock never runs backwards: a beat that comes early jumps the clock forward to it, one that comes late holds
the clock until the new beat's time catches up. Bars are 4 beats, the first beat heard starting the first bar.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..snapshot import array_of, reading, scalar_of

PITCHES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FADERS = 8
LFO = "lfo"
SOURCES = ("onset", "loudness", "low", "mid", "high", "flux", *(f"chroma/{p}" for p in PITCHES), "beat", "bar",
           "link/beat", "link/bar", "section", *(f"fader/{i}" for i in range(1, FADERS + 1)), LFO)
BANDS_HZ = (250.0, 2000.0)  # low | mid | high
BEATS_PER_BAR = 4
DEFAULT_BEAT_SECONDS = 0.5
SILENT_DB = -60.0


COLUMNS = {name: i for i, name in enumerate(s for s in SOURCES if s != LFO)}  # of SourceFrames.table


@dataclass
class SourceFrames:
    """The sources for `len(time)` consecutive control frames: `frames[name]` [T] for every name in SOURCES but
    "lfo" (columns of `table` [T, len(COLUMNS)]), `position` [T] the beat clock in beats (float, from 0), and where
    a beat and a bar line fall: `beat_line` and `bar_line` [T] bool (the frame a whole beat, or bar, begins)."""

    time: np.ndarray
    table: np.ndarray
    position: np.ndarray
    beat_line: np.ndarray
    bar_line: np.ndarray

    def __len__(self) -> int:
        return len(self.time)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.table[:, COLUMNS[name]]


@lru_cache(maxsize=8)
def _spectrum_plan(n: int, sample_rate: int) -> tuple[np.ndarray, int, int]:
    """The Hann window of a hop of n samples, and the rfft bins where the mid and the high band start."""
    freqs = np.fft.rfftfreq(n, 1 / sample_rate)
    low, high = np.searchsorted(freqs, BANDS_HZ)
    return np.hanning(n), int(low), int(high)


def band_levels(hops: np.ndarray, sample_rate: int) -> np.ndarray:
    """hops [k, n] of mono audio → [k, 3] level (dBFS) in the low, mid and high band: the hop's level plus the
    band's share of its (Hann-windowed) spectrum's power."""
    window, low, high = _spectrum_plan(hops.shape[1], sample_rate)
    power = np.abs(np.fft.rfft(hops * window, axis=1)) ** 2
    bands = np.stack([power[:, 1:low].sum(1), power[:, low:high].sum(1), power[:, high:].sum(1)], 1)
    share = bands / np.maximum(bands.sum(1, keepdims=True), 1e-30)
    level = 10 * np.log10(np.mean(hops.astype(np.float64) ** 2, axis=1) + 1e-12)
    return level[:, None] + 10 * np.log10(share + 1e-12)


def unit_level(db: np.ndarray) -> np.ndarray:
    """−60 dBFS → 0, 0 dBFS → 1, clipped."""
    return np.clip((np.asarray(db, np.float64) - SILENT_DB) / -SILENT_DB, 0.0, 1.0)


class SourceTracker:
    """Streaming: `push` the analysis of consecutive control frames, get their SourceFrames; keeps the beat clock
    and the faders (set from any thread: a fader's value is a float, swapped in whole)."""

    def __init__(self, frame_rate: float) -> None:
        self.frame_rate = frame_rate
        self.faders = np.zeros(FADERS)
        self.link: tuple[float, float, int] | None = None  # Link's beat at audio time 0, beats a second, quantum
        self.sections: np.ndarray | None = None  # a song's section starts (s, from 0) and its end, when known
        self._intervals: deque[float] = deque(maxlen=8)
        self._last_beat: float | None = None  # audio time of the latest beat
        self._at_last_beat = -1.0  # the clock's position there (a whole number of beats; -1: none yet)
        self._position = -1.0  # the clock's position at the latest frame (-1: before the first beat)
        self._tempo()  # beat_seconds, from the intervals

    def set_fader(self, number: int, value: float) -> None:
        faders = self.faders.copy()
        faders[number - 1] = min(1.0, max(0.0, float(value)))
        self.faders = faders

    def set_link(self, beat_at_zero: float, beats_per_second: float, quantum: int) -> None:
        """Where an Ableton Link session's timeline stands against this path's audio time (stage/link.py sets it
        before each block, from the session's tempo and the time the audio reaches the screen)."""
        self.link = (float(beat_at_zero), float(beats_per_second), int(quantum))

    def set_sections(self, boundaries: Sequence[float], duration: float) -> None:
        """A song's section boundaries (s) and its length: the 'section' source is the way through each section."""
        self.sections = np.array([0.0, *boundaries, max(duration, *boundaries, 1e-9)], np.float64)

    def bar_grid(self) -> tuple[float, float] | None:
        """A bar line of the beat clock (seconds of audio) and a bar's length, once a beat was found (None before):
        where a resumed show starts again (playback/resume.py). Read from any thread; a read torn by the
        analysis thread is off by a beat at most."""
        last, at, beat = self._last_beat, self._at_last_beat, self.beat_seconds
        if last is None or at < 0:
            return None
        return last + (BEATS_PER_BAR * math.ceil(at / BEATS_PER_BAR) - at) * beat, BEATS_PER_BAR * beat

    def _tempo(self) -> None:
        self.beat_seconds = float(np.median(self._intervals)) if self._intervals else DEFAULT_BEAT_SECONDS

    def push(self, time: np.ndarray, onset: np.ndarray, flux_db: np.ndarray, chroma: np.ndarray,
             level_db: np.ndarray, bands_db: np.ndarray, beats: np.ndarray) -> SourceFrames:
        """Per control frame: its time (s), onset [0, 1], raw flux (dB), chroma [T, 12], level (dBFS), band
        levels [T, 3] (dBFS) and whether a beat starts there."""
        table = np.empty((len(time), len(COLUMNS)))
        table[:, COLUMNS["onset"]] = np.clip(onset, 0, 1)
        table[:, COLUMNS["loudness"]] = unit_level(level_db)
        table[:, COLUMNS["flux"]] = np.clip(np.asarray(flux_db, np.float64) / 10, 0, 1)
        table[:, COLUMNS["low"]:COLUMNS["high"] + 1] = unit_level(bands_db)
        table[:, COLUMNS["chroma/C"]:COLUMNS["chroma/B"] + 1] = np.clip(chroma, 0, 1)
        table[:, COLUMNS["fader/1"]:COLUMNS[f"fader/{FADERS}"] + 1] = self.faders
        position = self._clock(np.asarray(time, np.float64), np.asarray(beats, bool))
        before = np.concatenate([[self._position], position[:-1]])
        beat_line = (np.floor(position) > np.floor(before)) & (position >= 0)
        bar_line = (np.floor(position / BEATS_PER_BAR) > np.floor(before / BEATS_PER_BAR)) & (position >= 0)
        bars = position / BEATS_PER_BAR
        table[:, COLUMNS["beat"]] = np.where(position >= 0, position - np.floor(position), 0.0)
        table[:, COLUMNS["bar"]] = np.where(position >= 0, bars - np.floor(bars), 0.0)
        table[:, COLUMNS["link/beat"]] = table[:, COLUMNS["link/bar"]] = table[:, COLUMNS["section"]] = 0.0
        if self.sections is not None:
            t = np.asarray(time, np.float64)
            k = np.clip(np.searchsorted(self.sections, t, side="right") - 1, 0, len(self.sections) - 2)
            start, end = self.sections[k], self.sections[k + 1]
            table[:, COLUMNS["section"]] = np.clip((t - start) / np.maximum(end - start, 1e-9), 0.0, 1.0)
        if self.link is not None:
            start, rate, quantum = self.link
            link = start + rate * np.asarray(time, np.float64)
            table[:, COLUMNS["link/beat"]] = link - np.floor(link)
            table[:, COLUMNS["link/bar"]] = link / quantum - np.floor(link / quantum)
        if len(position):
            self._position = float(position[-1])
        return SourceFrames(np.asarray(time, np.float64), table, position, beat_line, bar_line)

    def _clock(self, time: np.ndarray, beats: np.ndarray) -> np.ndarray:
        position = np.empty(len(time))
        current = self._position
        for k, (t, beat) in enumerate(zip(time, beats)):
            if beat:
                if self._last_beat is not None and 0.25 <= t - self._last_beat <= 2.0:
                    self._intervals.append(t - self._last_beat)
                    self._tempo()
                self._last_beat = t
                self._at_last_beat = float(np.floor(current + 0.5)) if current >= 0 else 0.0
            if self._last_beat is not None:
                current = max(current, self._at_last_beat + (t - self._last_beat) / self.beat_seconds)
            position[k] = current
        return position

    def state(self) -> dict:
        """The beat clock and the faders, as plain data (see lavlive/snapshot.py)."""
        return {"frame_rate": self.frame_rate, "faders": self.faders.copy(),
                "intervals": np.array(self._intervals, np.float64),
                "last_beat": -1.0 if self._last_beat is None else self._last_beat,
                "at_last_beat": self._at_last_beat, "position": self._position}

    def load_state(self, state: dict) -> None:
        with reading("the modulation sources"):
            faders = array_of(state["faders"], "the faders", (FADERS,), np.float64)
            intervals = array_of(state["intervals"], "the beat intervals", (None,), np.float64)
            last, at, position = (float(scalar_of(state[k], f"the beat clock's {k}", (int, float, np.floating)))
                                  for k in ("last_beat", "at_last_beat", "position"))
        self.faders, self._intervals = faders, deque(intervals, maxlen=self._intervals.maxlen)
        self._tempo()
        self._last_beat, self._at_last_beat, self._position = (None if last < 0 else last), at, position
