"""Audio sources: every format decodes to the right length and pitch in exact blocks; bad files fail in one line."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import av
import numpy as np
import pytest

from lavlive.audio.sources import (AudioDeviceError, AudioFileError, DeviceSource, FileSource, _Ring, list_devices,
                                   mix_matrix)
from lavlive.errors import LavliveError

from audio_files import encode, sine

SR = 24000


def peak_hz(x: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spec) * rate / len(x))


FORMATS = [  # (extension, codec, source rate, allowed length error in seconds)
    ("wav", "pcm_s16le", 48000, 0),
    ("flac", "flac", 48000, 0),
    ("ogg", "vorbis", 48000, 0.005),
    ("opus", "libopus", 48000, 0.005),
    ("mp3", "libmp3lame", 44100, 0.005),
    ("m4a", "aac", 44100, 0.025),  # FFmpeg's MP4 muxer keeps the AAC encoder's end padding (< 1 frame)
]


@pytest.mark.parametrize("ext,codec,rate,slack", FORMATS, ids=[f[0] for f in FORMATS])
def test_every_format_decodes_in_exact_blocks(tmp_path, ext, codec, rate, slack):
    tone = sine(440, 1.0, rate, channels=2)
    tone[:, :rate // 4] = 0  # a silent first quarter second shows any encoder-delay offset
    path = encode(tmp_path / f"tone.{ext}", tone, rate, codec)
    src = FileSource(path, SR, channels=1, block_size=1000)
    assert (src.source_rate, src.source_channels) == (rate, 2)
    blocks = list(src)
    assert all(b.dtype == np.float32 and b.shape[0] == 1 for b in blocks)
    assert all(b.shape[1] == 1000 for b in blocks[:-1]) and 0 < blocks[-1].shape[1] <= 1000
    audio = np.concatenate(blocks, axis=1)
    assert 0 <= audio.shape[1] - SR <= slack * SR
    assert np.array_equal(audio, src.read_all())
    assert np.isfinite(audio).all() and np.abs(audio).max() <= 1.0
    onset = int(np.argmax(np.abs(audio[0]) > 0.05))
    assert abs(onset - SR // 4) < 0.002 * SR  # no encoder delay left in, none cut too much
    assert abs(peak_hz(audio[0, SR // 2:SR], SR) - 440) < 5
    assert src.duration is not None and abs(src.duration - 1.0) < 0.05
    stereo = FileSource(path, SR, channels=2).read_all()
    assert stereo.shape == (2, audio.shape[1]) and np.allclose(stereo[0], stereo[1], atol=1e-3)


@pytest.mark.parametrize("rate", [8000, 192000])
def test_low_and_high_rates_resample_exactly(tmp_path, rate):
    path = encode(tmp_path / "tone.wav", sine(1000, 0.5, rate), rate)
    audio = FileSource(path, SR, block_size=4800).read_all()
    assert audio.shape == (1, SR // 2)
    assert abs(peak_hz(audio[0], SR) - 1000) < 3
    assert abs(np.abs(audio[0, 1000:-1000]).max() - 0.5) < 0.02  # the resampler keeps the level


@pytest.mark.parametrize("layout", ["5.1", "7.1"])
def test_surround_mixes_down_without_losing_a_channel(tmp_path, layout):
    names = [c.name for c in av.AudioLayout(layout).channels]
    for i, name in enumerate(names):
        data = np.zeros((len(names), 4800))
        data[i] = sine(440, 0.1, 48000)[0]
        path = encode(tmp_path / f"{layout}-{name}.wav", data, 48000, "pcm_f32le", layout=layout)
        mono = FileSource(path, SR).read_all()
        assert mono.shape == (1, 2400) and np.abs(mono).max() > 0.05, name
        left, right = np.abs(FileSource(path, SR, channels=2).read_all()).max(axis=1)
        assert max(left, right) > 0.05, name
        if name.endswith("L") and name != "LFE":
            assert left > 0.05 and right == 0, name
        if name.endswith("R"):
            assert right > 0.05 and left == 0, name


def test_mix_matrix_rows_sum_to_one():
    for names in (["FL", "FR"], ["FL", "FR", "FC", "LFE", "BL", "BR"], ["NONE"] * 3, ["FC"]):
        for ch in (1, 2):
            m = mix_matrix(names, ch)
            assert m.shape == (ch, len(names)) and np.allclose(m.sum(axis=1), 1)


def test_one_sample_file(tmp_path):
    same = encode(tmp_path / "one24k.wav", np.full((1, 1), 0.25), SR)
    out = FileSource(same, SR).read_all()
    assert out.shape == (1, 1) and abs(out[0, 0] - 0.25) < 1e-3
    other = encode(tmp_path / "one48k.wav", np.full((1, 1), 0.25), 48000)
    assert FileSource(other, SR).read_all().shape[1] <= 1


def test_silence_stays_silent(tmp_path):
    path = encode(tmp_path / "silence.flac", np.zeros((2, 48000)), 48000, "flac")
    out = FileSource(path, SR, channels=2).read_all()
    assert out.shape == (2, SR) and not out.any()


def test_non_finite_samples_are_replaced(tmp_path):
    data = sine(440, 0.1, SR)
    data[0, 100:110] = np.nan
    data[0, 200] = np.inf
    data[0, 300] = -np.inf
    data[0, 400] = 7.0
    path = encode(tmp_path / "bad.wav", data, SR, "pcm_f32le")
    out = FileSource(path, SR).read_all()[0]
    assert np.isfinite(out).all() and np.abs(out).max() <= 1
    assert not out[100:110].any() and out[200] == 1 and out[300] == -1 and out[400] == 1
    resampled = FileSource(encode(tmp_path / "bad48.wav", sine(440, 0.1, 48000) * np.nan, 48000, "pcm_f32le"),
                           SR).read_all()
    assert np.isfinite(resampled).all() and not resampled.any()


@pytest.mark.parametrize("rate", [SR, 44100])
def test_trimming_is_sample_exact(tmp_path, rate):
    noise = np.random.default_rng(0).uniform(-0.5, 0.5, (1, rate))
    path = encode(tmp_path / "noise.wav", noise, rate, "pcm_f32le")
    full = FileSource(path, SR).read_all()
    trimmed = FileSource(path, SR, block_size=777, start=0.25, duration=0.5)
    assert trimmed.duration == pytest.approx(0.5)
    assert np.array_equal(trimmed.read_all(), full[:, 6000:18000])
    assert np.array_equal(FileSource(path, SR, start=0.9).read_all(), full[:, 21600:])
    assert FileSource(path, SR, start=0.5, duration=0).read_all().shape == (1, 0)
    with pytest.raises(AudioFileError, match="past the end"):
        FileSource(path, SR, start=2.0).read_all()
    with pytest.raises(AudioFileError, match="start"):
        FileSource(path, SR, start=-1)


@pytest.mark.parametrize("ext,codec", [(".wav", "pcm_s16le"), (".ogg", "vorbis"), (".opus", "libopus"), (".mp3", "libmp3lame")])
def test_resuming_gives_the_very_blocks_of_a_pass_from_the_start(tmp_path, ext, codec):
    """What a render segment relies on: resumed at a block boundary, the same blocks to the bit."""
    rate = 48000 if codec == "libopus" else 44100
    noise = np.random.default_rng(1).uniform(-0.5, 0.5, (2, rate * 3))
    path = encode(tmp_path / f"noise{ext}", noise, rate, codec)
    blocks = list(FileSource(path, SR, block_size=1000, start=0.3, duration=2.0))
    for k in (1, 17, len(blocks) - 1):
        resumed = list(FileSource(path, SR, block_size=1000, start=0.3, duration=2.0, resume_at=k * 1000))
        assert len(resumed) == len(blocks) - k
        assert all(np.array_equal(a, b) for a, b in zip(resumed, blocks[k:]))
    assert list(FileSource(path, SR, block_size=1000, resume_at=10**9)) == []  # past the end: nothing left
    with pytest.raises(AudioFileError, match="resume"):
        FileSource(path, SR, resume_at=-1)


def _video_only(path: Path) -> Path:
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=10)
        s.width = s.height = 16
        s.pix_fmt = "yuv420p"
        for i in range(3):
            f = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")
            f.pts = i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return path


def _bad_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    (tmp / "folder.wav").mkdir()
    (tmp / "empty.wav").write_bytes(b"")
    (tmp / "notes.txt").write_text("these are not the samples you are looking for\n" * 50)
    (tmp / "random.mp3").write_bytes(np.random.default_rng(1).bytes(20000))
    good = encode(tmp / "good.flac", sine(440, 0.5, 48000), 48000, "flac").read_bytes()
    (tmp / "header-only.flac").write_bytes(good[:60])
    return {
        "missing": (tmp / "missing.wav", "no such file"),
        "folder": (tmp / "folder.wav", "folder"),
        "empty": (tmp / "empty.wav", "empty"),
        "text": (tmp / "notes.txt", ""),
        "random": (tmp / "random.mp3", ""),
        "no-audio": (_video_only(tmp / "video.mp4"), "no audio stream"),
        "truncated-to-header": (tmp / "header-only.flac", ""),
    }


def test_bad_files_fail_in_one_line_naming_the_file(tmp_path):
    for kind, (path, reason) in _bad_files(tmp_path).items():
        with pytest.raises(AudioFileError) as err:
            FileSource(path, SR).read_all()
        msg = str(err.value)
        assert str(path) in msg and reason in msg and "\n" not in msg, (kind, msg)
        assert isinstance(err.value, LavliveError)


@pytest.mark.parametrize("ext,codec", [("wav", "pcm_s16le"), ("flac", "flac"), ("mp3", "libmp3lame")])
def test_truncated_file_plays_up_to_the_cut(tmp_path, ext, codec):
    data = encode(tmp_path / f"full.{ext}", sine(440, 1.0, 48000), 48000, codec).read_bytes()
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(data[:len(data) * 3 // 4])  # (a FLAC header holds 8 KB of padding: cut from the end)
    out = FileSource(cut, SR).read_all()
    assert 0.3 * SR < out.shape[1] < 0.9 * SR and np.isfinite(out).all()


def test_corrupt_middle_is_skipped_not_fatal(tmp_path):
    """Policy: damaged packets are skipped and counted; the stream goes on (or ends) without an exception."""
    data = bytearray(encode(tmp_path / "full.flac", sine(440, 2.0, 48000), 48000, "flac").read_bytes())
    mid = len(data) // 2
    data[mid:mid + 2000] = np.random.default_rng(2).bytes(2000)
    bad = tmp_path / "corrupt.flac"
    bad.write_bytes(bytes(data))
    src = FileSource(bad, SR, block_size=1000)
    blocks = list(src)
    out = np.concatenate(blocks, axis=1)
    assert SR < out.shape[1] <= 2 * SR and np.isfinite(out).all() and np.abs(out).max() <= 1
    assert all(b.shape[1] == 1000 for b in blocks[:-1])


def test_long_file_streams_in_bounded_memory(tmp_path):
    rate, minutes = 8000, 10
    n = rate * 60 * minutes
    tone = np.round(0.3 * 32767 * np.sin(2 * np.pi * 220 * np.arange(rate) / rate)).astype(np.int16)[None]
    path = tmp_path / "long.flac"
    with av.open(str(path), "w") as c:  # a 1 s frame repeated: fast to write, 10 min to decode
        s = c.add_stream("flac", rate=rate, layout="mono")
        s.codec_context.options = {"frame_size": str(rate)}  # big FLAC frames: fewer packets for tracemalloc
        for i in range(0, n, rate):
            f = av.AudioFrame.from_ndarray(tone, format="s16", layout="mono")
            f.sample_rate, f.pts = rate, i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    src = FileSource(path, SR, block_size=4800)
    decoded_bytes = n * (SR // rate) * 4
    tracemalloc.start()
    try:
        count = 0
        for block in src:
            count += block.shape[1]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == n * SR // rate
    assert peak < decoded_bytes / 50, f"peak {peak / 1e6:.1f} MB while decoding {decoded_bytes / 1e6:.0f} MB"


def test_ring_hands_out_exact_blocks_and_drops_when_overrun():
    ring = _Ring(capacity=10, channels=2)
    ramp = np.arange(14, dtype=np.float32)[:, None].repeat(2, axis=1)
    ring.write(ramp[:6])
    assert ring.pop(4)[0].tolist() == [0, 1, 2, 3] and ring.pop(4) is None
    ring.write(ramp[6:14])  # wraps around the end of the buffer
    assert ring.pop(4)[1].tolist() == [4, 5, 6, 7]
    ring.write(np.full((25, 2), 9, np.float32))  # far more than fits: the oldest audio is dropped
    block = ring.pop(10)
    assert block.shape == (2, 10) and (block == 9).all() and ring.dropped > 0


def test_unknown_device_is_a_clear_error():
    try:
        list_devices()
    except AudioDeviceError:
        pass  # no PortAudio library: also a clear error
    with pytest.raises(AudioDeviceError, match="no-such-card-xyz"):
        DeviceSource("no-such-card-xyz", SR)


def test_list_devices_shape():
    try:
        devices = list_devices()
    except AudioDeviceError as e:
        pytest.skip(str(e))
    for d in devices:
        assert set(d) == {"index", "name", "input_channels", "output_channels", "default_rate"}


def test_device_source_reads_blocks(pulse):
    """A real input: the monitor of PulseAudio's null sink, through PortAudio."""
    try:
        inputs = [d for d in list_devices() if d["input_channels"] > 0]
    except AudioDeviceError as e:
        pytest.skip(str(e))
    if not inputs:
        pytest.skip("no sound input device (no audio server running)")
    with DeviceSource(inputs[0]["index"], int(inputs[0]["default_rate"]), block_size=256) as src:
        block = next(iter(src))
    assert block.shape == (1, 256) and block.dtype == np.float32 and np.isfinite(block).all()


def test_devices_command_lists_the_sound_server(pulse):
    """`lavlive devices` names the devices PortAudio reaches (here PulseAudio through ALSA) and the defaults."""
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "lavlive", "devices", "--json"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    devices = json.loads(out.stdout)
    names = {d["name"] for d in devices}
    assert names & {"pulse", "default"}, names
    assert sum(d["default_output"] for d in devices) == 1
    assert all(d["input_channels"] >= 0 and d["default_rate"] > 0 for d in devices)
    table = subprocess.run([sys.executable, "-m", "lavlive", "devices"], capture_output=True, text=True, timeout=60)
    assert table.returncode == 0 and "<default out" in table.stdout
