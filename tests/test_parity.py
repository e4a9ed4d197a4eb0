"""The generator reproduces stylegan2-ada-pytorch's outputs for the reference fixture."""

import numpy as np
import pytest
import torch

from lavlive import load_generator
from lavlive.generator import network

TOL = 1e-4


@pytest.fixture(scope="module")
def G(sg2_fixture):
    return load_generator(sg2_fixture)


def maxdiff(a: torch.Tensor, b: np.ndarray) -> float:
    return float(np.abs(a.numpy() - b).max())


def test_mapping_and_w_avg(G, sg2_expected):
    with torch.no_grad():
        ws = G.mapping(torch.from_numpy(sg2_expected["z"]), truncation_psi=1.0, truncation_cutoff=None)
    assert ws.shape == (4, G.num_ws, G.w_dim) == (4, 10, 512)
    assert maxdiff(ws, sg2_expected["ws"]) <= TOL
    assert np.array_equal(G.mapping.w_avg.numpy(), sg2_expected["w_avg"])


def test_truncation(G, sg2_expected):
    z = torch.from_numpy(sg2_expected["z"])
    with torch.no_grad():
        assert maxdiff(G.mapping(z, truncation_psi=0.7), sg2_expected["ws_trunc"]) <= TOL
        cut = G.mapping(z, truncation_psi=0.7, truncation_cutoff=4)
    assert maxdiff(cut[:, :4], sg2_expected["ws_trunc"][:, :4]) <= TOL
    assert maxdiff(cut[:, 4:], sg2_expected["ws"][:, 4:]) <= TOL


@pytest.mark.parametrize("key", ["img", "img_trunc"])
def test_synthesis(G, sg2_expected, key):
    ws = torch.from_numpy(sg2_expected["ws" if key == "img" else "ws_trunc"])
    with torch.no_grad():
        img = G.synthesis(ws, noise_mode="const")
    assert img.shape == (4, 3, 64, 64)
    assert maxdiff(img, sg2_expected[key]) <= TOL


def test_full_generator_call(G, sg2_expected):
    with torch.no_grad():
        img = G(torch.from_numpy(sg2_expected["z"]), truncation_psi=0.7, noise_mode="const")
    assert maxdiff(img, sg2_expected["img_trunc"]) <= TOL


def test_unfused_batched_and_channels_last_paths_agree(G, sg2_expected, monkeypatch):
    ws = torch.from_numpy(sg2_expected["ws"])
    with torch.no_grad():
        singles = torch.cat([G.synthesis(w[None]) for w in ws])
        G.synthesis.channels_last = True
        try:
            cl = G.synthesis(ws)
        finally:
            G.synthesis.channels_last = False
        real = network.modulated_conv2d
        monkeypatch.setattr(network, "modulated_conv2d", lambda *a, **k: real(*a, **{**k, "fused": False}))
        unfused = G.synthesis(ws)
    for other in (singles, cl, unfused):
        assert maxdiff(other, sg2_expected["img"]) <= TOL


def test_noise_modes(G, sg2_expected):
    ws = torch.from_numpy(sg2_expected["ws"][:1])
    with torch.no_grad():
        const = G.synthesis(ws, noise_mode="const")
        none = G.synthesis(ws, noise_mode="none")
        r1, r2 = G.synthesis(ws, noise_mode="random"), G.synthesis(ws, noise_mode="random")
    assert (const - none).abs().max() > 1e-3  # the stored noise matters
    assert (r1 - r2).abs().max() > 1e-3  # random noise differs per call
    with pytest.raises(ValueError, match="noise_mode"):
        G.synthesis(ws, noise_mode="loud")


def test_conv_clamp_applies_in_fp32(G, sg2_expected):
    """As in the reference, conv layers clamp their activations to ±conv_clamp and ToRGB its output."""
    from dataclasses import replace

    from lavlive.generator import Generator

    clamp = 0.5
    clamped = Generator(replace(G.config, conv_clamp=clamp))
    clamped.load_state_dict(G.state_dict())
    ws = torch.from_numpy(sg2_expected["ws"])
    seen = {}
    hooks = [m.register_forward_hook(lambda m, i, o, n=n: seen.__setitem__(n, o.abs().max().item()))
             for n, m in clamped.synthesis.named_modules() if n.endswith(("conv0", "conv1", "torgb"))]
    with torch.no_grad():
        img = clamped.synthesis(ws)
    for h in hooks:
        h.remove()
    assert len(seen) == 3 * 5 - 1
    assert all(v == pytest.approx(clamp, abs=1e-6) for v in seen.values()), seen
    assert maxdiff(img, sg2_expected["img"]) > 1.0
