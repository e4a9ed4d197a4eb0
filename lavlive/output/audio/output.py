"""`AudioOutput`: the sound card and the player's master clock, as one object for the player.

It builds the parts (the ring, the clock, the device, the silent clock and their supervisor) and
gives each caller only what it needs: the feeder writes, the player reads the clock, anyone pauses
or flushes. The parts say how they share state without locks.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ...audio.sources import AudioDeviceError
from .clock import Clock, SilentClock
from .device import Device, Opened, find_output
from .ring import Ring
from .stats import AudioStats
from .supervisor import Supervisor


class AudioOutput:
    """Plays float32 audio from a preallocated ring through a sounddevice callback; `clock()` says which
    sample of the written stream is being heard now.

    Thread roles: one feeder calls `write`; any thread may call `clock`, `flush`, `pause`; the
    callback only reads the ring and the write head and only advances the read head (see `ring` and
    `device`). Start after pre-filling the ring, so the first callbacks find audio.
    """

    def __init__(self, device: int | str | None = None, sample_rate: int = 48000, channels: int = 2,
                 buffer_seconds: float = 4.0, latency: float | str = "high", retry_seconds: float = 1.0) -> None:
        if sample_rate <= 0 or channels <= 0:
            raise AudioDeviceError(f"audio output: sample rate and channels must be positive "
                                   f"(got {sample_rate}, {channels})")
        if not math.isfinite(buffer_seconds) or buffer_seconds <= 0:
            raise AudioDeviceError(f"audio output: buffer_seconds must be > 0, not {buffer_seconds}")
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self.retry_seconds = max(0.05, float(retry_seconds))
        device, name = find_output(device, self.channels)
        self.stats = AudioStats()
        self.tap: Callable[[int, np.ndarray], None] | None = None  # told of each block written (a recording)
        self._started = False
        self._closed = False
        self._ring = Ring(max(int(buffer_seconds * self.sample_rate), 1024), self.channels, self.sample_rate)
        self._clock = Clock(self.sample_rate)
        stop = threading.Event()
        self._device = Device(self._ring, self._clock, self.stats, stop, device, name, latency)
        self._supervisor = Supervisor(self._device, SilentClock(self._ring, self._clock, self.stats), self.stats,
                                      stop, self._open, self.retry_seconds)

    # ---- feeder side -------------------------------------------------------------------------------------

    def write(self, block: np.ndarray, stop: threading.Event | None = None) -> bool:
        """Append [n, channels] float32 (the feeder thread); waits (sleeping in small steps, never busy) while the
        ring is full; returns False if `stop` was set (or the output closed) while waiting. If `flush` is called
        while this waits, the rest of the block is dropped with the rest of the unplayed audio."""
        if self.tap is not None:
            self.tap(self._ring.w, block)
        return self._ring.write(block, stop)

    @property
    def delivered(self) -> int:
        """Samples handed to the device so far (it plays them even if the rest is flushed)."""
        return self._ring.r

    @property
    def written(self) -> int:
        """Samples appended so far: the stream position of the write head."""
        return self._ring.w

    def end_of_stream(self) -> None:
        """No more audio will be written: running dry afterwards is not an underrun (a later write undoes this)."""
        self._ring.eos = True

    def flush(self) -> int:
        """Drop everything written but not yet delivered to the device (for a skip); returns the new write-head
        position, from which the next written sample plays. The clock continues from there once the dropped
        audio would have been reached. Safe while playing."""
        return self._ring.flush()

    # ---- control -----------------------------------------------------------------------------------------

    def pause(self, paused: bool) -> None:
        """Paused: the device plays silence and nothing is consumed; the clock stops once the audio already
        handed to the device has been heard. Survives device loss and re-open."""
        self._ring.pause(paused)

    @property
    def started(self) -> bool:
        return self._started

    @property
    def paused(self) -> bool:
        return self._ring.paused

    @property
    def silent(self) -> bool:
        """True while running on the silent clock (no device)."""
        return self._device.silent

    @property
    def device_name(self) -> str:
        return self._device.name

    @property
    def _stream(self) -> Any:
        """The device stream in use (None when silent, not started or closed): tests check close() let go of it."""
        return self._device.stream

    @property
    def latency(self) -> float:
        """The device stream's output latency in seconds (0 when silent or not started)."""
        d = self._device
        return 0.0 if d.silent or d.stream is None else d.latency

    def start(self) -> None:
        """Open and start the device stream (after the caller pre-filled the ring). If the device cannot be
        opened, log a warning and run on the silent clock, retrying every `retry_seconds`."""
        if self._started:
            return
        if self._closed:
            raise AudioDeviceError("audio output: start() after close()")
        self._started = True
        self._ring.start_consuming()
        self._clock.start_at(self._ring.r)
        self._supervisor.start()

    def close(self) -> None:
        """Stop and close the stream and the clock threads; idempotent; returns within ~0.5 s."""
        if self._closed:
            return
        self._closed = True
        self._ring.close()
        self._supervisor.close()

    def __enter__(self) -> AudioOutput:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the clock ---------------------------------------------------------------------------------------

    def clock(self) -> float:
        """Seconds since stream sample 0 of what is heard now: the position of the sample at the DAC, from the
        latest callback's (first sample, DAC time, frames) extrapolated to now, clamped to the audio actually
        delivered, never going backwards. 0.0 before start."""
        if not self._started:
            return 0.0
        return self._clock.position(time.monotonic()) / self.sample_rate

    def _open(self) -> Opened:
        """Open (not start) a stream on the device, with a callback bound to a fresh generation: the one place
        both start() and the re-open thread open a stream (tests replace it to fake a device that will not open)."""
        return self._device.open()
