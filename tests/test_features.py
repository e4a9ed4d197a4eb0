"""Block-wise music features against librosa's whole-file results on signals with known pitches and onsets.

Measured agreement (float64 inside, float32 out): chroma to 3e-8 absolute, raw onset to 3e-8 of its
maximum, on every frame including the file edges — the stream reproduces librosa's zero centre
padding of the STFT and its reflect-mode median filters at both ends, so what is left is float32
rounding of the outputs and summation order. The one designed difference is `top_db`: the stream
clips against the loudest value so far, librosa against the file's loudest, so they agree only once
the loudest moment has passed. The tolerances below leave a margin of 30× or more.
"""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from lavlive.audio.features import MusicFeatures, MusicFrames

SR, HOP, N_FFT, KH, KP = 24000, 480, 2048, 17, 31
CHROMA_ATOL = 1e-6
ONSET_RTOL = 1e-5  # of the envelope's maximum


def f_rate() -> float:
    """Frames per second."""
    return SR / HOP


def run(y: np.ndarray, block: int | list[int], **kw) -> MusicFrames:
    fx = MusicFeatures(sample_rate=SR, hop_length=HOP, n_fft=N_FFT, harmonic_kernel=KH, percussive_kernel=KP, **kw)
    sizes = block if isinstance(block, list) else None
    parts, i, b = [], 0, 0
    while i < len(y):
        n = sizes[b % len(sizes)] if sizes else block
        parts.append(fx.push(y[i:i + n]))
        i, b = i + n, b + 1
    parts.append(fx.flush())
    for a, nxt in zip(parts, parts[1:]):
        assert nxt.start == a.start + len(a)
    return MusicFrames.concat(parts)


def reference(y: np.ndarray, top_db: float | None = 80.0) -> tuple[np.ndarray, np.ndarray]:
    """librosa, whole file: onset_strength of the percussive mel spectrum, chroma of the harmonic part."""
    D = librosa.stft(y.astype(np.float64), n_fft=N_FFT, hop_length=HOP)
    H, P = librosa.decompose.hpss(D, kernel_size=(KH, KP))
    mel = librosa.feature.melspectrogram(S=np.abs(P) ** 2, sr=SR, n_fft=N_FFT)
    onset = librosa.onset.onset_strength(S=librosa.power_to_db(mel, top_db=top_db), sr=SR, n_fft=N_FFT,
                                         hop_length=HOP)
    chroma = librosa.feature.chroma_stft(S=np.abs(H) ** 2, sr=SR, n_fft=N_FFT, hop_length=HOP, tuning=0.0)
    return onset, chroma.T


def tone(freq: float, seconds: float, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return amp * sum(np.sin(2 * np.pi * h * freq * t) / h ** 2 for h in (1, 2, 3))


NOTES = [(440.0, 9), (523.25, 0), (659.26, 4), (392.0, 7), (293.66, 2)]  # A4 C5 E5 G4 D4 → pitch class


@pytest.fixture(scope="module")
def melody() -> np.ndarray:
    """0.5 s per note, then 0.5 s of digital silence."""
    return np.concatenate([tone(f, 0.5) for f, _ in NOTES] + [np.zeros(SR // 2)]).astype(np.float32)


CLICKS = [0.5, 1.23, 2.0, 2.71, 3.3]


@pytest.fixture(scope="module")
def drums() -> np.ndarray:
    """Decaying noise bursts at CLICKS over a sustained A4; the first burst is the loudest."""
    y = tone(440.0, 4.0, amp=0.2)
    rng = np.random.default_rng(0)
    for j, c in enumerate(CLICKS):
        i, n = int(c * SR), 480
        y[i:i + n] += rng.standard_normal(n) * np.exp(-np.arange(n) / 80) * (0.9 if j == 0 else 0.5)
    return y.astype(np.float32)


def test_declared_timing() -> None:
    fx = MusicFeatures()
    assert fx.frame_rate == 50.0
    assert fx.lookahead == pytest.approx((8 * 480 + 1024) / 24000)


def test_chroma_knows_the_pitch_and_matches_librosa(melody: np.ndarray) -> None:
    f = run(melody, 777)
    _, chroma = reference(melody)
    assert f.chroma.shape == chroma.shape == (1 + len(melody) // HOP, 12)
    np.testing.assert_allclose(f.chroma, chroma, rtol=0, atol=CHROMA_ATOL)
    frames_per_note = 25
    for n, (_, pc) in enumerate(NOTES):  # the middle of each note, clear of the transitions
        mid = f.chroma[n * frames_per_note + 8:(n + 1) * frames_per_note - 8]
        assert (mid.argmax(axis=1) == pc).all()
        assert np.allclose(mid.max(axis=1), 1.0)
    silent = f.chroma[len(NOTES) * frames_per_note + 12:]
    assert len(silent) > 5 and (silent == 0).all()  # documented: silence gives the zero vector


@pytest.mark.parametrize("top_db", [None, 80.0])
def test_onsets_at_the_clicks_and_match_librosa(drums: np.ndarray, top_db: float | None) -> None:
    f = run(drums, 1000, top_db=top_db)
    onset, _ = reference(drums, top_db=top_db)
    # With top_db the stream clips against the running maximum instead of the file maximum; the
    # loudest burst comes first, so from just after it the two floors agree and so do the envelopes.
    # Before it the stream's floor is lower and the tone's faint percussive leakage counts more.
    start = 0 if top_db is None else round(CLICKS[0] * f_rate()) + 2
    np.testing.assert_allclose(f.onset_raw[start:], onset[start:], rtol=0, atol=ONSET_RTOL * onset.max())
    assert ((0 <= f.onset) & (f.onset <= 1)).all()
    for c in CLICKS:
        k = round(c * f_rate())
        window = slice(k - 5, k + 6)
        assert abs(int(np.argmax(f.onset[window])) - 5) <= 1, c
        assert f.onset[window].max() > 0.5
    quiet = np.ones(len(f), bool)
    quiet[:10] = False  # the tone's own start
    quiet[-3:] = False  # the end of the file (zero padding after the tone)
    for c in CLICKS:
        quiet[round(c * f_rate()) - 5:round(c * f_rate()) + 10] = False
    assert f.onset[quiet].max() < 0.25  # the steady tone's leakage: < 1 dB raw, under onset_floor


def test_onset_normalisation_follows_the_documented_formula(drums: np.ndarray) -> None:
    seconds, floor = 2.0, 3.0
    f = run(drums, 480, onset_normalisation_seconds=seconds, onset_floor=floor)
    decay, peak, expected = np.exp(-1 / (seconds * f_rate())), floor, []
    for raw in f.onset_raw.astype(np.float64):
        peak = max(raw, floor, peak * decay)
        expected.append(raw / peak)
    np.testing.assert_allclose(f.onset, expected, rtol=1e-5, atol=1e-6)
    assert f.onset.max() == pytest.approx(1.0)


def test_block_size_does_not_change_anything(drums: np.ndarray) -> None:
    y = drums[:2 * SR]
    base = run(y, HOP)
    for block in (777, SR, [1, 2, 3, 500, 4093, 13]):
        other = run(y, block)
        for name in ("onset", "onset_raw", "chroma"):
            assert np.array_equal(getattr(base, name), getattr(other, name)), (block, name)


def test_one_sample_blocks() -> None:
    y = tone(523.25, 0.3).astype(np.float32)
    a, b = run(y, 1), run(y, len(y))
    assert np.array_equal(a.chroma, b.chroma) and np.array_equal(a.onset_raw, b.onset_raw)


def test_push_is_causal_within_the_lookahead(drums: np.ndarray) -> None:
    fx = MusicFeatures()
    cut = int(1.9 * SR) + 123
    early = fx.push(drums[:cut])
    final = (cut - fx.lookahead_samples) // HOP + 1  # frames k with k·hop + lookahead ≤ cut
    assert early.start == 0 and len(early) == final
    changed = drums.copy()
    changed[cut:] = np.random.default_rng(1).standard_normal(len(drums) - cut).astype(np.float32)
    a, b = run(drums, 999), run(changed, 999)
    for name in ("onset", "onset_raw", "chroma"):
        assert np.array_equal(getattr(a, name)[:final], getattr(early, name))
        assert np.array_equal(getattr(b, name)[:final], getattr(early, name))
    assert not np.array_equal(a.onset_raw[final:], b.onset_raw[final:])


@pytest.mark.parametrize("n", [0, 1, 479, 481, 5 * HOP])
def test_silence_and_tiny_inputs_are_finite(n: int) -> None:
    f = run(np.zeros(n, np.float32), 7)
    frames = 1 + n // HOP  # like librosa's centred STFT; even an empty stream has frame 0
    assert f.onset.shape == f.onset_raw.shape == (frames,) and f.chroma.shape == (frames, 12)
    assert (f.onset == 0).all() and (f.onset_raw == 0).all() and (f.chroma == 0).all()


@pytest.mark.filterwarnings("ignore:n_fft=2048 is too large")
def test_short_signals_match_librosa() -> None:
    """Fewer frames than the harmonic half-window take the whole-signal path; still librosa's numbers."""
    for n in (1, 3 * HOP + 5, 12 * HOP):
        y = (tone(440.0, 1.0)[:n] + np.random.default_rng(n).standard_normal(n) * 0.05).astype(np.float32)
        f = run(y, 100, top_db=None)
        onset, chroma = reference(y, top_db=None)
        assert np.isfinite(f.onset).all() and len(f) == 1 + n // HOP
        np.testing.assert_allclose(f.chroma, chroma, atol=CHROMA_ATOL)
        np.testing.assert_allclose(f.onset_raw, onset, atol=ONSET_RTOL * max(onset.max(), 1.0))
