"""Frames at exact presentation times for any fps, from a control track at the encoder's rate."""

from fractions import Fraction

import numpy as np
import pytest

from lavlive.errors import LavliveError
from lavlive.control.timeline import ControlTrack, frame_time, parse_fps


@pytest.mark.parametrize("text, expected", [("23.976", Fraction(24000, 1001)), ("29.97", Fraction(30000, 1001)),
                                            ("30", Fraction(30)), ("60", Fraction(60)), ("144", Fraction(144)),
                                            ("30000/1001", Fraction(30000, 1001)), ("12.5", Fraction(25, 2))])
def test_parse_fps_is_exact(text, expected):
    assert parse_fps(text) == expected


@pytest.mark.parametrize("bad", ["fast", "0", "-30", "1/0", "5000"])
def test_bad_fps_is_a_clear_error(bad):
    with pytest.raises(LavliveError, match="--fps"):
        parse_fps(bad)


def test_frame_times_do_not_drift_over_two_hours():
    fps = parse_fps("29.97")
    n = int(2 * 3600 * 30000 / 1001)
    assert frame_time(n, fps) == pytest.approx(n * 1001 / 30000, abs=1e-9)


@pytest.mark.parametrize("fps", ["23.976", "29.97", "30", "60", "144"])
def test_sampling_a_linear_ramp_is_exact_at_every_frame_time(fps):
    rate = 75.0
    track = ControlTrack(rate, capacity=10_000)
    ramp = (np.arange(750, dtype=np.float64) / rate)[:, None, None] * np.ones((1, 2, 3))
    track.extend(ramp[:400])
    track.extend(ramp[400:])
    f = parse_fps(fps)
    for i in range(0, int(9.9 * f)):
        t = frame_time(i, f)
        assert track.sample(t)[0, 0] == pytest.approx(t, abs=1e-9)


def test_track_is_bounded_and_refuses_the_future():
    track = ControlTrack(50.0, capacity=100)
    for k in range(10):
        track.extend(np.full((50, 1), k, np.float32))
    assert len(track.frames) == 100 and track.end_time == pytest.approx(499 / 50)
    assert track.sample(9.5)[0] == 9
    with pytest.raises(ValueError, match="does not reach"):
        track.sample(10.5)
    with pytest.raises(ValueError, match="older"):
        track.sample(1.0)
