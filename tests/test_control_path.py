"""The assembled control path: block-size independent, causal within its lookahead, calm on silence."""

import numpy as np
import pytest

from lavlive.audio.encodec_stream import load_encoder
from lavlive.control import ControlPath
from lavlive.presets import load_preset

SR = 24000


@pytest.fixture(scope="module")
def parts(tiny_generator, tiny_stats):
    return tiny_generator, tiny_stats


def run(parts, audio, block, encoder_name="24khz", low_latency=False):
    G, stats = parts
    encoder, _ = load_encoder(encoder_name)
    path = ControlPath(encoder, stats, load_preset("default"), G.num_ws, G.img_resolution, low_latency=low_latency)
    out = [path.push(audio[:, i:i + block]) for i in range(0, audio.shape[1], block)]
    return np.concatenate(out + [path.flush()]), path


def music(seconds=3.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(SR * seconds)) / SR
    x = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sin(2 * np.pi * 330 * t)
    for hit in np.arange(0.25, seconds, 0.5):
        i = int(hit * SR)
        x[i:i + 1200] += rng.normal(0, 0.5, 1200) * np.exp(-np.arange(1200) / 300)
    return x[None].astype(np.float32)


def test_one_ws_per_encoder_frame_and_block_size_independent(parts):
    audio = music()
    a, path = run(parts, audio, 2400)
    b, _ = run(parts, audio, 777)
    assert a.shape == (int(np.ceil(audio.shape[1] / 320)), parts[0].num_ws, 64)
    assert np.allclose(a, b, atol=1e-4)
    assert path.lookahead == pytest.approx(path.features.lookahead + 0.02)


def test_output_before_t_plus_lookahead_ignores_later_audio(parts):
    audio = music()
    a, path = run(parts, audio, 2400)
    changed = audio.copy()
    cut = int(2.0 * SR)
    changed[:, cut:] = np.random.default_rng(5).normal(0, 0.5, changed.shape[1] - cut)
    b, _ = run(parts, changed, 2400)
    safe = int((2.0 - path.lookahead) * path.frame_rate) - 1
    assert np.array_equal(a[:safe], b[:safe])
    assert not np.allclose(a[safe + 40:], b[safe + 40:])


def test_silence_is_calm_and_finite(parts):
    ws, _ = run(parts, np.zeros((1, SR * 2), np.float32), 2400)
    assert np.isfinite(ws).all()
    assert np.abs(np.diff(ws, axis=0)).max() < 1e-4


def test_music_moves_the_picture(parts):
    ws, _ = run(parts, music(), 2400)
    assert np.abs(np.diff(ws[:, -1], axis=0)).mean() > 1e-3


def test_paper_preset_encoder_streams_too(parts):
    """The 32 kHz (50 Hz) encoder of the paper preset, with its 80 ms lookahead."""
    t = np.arange(int(32000 * 2.0)) / 32000
    audio = (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + (t % 0.5 < 0.05)))[None].astype(np.float32)
    a, path = run(parts, audio, 3200, "32khz")
    b, _ = run(parts, audio, 1111, "32khz")
    assert path.frame_rate == 50 and a.shape[0] == 100
    assert np.allclose(a, b, atol=1e-4) and np.isfinite(a).all()


def test_48khz_segments_get_the_features_of_their_own_time(parts):
    """The 48 kHz encoder returns a whole second at once; its frames must still get their own onsets."""
    t = np.arange(int(48000 * 3.0)) / 48000
    audio = np.stack([0.3 * np.sin(2 * np.pi * 220 * t) * (1 + 3 * (t % 0.5 < 0.03))] * 2).astype(np.float32)
    whole, path = run(parts, audio, audio.shape[1], "48khz")
    blocks, _ = run(parts, audio, 4800, "48khz")
    assert path.frame_rate == 150 and len(whole) == len(blocks) == 450
    assert np.allclose(whole, blocks, atol=1e-4)


def test_low_latency_path_is_causal_within_41_ms_and_emits_promptly(parts):
    """For live input: 20 ms blocks; after the stream's first 0.1 s (the encoder's reflect padding at
    the very start waits for samples once), every control frame comes out as soon as audio reaches
    its time plus the (now ~41 ms) lookahead, and later audio never changes it."""
    audio = music()
    G, stats = parts
    encoder, _ = load_encoder("24khz")
    path = ControlPath(encoder, stats, load_preset("default"), G.num_ws, G.img_resolution, low_latency=True)
    assert path.lookahead < 0.045
    emitted = 0
    for i in range(0, audio.shape[1], 480):
        emitted += len(path.push(audio[:, i:i + 480]))
        heard = (i + 480) / SR
        due = int(np.floor((heard - path.lookahead) * path.frame_rate)) + 1  # frames k with k/rate + lookahead <= heard
        assert heard < 0.12 or emitted >= due, (heard, emitted, due)
    a, _ = run(parts, audio, 480, low_latency=True)
    changed = audio.copy()
    cut = int(2.0 * SR)
    changed[:, cut:] = np.random.default_rng(5).normal(0, 0.5, changed.shape[1] - cut)
    b, _ = run(parts, changed, 480, low_latency=True)
    safe = int((2.0 - path.lookahead) * path.frame_rate) - 1
    assert np.array_equal(a[:safe], b[:safe]) and not np.allclose(a[safe + 10:], b[safe + 10:])
    assert np.abs(np.diff(a[:, -1], axis=0)).mean() > 1e-3  # and the music still moves it
