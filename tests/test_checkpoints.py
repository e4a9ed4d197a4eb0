"""Every checkpoint format loads to the same network, and converts to lavlive's format losslessly."""

import json

import numpy as np
import pytest
import torch
from checkpoint_writers import write_ada_pickle, write_rosinality, write_tf_pickle

from lavlive import load_generator, save_generator
from lavlive.generator import CheckpointError, read_checkpoint
from lavlive.generator.checkpoints import describe


def outputs(G, n=3, psi=0.7):
    z = torch.from_numpy(np.random.RandomState(5).randn(n, G.z_dim).astype(np.float32))
    with torch.no_grad():
        ws = G.mapping(z, truncation_psi=psi)
        return ws, G.synthesis(ws, noise_mode="const")


def assert_same_network(a, b, tol=1e-5):
    assert a.config == b.config
    (wa, ia), (wb, ib) = outputs(a), outputs(b)
    assert (wa - wb).abs().max() <= tol
    assert (ia - ib).abs().max() <= tol


@pytest.mark.parametrize("protocol", [3, 4])
def test_ada_pickle_round_trip(small_generator, tmp_path, protocol):
    path = tmp_path / "net.pkl"
    write_ada_pickle(small_generator, path, protocol=protocol)
    G = load_generator(path)
    assert G.source.format == "stylegan2-ada-pickle"
    assert_same_network(G, small_generator, tol=0)


def test_tf_pickle_round_trip(small_generator, tmp_path):
    path = tmp_path / "tf.pkl"
    write_tf_pickle(small_generator, path)
    G = load_generator(path)
    assert G.source.format == "stylegan2-tf-pickle"
    assert_same_network(G, small_generator)


def test_tf_upsampling_weights_are_flipped(small_generator, tmp_path):
    """TF's Conv0_up kernels are stored spatially flipped relative to ours; unflipped gives other images."""
    path = tmp_path / "tf.pkl"
    write_tf_pickle(small_generator, path)
    ckpt = read_checkpoint(path)
    ours = small_generator.synthesis.b8.conv0.weight
    assert torch.equal(ckpt.state_dict["synthesis.b8.conv0.weight"], ours)
    assert not torch.equal(ours.flip([2, 3]), ours)


def test_rosinality_round_trip(small_generator, tmp_path):
    path = tmp_path / "ros.pt"
    write_rosinality(small_generator, path)
    G = load_generator(path)
    assert G.source.format == "rosinality-pt"
    assert_same_network(G, small_generator)


def test_missing_w_avg_is_estimated_from_the_mapping(small_generator, tmp_path):
    path = tmp_path / "ros.pt"
    write_rosinality(small_generator, path, with_latent_avg=False)
    G = load_generator(path)
    z = torch.randn(20000, small_generator.z_dim, generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        mean = small_generator.mapping(z)[:, 0].mean(0)
    assert (G.mapping.w_avg - mean).abs().max() < 0.05 * mean.abs().max()
    assert not torch.allclose(G.mapping.w_avg, small_generator.mapping.w_avg)


@pytest.mark.parametrize("fmt", ["ada", "tf", "rosinality", "fixture"])
def test_convert_then_load_gives_same_outputs(small_generator, sg2_fixture, tmp_path, fmt, capsys):
    from lavlive.cli import main

    src = sg2_fixture if fmt == "fixture" else tmp_path / f"in.{fmt}"
    writer = {"ada": write_ada_pickle, "tf": write_tf_pickle, "rosinality": write_rosinality}.get(fmt)
    if writer:
        writer(small_generator, src)
    out = tmp_path / "out.safetensors"
    assert main(["models", "convert", str(src), str(out)]) == 0
    a, b = load_generator(src), load_generator(out)
    assert b.source.format == "lavlive-safetensors"
    assert_same_network(a, b, tol=0)


def test_safetensors_carries_config_and_refuses_foreign_files(small_generator, tmp_path):
    import safetensors.torch

    path = tmp_path / "g.safetensors"
    save_generator(small_generator, path)
    ckpt = read_checkpoint(path)
    assert ckpt.config == small_generator.config
    assert describe(ckpt)["num_ws"] == small_generator.num_ws
    foreign = tmp_path / "other.safetensors"
    safetensors.torch.save_file({"x": torch.zeros(2)}, str(foreign))
    with pytest.raises(CheckpointError, match="without a lavlive generator config"):
        read_checkpoint(foreign)


def test_shapes_are_validated(small_generator, tmp_path):
    import safetensors.torch

    sd = {k: v.clone() for k, v in small_generator.state_dict().items()}
    sd["synthesis.b8.conv1.weight"] = sd["synthesis.b8.conv1.weight"][:, :-1].contiguous()
    path = tmp_path / "bad.safetensors"
    meta = {"format": "lavlive-stylegan2", "config": json.dumps(small_generator.config.to_dict())}
    safetensors.torch.save_file(sd, str(path), metadata=meta)
    with pytest.raises(CheckpointError, match=r"synthesis\.b8\.conv1\.weight.*shape"):
        read_checkpoint(path)


def test_stylegan3_pickles_are_recognised_and_refused(small_generator, tmp_path):
    path = tmp_path / "sg3.pkl"
    write_ada_pickle(small_generator, path, module_src="class SynthesisInput(torch.nn.Module):\n    pass\n")
    with pytest.raises(CheckpointError, match="StyleGAN3"):
        load_generator(path)


def test_models_info_prints_the_essentials(sg2_fixture, capsys):
    from lavlive.cli import main

    assert main(["models", "info", str(sg2_fixture)]) == 0
    out = capsys.readouterr().out
    for expected in ("64×64", "num_ws         10", "4:128, 8:128, 16:128, 32:128, 64:64", "mapping depth  8",
                     "fp16           none", "dd1ceb8edc77d451205dd26b94046f116ab3efa3fb589757ba93341157cd63a1"):
        assert expected in out
