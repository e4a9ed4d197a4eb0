"""--record: a real show recorded as it was seen and heard, decoded back; its sidecar replayed offline to the same
ws; an interrupted show's partial file; an encoder that falls behind; files never overwritten."""

from __future__ import annotations

import json
import signal
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from lavlive.pipeline.model import ModelSettings
from lavlive.pipeline.synthesizer import SynthesisOptions
from lavlive.playback.presenter import ws_fingerprint
from lavlive.playback.recorder import MAX_WAITING, Recorder
from lavlive.render.replay import ReplayPlan, read_show

sys.path.insert(0, str(Path(__file__).parent))
from test_cli import assert_clean_error, lavlive  # noqa: E402
from test_kiosk import _kiosk, _wait  # noqa: E402
from test_play import media, read_log, wait_for_log  # noqa: E402,F401  (media: the fixture, shared)


def _decoded(path: Path) -> tuple[list[np.ndarray], np.ndarray, int]:
    """The video's frames (RGB), its audio [channels, n] and the audio's rate."""
    with av.open(str(path)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        audio = np.concatenate([f.to_ndarray() for f in c.decode(stream)], axis=1)
        return frames, audio, stream.rate


def _last_time(path: Path) -> float:
    """The presentation time of a video's last frame (frames the show skipped leave gaps: this is not count / fps)."""
    with av.open(str(path)) as c:
        return max(f.time for f in c.decode(video=0))


def _envelope(samples: np.ndarray, rate: int, hop: float = 0.05) -> np.ndarray:
    mono = samples.mean(axis=0) if samples.ndim == 2 else samples
    n = int(rate * hop)
    return np.sqrt((mono[: len(mono) // n * n].reshape(-1, n) ** 2).mean(axis=1))


def test_a_recorded_show_decodes_with_what_was_seen_and_heard_and_replays_to_the_same_ws(xvfb, pulse, media,
                                                                                         tmp_path):
    """A show steered over OSC (truncation, a new seed that fades, another preset) is recorded: the file holds every
    frame shown (none dropped at 64×64) and the track's sound, in step; its sidecar lists the changes; replayed
    offline, every frame's ws equal the show's (to float noise), and `render --replay` draws the same pictures."""
    from pythonosc.udp_client import SimpleUDPClient

    video, frames_csv, said = tmp_path / "show.mp4", tmp_path / "frames.csv", tmp_path / "said.txt"
    show = _kiosk([str(media / "music12.wav"), "--model", str(media / "tiny64.pt"), "--record", str(video),
                   "--frame-log", str(frames_csv), "--osc", "127.0.0.1:0", "--switch-fade", "1"], said)
    try:
        osc = int(_wait(lambda: [x for x in said.read_text().splitlines() if "OSC: listening on" in x],
                        "OSC")[0].split(":")[-1].split()[0])
        wait_for_log(frames_csv, lambda log: len(log["index"]) > 30)
        client = SimpleUDPClient("127.0.0.1", osc)
        for address, value in (("/lavlive/truncation", 0.4), ("/lavlive/seed", 1234), ("/lavlive/preset", "pulse"),
                               ("/lavlive/y", 3.0)):
            client.send_message(address, value)
            time.sleep(1.0)
        assert show.wait(timeout=90) == 0, said.read_text()
    finally:
        if show.poll() is None:
            show.kill()
    out = said.read_text()
    log = read_log(frames_csv)
    sidecar = json.loads((tmp_path / "show.mp4.json").read_text())
    assert sidecar["recorded"]["complete"] and sidecar["recorded"]["not_kept"] == 0, sidecar["recorded"]
    frames, audio, rate = _decoded(video)
    assert len(frames) == sidecar["recorded"]["frames"] == len(log["index"]), (len(frames), len(log["index"]), out)
    assert audio.shape[1] / rate == pytest.approx(12.0, abs=0.1)  # the whole track, as heard
    from lavlive.audio.sources import FileSource

    track = np.concatenate(list(FileSource(media / "music12.wav", rate, 1, block_size=rate)), axis=1)
    a, b = _envelope(audio, rate), _envelope(track, rate)
    n = min(len(a), len(b))
    lag = int(np.argmax([np.corrcoef(a[k:n], b[: n - k])[0, 1] for k in range(0, 6)]))
    assert lag <= 1 and np.corrcoef(a[:n], b[:n])[0, 1] > 0.9  # the sound, in step with the picture (≤ 50 ms)

    changes = sidecar["tracks"][0]["changes"]
    changed = [name for change in changes for name in change["values"]]
    assert {"truncation", "seed", "routes", "y"} <= set(changed), changes
    seed = next(c for c in changes if "seed" in c["values"] and c["values"]["seed"] == 1234)
    assert seed["crossfade"] == 1.0

    plan = ReplayPlan(read_show(tmp_path / "show.mp4.json"), ModelSettings(), SynthesisOptions())
    replayed = {frame.index: float(ws_fingerprint(frame.ws)) for frame in plan}
    shown = dict(zip(log["index"].astype(int), log["ws"]))
    worst = max(abs(replayed[i] - value) for i, value in shown.items())
    assert worst < 1e-4, worst  # float noise at most; a change a block off moves a fingerprint by > 1e-2
    still = {i: v for i, v in shown.items() if i < log["index"][0] + 20}
    assert len(set(np.round(list(still.values()), 3))) > 5  # the fingerprints do tell frames apart

    replay = tmp_path / "replay.mp4"
    done = lavlive("render", "--replay", tmp_path / "show.mp4.json", "-o", replay, "--crf", "10")
    assert done.returncode == 0, done.stderr
    again, sound, _ = _decoded(replay)
    assert len(again) == plan.total
    index = {int(i): k for k, i in enumerate(log["index"])}

    def psnr(offset: int) -> float:
        return float(np.median([10 * np.log10(255**2 / max(1e-9, float(((frames[k] - again[i + offset].astype(float))
                                                                          ** 2).mean())))
                                for i, k in index.items() if 0 <= i + offset < len(again)]))

    # The same pictures, each file lossy on its own (the recording at the show's CRF 20 on noisy 64×64 pictures):
    # about 27 dB, where the frame before or after gives about 14.
    assert psnr(0) > 22 and psnr(0) > max(psnr(-1), psnr(1)) + 6, (psnr(-1), psnr(0), psnr(1))
    assert sound.shape[1] == audio.shape[1]  # the recording's sound, copied


def test_an_interrupted_show_leaves_a_playable_partial_recording(xvfb, pulse, media, tmp_path):
    """Ctrl-C during the show: VIDEO itself is never made; VIDEO.partial.mp4 plays up to the last frame, with its
    sidecar saying it is not complete."""
    video, frames_csv, said = tmp_path / "set.mp4", tmp_path / "frames.csv", tmp_path / "said.txt"
    show = _kiosk([str(media / "music12.wav"), "--model", str(media / "tiny64.pt"), "--record", str(video),
                   "--frame-log", str(frames_csv)], said)
    try:
        wait_for_log(frames_csv, lambda log: len(log["index"]) > 60)
        show.send_signal(signal.SIGINT)
        show.wait(timeout=30)
    finally:
        if show.poll() is None:
            show.kill()
    assert not video.exists()
    partial = tmp_path / "set.partial.mp4"
    frames, audio, rate = _decoded(partial)
    sidecar = json.loads((tmp_path / "set.partial.mp4.json").read_text())
    assert not sidecar["recorded"]["complete"] and len(frames) == sidecar["recorded"]["frames"] >= 60
    assert abs(audio.shape[1] / rate - _last_time(partial)) < 0.1  # the sound ends with the pictures
    assert not list(tmp_path.glob(".set*"))  # no temporary file left


def test_frames_the_encoder_cannot_keep_up_with_are_counted_not_waited_for(tmp_path):
    """1024² frames offered far faster than x264 encodes them: the caller never waits, at most MAX_WAITING are
    queued, the rest are counted as not kept, and every frame kept is in the file."""
    recorder = Recorder(tmp_path / "fast.mkv", Fraction(30), 48000, 2)
    picture = np.random.default_rng(0).integers(0, 256, (1024, 1024, 3), dtype=np.uint8)
    started = time.perf_counter()
    for i in range(120):
        recorder.audio(i * 1600, np.zeros((2, 1600), np.float32))
        recorder.frame(i / 30, picture)
    offered = time.perf_counter() - started
    path = recorder.close()
    frames, _, _ = _decoded(path)
    assert recorder.dropped > 0 and recorder.recorded + recorder.dropped == 120
    assert len(frames) == recorder.recorded >= MAX_WAITING
    assert offered < 2.0  # offering never waits for the encoder (it takes ~20 ms a frame here)
    assert "not kept" in recorder.summary()


def test_a_recording_never_overwrites_and_a_bad_sidecar_is_one_line(media, tmp_path):
    (tmp_path / "show.mp4").write_bytes(b"last night's set")
    proc = lavlive("play", media / "music12.wav", "--record", tmp_path / "show.mp4")
    assert_clean_error(proc, "show.mp4", "already exists")
    assert (tmp_path / "show.mp4").read_bytes() == b"last night's set"
    assert_clean_error(lavlive("play", media / "music12.wav", "--record", tmp_path / "show.avi"), "show.avi")
    (tmp_path / "broken.json").write_text('{"show": 1, "kind": "play", "tracks": [{"from": "x"}]}')
    for sidecar, words in ((tmp_path / "broken.json", "damaged"), (tmp_path / "none.json", "no such file"),
                           (media / "music12.wav", "not a show")):
        assert_clean_error(lavlive("render", "--replay", sidecar, "-o", tmp_path / "r.mp4"), words)
    assert_clean_error(lavlive("render", media / "music12.wav", "--replay", tmp_path / "broken.json", "-o",
                               tmp_path / "r.mp4"), "not both")


def test_a_skip_cuts_the_unheard_audio_and_the_recording_stays_in_step(xvfb, pulse, media, tmp_path):
    """`next` during the first track: the audio queued for it but never heard leaves the recording, the second track
    follows at once, sound and pictures end together, and the sidecar names both tracks with where each begins."""
    from pythonosc.udp_client import SimpleUDPClient

    video, frames_csv, said = tmp_path / "skip.mp4", tmp_path / "frames.csv", tmp_path / "said.txt"
    show = _kiosk([str(media / "music12.wav"), str(media / "beat1.wav"), "--model", str(media / "tiny64.pt"),
                   "--record", str(video), "--frame-log", str(frames_csv), "--osc", "127.0.0.1:0"], said)
    try:
        osc = int(_wait(lambda: [x for x in said.read_text().splitlines() if "OSC: listening on" in x],
                        "OSC")[0].split(":")[-1].split()[0])
        wait_for_log(frames_csv, lambda log: log["time"][-1] > 2.0)
        SimpleUDPClient("127.0.0.1", osc).send_message("/lavlive/next", 1)
        assert show.wait(timeout=60) == 0, said.read_text()
    finally:
        if show.poll() is None:
            show.kill()
    sidecar = json.loads((tmp_path / "skip.mp4.json").read_text())
    first, second = sidecar["tracks"]
    assert first["entry"]["path"].endswith("music12.wav") and second["entry"]["path"].endswith("beat1.wav")
    assert 2.0 < second["from"] < 5.0, sidecar["tracks"]  # where the skip was heard
    frames, audio, rate = _decoded(video)
    seconds = audio.shape[1] / rate
    assert seconds == pytest.approx(second["from"] + 2.0, abs=0.15), (seconds, second["from"])  # no unheard audio
    log = read_log(frames_csv)  # both shows: the second one's times count from its start
    assert len(frames) == len(log["index"]) == sidecar["recorded"]["frames"]  # every frame shown, kept
    assert _last_time(video) == pytest.approx(second["from"] + log["time"][-1], abs=1 / 30)  # where it was heard
