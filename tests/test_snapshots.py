"""Snapshots of the control path: a path resumed from one emits, to the bit, what one pass would have.

A render split into segments resumes each from the snapshot the previous one left, in another
process or on another machine: so the resumed path is built afresh (new encoder, new look) and the
snapshot goes through bytes. Random encoder weights (nothing downloads); a few seconds of the demo
track, cut at block boundaries that are not hop multiples, before and after the first frame.
"""

import dataclasses
import io
import json
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from lavlive.audio.demo import demo_track
from lavlive.audio.encodec_stream import load_encoder
from lavlive.errors import LavliveError
from lavlive.control import ControlPath
from lavlive.control.statistics import WStatistics
from lavlive.presets import load_preset
from lavlive.snapshot import SNAPSHOT_VERSION, from_bytes, to_bytes

pytestmark = pytest.mark.filterwarnings("ignore:.*weight_norm.*:FutureWarning")  # the encodec package's modules

SECONDS = 3.0
SIZES = (2221, 777, 5000, 13)  # block sizes, cycled: none a multiple of any hop
CUTS = {"24khz": (1000, 12345, 1.7), "32khz": (1000, 12345, 1.7), "48khz": (12345, 1.3, 2.6)}  # samples, or seconds
MB = 1 << 20


def make(stats, num_ws, resolution, name, preset=None):
    encoder, _ = load_encoder(name)
    return ControlPath(encoder, stats, preset or load_preset("default"), num_ws, resolution)


def track(sample_rate, channels):
    audio = demo_track(SECONDS, sample_rate)
    return audio if channels == 2 else audio.mean(axis=0, keepdims=True)


def blocks(n, cuts):
    """(start, end) of each block: sizes cycled from SIZES, and a boundary at every cut."""
    bounds, i, k = {0, n, *cuts}, 0, 0
    while i < n:
        i, k = i + SIZES[k % len(SIZES)], k + 1
        bounds.add(min(i, n))
    bounds = sorted(bounds)
    return list(zip(bounds[:-1], bounds[1:]))


def run(path, audio, spans, snapshot_at=()):
    """Push the spans, then flush: (ws, cues) of every push, and the snapshot bytes taken before each cut."""
    out, snaps = [], {}
    for a, b in spans:
        if a in snapshot_at:
            snaps[a] = to_bytes(path.state())
        out.append((path.push(audio[:, a:b]), path.cues.copy()))
    out.append((path.flush(), path.cues.copy()))
    return out, snaps


def identical(a, b):
    return len(a) == len(b) and all(np.array_equal(x[0], y[0]) and x[0].dtype == y[0].dtype
                                    and np.array_equal(x[1], y[1]) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def parts(tiny_generator, tiny_stats):
    return tiny_stats, tiny_generator.num_ws, tiny_generator.img_resolution


@pytest.mark.parametrize("name", ["24khz", "48khz", "32khz"])
def test_a_path_resumed_from_a_snapshot_goes_on_to_the_bit(parts, name, capsys):
    first = make(*parts, name)
    sr = first.encoder.sample_rate
    audio = track(sr, first.encoder.channels)
    cuts = [c if isinstance(c, int) else int(c * sr) + 3 for c in CUTS[name]]
    spans = blocks(audio.shape[1], cuts)
    t0 = time.perf_counter()
    plain, _ = run(first, audio, spans)
    seconds = time.perf_counter() - t0
    snapped, snaps = run(make(*parts, name), audio, spans, snapshot_at=cuts)
    assert identical(plain, snapped), "taking a snapshot changed what the path emits"
    emitted = np.cumsum([len(ws) for ws, _ in plain])
    for cut in cuts:
        done = sum(1 for a, _ in spans if a < cut)  # pushes before the cut
        resumed = make(*parts, name)  # a fresh path, as another process would build
        resumed.load_state(from_bytes(snaps[cut]))
        after, _ = run(resumed, audio, [s for s in spans if s[0] >= cut])
        assert identical(after, plain[done:]), f"{name}: resumed after {cut} samples differs"
        assert sum(len(ws) for ws, _ in after) > 0
        with capsys.disabled():
            print(f"\n{name} cut at {cut} samples ({emitted[done - 1] if done else 0} ws before): snapshot "
                  f"{len(snaps[cut]) / MB:.2f} MB", end="")
    with capsys.disabled():
        print(f"\n{name}: {SECONDS} s of audio in {seconds:.2f} s", end="")
    assert emitted[sum(1 for a, _ in spans if a < cuts[0]) - 1] == 0  # the first cut comes before any frame
    assert max(len(s) for s in snaps.values()) < 3 * MB


def test_a_snapshot_resumes_in_another_process(parts, tmp_path):
    """The very bytes, read by a new interpreter that builds its own path from the same pieces.

    With this process's thread count: EnCodec's float32 results depend on it (lavlive.render.segments)."""
    stats, num_ws, resolution = parts
    threads = torch.get_num_threads()
    path = make(*parts, "24khz")
    audio = track(24000, 1)
    cut = 23457
    spans = blocks(audio.shape[1], [cut])
    plain, snaps = run(path, audio, spans, snapshot_at=[cut])
    (tmp_path / "snap.npz").write_bytes(snaps[cut])
    np.savez(tmp_path / "inputs.npz", audio=audio, **dataclasses.asdict(stats))
    script = f"""
import numpy as np, torch
torch.set_num_threads({threads})
from lavlive.audio.encodec_stream import load_encoder
from lavlive.control import ControlPath
from lavlive.control.statistics import WStatistics
from lavlive.presets import load_preset
from lavlive.snapshot import from_bytes
d = np.load({str(tmp_path / "inputs.npz")!r})
stats = WStatistics(d["z_mean"], d["z_std"], d["pitch_means"], d["w_avg"])
path = ControlPath(load_encoder("24khz")[0], stats, load_preset("default"), {num_ws}, {resolution})
path.load_state(from_bytes(open({str(tmp_path / "snap.npz")!r}, "rb").read()))
audio, out = d["audio"], {{}}
for i, (a, b) in enumerate({[s for s in spans if s[0] >= cut]}):
    out[f"ws{{i}}"], out[f"cues{{i}}"] = path.push(audio[:, a:b]), path.cues
out["ws_end"], out["cues_end"] = path.flush(), path.cues
np.savez({str(tmp_path / "out.npz")!r}, **out)
"""
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    got = np.load(tmp_path / "out.npz")
    n = len(spans) - sum(1 for a, _ in spans if a < cut)
    after = [(got[f"ws{i}"], got[f"cues{i}"]) for i in range(n)] + [(got["ws_end"], got["cues_end"])]
    assert identical(after, plain[len(plain) - len(after):])


def test_plain_data_survives_bytes_with_its_types():
    state = {"f32": np.float32(1.5), "f64": np.float64(-np.inf), "i64": np.int64(2**40), "flag": np.bool_(True),
             "py": [1.0, float("inf"), float("-inf"), 2**70, True, None, "text"], "nan": float("nan"),
             "empty": np.zeros((0, 128), np.float32), "view": np.arange(10.0)[::3],
             "nested": {"list": [np.ones(3, np.int16), {"deeper": np.eye(2, dtype=np.float32)}]}}
    back = from_bytes(to_bytes(state))
    assert type(back["f32"]) is np.float32 and back["f32"] == 1.5
    assert type(back["f64"]) is np.float64 and back["f64"] == -np.inf
    assert type(back["i64"]) is np.int64 and back["i64"] == 2**40 and type(back["flag"]) is np.bool_
    assert back["py"] == [1.0, float("inf"), float("-inf"), 2**70, True, None, "text"] and type(back["py"][4]) is bool
    assert np.isnan(back["nan"])
    assert back["empty"].shape == (0, 128) and back["empty"].dtype == np.float32
    assert np.array_equal(back["view"], [0.0, 3.0, 6.0, 9.0])
    inner = back["nested"]["list"]
    assert inner[0].dtype == np.int16 and np.array_equal(inner[1]["deeper"], np.eye(2))
    for bad in ({"x": object()}, {"x": np.array([object()])}, {1: 2}, {"$array": "a0"}):
        with pytest.raises(ValueError):
            to_bytes(bad)


def rewritten(data, change):
    """The snapshot with its JSON header changed by `change` (entries kept)."""
    with np.load(io.BytesIO(data)) as npz:
        entries = {k: npz[k] for k in npz.files}
    header = json.loads(entries["json"].tobytes())
    change(header)
    entries["json"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    out = io.BytesIO()
    np.savez(out, **entries)
    return out.getvalue()


def one_line_error(call, *words):
    with pytest.raises(LavliveError) as e:
        call()
    message = str(e.value)
    assert "\n" not in message and all(w in message for w in words), message
    return message


def test_damaged_foreign_or_other_version_snapshots_are_one_line_errors(parts):
    path = make(*parts, "24khz")
    path.push(track(24000, 1)[:, :12345])
    data = to_bytes(path.state())
    middle = bytearray(data)
    middle[len(data) // 2: len(data) // 2 + 16] = bytes(16)
    pickled = b"\x80\x04\x95" + bytes(40)
    npy = io.BytesIO()
    np.save(npy, np.zeros(3))
    for bad in (data[: len(data) // 2], bytes(middle), b"", b"hello", pickled, npy.getvalue()):
        one_line_error(lambda: from_bytes(bad, "segment 3 of render.mp4"), "segment 3 of render.mp4")
    newer = rewritten(data, lambda h: h.update(version=SNAPSHOT_VERSION + 1))
    one_line_error(lambda: from_bytes(newer, "state.npz"), "state.npz", f"version {SNAPSHOT_VERSION}")
    one_line_error(lambda: from_bytes(rewritten(data, lambda h: h.update(format="x")), "state.npz"), "state.npz")
    missing = rewritten(data, lambda h: h["state"]["features"].pop("mag"))
    one_line_error(lambda: make(*parts, "24khz").load_state(from_bytes(missing)), "features", "mag")


def test_a_snapshot_of_another_encoder_or_preset_does_not_load_and_leaves_the_path_as_it_was(parts):
    source = make(*parts, "24khz")
    source.push(track(24000, 1)[:, :12345])
    snap = from_bytes(to_bytes(source.state()))
    other = make(*parts, "32khz")
    audio = track(32000, 1)
    spans = blocks(audio.shape[1], [16001])
    first = [other.push(audio[:, a:b]) for a, b in spans if a < 16001]
    one_line_error(lambda: other.load_state(snap), "24khz", "32khz")
    rest = [other.push(audio[:, a:b]) for a, b in spans if a >= 16001] + [other.flush()]
    plain, _ = run(make(*parts, "32khz"), audio, spans)
    assert all(np.array_equal(x, y[0]) for x, y in zip(first + rest, plain))  # untouched by the failed load

    preset = load_preset("default")
    reseeded = dataclasses.replace(preset, modulation=dataclasses.replace(preset.modulation, seed=7))
    one_line_error(lambda: make(*parts, "24khz", reseeded).load_state(snap), "mapping", "seed 0", "here 7")
    slower = dataclasses.replace(preset, smoothing=dataclasses.replace(preset.smoothing, coarse=2.0))
    one_line_error(lambda: make(*parts, "24khz", slower).load_state(snap), "smoothing", "windows")
    stats, num_ws, resolution = parts
    one_line_error(lambda: make(stats, num_ws + 2, resolution * 2, "24khz").load_state(snap), "num_ws")


def test_no_snapshot_during_a_crossfade(parts):
    path = make(*parts, "24khz")
    path.crossfade(1.0)
    one_line_error(path.state, "crossfade")


def test_the_snapshot_of_the_default_network_is_small(capsys):
    """The embedded default generator's size (w_dim 512, 14 ws at 256×256): statistics stand in for it."""
    rng = np.random.default_rng(0)
    stats = WStatistics(*(rng.normal(size=s).astype(np.float32) for s in ((512,), (512,), (12, 512), (512,))))
    stats.z_std = np.abs(stats.z_std) + 0.1
    for name in ("24khz", "32khz", "48khz"):
        path = make(stats, 14, 256, name)
        audio = track(path.encoder.sample_rate, path.encoder.channels)
        path.push(audio[:, : int(1.5 * path.encoder.sample_rate) + 7])
        size = len(to_bytes(path.state()))
        with capsys.disabled():
            print(f"\ndefault network, {name}: snapshot {size / MB:.2f} MB", end="")
        assert size < 3 * MB
