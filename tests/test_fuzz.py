"""The fuzz pass (tests/fuzz_inputs.py) finds only sane results and clean errors; the defects it found stay fixed."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from audio_files import encode, sine
from checkpoint_writers import write_ada_pickle, write_tf_pickle
from fuzz_inputs import run_fuzz

from lavlive.audio.sources import AudioFileError, FileSource
from lavlive.generator import CheckpointError, Generator, GeneratorConfig, load_generator, save_generator
from lavlive.generator import checkpoints
from lavlive.generator.safe_pickle import safe_load


def test_corrupt_inputs_give_sane_results_or_clean_errors():
    result = run_fuzz(budget=210, cases=3000, seed=0, workers=2)
    print(result.table())
    assert not result.failures, result.table() + "\n\n" + result.describe_failures()
    assert result.ran >= 2000, f"only {result.ran} cases ran before the budget was spent:\n{result.table()}"
    counts = result.counts()
    assert all(sum(c.values()) >= 15 for c in counts.values()), result.table()  # every seed file had its share
    totals = {o: sum(c[o] for c in counts.values()) for o in ("ok", "clean")}
    assert min(totals.values()) > 500, result.table()  # both endings are common, so neither check is idle


def check_clean(e: pytest.ExceptionInfo, path) -> str:
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg and "None" not in msg, msg
    return msg


def test_an_m4a_whose_codec_box_is_damaged_is_a_clean_error(tmp_path):
    """Found by the fuzz pass: with the 'minf' box renamed, PyAV opens a stream without a codec context
    and FileSource raised AttributeError ('NoneType' object has no attribute 'sample_rate')."""
    path = encode(tmp_path / "t.m4a", sine(440, 0.5, 44100), 44100, "aac")
    data = path.read_bytes()
    assert data.count(b"minf") == 1
    path.write_bytes(data.replace(b"minf", b"}inf"))
    with pytest.raises(AudioFileError) as e:
        FileSource(path, 24000)
    assert "no known codec" in check_clean(e, path)


_READ_SURROUND = """
import sys
import numpy as np
from lavlive.audio.sources import FileSource
a = FileSource(sys.argv[1], 48000, channels=2).read_all()
print(float(np.sqrt((a[0] ** 2).mean())), float(np.sqrt((a[1] ** 2).mean())), a.shape[1])
"""


@pytest.mark.parametrize("ext, codec", [("m4a", "aac"), ("opus", "libopus")])
def test_planar_surround_files_decode_with_their_channels_in_place(tmp_path, ext, codec):
    """Found by the fuzz pass (an AAC frame decoded from damaged data with 33 channels): PyAV counts the planes
    of a planar frame up to the first null pointer, which a frame of 8+ channels lacks, so reading any valid
    7.1 AAC or Opus file segfaulted. Read in a subprocess, so a regression fails this test, not the run."""
    t = np.arange(48000) / 48000
    data = np.zeros((8, t.size), np.float32)
    data[4] = 0.5 * np.sin(2 * np.pi * 440 * t)  # BL only: 7.1 is FL FR FC LFE BL BR SL SR
    path = encode(tmp_path / f"bl.{ext}", data, 48000, codec, "7.1")
    out = subprocess.run([sys.executable, "-c", _READ_SURROUND, str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    left, right, n = map(float, out.stdout.split())
    assert abs(n - 48000) < 2048
    assert left > 0.05 and right < 0.01 * left  # the back-left channel reached the left side only


@pytest.mark.parametrize("rate", [1_040_234_368, 8])
def test_a_wav_whose_header_claims_an_absurd_sample_rate_is_refused(tmp_path, rate):
    """Found by the fuzz pass: one flipped byte made a WAV claim 1,040,234,368 Hz, and the resampler's setup
    asked for more memory than exists (MemoryError, a traceback). A rate of a few Hz would instead stretch
    seconds of samples into days of audio."""
    path = encode(tmp_path / "t.wav", sine(440, 0.5, 48000), 48000)
    data = bytearray(path.read_bytes())
    at = data.index(b"fmt ") + 12  # the fmt chunk: id, size, format tag, channels, then the rate
    assert int.from_bytes(data[at:at + 4], "little") == 48000
    data[at:at + 4] = rate.to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(AudioFileError) as e:
        FileSource(path, 24000)
    assert f"claims {rate} samples a second" in check_clean(e, path)


@pytest.fixture
def tiny(tmp_path):
    torch.manual_seed(0)
    return Generator(GeneratorConfig(z_dim=32, w_dim=32, img_resolution=16, channel_base=128, channel_max=16,
                                     mapping_layers=2)).eval()


def test_a_network_pickle_without_a_class_name_is_refused_without_saying_none(tiny, tmp_path):
    """Found by the fuzz pass: one overwritten byte in the key 'class_name' gave "G_ema is a 'None'"."""
    path = tmp_path / "g.pkl"
    write_ada_pickle(tiny, path, protocol=3)
    data = path.read_bytes()
    path.write_bytes(data.replace(b"class_name", b"class_nam%"))
    with pytest.raises(CheckpointError) as e:
        load_generator(path)
    assert "G_ema is an object without a class name" in check_clean(e, path)


def _damaged_pickle(monkeypatch, path, damage) -> None:
    """Make read_checkpoint see the pickle's content changed by `damage` (as a byte flip could change it)."""
    with open(path, "rb") as f:
        data = safe_load(f)
    damage(data)
    monkeypatch.setattr(checkpoints, "safe_load", lambda f: data)


@pytest.mark.parametrize("where", ["z_dim", "architecture", "parameter"])
def test_missing_values_in_a_network_pickle_are_named(tiny, tmp_path, monkeypatch, where):
    """A damaged pickle can hold None where a number or a tensor belongs: the message names what is wrong
    rather than leaking "int() argument must be ... not 'NoneType'"."""
    path = tmp_path / "g.pkl"
    write_ada_pickle(tiny, path)

    def damage(data):
        g = data["G_ema"].state
        if where == "z_dim":
            g["_init_kwargs"]["z_dim"] = None
        elif where == "architecture":
            g["_init_kwargs"]["synthesis_kwargs"]["architecture"] = None
        else:
            g["_modules"]["mapping"].state["_modules"]["fc0"].state["_parameters"]["bias"] = "x"

    _damaged_pickle(monkeypatch, path, damage)
    with pytest.raises(CheckpointError) as e:
        load_generator(path)
    expected = {"z_dim": "z_dim is (no value), not a number", "architecture": "names the generator architecture (no value)",
                "parameter": "'mapping.fc0.bias' is not a tensor"}[where]
    assert expected in check_clean(e, path)


def test_a_tf_variable_that_is_not_a_pair_is_a_clean_error(tiny, tmp_path, monkeypatch):
    path = tmp_path / "tf.pkl"
    write_tf_pickle(tiny, path)
    _damaged_pickle(monkeypatch, path, lambda data: data[2].state["variables"].__setitem__(0, None))
    with pytest.raises(CheckpointError) as e:
        load_generator(path)
    assert "is not a (name, value) pair" in check_clean(e, path)


def test_a_rosinality_entry_that_is_not_a_tensor_is_named(tiny, tmp_path):
    from checkpoint_writers import rosinality_state_dict

    path = tmp_path / "g.pt"
    sd = rosinality_state_dict(tiny)
    sd["input.input"] = None
    torch.save({"g_ema": sd, "latent_avg": tiny.mapping.w_avg.clone()}, path)
    with pytest.raises(CheckpointError) as e:
        load_generator(path)
    assert "g_ema entry 'input.input' is not a tensor" in check_clean(e, path)


@pytest.mark.parametrize("key, value, says", [
    ("z_dim", None, "z_dim=(no value) is not an integer"),
    ("mapping_lr_multiplier", None, "mapping_lr_multiplier=(no value) is not a positive finite float"),
    ("resample_filter", None, "resample_filter=(no value) is not 4 positive taps"),
    (None, "[1, 2]", "not a JSON object"),
    (None, "{bad", "not valid JSON"),
])
def test_a_damaged_safetensors_config_is_named(tiny, tmp_path, key, value, says):
    """A null in the JSON config used to reach the network (mapping_lr_multiplier: a TypeError on the first
    frame, resample_filter: len(None)) or show as 'None' in the message."""
    import safetensors.torch

    path = tmp_path / "g.safetensors"
    save_generator(tiny, path)
    with safetensors.safe_open(str(path), "pt") as f:
        meta = f.metadata()
    cfg = json.loads(meta["config"])
    if key:
        cfg[key] = value
    meta["config"] = json.dumps(cfg) if key else value
    safetensors.torch.save_file({k: v.contiguous() for k, v in tiny.state_dict().items()}, str(path), metadata=meta)
    with pytest.raises(CheckpointError) as e:
        load_generator(path)
    assert says in check_clean(e, path)


def test_a_config_without_a_mapping_learning_rate_is_refused():
    with pytest.raises(ValueError, match=r"mapping_lr_multiplier=\(no value\)"):
        GeneratorConfig(mapping_lr_multiplier=None)
    assert GeneratorConfig(conv_clamp=None).conv_clamp is None  # conv_clamp may be absent


def _pickle_file(tmp_path, data: bytes):
    path = tmp_path / "g.pkl"
    path.write_bytes(data)
    return path


def test_a_huge_memo_index_allocates_nothing(tmp_path):
    """Found by the fuzz pass: a flipped bit in a LONG_BINPUT index (536,871,444) made the C unpickler grow its
    memo array to ~8 GiB, zeroed. Index 2**31-1 here: the C unpickler would need 32 GiB and fail at once."""
    data = b"\x80\x02Nr\xff\xff\xff\x7f."  # None, memo[2**31 - 1] = None, stop
    assert safe_load(io.BytesIO(data)) is None
    path = _pickle_file(tmp_path, data)
    with pytest.raises(CheckpointError) as e:
        load_generator(path)
    assert "not a StyleGAN network pickle" in check_clean(e, path)


def test_opcodes_on_the_wrong_data_are_a_clean_error(tmp_path):
    """Found by the fuzz pass: SETITEM on None said "'NoneType' object does not support item assignment"."""
    path = _pickle_file(tmp_path, b"\x80\x02NK\x02K\x03s.")
    with pytest.raises(CheckpointError) as e:
        load_generator(path)
    assert "damaged pickle data near byte" in check_clean(e, path)


def test_a_refused_global_with_a_newline_in_its_name_is_one_line(tmp_path):
    """Found by the fuzz pass: STACK_GLOBAL takes its names from the stream, and they may hold newlines."""
    path = _pickle_file(tmp_path, b"\x80\x04\x8c\x03x\ny\x8c\x01z\x93.")
    with pytest.raises(CheckpointError) as e:
        load_generator(path)
    assert "refused global 'x\\ny.z'" in check_clean(e, path)



def test_tags_that_are_not_utf8_do_not_stop_the_audio(tmp_path):
    """Found by the fuzz pass: PyAV raised UnicodeDecodeError while reading an M4A's damaged tags."""
    path = encode(tmp_path / "t.m4a", sine(440, 1.0, 44100), 44100, "aac", tags={"title": "zzzzzzzz"})
    path.write_bytes(path.read_bytes().replace(b"zzzzzzzz", b"z\xdd\xdd\xffzzzz"))
    audio = FileSource(path, 24000).read_all()
    assert abs(audio.shape[1] - 24000) < 1200 and abs(audio).max() > 0.3


@pytest.mark.parametrize("value, says", [(float("nan"), "non-finite"), (float("inf"), "non-finite"),
                                         (3.2e30, "far beyond any trained weight")])
def test_a_checkpoint_with_damaged_weights_is_refused(tmp_path, value, says):
    """Found by the fuzz pass: flipped exponent bits loaded as NaN or 1e30 weights and drew black frames."""
    torch.manual_seed(0)
    G = Generator(GeneratorConfig(z_dim=32, w_dim=32, img_resolution=16, channel_base=128, channel_max=16,
                                  mapping_layers=2)).eval()
    path = tmp_path / "g.safetensors"
    with torch.no_grad():
        G.synthesis.b8.conv0.weight[0, 0, 0, 0] = value
    save_generator(G, path)
    with pytest.raises(CheckpointError, match=rf"^{path}: tensor 'synthesis.b8.conv0.weight' holds .*{says}"):
        load_generator(path)
    with torch.no_grad():
        G.synthesis.b8.conv0.weight[0, 0, 0, 0] = 484.0  # the largest weight of the reference fixture loads
    save_generator(G, path)
    assert load_generator(path).synthesis.b8.conv0.weight[0, 0, 0, 0] == 484.0


def test_a_stylegan3_file_whose_layer_magnitude_is_zero_is_refused(tmp_path):
    """Found by the fuzz pass: zeroed bytes gave a layer's magnitude_ema 0, its input ×inf, and NaN frames."""
    from lavlive.generator import StyleGAN3Config, StyleGAN3Generator

    G = StyleGAN3Generator(StyleGAN3Config(z_dim=32, w_dim=32, img_resolution=16, channel_base=512, channel_max=16,
                                           num_fp16_res=0, conv_clamp=None)).eval()
    name = G.synthesis.layer_names[3]
    with torch.no_grad():
        getattr(G.synthesis, name).magnitude_ema.zero_()
    path = tmp_path / "g.safetensors"
    save_generator(G, path)
    with pytest.raises(CheckpointError) as e:
        load_generator(path)
    assert f"tensor 'synthesis.{name}.magnitude_ema' is 0, not a positive magnitude" in check_clean(e, path)


def test_a_stylegan3_input_whose_rotation_is_zeroed_draws_a_finite_picture():
    """Found by the fuzz pass: a zeroed input affine made its rotation 0 / 0."""
    from lavlive.generator import StyleGAN3Config, StyleGAN3Generator

    G = StyleGAN3Generator(StyleGAN3Config(z_dim=32, w_dim=32, img_resolution=16, channel_base=512, channel_max=16,
                                           num_fp16_res=0, conv_clamp=None)).eval()
    with torch.no_grad():
        G.synthesis.input.affine.bias.zero_()
        assert torch.isfinite(G(torch.randn(1, 32))).all()


def test_encodec_weights_with_a_zeroed_output_channel_are_refused(tmp_path):
    """Found by the fuzz pass (seed 2): weight normalisation divided a zeroed channel by its zero length."""
    from lavlive.audio.encodec_models import build_seanet, encoder_info, resolve_seanet
    from lavlive.errors import LavliveError

    seanet = build_seanet(encoder_info("24khz").spec)
    sd = {f"encoder.{k}": v for k, v in seanet.state_dict().items()}
    sd["encoder.model.0.conv.conv.weight_v"][3].zero_()
    path = tmp_path / "enc.th"
    torch.save(sd, path)
    with pytest.raises(LavliveError) as e:
        resolve_seanet("24khz", path)
    assert "tensor 'model.0.conv.conv.weight_v' has an output channel of zeros" in check_clean(e, path)
