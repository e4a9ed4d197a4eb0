"""What users read: a missing or empty value is said in words (never None, nan, '' or a blank), and every
user error is one line naming the file, option or value at fault. Real CLI runs and library calls."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from pythonosc.udp_client import SimpleUDPClient

from lavlive.audio.demo import demo_track, write_wav
from lavlive.cli import main
from lavlive.generator import Generator, GeneratorConfig, save_generator

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
ENV.pop("DISPLAY", None)  # nothing here may need a window: the checks come before one opens


def lavlive(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lavlive", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=ENV, timeout=300)


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    """The single `lavlive: error:` line a user error prints; fails on a traceback, an internal error or more lines."""
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lavlive: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def in_words(text: str) -> None:
    for leak in ("None", "''"):
        assert leak not in text, text


def small_model(path: Path, conv_clamp: float | None = None) -> Path:
    torch.manual_seed(0)
    G = Generator(GeneratorConfig(z_dim=64, w_dim=64, img_resolution=32, channel_base=256, channel_max=16,
                                  mapping_layers=2, conv_clamp=conv_clamp)).eval()
    save_generator(G, path)
    return path


@pytest.fixture(scope="module")
def track(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("music") / "t.wav"
    write_wav(path, demo_track(1.0, 44100), 44100)
    return path


def test_models_info_says_a_missing_conv_clamp_in_words(tmp_path):
    unclamped = small_model(tmp_path / "free.safetensors")
    clamped = small_model(tmp_path / "clamped.safetensors", conv_clamp=256.0)
    free = lavlive("models", "info", unclamped)
    assert free.returncode == 0, free.stderr
    in_words(free.stdout)
    assert "conv_clamp     none (activations are not clamped)" in free.stdout
    held = lavlive("models", "info", clamped)
    assert held.returncode == 0 and "conv_clamp     ±256\n" in held.stdout, held.stdout
    assert json.loads(lavlive("models", "info", "--json", unclamped).stdout)["conv_clamp"] is None  # data stays data


def test_a_video_name_without_an_extension_is_said_in_words(track, tmp_path):
    line = one_error_line(lavlive("render", track, "-o", tmp_path / "video"))
    in_words(line)
    assert f"{tmp_path / 'video'}: no file extension" in line and ".mp4" in line


@pytest.mark.parametrize("args, option", [
    (["render", "{track}", "-o", ""], "--output"),
    (["render", "", "-o", "{tmp}/v.mp4"], "INPUT"),
    (["render", "{track}", "-o", "{tmp}/v.mp4", "--model", ""], "--model"),
    (["synth", "-o", ""], "--output"),
    (["demo-track", "-o", ""], "--output"),
    (["models", "info", ""], "PATH"),
    (["models", "convert", "{tmp}/m.pkl", ""], "OUT"),
    (["play", ""], "INPUT"),
    (["play", "{track}", "--audio-device", ""], "--audio-device"),
    (["play", "{track}", "--frame-log", ""], "--frame-log"),
    (["live", "--input-device", ""], "--input-device"),
    (["live", "--midi-map", ""], "--midi-map"),
])
def test_an_empty_value_is_refused_naming_the_option(args, option, track, tmp_path, capsys):
    """Before: Path('') became '.', so errors named '.' (or played the current folder, matched every sound
    device as '', or crashed opening '.' as the frame log)."""
    argv = [a.format(track=track, tmp=tmp_path) for a in args]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and err.startswith(f"lavlive: error: {option}: the value is empty; "), err
    in_words(err)


def test_an_output_that_is_a_folder_is_said_to_be_one_even_without_force(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    line = one_error_line(lavlive("demo-track", "-o", folder, "--seconds", "0.1"))
    assert line == f"lavlive: error: {folder} is a folder; give a file name"  # not "already exists; pass --force"


@pytest.mark.parametrize("command, option, value", [("render", "--start", "nan"), ("render", "--duration", "nan"),
                                                    ("render", "--duration", "inf"), ("analyze", "--start", "-1")])
def test_start_and_duration_are_checked_first_naming_the_option(command, option, value, track, tmp_path):
    out = tmp_path / ("v.mp4" if command == "render" else "a.png")
    proc = lavlive(command, track, "-o", out, option, value)
    line = one_error_line(proc)
    assert line.startswith(f"lavlive: error: {option} {value}: use a number of seconds"), line
    assert proc.stdout == ""  # refused before any model loads, not by the audio file afterwards


def test_a_frame_log_that_cannot_be_written_is_one_line(track, tmp_path):
    missing = tmp_path / "nowhere" / "frames.csv"
    for command in (["live"], ["play", track]):
        line = one_error_line(lavlive(*command, "--frame-log", missing))
        assert line == f"lavlive: error: --frame-log {missing}: folder {missing.parent} does not exist", line
    from lavlive.errors import LavliveError
    from lavlive.playback.presenter import FrameLog

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(LavliveError, match=r"^--frame-log .*a-file/frames.csv: cannot write \(Not a directory\)$"):
        FrameLog(blocker / "frames.csv", "index")  # where the players open it: one line, not an internal error


@pytest.mark.parametrize("option, value", [("--columns", "-1"), ("--size", "-5"), ("--size", "0")])
def test_synth_refuses_a_bad_sheet_layout_in_one_line(option, value, tmp_path):
    model = small_model(tmp_path / "m.safetensors")
    line = one_error_line(lavlive("synth", "--model", model, "--seeds", "0,1", "-o", tmp_path / "s.png",
                                  option, value))
    assert line.startswith(f"lavlive: error: {option} {value}: use 1 to "), line  # was: internal error, exit 70


def test_an_osc_message_without_a_value_is_refused_in_words(caplog):
    from lavlive.stage import OscServer, StageControls

    caplog.set_level(logging.WARNING, logger="lavlive.stage.osc")
    controls = StageControls()
    server = OscServer(controls, port=0).start()
    try:
        client = SimpleUDPClient("127.0.0.1", server.port)
        client.send_message("/lavlive/y", [])
        client.send_message("/lavlive/preset", [])
        deadline = time.monotonic() + 5
        while len(caplog.records) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        server.close()
    text = caplog.text
    assert "/lavlive/y refused: stage: y = (no value) should be a number in [0.0, 10.0]" in text, text
    assert "/lavlive/preset refused: stage: preset = (no value) should be a preset name" in text, text
    in_words(text)


@pytest.mark.parametrize("setup, args, expected", [
    (None, ["render", "{track}", "-o", "{tmp}/v.mp4", "--fps", ""], "--fps (empty): not a frame rate"),
    (None, ["render", "{track}", "-o", "{tmp}/v.mp4", "--size", ""], "--size (empty): use WIDTHxHEIGHT"),
    (None, ["play", "{track}", "--osc", ""], "--osc (empty): use PORT or HOST:PORT"),
    (("p.toml", '[encoder]\nname = ""\n'), ["render", "{track}", "-o", "{tmp}/v.mp4", "--preset", "{tmp}/p.toml"],
     "p.toml: encoder.name = (empty) is not one of 24khz"),
    (("m.toml", 'port = ""\n[[cc]]\ncontrol = 1\nparameter = "y"\n'), ["live", "--midi-map", "{tmp}/m.toml"],
     "m.toml: port = (empty) should be a port name"),
])
def test_an_empty_text_value_is_said_in_words(setup, args, expected, track, tmp_path, capsys):
    """Before: '--fps : not a frame rate', "port = '' should be …" — a blank or Python's quotes."""
    if setup is not None:
        (tmp_path / setup[0]).write_text(setup[1])
    assert main([a.format(track=track, tmp=tmp_path) for a in args]) == 1
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and expected in err, err
    in_words(err)


@pytest.mark.parametrize("config, key", [({"upsampling_ratios": None}, "upsampling_ratios"),
                                         ({"sampling_rate": None}, "sampling_rate"),
                                         ({"norm_type": None}, "norm_type")])
def test_an_encodec_config_with_a_null_names_the_key(config, key, tmp_path):
    from lavlive.audio.encodec_models import resolve_seanet
    from lavlive.errors import LavliveError

    folder = tmp_path / "encodec"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(LavliveError) as e:
        resolve_seanet("24khz", folder)
    message = str(e.value)
    assert message == (f"EnCodec config {folder / 'config.json'}: not a valid EncodecConfig "
                       f"({key} is null; give a value or leave the key out)"), message
    in_words(message)
