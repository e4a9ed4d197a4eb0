"""The engine's contract: exact frame times, the same ws in render and play mode, errors and stops reach the sink."""

from __future__ import annotations

import math
import time
from fractions import Fraction

import numpy as np
import pytest

from lavlive.audio.demo import demo_track
from lavlive.audio.sources import AudioFileError
from lavlive.pipeline import Engine, Size, Synthesizer
from lavlive.control import ControlPath
from lavlive.control.timeline import frame_time
from lavlive.presets import load_preset

SR = 24000


@pytest.fixture(scope="module")
def audio() -> np.ndarray:
    return demo_track(3.0, SR)[:1]  # mono at the encoder's rate


def blocks(x: np.ndarray, size: int):
    for i in range(0, x.shape[1], size):
        yield x[:, i:i + size]


def engine(tiny_generator, audio, block: int, **kw) -> Engine:
    path, _ = ControlPath.for_generator(tiny_generator, load_preset(None))
    synth = Synthesizer(tiny_generator, Size(32, 32))
    return Engine.for_track(blocks(audio, block), path, synth, Fraction(30000, 1001), **kw)


def test_render_mode_draws_every_frame_at_its_exact_time(tiny_generator, audio):
    with engine(tiny_generator, audio, SR // 2, batch=4) as e:
        frames = list(e.frames())
    fps = Fraction(30000, 1001)
    assert [f.index for f in frames] == list(range(round(3 * fps)))
    assert all(f.time == float(f.index / fps) for f in frames)
    assert all(f.image.shape == (32, 32, 3) and f.image.dtype == np.uint8 for f in frames)
    assert e.plan.duration == 3.0 and e.stats.frames_skipped == 0


def test_play_mode_skips_late_frames_and_gives_render_ws(tiny_generator, audio):
    """Small blocks and a clock (play) give the same ws as large blocks in batches (render)."""
    with engine(tiny_generator, audio, SR // 2, batch=3) as e:
        rendered = {f.index: f.ws for f in e.frames()}
    with engine(tiny_generator, audio, 480, clock=lambda: 1.0) as e:  # 20 ms blocks; the clock says 1 s
        played = list(e.frames())
    # Frames before 1 s (30 of them), and any the draw time would make late, were skipped, never drawn.
    assert played[0].time >= 1.0 and 30 <= e.stats.frames_skipped == played[0].index <= 32
    assert [f.index for f in played] == list(range(played[0].index, len(rendered)))
    for f in played:
        np.testing.assert_allclose(f.ws, rendered[f.index], atol=1e-4)


def test_a_source_error_reaches_the_sink(tiny_generator, audio):
    def failing():
        yield from blocks(audio[:, :SR], 4800)
        raise AudioFileError("track.wav: read error")

    path, _ = ControlPath.for_generator(tiny_generator, load_preset(None))
    e = Engine.for_track(failing(), path, Synthesizer(tiny_generator), Fraction(30))
    with pytest.raises(AudioFileError, match="read error"), e:
        for _ in e.frames():
            pass
    assert not any(t.is_alive() for t in e._threads)


def test_closing_midway_stops_the_threads(tiny_generator, audio):
    e = engine(tiny_generator, np.tile(audio, (1, 20)), 4800)
    with e:
        for frame in e.frames():
            if frame.index == 5:
                break
    start = time.monotonic()
    while any(t.is_alive() for t in e._threads) and time.monotonic() - start < 2:
        time.sleep(0.01)
    assert not any(t.is_alive() for t in e._threads)


@pytest.mark.parametrize("fps, seconds, block_seconds", [(1, 3.4, 0.1), (1, 3.6, 5.0), (30, 6.0, 5.0)])
def test_frame_count_is_round_duration_times_fps_for_any_block(tiny_generator, audio, fps, seconds, block_seconds):
    x = np.tile(audio, (1, 3))[:, :int(seconds * SR)]
    path, _ = ControlPath.for_generator(tiny_generator, load_preset(None))
    with Engine.for_track(blocks(x, int(block_seconds * SR)), path, Synthesizer(tiny_generator), Fraction(fps)) as e:
        frames = list(e.frames())
    assert [f.index for f in frames] == list(range(round(seconds * fps)))
    path, _ = ControlPath.for_generator(tiny_generator, load_preset(None))
    with Engine.for_track(blocks(x, 480), path, Synthesizer(tiny_generator), Fraction(fps)) as e:
        small = list(e.frames())
    for a, b in zip(frames, small):
        np.testing.assert_allclose(a.ws, b.ws, atol=1e-4)


def test_take_hands_out_the_newest_due_frame_and_drops_older_ones(tiny_generator, audio):
    """The display's side: take(now) never waits, gives nothing early, and catches up by dropping."""
    now = [-math.inf]  # before the audio starts nothing is late
    with engine(tiny_generator, audio, 4800, clock=lambda: now[0], ahead_frames=8) as e:
        deadline = time.monotonic() + 10
        while e.next_time is None and time.monotonic() < deadline:
            assert e.take(-1.0) is None
            time.sleep(0.01)
        assert e.next_time == 0.0 and e.take(-0.001) is None
        assert e.take(0.0).index == 0
        while e.queue_depths()[1] < 3 and time.monotonic() < deadline:  # frames 1, 2, 3 are drawn
            time.sleep(0.01)
        frame = e.take(0.1)  # frames 1, 2 and 3 (0.1001 s) are due: only the newest is shown
        assert frame.index == 3 - (frame_time(3, e.plan.fps) > 0.1) and e.stats.frames_dropped == frame.index - 1
        shown = [frame.index]
        now[0] = 1.5  # the clock jumps on: synthesis skips to it, the display catches up
        while not e.ended:
            if (f := e.take(10.0)) is not None:
                shown.append(f.index)
            time.sleep(0.005)
    assert shown == sorted(set(shown)) and shown[-1] == round(3 * e.plan.fps) - 1
    assert e.stats.frames_skipped > 30  # everything before 1.5 s not yet drawn was skipped
