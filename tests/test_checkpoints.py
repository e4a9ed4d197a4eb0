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


@pytest.mark.parametrize(
    "writer, fmt, tol",
    [(lambda G, p: write_ada_pickle(G, p, protocol=3), "stylegan2-ada-pickle", 0),
     (lambda G, p: write_ada_pickle(G, p, protocol=4), "stylegan2-ada-pickle", 0),
     (write_tf_pickle, "stylegan2-tf-pickle", 1e-5),
     (write_rosinality, "rosinality-pt", 1e-5)],
    ids=["ada-protocol3", "ada-protocol4", "tensorflow", "rosinality"],
)
def test_each_format_loads_the_same_network(small_generator, tmp_path, writer, fmt, tol):
    path = tmp_path / "checkpoint"
    writer(small_generator, path)
    G = load_generator(path)
    assert G.source.format == fmt
    assert_same_network(G, small_generator, tol)


def test_conditional_tf_pickles_are_refused(small_generator, tmp_path):
    path = tmp_path / "tf.pkl"
    write_tf_pickle(small_generator, path, extra_mapping={"LabelConcat/weight": np.zeros((10, 512), np.float32)})
    with pytest.raises(CheckpointError, match="class-conditional"):
        load_generator(path)


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


def test_a_pickle_naming_stylegan3_classes_but_holding_other_layers_is_refused(small_generator, tmp_path):
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


@pytest.mark.parametrize("change", [{"img_resolution": 2**62}, {"mapping_layers": 2.5}, {"resample_filter": [1, 3, 3]},
                                    {"conv_clamp": float("inf")}, {"channel_base": 0}, {"z_dim": True}])
def test_hostile_configs_are_refused(small_generator, tmp_path, change):
    import safetensors.torch

    path = tmp_path / "bad.safetensors"
    meta = {"format": "lavlive-stylegan2", "config": json.dumps({**small_generator.config.to_dict(), **change})}
    safetensors.torch.save_file(dict(small_generator.state_dict()), str(path), metadata=meta)
    with pytest.raises(CheckpointError, match="corrupt"):
        read_checkpoint(path)


def test_huge_length_fields_do_not_crash(tmp_path):
    import struct

    path = tmp_path / "huge.pkl"
    path.write_bytes(b"\x80\x04\x8e" + struct.pack("<Q", 2**45) + b".")
    with pytest.raises(CheckpointError, match="corrupt"):
        read_checkpoint(path)
