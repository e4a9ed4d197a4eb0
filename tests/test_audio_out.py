"""AudioOutput against a real PulseAudio server (null sink): the clock, what is heard, pause/flush, underruns,
close, and device loss. The device-loss test restarts the shared server, so it stays last in this file."""

from __future__ import annotations

import subprocess
import threading
import time

import numpy as np
import pytest

from lavlive.audio.sources import AudioDeviceError
from lavlive.output.audio import AudioOutput

RATE = 48000


def tone(seconds: float, freq: float = 440.0, amp: float = 0.2, channels: int = 2) -> np.ndarray:
    x = (amp * np.sin(2 * np.pi * freq * np.arange(int(seconds * RATE)) / RATE)).astype(np.float32)
    return np.repeat(x[:, None], channels, axis=1)


def wait_for(cond, timeout: float, step: float = 0.005) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


def sample(out: AudioOutput, seconds: float, step: float = 0.005) -> np.ndarray:
    """Rows (monotonic time, clock, delivered seconds read just after the clock)."""
    rows = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.monotonic()
        c = out.clock()
        rows.append((t, c, out.stats.delivered / RATE))
        time.sleep(step)
    return np.array(rows)


def test_clock_advances_at_real_time(pulse):
    with AudioOutput() as out:
        out.write(tone(3.0))
        assert out.clock() == 0.0 and out.written == 3 * RATE
        out.start()
        assert not out.silent and out.latency > 0, (out.silent, out.latency)
        # A new stream on the null sink may stall for up to ~2 s before audio flows: start measuring once it moves.
        assert wait_for(lambda: out.clock() > 0.15, 5.0), out.clock()
        rows = sample(out, 2.0)
    t, c, delivered = rows.T
    slope = np.polyfit(t, c, 1)[0]
    assert abs(slope - 1) < 0.02, slope
    assert (np.diff(c) >= 0).all()
    assert (c <= delivered + 1e-9).all()
    assert c[-1] - c[0] > 1.9
    assert out.stats.underruns == 0 and out.stats.device_losses == 0


def test_audio_reaches_the_server(pulse):
    """A 1 kHz click at a known stream position shows up on the null sink's monitor."""
    rec = subprocess.Popen(["parec", "-d", "auto_null.monitor", "--raw", "--format=float32le", "--channels=1",
                            f"--rate={RATE}", "--latency-msec=20"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: rec.stdout.read(4096), b"")), daemon=True)
    reader.start()
    try:
        assert wait_for(lambda: len(chunks) > 0, 5.0), "the monitor source delivers nothing"
        audio = np.zeros((int(1.5 * RATE), 2), np.float32)
        at, n = RATE // 2, RATE // 100  # 10 ms of 1 kHz at 0.5, 0.5 s into the stream
        audio[at:at + n] = tone(n / RATE, freq=1000.0, amp=0.5)
        with AudioOutput() as out:
            out.write(audio)
            out.end_of_stream()
            out.start()
            assert wait_for(lambda: out.clock() > 0.8, 6.0), out.clock()
            time.sleep(0.2)
    finally:
        rec.terminate()
        rec.wait(5)
        reader.join(5)
    got = np.frombuffer(b"".join(chunks)[: len(b"".join(chunks)) // 4 * 4], np.float32)
    assert got.size > RATE // 2
    peak = int(np.argmax(np.abs(got)))
    assert abs(got[peak]) > 0.4, abs(got[peak])
    burst = got[max(0, peak - n): peak + n]
    loud = np.flatnonzero(np.abs(burst) > 0.1)
    assert 0.5 * n < loud[-1] - loud[0] < 1.5 * n, loud[-1] - loud[0]  # about 10 ms long
    spectrum = np.abs(np.fft.rfft(burst * np.hanning(burst.size)))
    assert abs(np.argmax(spectrum) * RATE / burst.size - 1000) < 100


def test_pause_freezes_and_flush_skips(pulse):
    with AudioOutput(buffer_seconds=6.0) as out:
        out.write(tone(4.0))
        out.start()
        assert wait_for(lambda: out.clock() > 0.3, 5.0), out.clock()
        out.pause(True)
        assert out.paused
        time.sleep(0.15)  # what was already handed to the device is still heard
        c1, d1 = out.clock(), out.stats.delivered
        time.sleep(0.5)
        c2 = out.clock()
        assert abs(c2 - c1) <= 0.005, (c1, c2)
        assert out.stats.delivered == d1  # nothing consumed while paused
        out.pause(False)
        rows = sample(out, 0.5)
        assert (np.diff(rows[:, 1]) >= 0).all() and rows[0, 1] >= c2
        assert rows[-1, 1] - c2 > 0.3, (c2, rows[-1, 1])
        assert np.max(np.diff(rows[:, 1]) - np.diff(rows[:, 0])) < 0.02  # resumes without a jump

        assert out.stats.underruns == 0
        before = out.clock()
        pos = out.flush()
        assert pos == out.written == 4 * RATE
        assert out.write(tone(1.0, freq=660.0))
        rows = sample(out, 0.6)
        c = rows[:, 1]
        assert (np.diff(c) >= 0).all() and c[0] >= before
        assert c[-1] > pos / RATE + 0.3, (pos / RATE, c[-1])  # jumped over the dropped audio and goes on
        first = np.flatnonzero(c >= pos / RATE)[0]
        assert rows[first, 0] - rows[0, 0] < 0.3  # the jump comes once the delivered audio is heard


def test_underruns_counted_only_before_end_of_stream(pulse):
    for eos in (False, True):
        with AudioOutput() as out:
            out.write(tone(0.5))
            if eos:
                out.end_of_stream()
            out.start()
            assert wait_for(lambda: out.clock() >= 0.499, 6.0), out.clock()
            time.sleep(0.2)
            assert out.stats.delivered == RATE // 2
            if eos:
                assert out.stats.underruns == 0
            else:
                assert out.stats.underruns > 0
            assert out.clock() <= 0.5 + 1e-9  # never passes what was written


def test_bad_device_is_a_one_line_error(pulse):
    for device in ("no such card 42", 999):
        with pytest.raises(AudioDeviceError) as e:
            AudioOutput(device=device)
        msg = str(e.value)
        assert "\n" not in msg and repr(device) in msg, msg


def test_close_is_prompt_even_with_a_blocked_feeder(pulse):
    out = AudioOutput(buffer_seconds=0.5)
    assert out.write(tone(0.5))
    out.start()
    stop = threading.Event()
    result: list[bool] = []
    feeder = threading.Thread(target=lambda: result.append(out.write(tone(3.0), stop)))
    feeder.start()
    time.sleep(0.3)
    assert feeder.is_alive()  # the ring is full: write waits
    stop.set()
    t0 = time.monotonic()
    out.close()
    feeder.join(1.0)
    assert time.monotonic() - t0 < 1.0
    assert not feeder.is_alive() and result == [False]
    out.close()  # idempotent
    assert not out.write(tone(0.1))  # closed: nothing more is taken
    t0 = time.monotonic()
    AudioOutput().close()  # never started
    assert time.monotonic() - t0 < 1.0


def test_unopenable_device_runs_silent_then_recovers(pulse, monkeypatch):
    """start() on a device that cannot be opened: silent clock at real time, then the retry finds it."""
    real_open = AudioOutput._open
    fail = [True]

    def flaky_open(self):
        if fail[0]:
            raise OSError("device busy")
        return real_open(self)

    monkeypatch.setattr(AudioOutput, "_open", flaky_open)
    with AudioOutput(retry_seconds=0.3) as out:
        out.write(tone(3.0))
        out.start()
        assert out.silent and out.latency == 0.0
        rows = sample(out, 0.6)
        t, c, delivered = rows.T
        assert abs(np.polyfit(t, c, 1)[0] - 1) < 0.05 and (c <= delivered + 1e-9).all()
        fail[0] = False
        assert wait_for(lambda: not out.silent, 2.0)
        assert out.stats.reopened == 1 and out.stats.device_losses == 0 and out.latency > 0
        c0 = out.clock()
        assert wait_for(lambda: out.clock() > c0 + 0.1, 5.0)  # the device plays on from where the silent clock was


def test_device_loss_runs_on_a_silent_clock_and_reopens(pulse):
    """Kill and restart PulseAudio mid-stream: silent clock at real time, reopen, continuous clock. Runs last."""
    from services import restart_pulse, start_pulse

    out = AudioOutput(buffer_seconds=2.0)
    stop = threading.Event()

    def feed() -> None:
        block = tone(0.1)
        while out.write(block, stop):
            pass

    out.write(tone(1.0))
    feeder = threading.Thread(target=feed, daemon=True)
    try:
        feeder.start()
        out.start()
        assert wait_for(lambda: out.clock() > 0.2, 5.0), out.clock()
        rows: list[tuple[float, float, bool]] = []

        def watch(until) -> None:
            while not until():
                t = time.monotonic()
                rows.append((t, out.clock(), out.silent))
                time.sleep(0.005)

        watch(lambda: len(rows) > 60)
        t_kill = time.monotonic()
        restarter = threading.Thread(target=restart_pulse)
        restarter.start()
        watch(lambda: out.silent or time.monotonic() - t_kill > 2.0)
        t_silent = time.monotonic()
        assert out.silent, "device loss not detected"
        assert t_silent - t_kill < 1.0
        watch(lambda: not out.silent or time.monotonic() - t_kill > 8.0)
        t_back = time.monotonic()
        assert not out.silent, "device not reopened"
        assert t_back - t_kill < 5.0
        back_at = out.clock()
        watch(lambda: out.clock() > back_at + 0.5 or time.monotonic() - t_back > 5.0)
        watch(lambda: time.monotonic() - rows[-1][0] > 0.3 and rows[-1][1] > back_at + 0.5 or
              time.monotonic() - t_back > 5.0)
        restarter.join(10)
        assert out.stats.device_losses == 1 and out.stats.reopened == 1, out.stats
        assert out.latency > 0
    finally:
        stop.set()
        out.close()
        feeder.join(2)
        start_pulse()
    t, c, silent = (np.array(v) for v in zip(*rows))
    assert c[-1] > back_at + 0.5, "the clock does not move on the reopened device"
    assert (np.diff(c) >= 0).all(), "the clock went backwards"
    jumps = np.diff(c) - np.diff(t)
    assert jumps.max() < 0.05, jumps.max()
    s = silent.astype(bool) & (t > t_silent + 0.1)
    assert s.sum() > 50
    slope = np.polyfit(t[s], c[s], 1)[0]
    assert abs(slope - 1) < 0.05, slope
