"""An installation left running: the state a kiosk keeps and resumes from, its health line and systemd's
watchdog, a playlist edited while it plays, and logs on a full disk."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from lavlive.files import FileKeeper
from lavlive.modulation.sources import SourceTracker
from lavlive.playback.health import Health, Systemd
from lavlive.playback.logs import LogFile
from lavlive.playback.order import PlayOrder
from lavlive.playback.playlist import load_playlist
from lavlive.playback.resume import ShowState, inputs_key, read_state, resume_place

sys.path.insert(0, str(Path(__file__).parent))
from test_play import LAVLIVE, media, wait_for_log  # noqa: E402,F401  (media: the fixture, shared)


def _state(tmp_path: Path, **changes) -> ShowState:
    fields = dict(inputs=inputs_key([str(tmp_path / "set.m3u")]), pass_index=2, index=1,
                  path=str(tmp_path / "b.wav"), seconds=10.3, bar=(4.0, 2.0), shuffle_seed=7,
                  values={"seed": 5, "truncation": 0.4})
    return ShowState(**{**fields, **changes})


def _tracks(folder: Path, names: str) -> list[Path]:
    paths = [folder / f"{n}.wav" for n in names]
    for p in paths:
        p.write_bytes(b"")  # the playlist only checks that they exist
    return paths


def test_a_state_file_comes_back_as_it_was_saved_and_resumes_on_the_next_bar_line(tmp_path):
    state = _state(tmp_path)
    again = ShowState.from_json(state.to_json())
    assert again == state
    assert again.resume_seconds == pytest.approx(12.0)  # bar lines at 4, 6, 8, 10, 12: the first at or after 10.3
    assert _state(tmp_path, seconds=10.0).resume_seconds == pytest.approx(10.0)  # on a bar line: there
    assert _state(tmp_path, bar=None).resume_seconds == pytest.approx(10.3)  # no beat found: the very second


def test_a_damaged_missing_or_foreign_state_file_starts_the_show_from_the_top(tmp_path, caplog):
    inputs = [str(tmp_path / "set.m3u")]
    path = tmp_path / "show.json"
    with caplog.at_level(logging.INFO, logger="lavlive"):
        assert read_state(path, inputs) is None
        path.write_text(_state(tmp_path).to_json()[:40])  # cut short
        assert read_state(path, inputs) is None
        path.write_text(_state(tmp_path, seconds=-3.0).to_json())
        assert read_state(path, inputs) is None
        for damage in ('"pass_index": 1e999', '"inputs": null', '"bar": [0, "x"]', '"preset": 3'):
            key = damage.split(":")[0]
            text = "\n".join(damage + "," if line.startswith(f" {key}") else line
                             for line in _state(tmp_path).to_json().splitlines())
            path.write_text(text.replace(",,", ","))
            assert read_state(path, inputs) is None, damage
        path.write_text("[" * 100000 + "]" * 100000)  # deeper than the parser goes
        assert read_state(path, inputs) is None
        good = _state(tmp_path)
        path.write_text(good.to_json())
        assert read_state(path, [str(tmp_path / "other.m3u")]) is None
        assert read_state(path, inputs) == good
    assert sum("starting from the top" in r.getMessage() for r in caplog.records) == 9, caplog.text


def test_a_resumed_show_finds_its_track_in_an_edited_playlist(tmp_path):
    a, b, c, d = _tracks(tmp_path, "abcd")
    m3u = tmp_path / "set.m3u"
    m3u.write_text("a.wav\nb.wav\nc.wav\n")
    order = PlayOrder(load_playlist([m3u], loop=True), first_pass=2)
    assert resume_place(_state(tmp_path), order) == (1, pytest.approx(12.0))
    m3u.write_text("d.wav\na.wav\nc.wav\nb.wav\n")  # b moved to the end, d added before it
    order = PlayOrder(load_playlist([m3u], loop=True), first_pass=2)
    assert resume_place(_state(tmp_path), order) == (3, pytest.approx(12.0))
    m3u.write_text("a.wav\nc.wav\n")  # b gone: its pass from the top
    order = PlayOrder(load_playlist([m3u], loop=True), first_pass=2)
    assert resume_place(_state(tmp_path), order) == (0, 0.0)


def test_an_edited_playlist_joins_at_the_next_loop_and_a_broken_edit_keeps_the_last_good_one(tmp_path, caplog):
    _tracks(tmp_path, "abc")
    m3u = tmp_path / "set.m3u"
    m3u.write_text("a.wav\nb.wav\n")
    order = PlayOrder(load_playlist([m3u], loop=True), reload=lambda: load_playlist([m3u], loop=True))
    assert [order.at(k).entry.name for k in range(2)] == ["a.wav", "b.wav"]
    m3u.write_text("a.wav\nb.wav\nc.wav\n")  # while the first pass plays
    assert order.at(1).entry.name == "b.wav"  # the pass playing is left as it was
    assert [order.at(k).entry.name for k in range(2, 5)] == ["a.wav", "b.wav", "c.wav"]  # the next one has c
    m3u.write_text("missing.wav\n")  # a broken edit: refused when read again, so the last good list goes on
    with caplog.at_level(logging.WARNING, logger="lavlive"):
        assert [order.at(k).entry.name for k in range(5, 8)] == ["a.wav", "b.wav", "c.wav"]
    assert "last good one" in caplog.text
    assert order.at(100).entry.name == ["a.wav", "b.wav", "c.wav"][(100 - 2) % 3]
    assert order.at(0) is None and order.at(order.oldest) is not None  # passes long gone are forgotten


def test_the_beat_clock_gives_a_bar_grid_on_its_bar_lines():
    rate = 75.0
    tracker = SourceTracker(rate)
    t = np.arange(int(10 * rate)) / rate
    beats = np.zeros(len(t), bool)
    beats[np.round(np.arange(1.0, 10.0, 0.5) * rate).astype(int)] = True  # 120 bpm from 1 s on
    n = len(t)
    frames = tracker.push(t, np.zeros(n), np.zeros(n), np.zeros((n, 12)), np.full(n, -20.0), np.full((n, 3), -20.0),
                          beats)
    at, bar = tracker.bar_grid()
    assert bar == pytest.approx(2.0)
    lines = t[frames.bar_line]
    assert len(lines) >= 3
    assert np.max(np.abs((lines - at) / bar - np.round((lines - at) / bar))) * bar < 1.5 / rate


def test_a_shows_slots_keep_their_numbers_while_old_ones_are_forgotten():
    from lavlive.pipeline.setlist import Slot, Slots

    slots = Slots()
    for k in range(20):
        slots.append(Slot(track=None, start=100 * k))
    slots.forget_before(15)
    assert len(slots) == 20 and slots.first == 15 and slots[15].start == 1500 and slots[-1].start == 1900
    assert [k for k, _ in slots.newest_first()] == [19, 18, 17, 16, 15]
    with pytest.raises(IndexError):
        slots[14]
    slots.forget_before(100)
    assert len(slots) == 20 and slots[-1].start == 1900  # the newest is always kept


def test_the_file_keeper_writes_the_newest_text_and_says_once_when_it_cannot(tmp_path):
    said: list[str] = []
    keeper = FileKeeper(said.append)
    target = tmp_path / "sub" / "state.json"
    keeper.put(target, "1")  # its folder is missing: cannot write
    keeper.put(target, "2")
    time.sleep(0.3)
    keeper.put(target, "3")
    time.sleep(0.3)
    target.parent.mkdir()
    keeper.put(target, "4")
    keeper.put(target, "5")
    keeper.close()
    assert target.read_text() == "5"
    assert sum("cannot write" in s for s in said) == 1 and sum("written again" in s for s in said) == 1, said
    assert [p.name for p in target.parent.iterdir()] == ["state.json"]  # no temporary files left


def test_a_log_on_a_full_disk_loses_lines_not_the_show(tmp_path, capfd):
    path = tmp_path / "kiosk.log"
    path.symlink_to("/dev/full")  # every write: ENOSPC
    handler = LogFile(path)
    logger = logging.getLogger("lavlive.test-full")
    logger.addHandler(handler)
    try:
        for k in range(3):
            logger.warning("line %d", k)  # must not raise
        logger.warning("a file named %s", "caf\udce9.wav")  # not UTF-8 (a surrogate escape): must not raise
        path.unlink()
        logger.warning("line after")
    finally:
        logger.removeHandler(handler)
    err = capfd.readouterr().err
    assert err.count("cannot write the log (No space left on device)") == 1, err
    assert err.count("the log is written again") == 1, err
    assert path.read_text().strip() == "line after"
    handler = LogFile(path)
    logger.addHandler(handler)
    try:
        logger.warning("a file named %s", "caf\udce9.wav")
    finally:
        logger.removeHandler(handler)
    assert path.read_text().splitlines()[-1] == "a file named caf\\udce9.wav"


def _health(**changes) -> Health:
    now = time.time()
    fields = dict(time=now, state="playing", last_frame=now - 0.1, fps=30.0, frames_shown=10, frames_skipped=0,
                  frames_dropped=0, av_offset_ms_mean=3.0, av_offset_ms_p95=9.0, track="a.wav", track_seconds=1.0,
                  tracks_played=1, tracks_skipped=0, warnings=0, errors=0, last_problem="", rss_mib=100.0, threads=9,
                  fds=12, gpu_mib=None, pid=os.getpid())
    return Health(**{**fields, **changes})


def _notify_socket(tmp_path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(30)
    return sock


def test_systemd_hears_ready_then_watchdog_while_frames_come_and_nothing_when_they_stall(tmp_path, monkeypatch):
    sock = _notify_socket(tmp_path)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    systemd = Systemd()
    try:
        systemd.notify(_health(state="starting", last_frame=None))
        assert sock.recv(1024).decode().splitlines()[0].startswith("STATUS=starting")
        systemd.notify(_health())
        assert sock.recv(1024).decode().splitlines()[:2] == ["READY=1", "WATCHDOG=1"]
        systemd.notify(_health(last_frame=time.time() - 30))  # frames stopped coming: no WATCHDOG=1
        assert "WATCHDOG=1" not in sock.recv(1024).decode()
        systemd.notify(_health(state="paused", last_frame=time.time() - 30))  # paused on purpose: fine
        assert sock.recv(1024).decode().splitlines()[0] == "WATCHDOG=1"
        now = time.time()
        systemd.notify(_health(time=now, state="starting", track="a\nb\udce9.wav"))  # the next show's pre-roll
        message = sock.recv(1024).decode()
        assert message.splitlines()[0] == "WATCHDOG=1" and len(message.splitlines()) == 2, message
        systemd.notify(_health(time=now + 200, state="starting"))  # a pre-roll that never ends is a stall
        assert "WATCHDOG=1" not in sock.recv(1024).decode()
    finally:
        systemd.close()
        sock.close()


# -- a real kiosk on Xvfb and PulseAudio ----------------------------------------------------------------------


def _kiosk(args: list[str], out: Path, env: dict | None = None) -> subprocess.Popen:
    """`lavlive play ARGS`, what it says going to the file `out` (read while it runs)."""
    with open(out, "w") as said:
        return subprocess.Popen([*LAVLIVE, "play", *args], cwd=out.parent, stdout=said, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    proc.send_signal(sig)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def _wait(predicate, what: str, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"never: {what}")


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


@pytest.fixture(scope="module")
def resume_media(media) -> Path:
    from lavlive.audio.demo import demo_track, write_wav

    for k, bpm in enumerate((100, 120, 140)):
        write_wav(media / f"song{k}.wav", demo_track(14.0, 44100, bpm=bpm, seed=k), 44100)
    return media


def test_a_killed_kiosk_resumes_at_its_track_and_place_on_the_next_bar_with_the_same_look(xvfb, pulse, resume_media,
                                                                                        tmp_path):
    """A kiosk steered over OSC (a new seed, truncation) is killed (SIGKILL: no chance to save) in its second
    track; started again with --resume it goes on in that track within a bar of where it was, with the seed and
    truncation it had, tells systemd it is up and keeps its watchdog fed."""
    from pythonosc.udp_client import SimpleUDPClient

    media = resume_media
    tracks = [str(media / f"song{k}.wav") for k in range(3)]
    state, health = tmp_path / "show.json", tmp_path / "health.json"
    common = [*tracks, "--kiosk", "--model", str(media / "tiny64.pt"), "--log", str(tmp_path / "kiosk.log"),
              "--state-file", str(state), "--health-file", str(health)]
    said = tmp_path / "first.txt"
    first = _kiosk([*common, "--osc", "127.0.0.1:0"], said)
    try:
        port = int(_wait(lambda: [x for x in said.read_text().splitlines() if "OSC: listening on" in x],
                         "OSC listening")[0].split(":")[-1].split()[0])
        _wait(lambda: (_read_json(health) or {}).get("state") == "playing", "the first kiosk plays")
        client = SimpleUDPClient("127.0.0.1", port)
        client.send_message("/lavlive/seed", 77)
        client.send_message("/lavlive/truncation", 0.45)
        _wait(lambda: (s := _read_json(state)) and s["index"] == 1 and s["seconds"] > 3.0
              and s["values"].get("seed") == 77 and s["bar"] is not None, "a state in the second track")
    finally:
        first.kill()
        first.wait(timeout=30)
    saved = _read_json(state)  # the last whole one (written atomically: never half a file)
    assert saved["index"] == 1 and saved["path"] == str(Path(tracks[1]).resolve()), saved

    notify = _notify_socket(tmp_path)
    frames, said = tmp_path / "frames.csv", tmp_path / "second.txt"
    second = _kiosk([*common, "--resume", "--frame-log", str(frames)], said,
                    env={"NOTIFY_SOCKET": str(tmp_path / "notify")})
    messages: list[str] = []
    try:
        log = wait_for_log(frames, lambda log: len(log["index"]) > 60)
        while not (any("READY=1" in m for m in messages) and sum("WATCHDOG=1" in m for m in messages) >= 2):
            messages.append(notify.recv(1024).decode())  # times out (an error) after 30 s
        resumed = _wait(lambda: (s := _read_json(state)) and s["saved"] > saved["saved"] + 1 and s, "a new state")
        seen = _read_json(health)
    finally:
        _stop(second)
        notify.close()
    out = said.read_text()
    line = next((x for x in out.splitlines() if "resuming at track 2/3" in x), None)
    assert line is not None, out
    start = float(line.split(", at 0:")[1].split()[0])
    at, bar = saved["bar"]
    assert saved["seconds"] - 0.05 <= start <= saved["seconds"] + bar + 0.05, (saved, line)  # within a bar
    assert abs((start - at) / bar - round((start - at) / bar)) * bar < 0.05  # on a bar line (printed to 0.1 s)
    assert bar == pytest.approx(4 * 60 / 120, rel=0.1), saved  # the second song is at 120 bpm
    assert set(log["track"].astype(int)) == {1}, out  # the second song, and only it
    assert resumed["index"] == 1 and resumed["path"] == saved["path"] and resumed["seconds"] > start
    assert resumed["values"]["seed"] == 77 and resumed["values"]["truncation"] == pytest.approx(0.45)
    assert seen["errors"] == 0 and time.time() - seen["last_frame"] < 5, seen


def test_a_kiosk_plays_tracks_added_to_its_playlist_at_the_next_loop_and_lives_with_a_full_disk(xvfb, pulse, media,
                                                                                                 tmp_path):
    """The log on a full disk (/dev/full) costs its lines, said once; a track added to the playlist file while
    the first pass plays joins a later pass, never the one playing."""
    m3u = tmp_path / "set.m3u"
    m3u.write_text(f"{media / 'beat0.wav'}\n{media / 'beat1.wav'}\n")
    full = tmp_path / "full.log"
    full.symlink_to("/dev/full")
    frames, said = tmp_path / "frames.csv", tmp_path / "said.txt"
    kiosk = _kiosk([str(m3u), "--kiosk", "--model", str(media / "tiny64.pt"), "--log", str(full),
                    "--frame-log", str(frames), "--state-file", str(tmp_path / "show.json")], said)
    try:
        wait_for_log(frames, lambda log: log["time"].max() > 0.5)
        with open(m3u, "a") as f:
            f.write(f"{media / 'low.wav'}\n")
        _wait(lambda: said.read_text().count("low.wav (") >= 2, "the new track played twice")
    finally:
        _stop(kiosk)
    out = said.read_text()
    announced = [x.split(": ", 2)[2].split(" (")[0] for x in out.splitlines() if x.startswith("lavlive: track ")]
    assert announced[:2] == ["beat0.wav", "beat1.wav"], out
    first = announced.index("low.wav")
    assert first >= 4 and announced[first - 2:first + 4] == ["beat0.wav", "beat1.wav", "low.wav"] * 2, out
    assert "playlist changed: 3 tracks" in out
    assert out.count("cannot write the log (No space left on device)") == 1, out
    assert kiosk.returncode == 128 + signal.SIGTERM, out
