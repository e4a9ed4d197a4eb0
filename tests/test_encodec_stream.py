"""Streaming EnCodec embeddings equal whole-file encoding, declare their lookahead, and find their weights.

Random weights throughout (no real weights offline); nothing here downloads.
"""

import dataclasses
import hashlib
import json
import math

import numpy as np
import pytest
import safetensors.torch
import torch

from lavlive.audio import encodec_models
from lavlive.audio.encodec_models import (ENCODERS, build_seanet, hf_state, seanet_state, write_hf_folder)
from lavlive.audio.encodec_stream import encode_file, load_encoder, stream_for
from lavlive.errors import LavliveError

TOL = 1e-5
pytestmark = pytest.mark.filterwarnings("ignore:.*weight_norm.*:FutureWarning")  # the encodec package's modules


def audio(spec, seconds, seed=1):
    g = torch.Generator().manual_seed(seed)
    n = int(spec.sample_rate * seconds)
    t = torch.arange(n) / spec.sample_rate
    tone = 0.3 * torch.sin(2 * math.pi * 220 * t)  # something musical under the noise
    return (tone + 0.2 * torch.randn(spec.channels, n, generator=g)).float()


def stream(enc, x, sizes):
    """Push x in blocks of the given sizes (cycled), then flush; return the frames and what each push gave."""
    enc.reset()
    pushed, i, k = [], 0, 0
    while i < x.shape[1]:
        n = sizes[k % len(sizes)]
        pushed.append(enc.push(x[:, i: i + n]))
        i, k = i + n, k + 1
    return torch.cat(pushed + [enc.flush()]), pushed


@torch.no_grad()
def whole(seanet, x):
    """The encoder run on the whole clip at once: the reference."""
    return seanet(x[None])[0].T


def assert_close(a, b):
    assert a.shape == b.shape, (a.shape, b.shape)
    assert (a - b).abs().max().item() <= TOL * max(1.0, b.abs().max().item())


@pytest.fixture(scope="module")
def enc24():
    """Our 24 kHz stream over the package's own EncodecModel.encodec_model_24khz encoder (random weights)."""
    from encodec import EncodecModel

    torch.manual_seed(7)
    model = EncodecModel.encodec_model_24khz(pretrained=False)
    return stream_for(model.encoder, ENCODERS["24khz"].spec, "24khz"), model.encoder


@pytest.fixture(scope="module")
def enc32():
    spec = ENCODERS["32khz"].spec
    seanet = build_seanet(spec, seed=3)
    return stream_for(seanet, spec, "32khz"), seanet


@pytest.fixture(scope="module")
def enc48():
    from encodec import EncodecModel

    torch.manual_seed(8)
    model = EncodecModel.encodec_model_48khz(pretrained=False)
    return stream_for(model.encoder, ENCODERS["48khz"].spec, "48khz"), model.encoder


@pytest.fixture(scope="module", params=["24khz", "32khz"])
def layerwise(request, enc24, enc32):
    return {"24khz": enc24, "32khz": enc32}[request.param]


def test_operator_attributes(enc24, enc32, enc48):
    for (enc, _), sr, ch, fr in ((enc24, 24_000, 1, 75), (enc32, 32_000, 1, 50), (enc48, 48_000, 2, 150)):
        assert (enc.sample_rate, enc.channels, enc.frame_rate, enc.dim) == (sr, ch, fr, 128)
    assert enc24[0].lookahead == 0.0
    assert 0 < enc32[0].lookahead <= 4 / 50  # within 4 frames (80 ms)
    assert enc48[0].lookahead == 1.0


@pytest.mark.parametrize("sizes", [["hop"], [777], [1001], ["second"], [1, 5000, 333, 2]], ids=str)
def test_blocks_equal_whole_file(layerwise, sizes):
    enc, seanet = layerwise
    x = audio(enc.spec, 2.3)[:, :-13]  # a partial last hop
    ref = whole(seanet, x)
    sizes = [enc.hop if s == "hop" else enc.sample_rate if s == "second" else s for s in sizes]
    y, pushed = stream(enc, x, sizes)
    assert y.shape[0] == math.ceil(x.shape[1] / enc.hop)
    assert_close(y, ref)
    first = next(p for p in pushed if p.shape[0])
    assert_close(first, ref[: first.shape[0]])  # the first block that gives frames, and (above) the last


def test_blocks_without_state_would_not_match(enc24):
    """The tolerance means something: encoding blocks independently is far off."""
    enc, seanet = enc24
    x = audio(enc.spec, 2.0)
    ref = whole(seanet, x)
    naive = torch.cat([whole(seanet, x[:, i: i + 24_000]) for i in range(0, x.shape[1], 24_000)])
    assert ref.abs().max() > 0.1
    assert (naive - ref).abs().max() > 100 * TOL * ref.abs().max()


def test_one_sample_blocks(layerwise):
    enc, seanet = layerwise
    x = audio(enc.spec, 0.25, seed=2)
    y, _ = stream(enc, x, [1])
    assert_close(y, whole(seanet, x))


@pytest.mark.parametrize("n", [1, 100, 319, 320, 2239, 2241, 7000])
def test_short_streams(layerwise, n):
    enc, seanet = layerwise
    x = audio(enc.spec, 0.3, seed=3)[:, :n]
    y, _ = stream(enc, x, [7, 129])
    assert_close(y, whole(seanet, x))


def test_zero_padding_variant_streams_too():
    """audiocraft-style settings (zero padding) stream exactly as well, should a config ask for them."""
    spec = dataclasses.replace(ENCODERS["32khz"].spec, pad_mode="constant", n_filters=16)
    seanet = build_seanet(spec, seed=6)
    enc = stream_for(seanet, spec, "32khz")
    for n in (90, 32_000 + 77):
        x = audio(spec, 1.1, seed=7)[:, :n]
        assert_close(stream(enc, x, [1001, 13])[0], whole(seanet, x))


def test_lookahead_is_declared_correctly(layerwise):
    """Frames a push gives never change with later audio; the next frame does; the count follows the lookahead."""
    enc, seanet = layerwise
    x = audio(enc.spec, 1.5, seed=4)
    n = int(0.9 * enc.sample_rate) + 123
    enc.reset()
    given = torch.cat([enc.push(x[:, i: i + 500]) for i in range(0, n, 500)])
    total = math.ceil(n / 500) * 500
    assert given.shape[0] == (total - round(enc.lookahead * enc.sample_rate)) // enc.hop
    futures = [x[:, total:], audio(enc.spec, 0.6, seed=5), -x[:, total:]]
    refs = [whole(seanet, torch.cat([x[:, :total], f], dim=1)) for f in futures]
    for ref in refs:
        assert_close(given, ref[: given.shape[0]])
    assert (refs[0][given.shape[0]] - refs[1][given.shape[0]]).abs().max() > 1e-4  # no frame is held back needlessly


def test_24khz_start_waits_only_for_its_reflect_padding(enc24):
    """Causal, yet reflect padding at the start makes the first 7 frames depend on the first 7 hops."""
    enc, _ = enc24
    x = audio(enc.spec, 0.2)
    enc.reset()
    counts = [enc.push(x[:, i: i + 320]).shape[0] for i in range(0, x.shape[1], 320)]
    assert counts[:7] == [0] * 6 + [7] and set(counts[7:]) == {1}


def test_48khz_segments_equal_whole_file(enc48):
    enc, seanet = enc48
    x = audio(enc.spec, 2.3)[:, :-7]
    ref = encode_file(seanet, enc.spec, x)
    assert ref.shape[0] == math.ceil(x.shape[1] / enc.hop)
    # the package's normalisation (EncodecModel._encode_frame) on the first segment
    seg = x[:, :48_000]
    scale = 1e-8 + seg.mean(dim=0).pow(2).mean().sqrt()
    with torch.no_grad():
        assert_close(ref[:150], seanet((seg / scale)[None])[0].T)
    for sizes in ([777], [48_000], [1001, 50_000]):
        y, pushed = stream(enc, x, sizes)
        assert_close(y, ref)


def test_inputs_numpy_mono_and_errors(enc24, enc48):
    enc, seanet = enc24
    x = audio(enc.spec, 0.5)
    enc.reset()
    y = torch.cat([enc.push(x[0, :7000].numpy().astype(np.float64)), enc.push(x[:, 7000:].numpy()), enc.flush()])
    assert_close(y, whole(seanet, x))
    with pytest.raises(RuntimeError, match="reset"):
        enc.push(x[:, :10])
    enc.reset()
    with pytest.raises(LavliveError, match=r"\[1, n\]"):
        enc.push(np.zeros((2, 100), np.float32))
    enc48[0].reset()
    with pytest.raises(LavliveError, match=r"\[2, n\]"):
        enc48[0].push(np.zeros(100, np.float32))
    with torch.inference_mode():
        enc.reset()
        assert enc.push(x[:, :4000]).shape == (12, 128)
    block = x[:, :4000].numpy().copy()  # a caller's buffer, reused for the next block
    enc.reset()
    first = enc.push(block)
    block[:] = x[:, 4000:8000].numpy()
    y = torch.cat([first, enc.push(block), enc.flush()])
    assert_close(y, whole(seanet, x[:, :8000]))


# --- weights ------------------------------------------------------------------------------------

@pytest.fixture
def no_caches(tmp_path, monkeypatch):
    """Empty torch hub and Hugging Face caches, and downloading forbidden."""
    for var in ("TORCH_HOME", "HF_HUB_CACHE", "HF_HOME", "HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))

    def refuse(*args, **kwargs):
        raise AssertionError("tests must never download")

    monkeypatch.setattr(encodec_models, "download_weights", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    return tmp_path


def probe(enc):
    x = audio(enc.spec, 0.5, seed=9)
    return stream(enc, x, [4000])[0]


def test_no_weights_gives_random_encoder_and_a_notice(no_caches):
    for name in ENCODERS:
        enc, notice = load_encoder(name, seed=4)
        assert notice and "\n" not in notice and "random" in notice and "--download" in notice
        assert enc.name == name
    a, _ = load_encoder("24khz", seed=4)
    b, _ = load_encoder("24khz", seed=4)
    assert torch.equal(probe(a), probe(b))


def test_hub_cache_found_via_torch_home(no_caches):
    from encodec import EncodecModel

    torch.manual_seed(11)
    model = EncodecModel.encodec_model_24khz(pretrained=False)
    folder = no_caches / "torch_home" / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    tmp = folder / "tmp.th"
    torch.save(model.state_dict(), tmp)
    sha = hashlib.sha256(tmp.read_bytes()).hexdigest()[:8]
    path = tmp.rename(folder / f"encodec_24khz-{sha}.th")
    enc, notice = load_encoder("24khz")
    assert notice is None and enc.source == str(path)
    reference = stream_for(model.encoder, ENCODERS["24khz"].spec, "24khz")
    assert_close(probe(enc), probe(reference))


def test_corrupt_hub_cache_file_is_named(no_caches):
    folder = no_caches / "torch_home" / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    bad = folder / "encodec_24khz-d7cc33bc.th"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(LavliveError, match="checksum") as e:
        load_encoder("24khz")
    assert str(bad) in str(e.value) and "\n" not in str(e.value)


def test_missing_or_corrupt_weights_path(no_caches):
    missing = no_caches / "nope.th"
    with pytest.raises(LavliveError, match="not found") as e:
        load_encoder("24khz", missing)
    assert str(missing) in str(e.value)
    corrupt = no_caches / "corrupt.th"
    corrupt.write_bytes(b"PK\x03\x04 garbage")
    with pytest.raises(LavliveError, match="corrupt") as e:
        load_encoder("24khz", corrupt)
    assert str(corrupt) in str(e.value) and "\n" not in str(e.value)
    wrong = no_caches / "wrong.th"
    torch.save(build_seanet(ENCODERS["24khz"].spec).state_dict(), wrong)
    with pytest.raises(LavliveError, match="do not fit") as e:
        load_encoder("32khz", wrong)
    assert str(wrong) in str(e.value)
    damaged = no_caches / "damaged.th"
    state = build_seanet(ENCODERS["24khz"].spec).state_dict()
    next(v for k, v in state.items() if k.endswith("weight_v"))[0, 0, 0] = float("nan")
    torch.save(state, damaged)
    with pytest.raises(LavliveError, match=r"holds non-finite values") as e:
        load_encoder("24khz", damaged)
    assert str(damaged) in str(e.value) and "\n" not in str(e.value)


def test_32khz_hf_folder_round_trip(no_caches):
    spec = ENCODERS["32khz"].spec
    seanet = build_seanet(spec, seed=21)
    folder = write_hf_folder(no_caches / "encodec_32khz", spec, seanet.state_dict())
    names = safetensors.torch.load_file(str(folder / "model.safetensors")).keys()
    assert {"encoder.layers.0.conv.weight_g", "encoder.layers.1.block.3.conv.bias",
            "encoder.layers.13.lstm.weight_hh_l1", "encoder.layers.15.conv.weight_v"} <= set(names)
    config = json.loads((folder / "config.json").read_text())
    assert config["upsampling_ratios"] == [8, 5, 4, 4] and config["num_filters"] == 64
    assert config["use_conv_shortcut"] is False and config["use_causal_conv"] is False
    # Hugging Face writes only the fields that differ from EncodecConfig's defaults
    minimal = {"sampling_rate": 32000, "upsampling_ratios": [8, 5, 4, 4], "num_filters": 64, "codebook_size": 2048,
               "target_bandwidths": [2.2], "use_causal_conv": False, "use_conv_shortcut": False}
    assert encodec_models.SeanetSpec.from_hf_config(minimal) == spec
    reference = probe(stream_for(seanet, spec, "32khz"))
    enc, notice = load_encoder("32khz", folder)
    assert notice is None
    assert_close(probe(enc), reference)

    # newer exports name weight norm by parametrizations; and a bare .safetensors file
    renamed = {k.replace(".weight_g", ".parametrizations.weight.original0")
                .replace(".weight_v", ".parametrizations.weight.original1"): v
               for k, v in hf_state(seanet.state_dict()).items()}
    safetensors.torch.save_file(renamed, str(no_caches / "param.safetensors"))
    assert_close(probe(load_encoder("32khz", no_caches / "param.safetensors")[0]), reference)

    # audiocraft's compression_state_dict.bin layout
    best = {"encoder." + k: v for k, v in seanet.state_dict().items()}
    best["decoder.model.0.conv.conv.bias"] = torch.zeros(3)
    torch.save({"best_state": best, "xp.cfg": "seanet: {}", "version": "1"}, no_caches / "compression.bin")
    assert_close(probe(load_encoder("32khz", no_caches / "compression.bin")[0]), reference)

    # found in the Hugging Face cache
    snap = no_caches / "hf_hub_cache" / "models--facebook--encodec_32khz" / "snapshots" / "abc123"
    write_hf_folder(snap, spec, seanet.state_dict())
    enc, notice = load_encoder("32khz")
    assert notice is None and enc.source.startswith(str(snap))


def test_48khz_hf_layout_maps_the_group_norms(no_caches):
    spec = ENCODERS["48khz"].spec
    seanet = build_seanet(spec, seed=2)
    names = set(hf_state(seanet.state_dict()))
    assert {"encoder.layers.0.norm.weight", "encoder.layers.1.block.1.norm.bias",
            "encoder.layers.1.shortcut.norm.weight"} <= names
    assert seanet_state(hf_state(seanet.state_dict())).keys() == seanet.state_dict().keys()
    folder = write_hf_folder(no_caches / "encodec_48khz", spec, seanet.state_dict())
    enc, _ = load_encoder("48khz", folder)
    assert enc.spec == spec
    assert_close(probe(enc), probe(stream_for(seanet, spec, "48khz")))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu(enc32):
    enc, seanet = enc32
    x = audio(enc.spec, 1.0)
    gpu = stream_for(seanet, enc.spec, "32khz", device="cuda")
    y, _ = stream(gpu, x, [777])
    assert y.device.type == "cuda"
    ref = whole(seanet, x)
    assert (y.cpu() - ref).abs().max() <= 1e-3 * max(1.0, ref.abs().max().item())
