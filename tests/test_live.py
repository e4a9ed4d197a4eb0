"""`lavlive live` on a real loopback: clicks played into PulseAudio's null sink are captured from its
monitor (the default input here) and visualised in a window on Xvfb; the frame log times each
frame's stages on one clock, captured → planned (control path) → drawn (synthesis) → shown, and
marks the first frame that shows each click (a new beat), which gives click-to-picture latency."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from checkpoint_writers import write_sg3_pickle
from pythonosc.udp_client import SimpleUDPClient

from lavlive.audio.demo import write_wav
from lavlive.generator import Generator, GeneratorConfig, StyleGAN3Config, StyleGAN3Generator, save_generator


def test_loopback_latency_is_measured_per_stage(xvfb, pulse, tmp_path):
    torch.manual_seed(64)
    save_generator(Generator(GeneratorConfig(z_dim=64, w_dim=64, img_resolution=64, channel_base=1024,
                                             channel_max=64, mapping_layers=2)).eval(), tmp_path / "tiny.pt")
    clicks = 0.5 * np.arange(1, 16)  # a click every 0.5 s for 8 s
    write_wav(tmp_path / "clicks.wav", click_track(8.0, clicks, 44100), 44100)
    log_path, health_path = tmp_path / "frames.csv", tmp_path / "health.json"
    live = start_live(tmp_path / "tiny.pt", log_path, "--health-file", str(health_path))
    try:
        subprocess.run(["paplay", str(tmp_path / "clicks.wav")], timeout=60, check=True)
        health = json.loads(health_path.read_text())  # the latest line, while it runs
    finally:
        start = time.monotonic()
        live.send_signal(signal.SIGTERM)
        out, _ = live.communicate(timeout=30)
        quit_took = time.monotonic() - start
    assert live.returncode == 128 + signal.SIGTERM and quit_took < 1.0, out
    assert "lookahead" in out  # the latency the control path adds is reported at start

    data = np.genfromtxt(log_path, delimiter=",", names=True)
    playing = data[-int(len(data) * 0.6):]  # while the clicks played, after the start-up
    assert len(playing) > 40, out
    captured, planned, drawn, shown = (playing[k] for k in ("captured", "planned", "drawn", "shown"))
    assert np.all(captured < planned) and np.all(planned <= drawn) and np.all(drawn <= shown)
    latency = (shown - captured) * 1000
    stages = {name: np.median((b - a) * 1000) for name, a, b in
              (("control path", captured, planned), ("synthesis", planned, drawn), ("display", drawn, shown))}
    print(f"input to screen: median {np.median(latency):.0f} ms, p95 {np.percentile(latency, 95):.0f} ms; "
          + ", ".join(f"{k} {v:.0f} ms" for k, v in stages.items()))
    # The control path cannot be faster than its input block plus lookahead (40 + 41 ms), and the
    # whole stays well under a second on this CPU (the benchmark reports the figures).
    assert stages["control path"] >= 60
    assert np.percentile(latency, 95) < 1000
    assert np.all(np.diff(playing["index"]) > 0)
    assert health["state"] == "playing" and time.time() - health["last_frame"] < 3, health
    assert health["frames_shown"] > 40 and 0 < health["av_offset_ms_p95"] < 1000 and health["errors"] == 0, health

    # Each click, seen: the first frame with a new beat; from the click's capture to that frame on screen.
    first = (np.diff(data["beats"], prepend=0) > 0) & ~np.isnan(data["beat_captured"])
    click = (data["shown"][first] - data["beat_captured"][first]) * 1000
    print(f"click to picture ({first.sum()} of {len(clicks)} clicks): median {np.median(click):.0f} ms, "
          f"p95 {np.percentile(click, 95):.0f} ms")
    assert len(clicks) - 3 <= first.sum() <= len(clicks) + 1  # the capture starting may count as one
    assert np.all(click >= 40) and np.percentile(click, 95) < 1000  # never before its input block is in


def start_live(model: Path, log_path: Path, *options: str) -> subprocess.Popen:
    """`lavlive live` at 15 fps in a small window, once its frame log shows frames (or 90 s have passed)."""
    live = subprocess.Popen([sys.executable, "-m", "lavlive", "live", "--model", str(model), "--fps", "15",
                             "--size", "320x240", "--frame-log", str(log_path), *options],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 90
    while (not log_path.exists() or log_path.stat().st_size < 200) and time.monotonic() < deadline:
        assert live.poll() is None, live.communicate()[0]
        time.sleep(0.2)
    return live


def click_track(seconds: float, times: np.ndarray, rate: int) -> np.ndarray:
    """Stereo [2, n]: a quiet noise floor with a 10 ms burst of loud noise at each time."""
    rng = np.random.default_rng(0)
    audio = 0.003 * rng.standard_normal(int(seconds * rate))
    n = rate // 100
    for t in times:
        i = int(t * rate)
        audio[i:i + n] += 0.8 * rng.standard_normal(n) * np.exp(-np.arange(n) / (n / 4))
    return np.repeat(audio[None], 2, axis=0).astype(np.float32)


@pytest.mark.parametrize("second", ["second.pt", "second.pkl"], ids=["to-stylegan2", "to-stylegan3"])
def test_a_model_switch_over_osc_dissolves_without_a_stall(xvfb, pulse, tmp_path, second):
    """/lavlive/model loads another network in the background while the first plays on, then the window
    dissolves to it (a StyleGAN2 or a StyleGAN3 one); a missing file is refused with a log line and changes
    nothing."""
    torch.manual_seed(1)
    save_generator(Generator(GeneratorConfig(z_dim=64, w_dim=64, img_resolution=64, channel_base=1024,
                                             channel_max=64, mapping_layers=2)).eval(), tmp_path / "first.pt")
    torch.manual_seed(2)
    if second.endswith(".pt"):
        save_generator(Generator(GeneratorConfig(z_dim=64, w_dim=64, img_resolution=32, channel_base=1024,
                                                 channel_max=64, mapping_layers=2)).eval(), tmp_path / second)
    else:
        write_sg3_pickle(StyleGAN3Generator(StyleGAN3Config(z_dim=64, w_dim=64, img_resolution=32, channel_base=1024,
                                                            channel_max=32, num_fp16_res=0, conv_clamp=None)).eval(),
                         tmp_path / second)
    write_wav(tmp_path / "clicks.wav", click_track(8.0, 0.5 * np.arange(1, 16), 44100), 44100)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log_path = tmp_path / "frames.csv"
    live = start_live(tmp_path / "first.pt", log_path, "--osc", str(port), "--switch-fade", "1.0", "--record",
                      str(tmp_path / "set.mkv"))
    try:
        player = subprocess.Popen(["paplay", str(tmp_path / "clicks.wav")])
        time.sleep(2.0)
        osc = SimpleUDPClient("127.0.0.1", port)
        osc.send_message("/lavlive/model", str(tmp_path / "missing.pt"))
        osc.send_message("/lavlive/model", str(tmp_path / second))
        player.wait(timeout=60)
    finally:
        live.send_signal(signal.SIGTERM)
        out, _ = live.communicate(timeout=30)
    assert live.returncode == 128 + signal.SIGTERM, out
    assert "missing.pt': no such file" in out and second in out and "dissolving over 1.0 s" in out, out

    data = np.genfromtxt(log_path, delimiter=",", names=True)
    dissolve = data["dissolve"]
    during = np.flatnonzero(dissolve > 0)
    assert len(during) >= 5, out  # about a second of frames at the rate this machine draws two models
    assert np.all(np.diff(dissolve[during]) > 0) and dissolve[during[-1]] > 0.7  # rising, to the new picture
    assert during[-1] < len(data) - 10 and np.all(dissolve[during[-1] + 1:] == 0)  # then the new model alone
    assert np.all(np.diff(during) == 1)  # one dissolve, no frame left out of it
    playing = data["shown"][data["shown"] > data["shown"][0] + 2.0]
    assert np.diff(playing).max() < 0.5  # the picture never stalled, loading included

    # The recording (stopped by a signal: set.partial.mkv) holds the frames shown, the dissolve composed as the
    # window showed it, and the input heard: the clicks, in step with the pictures' time.
    import av

    with av.open(str(tmp_path / "set.partial.mkv")) as recorded:
        frames = [f.to_ndarray(format="rgb24").astype(float) for f in recorded.decode(video=0)]
    with av.open(str(tmp_path / "set.partial.mkv")) as recorded:
        stream = recorded.streams.audio[0]
        sound = np.concatenate([f.to_ndarray() for f in recorded.decode(stream)], axis=1)[0]
        rate = stream.rate
    sidecar = json.loads((tmp_path / "set.partial.mkv.json").read_text())
    assert sidecar["recorded"]["not_kept"] == 0 and len(frames) == sidecar["recorded"]["frames"] == len(data), out
    assert abs(len(sound) / rate - data["time"][-1]) < 0.5  # the input, as long as the pictures' time
    hits = np.flatnonzero(np.abs(sound) > 0.3)
    assert len(np.unique(hits // (rate // 4))) >= 10  # the clicks were heard (15 of them, 0.5 s apart)
    before, after = frames[during[0] - 1], frames[during[-1] + 1]
    swap = np.abs(after - before).mean()  # what a cut from one model to the other would change at once
    steps = [np.abs(frames[k + 1] - frames[k]).mean() for k in range(during[0] - 1, during[-1] + 1)]
    assert max(steps) < 0.6 * swap, (steps, swap)  # recorded as a dissolve, over its frames


def test_a_9_16_canvas_goes_out_over_ndi_at_its_shape_and_moves_on_the_clicks(pulse, tmp_path):
    """`live --no-window --ndi` with a StyleGAN3 network drawing a phone's 9:16: the receiver gets tall frames
    (32x56 from a 32x32 network), which change as the clicks come in."""
    from ndi_receiver import ReceiverProcess

    torch.manual_seed(6)
    write_sg3_pickle(StyleGAN3Generator(StyleGAN3Config(z_dim=64, w_dim=64, img_resolution=32, channel_base=1024,
                                                        channel_max=32, num_fp16_res=0, conv_clamp=None)).eval(),
                     tmp_path / "sg3.pkl")
    write_wav(tmp_path / "clicks.wav", click_track(6.0, 0.5 * np.arange(1, 12), 44100), 44100)
    name = f"lavlive-live-{os.getpid()}"
    receiver = ReceiverProcess(name, tmp_path)
    live = start_live(tmp_path / "sg3.pkl", tmp_path / "frames.csv", "--canvas", "9:16", "--no-window", "--ndi", name)
    try:
        assert receiver.wait_found(30), "the receiver did not find the NDI source"
        subprocess.run(["paplay", str(tmp_path / "clicks.wav")], timeout=60, check=True)
    finally:
        live.send_signal(signal.SIGTERM)
        out, _ = live.communicate(timeout=30)
        _, frames = receiver.stop()
    assert live.returncode == 128 + signal.SIGTERM, out
    assert "canvas 9:16 (32x56)" in out, out
    assert len(frames) > 30 and {f.shape for f in frames} == {(56, 32, 3)}, (len(frames), {f.shape for f in frames})
    change = np.abs(np.diff(np.stack(frames[-30:]).astype(np.float32), axis=0)).mean()
    assert change > 0.5, change
