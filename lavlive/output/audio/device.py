"""The sound card: finding it, opening one PortAudio stream at a time, its real-time callback, and the watchdog.

The callback copies ring slices into `outdata` (slice assignment, no new arrays), zero-fills the rest,
and publishes its timing as one stamp (see `clock`). It never blocks, takes no lock and allocates no
array (the real-time rule: "the audio callback never blocks and never allocates").

Each stream's callback is bound to a generation; only the callback of the current generation `gen`
consumes. Bumping `gen` silences an old stream at once, without waiting for PortAudio to stop it
(which a dead sound server can make slow).

Device times (`outputBufferDacTime`) are converted to the monotonic base with an offset
`stream.time - time.monotonic()` measured outside the callback, so reading the clock costs no PortAudio
call and the device and silent clocks share one time base.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from ...audio.sources import AudioDeviceError, portaudio
from .clock import Clock
from .ring import Ring
from .stats import AudioStats

_START_TIMEOUT = 5.0  # a new stream may stall this long before audio flows (PulseAudio null sink: ~2 s)
_OFFSET_REFRESH = 1.0  # re-measure stream.time - monotonic this often, seconds


def find_output(device: int | str | None, channels: int) -> tuple[int | str | None, str]:
    """The device to open and its name for messages; a one-line AudioDeviceError if it is missing or too small.
    A device index becomes its name: indices can change when PortAudio is re-initialised; names do not."""
    name = "the default output device"
    sd = portaudio()
    if device is not None:
        label = f"output device {device!r}"
        try:
            info = sd.query_devices(device, "output")
        except (ValueError, sd.PortAudioError) as e:
            raise AudioDeviceError(f"{label}: not found ({str(e).splitlines()[0]}); "
                                   "list devices to see the names") from None
        name = str(info["name"])
        if info["max_output_channels"] < channels:
            raise AudioDeviceError(f"{label} ({name}): has {info['max_output_channels']} output "
                                   f"channels, {channels} requested")
        if isinstance(device, int):
            device = name
    else:
        try:
            name = str(sd.query_devices(None, "output")["name"])
        except (ValueError, sd.PortAudioError):
            pass  # no default output now: start() will run on the silent clock and retry
    return device, name


class Opened:
    """A device stream opened (not started) for this output, with what the switch to it needs."""

    def __init__(self, stream: Any, gen: int, name: str, latency: float, offset: float | None) -> None:
        self.stream, self.gen, self.name, self.latency, self.offset = stream, gen, name, latency, offset


def dispose(stream: Any, wait: float = 0.3) -> threading.Thread:
    """Abort and close a stream in a daemon thread (a dead server can make PortAudio slow to let go)."""
    def run() -> None:
        for op in (stream.abort, stream.close):
            try:
                op(ignore_errors=True)
            except Exception:  # noqa: BLE001 - the stream is being thrown away
                pass
    t = threading.Thread(target=run, name="audio-out-close", daemon=True)
    t.start()
    t.join(wait)
    return t


def measure_offset(stream: Any) -> float | None:
    """stream.time - time.monotonic(), from the tightest of a few back-to-back readings; None if unusable."""
    best: tuple[float, float] | None = None
    try:
        for _ in range(5):
            a = time.monotonic()
            st = stream.time
            b = time.monotonic()
            if st and (best is None or b - a < best[0]):
                best = (b - a, st - (a + b) / 2)
    except Exception:  # noqa: BLE001 - fall back to the callback's own relative times
        return None
    return None if best is None else best[1]


class Device:
    """The output's device stream and the callback that consumes the ring through it.

    The callback writes only `beat`, `busy`, the ring's read head, the clock's stamp and the consumer's
    counters; PortAudio's finished callback writes only `lost`. Everything else is written by whoever
    switches streams: start(), then the supervisor thread (`activate`, `silence`, `watch`, `silent`), then
    close(). Opening may also run on the re-open thread, which only counts `next_gen` up.
    """

    def __init__(self, ring: Ring, clock: Clock, stats: AudioStats, stop: threading.Event, device: int | str | None,
                 name: str, latency: float | str) -> None:
        self._ring, self._clock, self._stats, self._stop = ring, clock, stats, stop
        self._device = device
        self._latency_req = latency
        self.name = name
        self.stream: Any = None
        self.gen = 0  # the generation whose callback may consume; bumped to silence an old stream
        self._next_gen = 0
        self.offset: float | None = None  # stream.time - time.monotonic()
        self.latency = 0.0  # the stream's output latency, seconds
        self.silent = False  # no stream consumes: the silent clock does
        self.lost = -1  # generation whose stream PortAudio finished on its own
        self.beat = 0.0  # monotonic time of the latest callback
        self.busy = False  # a callback is running
        self._t_started = self._offset_t = 0.0
        self._flowing = False

    def open(self) -> Opened:
        """Open (not start) a stream on the device, with a callback bound to a fresh generation."""
        sd = portaudio()
        self._next_gen += 1
        gen = self._next_gen

        def callback(outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
            self._callback(gen, outdata, frames, time_info, status)

        def finished() -> None:
            if gen == self.gen and not self._stop.is_set():
                self.lost = gen

        stream = sd.OutputStream(device=self._device, samplerate=self._clock.sample_rate, channels=self._ring.channels,
                                 dtype="float32", latency=self._latency_req, callback=callback,
                                 finished_callback=finished)
        try:
            name = str(sd.query_devices(stream.device)["name"])
        except Exception:  # noqa: BLE001 - the name is only for messages
            name = self.name
        return Opened(stream, gen, name, float(stream.latency), measure_offset(stream))

    def activate(self, opened: Opened) -> None:
        """Make `opened` the consumer and start it (the supervisor thread, or start() before it exists)."""
        self.offset = opened.offset
        self.latency = opened.latency
        self.name = opened.name
        self.stream = opened.stream
        self._t_started = self.beat = self._offset_t = time.monotonic()
        self._flowing = False
        self.lost = -1
        self.silent = False
        self.gen = opened.gen
        opened.stream.start()

    def silence(self) -> None:
        """Stop the current stream's callback from consuming (it plays zeros) and forget the stream."""
        self._next_gen += 1
        self.gen = self._next_gen
        deadline = time.monotonic() + 0.05
        while self.busy and time.monotonic() < deadline:  # let a running callback finish its copy
            time.sleep(0.0005)
        self.stream = None

    def close(self) -> Any:
        """No callback consumes any more; returns the stream (None if there was none) for the caller to dispose of."""
        self._next_gen += 1
        self.gen = self._next_gen
        stream, self.stream = self.stream, None
        return stream

    def _callback(self, gen: int, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """The PortAudio callback: copy ring slices into outdata, zero-fill the rest, publish one stamp.
        Never blocks, takes no lock, allocates no array."""
        self.busy = True
        try:
            self.beat = time.monotonic()
            if gen != self.gen:
                outdata.fill(0)
                return
            if status.output_underflow:
                self._stats.xruns += 1
            ring = self._ring
            r = ring.catch_up()
            if ring.paused:
                outdata.fill(0)
                return
            n = ring.copy_out(outdata, r, frames)
            if n < frames and not ring.eos:
                self._stats.underruns += 1
            if n == 0:
                return
            ring.r = r + n
            self._stats.delivered += n
            cur = time_info.currentTime
            dac = time_info.outputBufferDacTime
            off = self.offset
            # Sample r reaches the DAC `ahead` seconds after `cur`; never trusted to be sooner than the stream's
            # output latency (ALSA's pulse plugin reports 0 for about a second after audio starts to flow).
            ahead = max(dac - cur if (dac > 0 and cur > 0) else 0.0, self.latency)
            t = cur - off + ahead if (off is not None and cur > 0) else self.beat + ahead
            self._clock.publish(r, t, r + n)
        finally:
            self.busy = False

    def watch(self, stream: Any, now: float) -> str | None:
        """Device mode, each tick: why the device is lost (None while it plays); keeps the time-base offset fresh."""
        lat = self.latency
        beat = self.beat
        if not self._flowing and beat > self._t_started + max(0.2, 2 * lat):
            self._flowing = True
        ring = self._ring
        if self.lost == self.gen:
            return "the stream finished"
        if not stream.active:
            return "the stream stopped"
        if not ring.paused:
            limit = max(0.5, 4 * lat) if self._flowing else _START_TIMEOUT
            if now - max(beat, ring.pause_t) > limit:
                return f"no callback for {now - beat:.2f} s"
        if now - self._offset_t > _OFFSET_REFRESH:
            self._offset_t = now
            off = measure_offset(stream)
            if off is not None:
                self.offset = off
        return None
