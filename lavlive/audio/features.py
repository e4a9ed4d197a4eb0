"""Percussive onset strength and chroma, computed block by block with a fixed lookahead.

The chain mirrors librosa's whole-file recipe so the two can be compared frame by frame:

    D = stft(y, n_fft, hop, window="hann", center=True, zero padding)
    H, P = hpss(D, kernel_size=(harmonic_kernel, percussive_kernel), margin=1, power=2)
    onset_raw = onset_strength(S=power_to_db(melspectrogram(S=|P|**2), top_db), lag=1, center=True)
    chroma = chroma_stft(S=|H|**2, tuning=0, norm=inf)

Only the parts that need the whole file are replaced by causal versions, and each is documented
where it happens: the `top_db` clip uses the running maximum instead of the file maximum, the
onset is scaled into [0, 1] by a decaying running peak instead of the file maximum, and the
tuning is fixed at 0 instead of estimated from the file.

Timing. Frame k is centred on sample k·hop, so its presentation time is k·hop / sample_rate. The
harmonic median filter looks `harmonic_kernel // 2` frames ahead and each STFT frame reaches
`n_fft // 2` samples past its centre, so frame k is final once sample k·hop + lookahead_samples
has arrived (lookahead_samples = (harmonic_kernel // 2)·hop + n_fft // 2). The defaults (24 kHz,
hop 480, n_fft 2048, kernel 17) give 50 frames/s — exact 20 ms frame times, the rate of the
50 Hz EnCodec embeddings — and a lookahead of 4864 samples ≈ 0.203 s.

Memory is bounded: the last n_fft + block samples, a ring of `harmonic_kernel` spectra, and the
last few mel frames for the onset difference. That is also all of `state()`, the streaming state
as plain data, which `load_state()` takes back (to resume elsewhere; lavlive/snapshot.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np
from scipy.ndimage import median_filter

from ..snapshot import array_of, reading, same_settings, scalar_of

_TINY = np.finfo(np.float64).tiny


@dataclass(frozen=True)
class MusicFrames:
    """Features for consecutive frames `start, start + 1, …` (frame k is at time k / frame_rate)."""

    start: int
    onset: np.ndarray  # [k] float32 in [0, 1]: percussive onset strength, causally normalised
    onset_raw: np.ndarray  # [k] float32 ≥ 0: mean positive dB change of the percussive mel spectrum
    chroma: np.ndarray  # [k, 12] float32 in [0, 1]: max-normalised; all zeros for silent frames

    def __len__(self) -> int:
        return len(self.onset)

    @staticmethod
    def concat(parts: list[MusicFrames], start: int = 0) -> MusicFrames:
        """Join consecutive results (as returned by push/flush) into one."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return _empty(start)
        return MusicFrames(parts[0].start, np.concatenate([p.onset for p in parts]),
                           np.concatenate([p.onset_raw for p in parts]),
                           np.concatenate([p.chroma for p in parts]))


def _empty(start: int) -> MusicFrames:
    return MusicFrames(start, np.zeros(0, np.float32), np.zeros(0, np.float32), np.zeros((0, 12), np.float32))


def _softmask(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """x² / (x² + ref²), scaled by max(x, ref) so nothing overflows; 0.5 where both are ~0 (split)."""
    z = np.maximum(x, ref)
    bad = z < _TINY
    z = np.where(bad, 1.0, z)
    a, b = (x / z) ** 2, (ref / z) ** 2
    return np.where(bad, 0.5, a / np.where(bad, 1.0, a + b))


class MusicFeatures:
    """Streaming percussive onset + chroma: `push(block)` → frames now final, `flush()` → the rest.

    Onset normalisation (causal, replaces librosa's divide-by-file-max):
        peak_k = max(onset_raw_k, onset_floor, peak_{k-1} · exp(-1 / (onset_normalisation_seconds · frame_rate)))
        onset_k = onset_raw_k / peak_k            (so 0 ≤ onset_k ≤ 1, and silence gives 0)
    A new loudest hit reaches 1; the reference then forgets with time constant
    `onset_normalisation_seconds`, so quiet passages recover their range. `onset_floor` (in dB of
    mean mel-band rise) keeps flutter from being stretched to full scale: a steady tone leaks ~1 dB
    of raw onset, drum hits give tens of dB.

    Silence: chroma frames whose largest raw chroma energy is below `chroma_floor` (power, the same
    -100 dB as the dB floor `amin`) are all zeros, as librosa leaves all-zero columns; onset is 0.
    """

    def __init__(self, sample_rate: int = 24000, hop_length: int = 480, n_fft: int = 2048,
                 harmonic_kernel: int = 17, percussive_kernel: int = 31, n_mels: int = 128,
                 top_db: float | None = 80.0, amin: float = 1e-10, chroma_floor: float = 1e-10,
                 onset_normalisation_seconds: float = 10.0, onset_floor: float = 5.0) -> None:
        if harmonic_kernel % 2 != 1 or percussive_kernel % 2 != 1:
            raise ValueError("median kernels must be odd (their median is then one exact element)")
        if n_fft < hop_length or n_fft % 2:
            raise ValueError("n_fft must be even and at least hop_length")
        self.sample_rate, self.hop_length, self.n_fft = sample_rate, hop_length, n_fft
        self.harmonic_kernel, self.percussive_kernel = harmonic_kernel, percussive_kernel
        self.top_db, self.amin, self.chroma_floor = top_db, amin, chroma_floor
        self.onset_floor = onset_floor
        self.frame_rate = sample_rate / hop_length
        self._r = harmonic_kernel // 2
        self.lookahead_samples = self._r * hop_length + n_fft // 2
        self.lookahead = self.lookahead_samples / sample_rate
        # librosa's centre=True onset shifts the difference by this many frames (see onset_strength).
        self._onset_shift = n_fft // (2 * hop_length)
        self._decay = float(np.exp(-1.0 / (onset_normalisation_seconds * self.frame_rate)))

        self._window = librosa.filters.get_window("hann", n_fft, fftbins=True).astype(np.float64)
        self._mel = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels).astype(np.float64)
        self._chroma = librosa.filters.chroma(sr=sample_rate, n_fft=n_fft, tuning=0.0).astype(np.float64)
        n_bins = n_fft // 2 + 1

        # Samples not yet consumed, starting at the next STFT frame; begins with the centre padding.
        self._buf = np.zeros(n_fft // 2, np.float64)
        self._n_stft = 0  # STFT frames computed so far
        self._n_out = 0  # frames emitted so far
        # Ring of the reflect-padded magnitude sequence X[-r], X[-r + 1], …: X[j] lives at slot (j + r) % W.
        width = harmonic_kernel
        self._mag = np.zeros((n_bins, width))  # bins × slots: the time median runs along rows
        self._pmed = np.zeros((width, n_bins))  # frequency-median of the real frames, same slots
        self._early: list[np.ndarray] = []  # magnitudes of the first ≤ r frames, for tiny signals
        # Onset state: dB mel frames k - shift - lag … k, running dB max, running peak.
        self._db: list[np.ndarray] = []
        self._db_max = -np.inf
        self._peak = onset_floor
        self._done = False

    # -- streaming API -------------------------------------------------------------------------

    def push(self, block: np.ndarray) -> MusicFrames:
        """Take the next mono samples (any length); return the frames that are now final."""
        if self._done:
            raise RuntimeError("push() after flush()")
        block = np.asarray(block, dtype=np.float64).reshape(-1)
        self._buf = np.concatenate([self._buf, block])
        return self._emit(self._spectra())

    def flush(self) -> MusicFrames:
        """End the stream: pad like librosa's centred STFT, reflect at the end, return the rest."""
        if self._done:
            return _empty(self._n_out)
        self._done = True
        self._buf = np.concatenate([self._buf, np.zeros(self.n_fft // 2)])
        mags = self._spectra()
        r, width = self._r, self.harmonic_kernel
        if self._n_stft + len(mags) <= r:  # never filled the window: filter the few frames at once
            return self._finish_short(self._early + mags)
        parts = [self._emit(mags)]
        n = self._n_stft
        frames = []
        for i in range(1, r + 1):  # reflect about the last frame: X[n - 1 + i] = X[n - i]
            self._mag[:, (r + n - 1 + i) % width] = self._mag[:, (r + n - i) % width]
            frames.append(self._frame(self._n_out))
            self._n_out += 1
        parts.append(self._pack(frames, n - r))
        return MusicFrames.concat(parts, parts[0].start)

    def state(self) -> dict:
        """The streaming state between two blocks, as plain data (see lavlive/snapshot.py)."""
        return {"config": self._config(), "buf": self._buf.copy(), "n_stft": self._n_stft, "n_out": self._n_out,
                "mag": self._mag.copy(), "pmed": self._pmed.copy(), "early": [m.copy() for m in self._early],
                "db": [d.copy() for d in self._db], "db_max": self._db_max, "peak": self._peak, "done": self._done}

    def load_state(self, state: dict) -> None:
        """Go on from `state`, taken from features analysed with the same settings."""
        with reading("the music features"):
            same_settings(state["config"], self._config(), "music features")
            bins, mels = self.n_fft // 2 + 1, self._mel.shape[0]
            new = {"buf": array_of(state["buf"], "the features' sample buffer", (None,), np.float64),
                   "mag": array_of(state["mag"], "the features' spectra", self._mag.shape, np.float64),
                   "pmed": array_of(state["pmed"], "the features' medians", self._pmed.shape, np.float64),
                   "early": [array_of(m, "the features' first spectra", (bins,), np.float64) for m in state["early"]],
                   "db": [array_of(d, "the features' mel frames", (mels,), np.float64) for d in state["db"]]}
            for key in ("n_stft", "n_out"):
                new[key] = int(scalar_of(state[key], f"the features' {key}", (int, np.integer)))
            for key in ("db_max", "peak"):  # kept as they are: a numpy scalar promotes unlike a float
                new[key] = scalar_of(state[key], f"the features' {key}", (int, float, np.floating))
            new["done"] = bool(scalar_of(state["done"], "the features' done", (bool, np.bool_)))
        for key, value in new.items():
            setattr(self, "_" + key, value)

    def _config(self) -> dict:
        """What shapes the analysis, as a snapshot records it (to refuse one made with other settings)."""
        return {"sample_rate": self.sample_rate, "hop_length": self.hop_length, "n_fft": self.n_fft,
                "harmonic_kernel": self.harmonic_kernel, "percussive_kernel": self.percussive_kernel,
                "n_mels": int(self._mel.shape[0]), "top_db": self.top_db, "amin": self.amin,
                "chroma_floor": self.chroma_floor, "onset_floor": self.onset_floor, "decay": self._decay}

    # -- internals ----------------------------------------------------------------------------

    def _spectra(self) -> list[np.ndarray]:
        """Magnitude spectra of every STFT frame the buffer now completes, one at a time."""
        out = []
        hop, n_fft = self.hop_length, self.n_fft
        start = 0
        while start + n_fft <= len(self._buf):
            out.append(np.abs(np.fft.rfft(self._window * self._buf[start:start + n_fft])))
            start += hop
        self._buf = self._buf[start:]
        return out

    def _place(self, mag: np.ndarray) -> bool:
        """Write STFT frame j into the ring (and its start mirror); True when frame j - r is final."""
        r, width = self._r, self.harmonic_kernel
        j = self._n_stft
        self._n_stft += 1
        slot = (r + j) % width
        self._mag[:, slot] = mag
        self._pmed[slot] = median_filter(mag, size=self.percussive_kernel, mode="reflect")
        if j < r:  # reflect about the first frame: X[-(j + 1)] = X[j]
            self._mag[:, r - 1 - j] = mag
            self._early.append(mag)
        else:
            self._early = []
        return j >= r

    def _emit(self, mags: list[np.ndarray]) -> MusicFrames:
        start = self._n_out
        frames = []
        for mag in mags:
            if self._place(mag):
                frames.append(self._frame(self._n_out))
                self._n_out += 1
        return self._pack(frames, start)

    def _frame(self, k: int) -> tuple[float, float, np.ndarray]:
        """Features of frame k; the ring holds exactly X[k - r … k + r]."""
        slot = (self._r + k) % self.harmonic_kernel
        hmed = np.partition(self._mag, self._r, axis=1)[:, self._r]  # the median: one exact element
        return self._features(self._mag[:, slot].copy(), hmed, self._pmed[slot])

    def _features(self, mag: np.ndarray, hmed: np.ndarray, pmed: np.ndarray) -> tuple[float, float, np.ndarray]:
        """One frame, in order: HPSS soft masks (margin 1, power 2), chroma of the harmonic part, onset
        of the percussive part. As librosa's centred onset_strength, frame k's onset is the rise from
        mel frame k - shift - 1 to k - shift (shift = n_fft // (2·hop)): a click enters the window early."""
        perc = mag * _softmask(pmed, hmed)
        harm = mag * _softmask(hmed, pmed)

        chroma = self._chroma @ (harm * harm)
        peak = chroma.max()
        chroma = chroma / peak if peak >= self.chroma_floor else np.zeros_like(chroma)

        db = 10.0 * np.log10(np.maximum(self.amin, self._mel @ (perc * perc)))
        self._db.append(db)
        self._db_max = max(self._db_max, float(db.max()))
        lag, shift = 1, self._onset_shift
        keep = shift + lag + 1
        if len(self._db) > keep:
            del self._db[0]
        k = len(self._db) - 1  # position of the current frame in the history
        raw = 0.0
        if k - shift - lag >= 0:
            new, old = self._db[k - shift], self._db[k - shift - lag]
            if self.top_db is not None:  # causal top_db: clip against the loudest value so far
                floor = self._db_max - self.top_db
                new, old = np.maximum(new, floor), np.maximum(old, floor)
            raw = float(np.mean(np.maximum(0.0, new - old)))

        self._peak = max(raw, self.onset_floor, self._peak * self._decay)
        return raw / self._peak, raw, chroma

    def _finish_short(self, mags: list[np.ndarray]) -> MusicFrames:
        """Signals shorter than the harmonic half-window: whole-signal median filters."""
        if not mags:
            return _empty(0)
        spec = np.stack(mags, axis=1)  # [bins, frames]
        hmed = median_filter(spec, size=(1, self.harmonic_kernel), mode="reflect")
        pmed = median_filter(spec, size=(self.percussive_kernel, 1), mode="reflect")
        frames = [self._features(spec[:, k], hmed[:, k], pmed[:, k]) for k in range(spec.shape[1])]
        self._n_out = spec.shape[1]
        return self._pack(frames, 0)

    @staticmethod
    def _pack(frames: list[tuple[float, float, np.ndarray]], start: int) -> MusicFrames:
        if not frames:
            return _empty(start)
        onset, raw, chroma = zip(*frames)
        return MusicFrames(start, np.asarray(onset, np.float32), np.asarray(raw, np.float32),
                           np.stack(chroma).astype(np.float32))
