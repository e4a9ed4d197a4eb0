"""The master clock: which sample of the written stream is heard now, from the consumer's published stamp.

The consumer publishes its timing as ONE tuple assignment `stamp = (idx, t, end, pidx, pt, pend)`:
sample `idx` is heard at monotonic time `t` and nothing past `end` has been delivered; `p*` is the
previous segment, used while `t` is still in the future (so a skip is heard only when it reaches the
DAC). `position(now)` evaluates that line at `now`, clamps it to the delivered end and never lets it
go backwards. One assignment means a reader sees a whole stamp or the one before it, without a lock
on the consumer's side.

When the device cannot be opened or is lost, `SilentClock` consumes the ring in real time instead,
so the feeder keeps flowing and the visuals keep moving. It publishes in the same form and on the
same monotonic time base as the device callback, so switching between them keeps the clock
continuous.
"""

from __future__ import annotations

import math
import threading

from .ring import Ring
from .stats import AudioStats

_SILENT_AHEAD = 0.02  # the silent clock "delivers" this far ahead of what it says is heard, seconds


class Clock:
    """The published stamp and the position it implies. `stamp` has one writer at a time: the device callback of
    the current generation, or the silent clock; `position` may be called from any thread."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.stamp: tuple[float, float, float, float, float, float] | None = None
        self._last = 0.0  # the largest position position() has returned, samples
        self._lock = threading.Lock()  # position() callers among themselves; never taken by the callback

    def start_at(self, pos: float) -> None:
        """Before any stamp: the position to report (the read head when the output starts)."""
        self._last = float(pos)

    def publish(self, idx: int, t: float, end: int) -> None:
        """The device callback: sample `idx` is heard at `t`, nothing past `end` delivered; the previous segment is
        kept for while `t` is still in the future. One tuple assignment, no lock."""
        old = self.stamp
        if old is None:
            self.stamp = (idx, t, end, idx, t, end)
        else:
            self.stamp = (idx, t, end, old[0], old[1], old[2])

    def position(self, now: float) -> float:
        """The position heard at monotonic time `now`, in samples (never less than any returned before)."""
        st = self.stamp
        if st is None:
            return self._last
        idx, t, end, pidx, pt, pend = st
        if now >= t:
            pos = min(end, idx + (now - t) * self.sample_rate)
        else:
            pos = min(pend, pidx + (now - pt) * self.sample_rate)
        with self._lock:
            if pos > self._last:
                self._last = pos
            return self._last


class SilentClock:
    """Consumes the ring at real-time rate when there is no device; its line is a_idx + (now - a_t) * rate.

    Runs only on the supervisor thread (or in start() before that thread exists), so its fields have
    that single writer; it advances the ring's read head as the device callback would.
    """

    def __init__(self, ring: Ring, clock: Clock, stats: AudioStats) -> None:
        self._ring = ring
        self._clock = clock
        self._stats = stats
        self._rate = clock.sample_rate
        self._a_idx = 0.0
        self._a_t = 0.0
        self._prev = (0.0, 0.0, 0.0)

    def begin(self, now: float) -> None:
        """Take over from the device: the line continues from the clock's position now (call `publish` next)."""
        c = self._clock.position(now)
        self._a_idx, self._a_t = c, now
        self._prev = (c, now, float(self._ring.r))

    def publish(self) -> None:
        a, t, end = self._a_idx, self._a_t, float(self._ring.r)
        p = self._prev
        self._clock.stamp = (a, t, end, p[0], p[1], p[2])

    def tick(self, now: float) -> None:
        """Consume what is due by `now` (a little ahead, like a device buffer) and publish the line."""
        rate = self._rate
        ring = self._ring
        r = ring.r
        s = ring.skip
        if s > r:  # a flush: the new audio starts where the delivered audio ends
            p = (self._a_idx, self._a_t, float(r))
            t_s = max(now, self._a_t + (r - self._a_idx) / rate)
            self._prev = p
            self._a_idx, self._a_t = float(s), t_s
            ring.r = r = s
        due = self._a_idx + (now - self._a_t) * rate
        dry = ring.w == r
        if due > r and (ring.paused or dry):  # nothing to hear: hold the line at the delivered end
            if dry and not ring.paused and not ring.eos:
                self._stats.underruns += 1
            self._prev = (self._a_idx, self._a_t, float(r))
            self._a_idx, self._a_t = float(r), now
        elif not ring.paused:
            target = math.floor(self._a_idx + (now + _SILENT_AHEAD - self._a_t) * rate)
            n = min(target - r, ring.w - r)
            if n > 0:
                ring.r = r + n
                self._stats.delivered += n
        self.publish()
