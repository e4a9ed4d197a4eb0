"""A song's sections (intro, verse, chorus, break, …), found in a pass over the whole file before its first frame.

    file ─▶ half-second frames: MFCC (timbre), chroma (harmony), loudness, in fixed units
         ─▶ novelty: a checkerboard kernel slid along the self-similarity matrix's diagonal (Foote 2000)
         ─▶ boundaries: the novelty's peaks, at least MIN_SECTION_SECONDS apart and above its typical level

Only a band around the diagonal of the self-similarity matrix is ever formed (the kernel's width), so time and
memory grow linearly with the song: a two-hour mix is analysed like a song. The EnCodec embeddings are not used
here: they would need the encoder over the whole file before the first frame (minutes on a CPU), and timbre and
harmony already separate sections well.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np

from .sources import FileSource

SAMPLE_RATE = 22050
FRAME_SECONDS = 0.5  # one feature frame per half second
KERNEL_SECONDS = 8.0  # how far each side of a moment the novelty compares: a section is this long at least to tell
MIN_SECTION_SECONDS = 8.0
MIN_SPREAD = 0.5  # the least squared feature distance that counts as typical (see novelty)
MIN_NOVELTY = 0.05  # of 0.5 for a clean cut: below it, no boundary
FRAME_SAMPLES = round(FRAME_SECONDS * SAMPLE_RATE)  # 11025
HOPS_PER_FRAME = 21
N_FFT, HOP, N_MELS, N_MFCC = 2048, FRAME_SAMPLES // HOPS_PER_FRAME, 64, 13  # HOP 525: 21 spectra per frame
BLOCK_FRAMES = 60  # frames decoded and analysed at once (30 s)


@dataclass(frozen=True)
class Sections:
    """Where a song's sections begin (seconds, the first section's 0 not included), and the novelty curve they
    were picked from (one value per FRAME_SECONDS, for plots)."""

    boundaries: tuple[float, ...]
    novelty: np.ndarray

    @property
    def duration(self) -> float:
        """Seconds of audio analysed (whole frames)."""
        return len(self.novelty) * FRAME_SECONDS


def find_sections(path: str | Path, start: float = 0.0, duration: float | None = None) -> Sections:
    """The sections of the audio file at `path`, from `start` for `duration` seconds (times from `start`;
    decoding errors as FileSource raises them)."""
    source = FileSource(path, SAMPLE_RATE, channels=1, block_size=BLOCK_FRAMES * FRAME_SAMPLES, start=start,
                        duration=duration)
    return sections_of(section_features(block[0] for block in source))


def sections_of(features: np.ndarray) -> Sections:
    curve = novelty(scaled(features), round(KERNEL_SECONDS / FRAME_SECONDS))
    return Sections(tuple(float(t) for t in peaks(curve, round(MIN_SECTION_SECONDS / FRAME_SECONDS)) * FRAME_SECONDS),
                    curve)


def section_features(blocks: Iterable[np.ndarray]) -> np.ndarray:
    """[F, 13 + 12 + 1] per half-second frame of mono audio at SAMPLE_RATE (given in blocks of any length): mean
    MFCC, mean chroma and level (dB) over the frame's HOPS_PER_FRAME spectra (a last partial frame is dropped)."""
    mel = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS)
    chroma = librosa.filters.chroma(sr=SAMPLE_RATE, n_fft=N_FFT, tuning=0.0)
    rows = []
    pending = np.zeros(N_FFT - HOP, np.float32)  # the spectra of frame k reach N_FFT − HOP samples into frame k + 1
    for block in blocks:
        pending = np.concatenate([pending, np.nan_to_num(np.asarray(block, np.float32))])
        frames = (len(pending) - (N_FFT - HOP)) // FRAME_SAMPLES
        if frames <= 0:
            continue
        x = pending[:frames * FRAME_SAMPLES + N_FFT - HOP]
        pending = pending[frames * FRAME_SAMPLES:]
        power = np.abs(librosa.stft(x, n_fft=N_FFT, hop_length=HOP, center=False)) ** 2  # [bins, frames · hops]
        grouped = lambda a: a.reshape(a.shape[0], frames, HOPS_PER_FRAME).mean(axis=2)  # noqa: E731
        log_mel = librosa.power_to_db(mel @ power, ref=1.0, amin=1e-10)
        mfcc = grouped(librosa.feature.mfcc(S=log_mel, n_mfcc=N_MFCC))
        pitch = chroma @ power
        pitch = grouped(pitch / np.maximum(pitch.max(axis=0, keepdims=True), 1e-10))
        level = 10 * np.log10(np.maximum(grouped(power.sum(axis=0, keepdims=True)), 1e-10))
        rows.append(np.concatenate([mfcc, pitch, level]).T)
    return np.concatenate(rows) if rows else np.zeros((0, N_MFCC + 12 + 1))


def scaled(features: np.ndarray) -> np.ndarray:
    """Features in fixed units, so that a steady song stays steady (no per-song standardising, which would blow
    its small wobbles up to the size of real changes): MFCC 1-12 and the level in tens of dB, chroma as it is."""
    mfcc, pitch, level = features[:, 1:N_MFCC], features[:, N_MFCC:N_MFCC + 12], features[:, N_MFCC + 12:]
    return np.concatenate([mfcc / 10, pitch, level / 10], axis=1)


def checkerboard(half: int) -> np.ndarray:
    """Foote's kernel [2·half, 2·half]: +1 where both frames are on one side of the middle, −1 across it, under a
    Gaussian taper, summing to 0 in absolute value 1."""
    offsets = np.arange(-half, half) + 0.5
    taper = np.exp(-0.5 * (offsets / (0.5 * half)) ** 2)
    kernel = np.outer(np.sign(offsets) * taper, np.sign(offsets) * taper)
    return kernel / np.abs(kernel).sum()


def novelty(x: np.ndarray, half: int, chunk: int = 512) -> np.ndarray:
    """[F]: how much the frames before each moment differ from those after it, in [0, 0.5] (0 where the kernel
    does not fit). Similarity is exp(−d² / τ²) with τ² the song's median d² between frames a kernel apart, but
    at least MIN_SPREAD: a song that changes little everywhere shows little novelty anywhere."""
    count = len(x)
    out = np.zeros(count)
    if count < 2 * half:
        return out
    kernel = checkerboard(half)
    windows = np.lib.stride_tricks.sliding_window_view(x, 2 * half, axis=0).transpose(0, 2, 1)  # [n, 2h, D]
    distances = lambda w: ((w[:, :, None] - w[:, None]) ** 2).sum(axis=3)  # noqa: E731 - [n, 2h, 2h]
    spread = max(float(np.median(distances(windows[::max(1, len(windows) // 64)]))), MIN_SPREAD)
    for start in range(0, len(windows), chunk):
        similarity = np.exp(-distances(windows[start:start + chunk]) / spread)
        out[half + start:half + start + len(similarity)] = np.einsum("nab,ab->n", similarity, kernel)
    return np.maximum(out, 0.0)


def peaks(curve: np.ndarray, distance: int) -> np.ndarray:
    """Indices of the curve's local maxima within ±distance frames, above its mean plus half its deviation and
    above MIN_NOVELTY, and at least `distance` frames from either end."""
    if not len(curve) or not curve.any():
        return np.zeros(0, int)
    threshold = max(curve.mean() + 0.5 * curve.std(), MIN_NOVELTY)
    padded = np.pad(curve, distance, constant_values=-np.inf)
    local = np.lib.stride_tricks.sliding_window_view(padded, 2 * distance + 1).max(axis=1)
    index = np.flatnonzero((curve >= local) & (curve > threshold))
    index = index[(index >= distance) & (index <= len(curve) - distance)]
    keep: list[int] = []
    for i in index:  # equal neighbours (a plateau): its first frame
        if not keep or i - keep[-1] >= distance:
            keep.append(int(i))
    return np.array(keep, int)


def describe_sections(boundaries: Sequence[float], switch: str) -> str:
    """One line for the console: 'sections: 4 (new seed at 0:16, 0:32, 0:48, on the next bar line)'."""
    if not boundaries:
        return f"sections: 1 (no boundary found: no {switch} switch)"
    times = ", ".join(f"{int(b // 60)}:{b % 60:04.1f}" for b in boundaries)
    return f"sections: {len(boundaries) + 1} (next {switch} at {times}, each on the bar line after)"
