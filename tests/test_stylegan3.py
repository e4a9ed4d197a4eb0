"""StyleGAN3 (configs T and R): NVIDIA's reference outputs for the shared fixture, its files read safely, and the
properties the paper's architecture promises (a picture that moves and turns with the input's transform)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from checkpoint_writers import write_sg3_pickle

from lavlive import load_generator
from lavlive.generator import CheckpointError, StyleGAN3Config, StyleGAN3Generator, read_checkpoint
from lavlive.generator.stylegan3 import input_transform, layer_plans

TOL = 1e-4


@pytest.fixture(scope="module")
def G(sg3_fixture):
    return load_generator(sg3_fixture)


def maxdiff(a: torch.Tensor, b: np.ndarray) -> float:
    return float(np.abs(a.numpy() - b).max())


def psnr(x: torch.Tensor, y: torch.Tensor, peak: float) -> float:
    return float(10 * torch.log10(peak**2 / (x - y).square().mean()))


def random_sg3(radial: bool, resolution: int = 64, **changes) -> StyleGAN3Generator:
    """A small T (or R) network with non-zero biases, as a trained one has."""
    torch.manual_seed(7 + radial)
    settings = dict(z_dim=64, w_dim=64, img_resolution=resolution, mapping_layers=2, channel_base=2048 * (1 + radial),
                    channel_max=64 * (1 + radial), num_fp16_res=0, conv_clamp=None, conv_kernel=1 if radial else 3,
                    use_radial_filters=radial)
    cfg = StyleGAN3Config(**{**settings, **changes})
    G = StyleGAN3Generator(cfg).eval().requires_grad_(False)
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith("bias") and "affine" not in name:
                p.normal_(0, 0.1)
        G.mapping.w_avg.normal_()
    return G


# -- the shared fixture, made with NVIDIA's code ------------------------------------------------------


def test_the_fixture_is_read_as_a_config_t_network(G):
    assert type(G).__name__ == "StyleGAN3Generator" and G.source.format == "stylegan3-pickle"
    assert (G.num_ws, G.img_resolution, G.config.use_radial_filters) == (16, 64, False)
    assert sum(p.numel() for p in G.parameters()) == 3_177_323  # as the fixture's README counts them


def test_mapping_truncation_and_w_avg(G, sg3_expected):
    z = torch.from_numpy(sg3_expected["z"])
    with torch.no_grad():
        assert maxdiff(G.mapping(z), sg3_expected["ws"]) <= TOL
        assert maxdiff(G.mapping(z, truncation_psi=0.7), sg3_expected["ws_trunc"]) <= TOL
    assert np.array_equal(G.mapping.w_avg.numpy(), sg3_expected["w_avg"])


@pytest.mark.parametrize("key", ["img", "img_trunc"])
def test_synthesis(G, sg3_expected, key):
    with torch.no_grad():
        img = G.synthesis(torch.from_numpy(sg3_expected["ws" if key == "img" else "ws_trunc"]))
    assert img.shape == (4, 3, 64, 64)
    assert maxdiff(img, sg3_expected[key]) <= TOL


def test_a_user_transform_as_nvidia_sets_it(G, sg3_expected):
    """translate (0.125, −0.0625), rotate 10°: the buffer to the bit, and the picture within tolerance."""
    transform = input_transform((0.125, -0.0625), 10.0)
    assert np.array_equal(transform.numpy(), sg3_expected["transform"])
    with torch.no_grad():
        G.synthesis.input.transform.copy_(transform)
        try:
            img = G.synthesis(torch.from_numpy(sg3_expected["ws"]))
        finally:
            G.synthesis.input.transform.copy_(torch.eye(3))
    assert maxdiff(img, sg3_expected["img_transformed"]) <= TOL
    assert maxdiff(img, sg3_expected["img"]) > 0.1  # it did move


def test_noise_modes_change_nothing_and_batches_match_single_frames(G, sg3_expected):
    ws = torch.from_numpy(sg3_expected["ws"])
    with torch.no_grad():
        const = G.synthesis(ws, noise_mode="const")
        assert torch.equal(const, G.synthesis(ws, noise_mode="random"))
        assert torch.equal(const, G.synthesis(ws, noise_mode="none"))
        singles = torch.cat([G.synthesis(w[None]) for w in ws])
        with pytest.raises(ValueError, match="noise_mode"):
            G.synthesis(ws, noise_mode="loud")
    assert (singles - const).abs().max() <= 1e-5


# -- config R, and networks of our own in NVIDIA's file format ------------------------------------------


@pytest.mark.parametrize("radial", [False, True], ids=["config-T", "config-R"])
def test_a_network_pickle_round_trip_draws_the_same(tmp_path, radial):
    G = random_sg3(radial)
    path = tmp_path / "net.pkl"
    write_sg3_pickle(G, path)
    loaded = load_generator(path)
    assert loaded.config == G.config
    if radial:  # config R: 2-D radially symmetric down filters where not critically sampled
        f = loaded.synthesis.L0_36_128.down_filter
        assert f.ndim == 2 and torch.allclose(f, f.T) and torch.allclose(f, f.flip(0))
    ws = G.mapping(torch.randn(2, 64))
    with torch.no_grad():
        assert torch.equal(G.synthesis(ws), loaded.synthesis(ws))


def test_the_picture_moves_with_the_input_translation():
    """Config T is equivariant to translation: moving the input by 8/64 of the picture moves the picture 8 pixels
    (about 90 dB from the rolled picture; unmoved it is under 30 dB)."""
    G = random_sg3(radial=False)
    ws = G.mapping(torch.randn(1, 64))
    with torch.no_grad():
        still = G.synthesis(ws)
        G.synthesis.input.transform.copy_(input_transform((8 / 64, 0.0)))
        moved = G.synthesis(ws)
    peak = 2 * float(still.abs().max())
    inner = (..., slice(None), slice(16, -16))  # the columns that stay in the picture
    assert psnr(moved[inner], torch.roll(still, 8, dims=3)[inner], peak) > 60
    assert psnr(moved[inner], still[inner], peak) < 40


def test_config_r_turns_the_picture_with_the_input_rotation():
    """Config R is equivariant to rotation: a quarter turn of the input turns the picture a quarter
    counter-clockwise, exactly up to rounding."""
    G = random_sg3(radial=True)
    ws = G.mapping(torch.randn(1, 64))
    with torch.no_grad():
        still = G.synthesis(ws)
        G.synthesis.input.transform.copy_(input_transform(rotate=90.0))
        turned = G.synthesis(ws)
    peak = 2 * float(still.abs().max())
    assert psnr(turned, torch.rot90(still, 1, dims=(2, 3)), peak) > 60
    assert psnr(turned, torch.rot90(still, -1, dims=(2, 3)), peak) < 40


def test_an_fp16_configured_network_draws_in_fp32_on_the_cpu_and_bf16_stays_close(tmp_path):
    G = random_sg3(radial=False, num_fp16_res=4, conv_clamp=256.0)
    assert [p.use_fp16 for p in layer_plans(G.config)].count(True) >= 4
    path = tmp_path / "fp16.pkl"
    write_sg3_pickle(G, path)
    loaded = load_generator(path)
    assert loaded.config.num_fp16_res == 4 and loaded.config.conv_clamp == 256.0
    ws = G.mapping(torch.randn(1, 64))
    with torch.no_grad():
        full = loaded.synthesis(ws)
        assert torch.equal(full, loaded.synthesis(ws, force_fp32=True))
        if torch.backends.mkldnn.is_available():
            half = loaded.synthesis(ws, bf16=True)
            assert half.dtype == torch.float32 and (half - full).abs().max() < 0.1 * full.abs().max()


def test_a_stylegan3_pickle_whose_layers_its_config_does_not_give_is_refused(tmp_path):
    G = random_sg3(radial=False)
    path = tmp_path / "other.pkl"
    write_sg3_pickle(G, path)
    data = path.read_bytes().replace(b"L4_52_64", b"L4_52_99")  # a layer of a variant: other channels
    path.write_bytes(data)
    with pytest.raises(CheckpointError, match="StyleGAN3 layers"):
        read_checkpoint(path)


def test_converting_a_stylegan3_pickle_keeps_the_family_and_the_pictures(sg3_fixture, sg3_expected, tmp_path):
    from lavlive.cli import main

    out = tmp_path / "sg3.safetensors"
    assert main(["models", "convert", str(sg3_fixture), str(out)]) == 0
    converted = load_generator(out)
    assert type(converted).__name__ == "StyleGAN3Generator" and converted.source.format == "lavlive-safetensors"
    with torch.no_grad():
        assert maxdiff(converted.synthesis(torch.from_numpy(sg3_expected["ws"])), sg3_expected["img"]) <= TOL


def test_models_info_says_family_and_layers(sg3_fixture, capsys):
    from lavlive.cli import main

    assert main(["models", "info", str(sg3_fixture)]) == 0
    out = capsys.readouterr().out
    for line in ("StyleGAN3 (config T)", "num_ws         16", "layers         15 (size:channels 36:128",
                 "84:102, 84:81, 84:64, 64:64, 64:3)", "parameters     3,177,323"):
        assert line in out
