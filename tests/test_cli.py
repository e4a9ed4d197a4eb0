"""The `lavlive` command as a user runs it: real processes, exit codes, files on disk."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def lavlive(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "lavlive", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=ENV, timeout=300)


def assert_clean_error(proc, *fragments):
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for f in fragments:
        assert f in lines[0]


@pytest.mark.parametrize("command", [[], ["synth"], ["models"], ["models", "info"], ["models", "convert"], ["presets"],
                                     ["render"], ["analyze"], ["play"], ["live"], ["demo-track"], ["devices"],
                                     ["midi-learn"]])
def test_every_command_has_help(command):
    proc = lavlive(*command, "--help")
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: lavlive")


def test_top_level_help_lists_the_commands():
    out = lavlive("--help").stdout
    assert "synth" in out and "models" in out


def test_synth_writes_a_contact_sheet_of_the_embedded_default(tmp_path):
    proc = lavlive("synth", "-o", tmp_path / "sheet.png", "--seeds", "0-3", "--columns", "2")
    assert proc.returncode == 0, proc.stderr
    assert "embedded random StyleGAN2" in proc.stdout and "--model" in proc.stdout
    sheet = Image.open(tmp_path / "sheet.png")
    assert sheet.size == (2 * 256 + 3 * 4, 2 * 256 + 3 * 4)
    pixels = np.asarray(sheet.convert("RGB")).reshape(-1, 3)
    assert len(np.unique(pixels, axis=0)) > 1000  # a picture, not a flat fill


def test_synth_is_deterministic_and_seeds_differ(tmp_path):
    for name, seeds in (("a", "5"), ("b", "5"), ("c", "6")):
        assert lavlive("synth", "-o", tmp_path / f"{name}.png", "--seeds", seeds).returncode == 0
    read = lambda n: (tmp_path / f"{n}.png").read_bytes()  # noqa: E731
    assert read("a") == read("b")
    assert read("a") != read("c")


def test_synth_with_a_real_checkpoint(sg2_fixture, tmp_path):
    proc = lavlive("synth", "--model", sg2_fixture, "-o", tmp_path / "s.png", "--seeds", "0-1", "--columns", "2")
    assert proc.returncode == 0, proc.stderr
    assert Image.open(tmp_path / "s.png").size == (2 * 64 + 3 * 4, 64 + 2 * 4)


def test_existing_output_is_not_overwritten_without_force(tmp_path):
    out = tmp_path / "mine.png"
    out.write_bytes(b"my own picture")
    assert_clean_error(lavlive("synth", "-o", out, "--seeds", "1"), str(out), "--force")
    assert out.read_bytes() == b"my own picture"
    assert lavlive("synth", "-o", out, "--seeds", "1", "--force").returncode == 0
    assert out.read_bytes().startswith(b"\x89PNG")


BAD_FILES = {
    "empty.pkl": b"",
    "random.pkl": bytes(range(256)) * 64,
    "text.pt": b"this is not a checkpoint\n",
    "noise.safetensors": os.urandom(4096),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_give_one_clear_line(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(BAD_FILES[name])
    assert_clean_error(lavlive("models", "info", path), str(path))
    assert_clean_error(lavlive("synth", "--model", path, "-o", tmp_path / "x.png"), str(path))
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("fraction", [0.01, 0.5, 0.999])
def test_truncated_checkpoints_give_one_clear_line(sg2_fixture, tmp_path, fraction):
    data = sg2_fixture.read_bytes()
    path = tmp_path / "truncated.pkl"
    path.write_bytes(data[: int(len(data) * fraction)])
    proc = lavlive("models", "info", path)
    assert_clean_error(proc, str(path), "truncated or corrupt")


def test_missing_file_and_folder(tmp_path):
    assert_clean_error(lavlive("models", "info", tmp_path / "nope.pkl"), "not found")
    assert_clean_error(lavlive("models", "info", tmp_path), "folder")


def test_convert_refuses_wrong_suffix_and_existing_output(sg2_fixture, tmp_path):
    assert_clean_error(lavlive("models", "convert", sg2_fixture, tmp_path / "out.pkl"), ".safetensors")
    out = tmp_path / "out.safetensors"
    out.write_bytes(b"keep me")
    assert_clean_error(lavlive("models", "convert", sg2_fixture, out), "--force")
    assert out.read_bytes() == b"keep me"
    assert not list(tmp_path.glob(".*partial*"))


def test_bad_arguments_exit_nonzero_without_traceback(tmp_path):
    proc = lavlive("synth", "--seeds", "a-b")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "seeds" in proc.stderr
    assert_clean_error(lavlive("synth", "--truncation", "9", "-o", tmp_path / "x.png"), "--truncation")


def lavlive_with_a_bug(bug: str, *args, env=None):
    """Run the real CLI in a process where `lavlive presets` meets an unexpected exception (`bug` is Python
    run inside the command): how a user meets one of our bugs."""
    program = ("import sys, threading\nimport lavlive.commands.presets as command\n"
               f"def broken(args):\n    {bug}\n    return 0\n"
               "command.run = broken\nfrom lavlive.cli import main\nsys.exit(main())\n")
    return subprocess.run([sys.executable, "-c", program, *map(str, args)], capture_output=True, text=True,
                          env={**ENV, **(env or {})}, timeout=300)


def test_an_internal_error_is_one_line_and_exit_code_70():
    proc = lavlive_with_a_bug("{}['missing']", "presets")
    assert proc.returncode == 70 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip() == ("lavlive: internal error in presets: KeyError: 'missing'; "
                                   "run with --debug for the traceback")


@pytest.mark.parametrize("how", [["--debug", "presets"], ["presets", "--debug"], "env"])
def test_debug_shows_the_traceback(how):
    args, env = (["presets"], {"LAVLIVE_DEBUG": "1"}) if how == "env" else (how, None)
    proc = lavlive_with_a_bug("raise RuntimeError('no luck')", *args, env=env)
    assert proc.returncode == 70
    assert "Traceback (most recent call last)" in proc.stderr and "in broken" in proc.stderr, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "lavlive: internal error in presets: RuntimeError: no luck"


def test_an_exception_in_a_worker_thread_is_one_line_too():
    bug = "t = threading.Thread(target=lambda: 1 / 0, name='worker'); t.start(); t.join()"
    proc = lavlive_with_a_bug(bug, "presets")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip() == ("lavlive: internal error in presets (worker): ZeroDivisionError: division by "
                                   "zero; run with --debug for the traceback")


def test_presets_lists_every_builtin_with_its_description():
    proc = lavlive("presets")
    assert proc.returncode == 0, proc.stderr
    listing = proc.stdout.split("\n\n")[0].splitlines()
    lines = dict(line.split(None, 1) for line in listing if not line.startswith(" "))  # indented: routes, sections
    assert set(lines) == {"default", "drift", "paper", "pulse", "bend", "lfo-drift", "chroma-colour", "trails", "set"}
    assert "LAV paper" in lines["paper"] and all(len(d) > 10 for d in lines.values())
    assert any(line.split() == ["route", "kick-zoom:", "onset", "→", "bend/zoom", "×", "0.6", "(curve", "1.5,",
                                "release", "0.25", "s)"] for line in listing)
    assert any("at each section: next seed (11, 23, 5, 42, 17, 8), on the bar line" in line for line in listing)
    assert "MIDI map example:" in proc.stdout and os.path.isfile(proc.stdout.split("MIDI map example: ")[1].strip())


def test_an_unknown_preset_names_what_was_asked_never_none(tmp_path):
    assert_clean_error(lavlive("analyze", "x.wav", "--preset", "nope", "-o", tmp_path / "a.png"), "'nope'", "pulse")


def test_an_internal_error_ends_the_process_even_with_a_worker_left_running():
    bug = "threading.Thread(target=__import__('time').sleep, args=(3600,)).start(); raise RuntimeError('stuck')"
    start = time.monotonic()
    proc = lavlive_with_a_bug(bug, "presets")  # without the exit, it would wait for the worker (an hour)
    assert proc.returncode == 70 and time.monotonic() - start < 60, proc.stderr
    assert proc.stderr.strip().startswith("lavlive: internal error in presets: RuntimeError: stuck")
