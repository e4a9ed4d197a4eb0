"""The LAV mapping and hierarchical smoothing: formulas, causality, silence, frame-rate independence."""

import numpy as np
import pytest

from lavlive.control.mapping import LavMapper
from lavlive.control.smoothing import HierarchicalSmoother, ws_groups, ws_resolutions
from lavlive.control.statistics import sample_statistics, w_statistics
from lavlive.presets import ModulationSettings, SmoothingSettings

RATE = 75.0


@pytest.fixture(scope="module")
def stats(small_generator_module):
    return sample_statistics(small_generator_module, samples=2000)


@pytest.fixture(scope="module")
def small_generator_module():
    import torch

    from lavlive.generator import Generator, GeneratorConfig

    torch.manual_seed(0)
    return Generator(GeneratorConfig(z_dim=64, w_dim=64, img_resolution=32, channel_base=256, channel_max=16,
                                     mapping_layers=2)).eval()


def music(frames, seed=0, dim=128):
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(frames, dim)).cumsum(0) * 0.1
    onset = (rng.random(frames) > 0.9).astype(float)
    chroma = rng.random((frames, 12))
    return emb, onset, chroma


def test_statistics_shapes_and_pitch_means_are_distinct(stats):
    assert stats.z_mean.shape == stats.z_std.shape == (64,)
    assert stats.pitch_means.shape == (12, 64)
    assert (stats.z_std > 0).all()
    spread = np.linalg.norm(stats.pitch_means - stats.z_mean, axis=1)
    assert (spread > 0.1 * np.linalg.norm(stats.z_std)).all()


def test_statistics_are_cached_per_model(small_generator_module, tmp_path, monkeypatch):
    from lavlive.generator import ModelSource, save_generator

    monkeypatch.setenv("LAVLIVE_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "g.safetensors"
    save_generator(small_generator_module, path)
    small_generator_module.source = ModelSource(path, "lavlive-safetensors")
    first = w_statistics(small_generator_module, samples=500)
    assert len(list((tmp_path / "cache" / "wstats").glob("*.npz"))) == 1
    second = w_statistics(small_generator_module, samples=500)
    assert np.array_equal(first.pitch_means, second.pitch_means)


def test_mapping_follows_the_formulas(stats):
    s = ModulationSettings(y=0.5, c=0.2, chroma_strength=1.0, onset_strength=1.0)
    mapper = LavMapper(stats, s, RATE, truncation_psi=1.0)
    emb, onset, chroma = music(50)
    chroma[:] = 0
    chroma[:, 9] = 1.0  # a held A
    w = mapper.push(emb, onset, chroma)
    assert w.shape == (50, 64) and w.dtype == np.float32
    assert np.allclose(w[0], stats.pitch_means[9], atol=1e-5)  # first frame: û = 0, w = M_A
    dev = (w - stats.pitch_means[9]) / (s.y * stats.z_std)
    g_max = np.tanh(50) + s.c * 50  # |û| is bounded by sqrt(t) for running standardisation
    assert np.abs(dev).max() < g_max


def test_truncation_pulls_towards_w_avg(stats):
    emb, onset, chroma = music(40)
    full = LavMapper(stats, ModulationSettings(), RATE, truncation_psi=1.0).push(emb, onset, chroma)
    half = LavMapper(stats, ModulationSettings(), RATE, truncation_psi=0.5).push(emb, onset, chroma)
    assert np.allclose(half, stats.w_avg + 0.5 * (full - stats.w_avg), atol=1e-5)


def test_onsets_switch_projection(stats):
    emb, _, chroma = music(60)
    quiet = LavMapper(stats, ModulationSettings(), RATE).push(emb, np.zeros(60), chroma)
    hits = LavMapper(stats, ModulationSettings(), RATE).push(emb, np.ones(60), chroma)
    assert np.abs(quiet - hits)[5:].mean() > 0.05 * stats.z_std.mean()


def test_silence_gives_a_steady_finite_picture(stats):
    emb = np.tile(np.random.default_rng(1).normal(size=128), (300, 1))  # constant embedding
    w = LavMapper(stats, ModulationSettings(), RATE).push(emb, np.zeros(300), np.zeros((300, 12)))
    assert np.isfinite(w).all()
    assert np.abs(np.diff(w, axis=0)).max() < 1e-6


def test_mapping_is_streaming_and_causal(stats):
    emb, onset, chroma = music(200)
    whole = LavMapper(stats, ModulationSettings(), RATE).push(emb, onset, chroma)
    m = LavMapper(stats, ModulationSettings(), RATE)
    parts = [m.push(emb[i:i + 7], onset[i:i + 7], chroma[i:i + 7]) for i in range(0, 200, 7)]
    assert np.allclose(np.concatenate(parts), whole, atol=1e-5)
    emb2 = emb.copy()
    emb2[120:] += 5
    changed = LavMapper(stats, ModulationSettings(), RATE).push(emb2, onset, chroma)
    assert np.array_equal(changed[:120], whole[:120]) and not np.allclose(changed[120:], whole[120:])


def test_ws_groups_follow_synthesis_resolutions():
    assert ws_resolutions(14, 256) == [4, 8, 8, 16, 16, 32, 32, 64, 64, 128, 128, 256, 256, 256]
    groups = ws_groups(18, 1024, SmoothingSettings(coarse_max_resolution=8, middle_max_resolution=32))
    assert groups.tolist() == [0, 0, 0, 1, 1, 1, 1] + [2] * 11


def test_smoothing_windows_in_seconds_and_causal():
    settings = SmoothingSettings(coarse=1.0, middle=0.2, fine=0.0)
    rng = np.random.default_rng(2)
    w = rng.normal(size=(150, 8)).astype(np.float32)
    sm = HierarchicalSmoother(14, 256, settings, RATE, w_dim=8)
    ws = sm.push(w)
    assert ws.shape == (150, 14, 8)
    assert np.allclose(ws[149, 0], w[150 - 75:].mean(0), atol=1e-5)  # coarse: last 1.0 s
    assert np.allclose(ws[149, 5], w[150 - 15:].mean(0), atol=1e-5)  # middle: last 0.2 s
    assert np.allclose(ws[149, 13], w[149], atol=1e-6)  # fine: 0 s → the frame itself
    assert np.allclose(ws[3, 0], w[:4].mean(0), atol=1e-6)  # start: what has been seen
    sm2 = HierarchicalSmoother(14, 256, settings, RATE, w_dim=8)
    w2 = w.copy()
    w2[100:] = 0
    assert np.array_equal(sm2.push(w2)[:100], ws[:100])


def test_smoothing_look_is_independent_of_control_rate():
    """The same signal at 50 and 150 control frames/s gives the same smoothed curve."""
    settings = SmoothingSettings(coarse=0.5, middle=0.5, fine=0.5)
    t50, t150 = np.arange(0, 4, 1 / 50), np.arange(0, 4, 1 / 150)
    sig = lambda t: np.sin(2 * np.pi * 1.3 * t)[:, None].astype(np.float32)  # noqa: E731
    a = HierarchicalSmoother(14, 256, settings, 50, w_dim=1).push(sig(t50))[:, 0, 0]
    b = HierarchicalSmoother(14, 256, settings, 150, w_dim=1).push(sig(t150))[:, 0, 0]
    assert np.abs(np.interp(t50[50:], t150, b) - a[50:]).max() < 0.05
