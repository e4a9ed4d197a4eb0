"""A short demo track made from scratch: drums and chords, so lavlive can show itself offline.

Four-on-the-floor kick, snare on 2 and 4, eighth-note hi-hats, a bass line and a pad playing
C – G – Am – F, one chord per bar. Deterministic for a given seed (the noise in snare and hats).
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

CHORDS = ((60, 64, 67), (55, 59, 62), (57, 60, 64), (53, 57, 60))  # C, G, Am, F (MIDI notes)


def _hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def _kick(rate: int) -> np.ndarray:
    t = np.arange(int(0.35 * rate)) / rate
    freq = 45 + 110 * np.exp(-t / 0.04)  # pitch drops from 155 Hz to 45 Hz
    return np.sin(2 * np.pi * np.cumsum(freq) / rate) * np.exp(-t / 0.12)


def _snare(rate: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.25 * rate)) / rate
    noise = rng.standard_normal(len(t)) * np.exp(-t / 0.06)
    return 0.5 * noise + 0.4 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.05)


def _hat(rate: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.06 * rate)) / rate
    noise = np.diff(rng.standard_normal(len(t) + 1))  # differencing tilts the noise towards the highs
    return 0.25 * noise * np.exp(-t / 0.015)


def demo_track(seconds: float = 8.0, sample_rate: int = 44100, bpm: float = 120.0, seed: int = 0) -> np.ndarray:
    """Stereo float32 [2, n] in [-1, 1]."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sample_rate))
    mix = np.zeros((2, n + sample_rate), np.float64)  # a second of tail room, cut at the end
    beat = 60.0 / bpm
    kick, snare = _kick(sample_rate), _snare(sample_rate, rng)

    def add(sound: np.ndarray, at: float, gain: float, pan: float = 0.0) -> None:
        i = int(round(at * sample_rate))
        if i >= n:
            return
        seg = sound[:mix.shape[1] - i]
        mix[0, i:i + len(seg)] += gain * (1 - pan) * seg
        mix[1, i:i + len(seg)] += gain * (1 + pan) * seg

    for k in range(int(seconds / beat) + 1):
        add(kick, k * beat, 0.9)
        if k % 2 == 1:
            add(snare, k * beat, 0.6)
        for half in (0, 0.5):
            add(_hat(sample_rate, rng), (k + half) * beat, 0.5, pan=0.3)

    bar = 4 * beat
    t_bar = np.arange(int(round(bar * sample_rate))) / sample_rate
    envelope = np.minimum(1, t_bar / 0.05) * np.exp(-t_bar / (2 * bar))
    for b in range(int(seconds / bar) + 1):
        chord = CHORDS[b % len(CHORDS)]
        pad = sum(np.sin(2 * np.pi * _hz(m) * t_bar) + 0.3 * np.sin(4 * np.pi * _hz(m) * t_bar) for m in chord)
        add(pad * envelope / len(chord), b * bar, 0.35, pan=-0.2)
        for k in range(4):  # bass: the chord's root, an octave down, on every beat
            t = t_bar[:int(beat * sample_rate)]
            add(np.sin(2 * np.pi * _hz(chord[0] - 24) * t) * np.exp(-t / 0.3), b * bar + k * beat, 0.5)

    mix = mix[:, :n]
    mix *= 0.9 / max(1e-9, np.abs(mix).max())
    return mix.astype(np.float32)


def write_wav(path: str | Path, audio: np.ndarray, sample_rate: int) -> None:
    """16-bit PCM WAV of float audio [channels, n]."""
    layout = {1: "mono", 2: "stereo"}[audio.shape[0]]
    pcm = np.round(np.clip(audio, -1, 1) * 32767).astype(np.int16)
    with av.open(str(path), "w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=sample_rate, layout=layout)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm.T.reshape(1, -1)), format="s16", layout=layout)
        frame.sample_rate = sample_rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
