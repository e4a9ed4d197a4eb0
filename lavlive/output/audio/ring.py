"""The preallocated sample ring between the feeder thread and the consumer.

Audio lives in one preallocated ring [capacity, channels], so the consumer never allocates. The
feeder thread (`write`) is the only one to advance the write head `w`; the consumer (the PortAudio
callback, or the silent clock when there is no device) is the only one to advance the read head `r`.
Python int assignment is atomic under the GIL, so neither side needs a lock, and the callback never
takes one. A flush is a request (`skip`, an absolute stream position) that the consumer applies
itself, so the read head keeps its single writer.
"""

from __future__ import annotations

import threading
import time

import numpy as np


class Ring:
    """Stream positions are absolute sample counts since the stream began; sample k lives at row k % capacity.

    Fields and their writers: `w` the feeder (under the write lock); `r` the consumer, or `flush` while no
    consumer runs; `skip` `flush`; `eos` the feeder (`write`, `end_of_stream`); `paused`/`pause_t` `pause`.
    The consumer side (`catch_up`, `copy_out`) takes no lock and creates no array.
    """

    def __init__(self, capacity: int, channels: int, sample_rate: int) -> None:
        self.capacity = capacity
        self.channels = channels
        self.sample_rate = sample_rate
        self.buf = np.zeros((capacity, channels), np.float32)
        self.w = 0  # write head: written only by the feeder (write), under _write_lock
        self.r = 0  # read head: written only by the consumer (callback or silent clock)
        self.skip = 0  # flush request: the consumer jumps its read head up to here
        self.flushes = 0
        self.eos = False  # no more audio will be written: running dry is not an underrun
        self.paused = False  # the consumer takes nothing (the device plays silence)
        self.pause_t = 0.0  # monotonic time of the latest pause() call
        self.consuming = False  # a consumer runs (from start): a flush is left to it
        self.closed = False  # the output is closed: write takes nothing more
        self._write_lock = threading.Lock()  # feeder vs flush; never taken by the callback

    # ---- feeder side -------------------------------------------------------------------------------------

    def write(self, block: np.ndarray, stop: threading.Event | None = None) -> bool:
        """Append [n, channels] float32; waits (sleeping in small steps, never busy) while the ring is full; returns
        False if `stop` was set (or the ring closed) while waiting, True once written or cut short by a flush."""
        x = np.asarray(block, dtype=np.float32)
        if x.ndim == 1 and self.channels == 1:
            x = x.reshape(-1, 1)
        if x.ndim != 2 or x.shape[1] != self.channels:
            raise ValueError(f"write expects [n, {self.channels}] samples, got shape {x.shape}")
        n = x.shape[0]
        self.eos = False
        flushes = self.flushes
        done = 0
        while done < n:
            if self.closed or (stop is not None and stop.is_set()):
                return False
            if self.flushes != flushes:
                return True
            with self._write_lock:
                if self.flushes != flushes:
                    return True
                w = self.w
                k = min(n - done, self.capacity - (w - self.r))
                if k > 0:
                    i = w % self.capacity
                    first = min(k, self.capacity - i)
                    self.buf[i:i + first] = x[done:done + first]
                    if first < k:
                        self.buf[:k - first] = x[done + first:done + k]
                    self.w = w + k  # publish only after the copy
                    done += k
                    continue
            step = min(0.02, max(0.002, (n - done) / self.sample_rate / 2))
            if stop is not None:
                stop.wait(step)
            else:
                time.sleep(step)
        return True

    def flush(self) -> int:
        """Drop everything written but not yet consumed; returns the write head, from which the next write plays."""
        with self._write_lock:
            s = self.w
            self.flushes += 1
            if self.consuming and not self.closed:
                self.skip = s  # the consumer applies it
            else:
                self.r = self.skip = s  # no consumer runs: nothing to race with
        return s

    def pause(self, paused: bool) -> None:
        self.pause_t = time.monotonic()
        self.paused = bool(paused)

    def start_consuming(self) -> None:
        """A consumer is about to run: from now on it applies flushes itself."""
        self.consuming = True
        self.skip = self.r

    def close(self) -> None:
        self.closed = True

    # ---- consumer side (no lock, no allocation) ----------------------------------------------------------

    def catch_up(self) -> int:
        """Apply a pending flush request (jump the read head to it); returns the read head."""
        r = self.r
        s = self.skip
        if s > r:
            self.r = r = s
        return r

    def copy_out(self, out: np.ndarray, r: int, frames: int) -> int:
        """Copy up to `frames` samples from stream position `r` into `out` by slice assignment and zero-fill the rest;
        returns how many samples were audio. The consumer advances the read head itself."""
        n = min(frames, self.w - r)
        if n > 0:
            cap = self.capacity
            i = r % cap
            first = min(n, cap - i)
            out[:first] = self.buf[i:i + first]
            if first < n:
                out[first:n] = self.buf[:n - first]
        else:
            n = 0
        if n < frames:
            out[n:] = 0
        return n
