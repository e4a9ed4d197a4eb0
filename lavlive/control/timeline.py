"""Presentation times: frame i is shown at exactly i / fps, and its ws is read off the control
track (ws at the encoder's frame rate) by linear interpolation at that time.

fps is a Fraction so NTSC rates are exact (29.97 means 30000/1001); times are computed from
integers, never accumulated, so there is no drift over a long track. Interpolating needs the
control frame just after t, which is one control frame of lookahead (13 ms at 75 Hz).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..errors import LavliveError, given

NTSC = {"23.976": Fraction(24000, 1001), "29.97": Fraction(30000, 1001), "59.94": Fraction(60000, 1001),
        "119.88": Fraction(120000, 1001)}


def parse_fps(text: str | float | Fraction) -> Fraction:
    """'30', '29.97', '30000/1001', 144 → an exact Fraction; NTSC decimals map to their x/1001 rates."""
    try:
        fps = NTSC.get(str(text)) or Fraction(str(text))
    except (ValueError, ZeroDivisionError):
        raise LavliveError(f"--fps {given(str(text))}: not a frame rate (use e.g. 30, 29.97 or 30000/1001)") from None
    if not 1 <= fps <= 1000:
        raise LavliveError(f"--fps {given(str(text))}: use a frame rate between 1 and 1000")
    return fps


def fps_text(fps: Fraction) -> str:
    """A frame rate as a start-up line says it: '30', or '29.970 (30000/1001)'."""
    return str(fps.numerator) if fps.denominator == 1 else f"{float(fps):.3f} ({fps})"


def frame_time(index: int, fps: Fraction) -> float:
    return float(Fraction(index) / fps)


class ControlTrack:
    """A bounded history of control frames (ws) that answers ws at any presentation time.

    Frames live in one preallocated buffer twice the capacity; when it fills, the newest
    `capacity` frames are moved to its front, so appending costs O(1) amortised and memory
    stays fixed however long the track.
    """

    def __init__(self, frame_rate: float, capacity: int, start: int = 0) -> None:
        self.frame_rate = frame_rate
        self.capacity = capacity
        self._buffer: np.ndarray | None = None
        self._len = 0  # frames held, at the front of the buffer
        self.first = start  # stream index of the oldest frame held
        self.count = start  # stream index of the next frame (a track may join a stream late: `start`)

    @property
    def frames(self) -> np.ndarray:
        """The frames held (at most `capacity`), oldest first."""
        if self._buffer is None:
            return np.zeros((0,))
        return self._buffer[max(0, self._len - self.capacity):self._len]

    @property
    def end_time(self) -> float:
        """Latest time that can be sampled (the last control frame's time)."""
        return (self.count - 1) / self.frame_rate

    def extend(self, ws: np.ndarray) -> None:
        if len(ws) == 0:
            return
        self.count += len(ws)
        ws = ws[-self.capacity:]  # older frames would be dropped at once
        if self._buffer is None:
            self._buffer = np.empty((2 * self.capacity, *ws.shape[1:]), ws.dtype)
        if self._len + len(ws) > len(self._buffer):
            keep = min(self._len, self.capacity - len(ws))
            self._buffer[:keep] = self._buffer[self._len - keep:self._len]
            self._len = keep
        self._buffer[self._len:self._len + len(ws)] = ws
        self._len += len(ws)
        self.first = self.count - len(self.frames)

    def sample(self, t: float) -> np.ndarray:
        if self.count == 0 or t > self.end_time + 1e-9:
            raise ValueError(f"control track does not reach t={t:.4f}s yet")
        pos = max(0.0, t * self.frame_rate) - self.first
        if pos < -1e-6:
            raise ValueError(f"t={t:.4f}s is older than the control track keeps")
        pos = max(pos, 0.0)
        i = min(int(np.floor(pos)), len(self.frames) - 1)
        frac = pos - i
        if frac < 1e-9 or i + 1 >= len(self.frames):
            return self.frames[i].copy()
        return ((1 - frac) * self.frames[i] + frac * self.frames[i + 1]).astype(self.frames.dtype)
