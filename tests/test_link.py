"""Ableton Link (stage/ableton.py): lavlive as a peer of a real Link session, with a second peer in this
process standing in for the DJ's software (Link finds peers over loopback, as on a stage network)."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
from link_peer import Peer, follows

from lavlive.audio.demo import demo_track, write_wav
from lavlive.control import ControlPath
from lavlive.presets import load_preset
from lavlive.stage.link import StageLink

SR = 24000


@pytest.fixture
def peer():
    pytest.importorskip("link")
    other = Peer()
    yield other
    other.close()


def test_lines_fall_on_the_peers_beats_and_bars(peer):
    from lavlive.stage.ableton import AbletonLink

    lavlive = AbletonLink(quantum=4)
    try:
        assert follows(lavlive, peer, 123.0) is not None
        assert lavlive.now().peers == 1 and lavlive.now().tempo == pytest.approx(123.0, abs=0.01)
        for unit, length in (("beat", 1), ("bar", 4)):
            for _ in range(5):
                after = time.monotonic() + np.random.default_rng().uniform(0, 2)
                instant, beat = lavlive.next_line(after, unit)
                theirs = peer.beat_at(instant)
                assert abs(theirs - beat) * 60 / 123 < 1e-4  # the same line on the peer's timeline
                assert min(theirs % length, length - theirs % length) < 1e-3, theirs  # on a beat / a bar line
                assert 0 <= instant - after < length * 60 / 123  # the first one at or after `after`
    finally:
        lavlive.close()


def test_a_switch_on_the_next_link_beat_ramps_from_that_beat(tiny_generator, peer):
    """The analysis side: a seed switch asked for between beats starts at the show time of the next beat
    the control path has not passed yet (the show clock here: seconds since the path's audio began)."""
    stage = StageLink(load_preset(None), crossfade=0.3, switch_on="link-beat", link=True)
    try:
        assert follows(stage.link, peer, 150.0) is not None
        path = ControlPath.for_generator(tiny_generator, load_preset(None))[0]
        audio = demo_track(3.0, SR, bpm=128)[:1]
        began = time.monotonic() + 0.25  # the path's audio is 0.25 s ahead of what is seen, as in play
        stage.clock = lambda: time.monotonic() - began
        cues = []
        for i in range(0, audio.shape[1], SR // 10):
            if i == SR:
                stage.controls.set("seed", 7)
            stage.apply_to([(path, 0.0)])
            path.push(audio[:, i:i + SR // 10])
            cues.append(path.cues)
        weights = np.concatenate(cues)[:, 2]
    finally:
        stage.close()
    asked = int(np.flatnonzero(weights < 1)[0])  # the first frame after the request: the old look, waiting
    ramp = np.flatnonzero((weights > 0.02) & (weights < 0.98))
    x = 0.5 - np.sin(np.arcsin(1 - 2 * weights[ramp]) / 3)  # smoothstep⁻¹
    start = float(np.median(ramp - x * round(0.3 * path.frame_rate))) / path.frame_rate
    beat = peer.beat_at(began + start)
    assert asked / path.frame_rate < start < asked / path.frame_rate + 60 / 150 + 0.01  # the next beat
    assert abs(beat - round(beat)) * 60 / 150 < 0.002, beat  # on it, within 2 ms


@pytest.fixture
def track(tmp_path):
    path = tmp_path / "t.wav"
    write_wav(path, demo_track(1.0, SR), SR)
    return path


def run_cli(*args: str, prelude: str = "") -> subprocess.CompletedProcess:
    code = f"{prelude}import sys; from lavlive.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("args, expected", [
    (["--switch-on", "link-bar"], "--switch-on link-bar: needs --link"),
    (["--link", "--link-quantum", "0"], "--link-quantum 0: use 1 to 16"),
])
def test_link_options_that_cannot_work_are_one_line_errors(track, args, expected):
    proc = run_cli("play", str(track), *args)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and expected in lines[-1], proc.stderr


def test_link_without_its_binding_names_the_extra(track):
    proc = run_cli("play", str(track), "--link", prelude="import sys; sys.modules['link'] = None; ")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "pip install 'lavlive[link]'" in proc.stderr.strip().splitlines()[-1], proc.stderr
