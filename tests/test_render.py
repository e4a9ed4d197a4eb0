"""`lavlive render` end to end: real files written, decoded back with PyAV, and checked as a viewer would."""

from __future__ import annotations

import hashlib
import json
import math
import os
import resource
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from audio_files import encode, with_header_length

from lavlive.audio.demo import demo_track, write_wav
from lavlive.cli import main
from lavlive.generator import Generator, GeneratorConfig, save_generator
from lavlive.render.video import VideoWriter

REPO = Path(__file__).resolve().parents[1]
RATE = 44100


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """A small random generator (32×32) as a real checkpoint file."""
    torch.manual_seed(0)
    G = Generator(GeneratorConfig(z_dim=64, w_dim=64, img_resolution=32, channel_base=256, channel_max=16,
                                  mapping_layers=2)).eval()
    path = tmp_path_factory.mktemp("model") / "small.safetensors"
    save_generator(G, path)
    return path


@pytest.fixture(scope="module")
def music(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("music") / "music.wav"
    write_wav(path, demo_track(4.0, RATE), RATE)
    return path


def render(input_: Path, out: Path, model: Path, *extra: str) -> int:
    return main(["render", str(input_), "-o", str(out), "--model", str(model), "--size", "64x64", *extra])


def video_frames(path: Path) -> tuple[np.ndarray, list[float]]:
    with av.open(str(path)) as c:
        frames = [(f.to_ndarray(format="rgb24"), float(f.time)) for f in c.decode(video=0)]
    return np.stack([f for f, _ in frames]), [t for _, t in frames]


def audio_of(path: Path) -> tuple[np.ndarray, int, float | None]:
    """Decoded samples [channels, n] (float), the rate, and the stream's declared duration."""
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        duration = float(stream.duration * stream.time_base) if stream.duration else None
        chunks = []
        for f in c.decode(stream):
            x = f.to_ndarray()
            if not f.format.is_planar:
                x = x.reshape(-1, len(f.layout.channels)).T
            chunks.append(x / 32768.0 if x.dtype == np.int16 else x.astype(np.float64))
        rate = stream.codec_context.sample_rate
    return np.concatenate(chunks, axis=1), rate, duration


def motion(frames: np.ndarray) -> np.ndarray:
    """Mean absolute difference between consecutive frames; element k compares frames k and k+1."""
    f = frames.astype(np.float32)
    return np.abs(np.diff(f, axis=0)).mean(axis=(1, 2, 3))


@pytest.mark.parametrize("fps, expected_rate", [("24", Fraction(24)), ("29.97", Fraction(30000, 1001)),
                                                ("60", Fraction(60))])
def test_frame_count_and_times_are_exact(tmp_path, model, fps, expected_rate):
    seconds = 3.3
    track = write_track(tmp_path / "t.wav", demo_track(seconds, RATE))
    out = tmp_path / "v.mp4"
    assert render(track, out, model, "--fps", fps) == 0
    frames, times = video_frames(out)
    assert len(frames) == round(seconds * expected_rate)
    assert times == pytest.approx([float(i / expected_rate) for i in range(len(frames))], abs=1e-6)
    _, _, audio_seconds = audio_of(out)
    assert abs(audio_seconds - seconds) <= 1 / float(expected_rate)


def write_track(path: Path, audio: np.ndarray) -> Path:
    write_wav(path, audio, RATE)
    return path


def test_reencoded_audio_matches_the_trimmed_input(tmp_path, model, music):
    out = tmp_path / "v.mp4"
    assert render(music, out, model, "--start", "1.0", "--duration", "2.5") == 0
    y, rate, seconds = audio_of(out)
    x, _, _ = audio_of(music)
    assert rate == RATE and abs(seconds - 2.5) <= 1 / 30
    segment = x[:, RATE:RATE + int(2.5 * RATE)]
    n = segment.shape[1]
    for ch in range(2):
        assert np.corrcoef(segment[ch], y[ch, :n])[0, 1] >= 0.99
    assert len(video_frames(out)[0]) == 75


@pytest.mark.parametrize("codec, suffix, container", [("aac", ".m4a", ".mp4"), ("pcm_s16le", ".wav", ".mkv")])
def test_untrimmed_audio_is_stream_copied_sample_exact(tmp_path, model, codec, suffix, container):
    track = encode(tmp_path / f"music{suffix}", demo_track(3.0, RATE), RATE, codec=codec)
    out = tmp_path / f"v{container}"
    assert render(track, out, model) == 0
    assert json.loads((tmp_path / f"v{container}.json").read_text())["video"]["audio"] == f"{codec} (stream copy)"
    x, _, _ = audio_of(track)
    y, _, _ = audio_of(out)
    assert x.shape == y.shape and np.array_equal(x, y)


HEADERS = {"longer than its header": RATE, "no length in its header": 0, "shorter than its header": 9 * RATE}


@pytest.mark.parametrize("header", HEADERS.values(), ids=HEADERS.keys())
def test_frame_count_and_audio_follow_the_decoded_audio_not_the_header(tmp_path, model, capsys, header):
    track = with_header_length(encode(tmp_path / "t.flac", demo_track(3.0, RATE), RATE, "flac"), header)
    out = tmp_path / "v.mp4"
    assert render(track, out, model) == 0
    assert len(video_frames(out)[0]) == 90  # 3.0 s at 30 fps
    y, _, _ = audio_of(out)
    assert abs(y.shape[1] - 3 * RATE) <= RATE // 100
    meta = json.loads((tmp_path / "v.mp4.json").read_text())
    assert meta["video"]["frames"] == 90 and meta["video"]["duration"] == pytest.approx(3.0)
    bar = [s for s in capsys.readouterr().err.split("\r") if "rendering" in s][-1]
    assert "100%" in bar and "90/90" in bar, bar  # the progress bar ends full, whatever the header guessed

    trimmed = tmp_path / "trimmed.mp4"  # a --duration is cut from the decoded audio, never taken from the header
    assert render(track, trimmed, model, "--duration", "2") == 0
    assert len(video_frames(trimmed)[0]) == 60
    assert abs(audio_of(trimmed)[0].shape[1] - 2 * RATE) <= RATE // 30


def click_track(seconds: float, clicks: list[float]) -> np.ndarray:
    x = np.zeros((1, int(seconds * RATE)), np.float32)
    x[0] += 0.05 * np.sin(2 * np.pi * 220 * np.arange(x.shape[1]) / RATE)  # a quiet tone keeps the gate open
    for t in clicks:
        i = int(t * RATE)
        x[0, i:i + 240] += 0.9 * np.sign(np.sin(np.arange(240) * 0.7))
    return x


def test_clicks_move_the_picture_at_their_frames(tmp_path, model):
    """Motion starts within one frame of each click and peaks within two.

    EnCodec's 24 kHz encoder sees 113 ms of past audio, so a click keeps moving the picture for about
    three frames at 30 fps; the steepest change comes one or two frames after the click's frame.
    """
    clicks = [0.8, 1.55, 2.3, 3.05, 3.8]
    track = write_track(tmp_path / "clicks.wav", click_track(4.5, clicks))
    preset = tmp_path / "snappy.toml"
    preset.write_text("[smoothing]\ncoarse = 0.0\nmiddle = 0.0\nfine = 0.0\n[modulation]\nonset_strength = 0.0\n")
    out = tmp_path / "v.mp4"
    assert render(track, out, model, "--fps", "30", "--preset", str(preset)) == 0
    diffs = motion(video_frames(out)[0])
    quiet = np.median(diffs)
    for t in clicks:
        k = math.ceil(t * 30)  # the first frame at or after the click; diffs[k - 1] compares it with the one before
        window = diffs[k - 6:k + 6]
        assert window.max() > 3 * quiet, f"click at {t} s barely moves the picture"
        rise = k - 6 + int(np.argmax(window > 0.5 * window.max()))
        peak = k - 6 + int(np.argmax(window))
        assert abs(rise - (k - 1)) <= 1, f"click at {t} s: motion starts at diff {rise}, expected {k - 1} ± 1"
        assert 0 <= peak - (k - 1) <= 2, f"click at {t} s: motion peaks at diff {peak}, expected {k - 1} + 0..2"


def test_silence_is_still_and_music_moves(tmp_path, model, music):
    silent = write_track(tmp_path / "silence.wav", np.zeros((2, 3 * RATE), np.float32))
    assert render(silent, tmp_path / "s.mp4", model) == 0
    assert render(music, tmp_path / "m.mp4", model, "--duration", "3") == 0
    still = motion(video_frames(tmp_path / "s.mp4")[0])
    moving = motion(video_frames(tmp_path / "m.mp4")[0])
    assert still.max() < 0.5, "silence should give a (nearly) still picture"
    assert np.median(moving) > 10 * max(np.median(still), 0.05)


@pytest.fixture(scope="module")
def sg3_model(tmp_path_factory) -> Path:
    """A small random StyleGAN3 (config T, 32×32) as a stylegan3-repo network pickle."""
    from checkpoint_writers import write_sg3_pickle

    from lavlive.generator import StyleGAN3Config, StyleGAN3Generator

    torch.manual_seed(3)
    G = StyleGAN3Generator(StyleGAN3Config(z_dim=64, w_dim=64, img_resolution=32, channel_base=1024, channel_max=32,
                                           num_fp16_res=0, conv_clamp=None)).eval()
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith("bias") and "affine" not in name:
                p.normal_(0, 0.1)
    path = tmp_path_factory.mktemp("sg3") / "sg3t-32.pkl"
    write_sg3_pickle(G, path)
    return path


def test_a_stylegan3_network_renders_still_in_silence_and_moving_with_music(tmp_path, sg3_model, music):
    silent = write_track(tmp_path / "silence.wav", np.zeros((2, 2 * RATE), np.float32))
    assert render(silent, tmp_path / "s.mp4", sg3_model) == 0
    assert render(music, tmp_path / "m.mp4", sg3_model, "--duration", "2") == 0
    frames, times = video_frames(tmp_path / "m.mp4")
    assert frames.shape == (60, 64, 64, 3) and times[-1] == pytest.approx(59 / 30)
    still, moving = motion(video_frames(tmp_path / "s.mp4")[0]), motion(frames)
    assert still.max() < 0.5 and np.median(moving) > 10 * max(np.median(still), 0.05)
    meta = json.loads((tmp_path / "m.mp4.json").read_text())
    assert meta["model"]["family"] == "stylegan3" and meta["model"]["format"] == "stylegan3-pickle"


def test_a_preset_turns_a_stylegan3_r_picture_by_its_input_transform(tmp_path, music):
    """Config R is equivariant to rotation: a preset's transform.rotate = 90 renders every frame of the default
    render turned a quarter counter-clockwise."""
    from checkpoint_writers import write_sg3_pickle

    from lavlive.generator import StyleGAN3Config, StyleGAN3Generator

    torch.manual_seed(4)
    G = StyleGAN3Generator(StyleGAN3Config(z_dim=64, w_dim=64, img_resolution=32, channel_base=2048, channel_max=64,
                                           conv_kernel=1, use_radial_filters=True, num_fp16_res=0,
                                           conv_clamp=None)).eval()
    write_sg3_pickle(G, tmp_path / "r.pkl")
    (tmp_path / "turned.toml").write_text("[transform]\nrotate = 90.0\n")
    args = ("--duration", "1", "--crf", "0", "--size", "32x32")
    assert main(["render", str(music), "-o", str(tmp_path / "a.mp4"), "--model", str(tmp_path / "r.pkl"), *args]) == 0
    assert main(["render", str(music), "-o", str(tmp_path / "b.mp4"), "--model", str(tmp_path / "r.pkl"),
                 "--preset", str(tmp_path / "turned.toml"), *args]) == 0
    plain, turned = video_frames(tmp_path / "a.mp4")[0], video_frames(tmp_path / "b.mp4")[0]
    assert len(plain) == len(turned) == 30 and motion(plain).mean() > 0.5
    assert psnr(turned, np.rot90(plain, 1, axes=(1, 2))) > 40 > psnr(turned, plain)
    assert json.loads((tmp_path / "b.mp4.json").read_text())["preset"]["transform"]["rotate"] == 90.0


@pytest.mark.parametrize("family", ["stylegan2", "stylegan3"])
def test_a_16_9_canvas_is_drawn_by_the_network_and_moves_with_the_music(tmp_path, model, sg3_model, music, family):
    """--canvas 16:9 on a 32x32 network: a 56x32 video drawn at the network's scale (not stretched: StyleGAN3's
    middle is its square picture), moving with the music over its whole width, and --size scales it."""
    net = model if family == "stylegan2" else sg3_model
    args = ("--model", str(net), "--duration", "2", "--crf", "0")
    assert main(["render", str(music), "-o", str(tmp_path / "wide.mp4"), "--canvas", "16:9", *args]) == 0
    assert main(["render", str(music), "-o", str(tmp_path / "square.mp4"), *args]) == 0
    assert main(["render", str(music), "-o", str(tmp_path / "big.mp4"), "--canvas", "16:9", "--size", "112x64",
                 *args]) == 0
    wide, square = video_frames(tmp_path / "wide.mp4")[0], video_frames(tmp_path / "square.mp4")[0]
    assert wide.shape == (60, 32, 56, 3) and square.shape == (60, 32, 32, 3)
    for edge in (wide[..., :12, :], wide[..., -12:, :]):  # the added columns move too
        assert np.median(motion(edge)) > 0.5
    if family == "stylegan3":
        assert psnr(wide[..., 12:44, :][:, 8:-8, 8:-8], square[:, 8:-8, 8:-8]) > 40  # the same picture, widened
    assert video_frames(tmp_path / "big.mp4")[0].shape == (60, 64, 112, 3)
    meta = json.loads((tmp_path / "wide.mp4.json").read_text())
    assert meta["video"]["canvas"] == {"shape": "16:9", "drawn": "56x32"} and meta["video"]["size"] == "56x32"
    assert json.loads((tmp_path / "square.mp4.json").read_text())["video"]["canvas"] is None


def psnr(x: np.ndarray, y: np.ndarray) -> float:
    mse = np.mean((x.astype(np.float64) - y.astype(np.float64)) ** 2)
    return math.inf if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def test_render_is_reproducible_and_sidecar_describes_it(tmp_path, model, music, monkeypatch):
    handed: dict[str, list[str]] = {}  # what each render handed the encoder, frame by frame
    write = VideoWriter.write

    def recording(self, image):
        handed.setdefault(self.path.suffix, []).append(hashlib.sha256(np.ascontiguousarray(image)).hexdigest())
        write(self, image)

    monkeypatch.setattr(VideoWriter, "write", recording)
    a, b = tmp_path / "a.mp4", tmp_path / "b.mkv"
    assert render(music, a, model, "--duration", "2", "--seed", "7", "--batch", "3") == 0
    assert render(music, b, model, "--duration", "2", "--seed", "7", "--batch", "3") == 0
    assert len(handed[".mp4"]) == 60 and handed[".mp4"] == handed[".mkv"]  # the same pictures, to the bit
    # x264's bitstream was seen to differ between renders whose frames were identical to the bit (about 1 run
    # in 8 under CPU load; the two decodes then agree to 38.5 dB, where seeds 7 and 8 agree to 17 dB), so the
    # decoded videos are compared as a viewer would: the same pictures within compression noise.
    assert psnr(video_frames(a)[0], video_frames(b)[0]) >= 32
    meta = json.loads((tmp_path / "a.mp4.json").read_text())
    assert meta["seeds"]["projection"] == 7 and meta["preset"]["modulation"]["seed"] == 7
    assert meta["preset"]["smoothing"]["coarse"] == 0.8  # every resolved value, not just the overrides
    assert meta["model"]["sha256"] and meta["model"]["path"] == str(model.resolve())
    assert meta["video"]["frames"] == 60 and meta["video"]["fps"] == "30" and meta["video"]["size"] == "64x64"
    assert meta["input"]["duration"] == 2.0 and len(meta["input"]["sha256"]) == 64
    assert meta["encoder"]["name"] == "24khz" and meta["lavlive"] and meta["torch"]
    assert meta["batch"] == 3 and meta["threads"] == torch.get_num_threads()  # the frames' last bits depend on both
    if not torch.cuda.is_available():  # what the CPU runs by default, and the encoder that comes with it
        assert (meta["dtype"], meta["execution"], meta["video"]["codec"]) == ("float32", "eager",
                                                                            "h264 yuv420p bt709 (libx264)")
    c = av.open(str(a))
    assert c.streams.video[0].codec_context.pix_fmt == "yuv420p" and c.streams.video[0].codec_context.name == "h264"
    c.close()
    other = tmp_path / "c.mp4"
    assert render(music, other, model, "--duration", "2", "--seed", "8") == 0
    assert not np.array_equal(video_frames(a)[0], video_frames(other)[0]), "another seed should look different"


def test_size_fit_letterboxes_and_fill_crops(tmp_path, model, music):
    fit, fill = tmp_path / "fit.mp4", tmp_path / "fill.mp4"
    assert main(["render", str(music), "-o", str(fit), "--model", str(model), "--duration", "0.5",
                 "--size", "128x64"]) == 0
    assert main(["render", str(music), "-o", str(fill), "--model", str(model), "--duration", "0.5",
                 "--size", "128x64", "--scale", "fill"]) == 0
    f_fit, f_fill = video_frames(fit)[0][0], video_frames(fill)[0][0]
    assert f_fit.shape == f_fill.shape == (64, 128, 3)
    assert f_fit[:, :24].max() < 24 and f_fit[:, -24:].max() < 24  # black bars left and right
    assert f_fill[:, :24].mean() > 24  # picture edge to edge


def test_existing_output_is_kept_without_force(tmp_path, model, music, capsys):
    out = tmp_path / "v.mp4"
    out.write_bytes(b"my earlier video")
    assert render(music, out, model) == 1
    assert "already exists" in capsys.readouterr().err
    assert out.read_bytes() == b"my earlier video"
    assert render(music, out, model, "--duration", "0.5", "--force") == 0
    assert len(video_frames(out)[0]) == 15


def test_existing_sidecar_is_kept_without_force(tmp_path, model, music, capsys):
    notes = tmp_path / "v.mp4.json"
    notes.write_text("my notes")
    assert render(music, tmp_path / "v.mp4", model) == 1
    assert "v.mp4.json already exists" in capsys.readouterr().err
    assert notes.read_text() == "my notes" and not (tmp_path / "v.mp4").exists()


@pytest.mark.parametrize("argv, message", [
    (["--fps", "0"], "--fps 0"), (["--size", "65x64"], "even"), (["--crf", "60"], "--crf 60"),
    (["--batch", "0"], "--batch 0"), (["--duration", "-1"], "--duration"), (["-o", "x.avi"], "unsupported video type"),
    (["--encoder", "h264_nvenc", "--segments", "2"], "a segmented render encodes with libx264"),
])
def test_bad_arguments_give_one_line(tmp_path, model, music, argv, message):
    run = subprocess.run([sys.executable, "-m", "lavlive", "render", str(music), "-o", str(tmp_path / "v.mp4"),
                          "--model", str(model), *argv], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode != 0
    assert message in run.stderr and "Traceback" not in run.stderr
    assert not any(tmp_path.glob("*.mp4"))


def test_missing_input_gives_one_line(tmp_path, model, capsys):
    assert render(tmp_path / "nope.wav", tmp_path / "v.mp4", model) == 1
    err = capsys.readouterr().err
    assert "nope.wav: no such file" in err and not any(tmp_path.glob("*.mp4"))


def cli(args: list[str], **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "lavlive", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kw)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_keeps_a_playable_partial_file_and_no_output(tmp_path, model, music, signum):
    long = write_track(tmp_path / "long.wav", np.tile(demo_track(4.0, RATE), (1, 8)))  # 32 s
    out = tmp_path / "v.mp4"
    proc = cli(["render", str(long), "-o", str(out), "--model", str(model), "--size", "256x256"], cwd=tmp_path)
    deadline = time.monotonic() + 120
    while not any(p.stat().st_size > 20_000 for p in tmp_path.glob(".v.rendering-*.mp4")):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.2)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, err
    assert "interrupted" in err and "Traceback" not in err
    assert not out.exists() and not (tmp_path / "v.mp4.json").exists()
    assert not list(tmp_path.glob(".v.rendering-*"))
    partial = tmp_path / "v.partial.mp4"
    frames, times = video_frames(partial)
    assert 0 < len(frames) < 32 * 30
    assert times == pytest.approx([i / 30 for i in range(len(frames))], abs=1e-6)
    _, _, audio_seconds = audio_of(partial)
    assert abs(audio_seconds - len(frames) / 30) < 0.7  # audio is muxed up to 0.5 s ahead of the video


def test_full_disk_is_a_clear_error(tmp_path, model, music):
    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))

    out = tmp_path / "v.mp4"
    proc = cli(["render", str(music), "-o", str(out), "--model", str(model), "--size", "256x256"],
               cwd=tmp_path, preexec_fn=small_files)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("lavlive: error:") and "v.mp4: cannot write" in last and "too large" in last.lower()
    assert "Traceback" not in err and list(tmp_path.glob("*.mp4")) == []


def mount_tmpfs(where: Path, options: str) -> bool:
    where.mkdir()
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                          capture_output=True).returncode == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_no_space_left_is_a_clear_error(tmp_path, model, music):
    disk = tmp_path / "disk"
    if not mount_tmpfs(disk, "size=64k"):
        pytest.skip("cannot mount tmpfs here")
    try:
        proc = cli(["render", str(music), "-o", str(disk / "v.mp4"), "--model", str(model), "--size", "256x256"])
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 1, err
        assert "cannot write" in err and "No space left" in err and "Traceback" not in err
        assert list(disk.iterdir()) == []
    finally:
        subprocess.run(["umount", str(disk)])


def test_unwritable_folder_is_a_clear_error(tmp_path, model, music, capsys):
    folder = tmp_path / "ro"
    if os.geteuid() == 0:  # root writes through permissions: use a read-only file system instead
        if not mount_tmpfs(folder, "ro,size=64k"):
            pytest.skip("cannot mount a read-only tmpfs here")
    else:
        folder.mkdir()
        folder.chmod(0o555)
    try:
        assert render(music, folder / "v.mp4", model) == 1
        err = capsys.readouterr().err
        assert "not writable" in err and str(folder) in err
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(folder)])
        else:
            folder.chmod(0o755)
