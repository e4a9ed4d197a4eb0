"""Audio output and the player's master clock.

When playing, the audio clock is master: the picture follows what is *heard*, so every frame is
chosen by `AudioOutput.clock()`, the stream position of the sample at the DAC right now. The
audio itself is never slowed, stretched or waited for to suit the picture.

How the pieces share state (the real-time rules of DESIGN.md, "the audio callback never blocks and
never allocates"):

- Audio lives in one preallocated ring [capacity, channels]. The feeder thread (`write`) is the only
  one to advance the write head `_w`; the consumer (the PortAudio callback, or the silent clock when
  there is no device) is the only one to advance the read head `_r`. Python int assignment is atomic
  under the GIL, so neither side needs a lock, and the callback never takes one.
- The callback copies ring slices into `outdata` (slice assignment, no new arrays), zero-fills the
  rest, and publishes its timing as ONE tuple assignment `_stamp = (idx, t, end, pidx, pt, pend)`:
  sample `idx` is heard at monotonic time `t` and nothing past `end` has been delivered; `p*` is the
  previous segment, used while `t` is still in the future (so a skip is heard only when it reaches
  the DAC). `clock()` evaluates that line at `time.monotonic()`, clamps it to the delivered end and
  never lets it go backwards.
- Device times (`outputBufferDacTime`) are converted to the monotonic base with an offset
  `stream.time - time.monotonic()` measured outside the callback, so `clock()` costs no PortAudio call
  and the device and silent clocks share one time base: switching between them keeps the clock continuous.
- A flush is a request (`_skip`, an absolute stream position) that the consumer applies itself.

When the device cannot be opened or is lost (PortAudio finishes the stream, or callbacks stop), a small
thread consumes the ring in real time instead ("silent clock"), so the feeder keeps flowing and the
visuals keep moving; another thread re-initialises PortAudio and retries every `retry_seconds`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..audio.sources import AudioDeviceError, _sounddevice

log = logging.getLogger(__name__)

_TICK = 0.005  # period of the supervising thread (silent clock, device watchdog), seconds
_SILENT_AHEAD = 0.02  # the silent clock "delivers" this far ahead of what it says is heard, seconds
_START_TIMEOUT = 5.0  # a new stream may stall this long before audio flows (PulseAudio null sink: ~2 s)
_OFFSET_REFRESH = 1.0  # re-measure stream.time - monotonic this often, seconds


@dataclass
class AudioStats:
    """Counters of an `AudioOutput`; each field has a single writer."""

    underruns: int = 0  # consumer passes that ran dry (not paused) before end_of_stream
    reopened: int = 0  # times the device came back after a loss or a failed open
    device_losses: int = 0  # times the device was lost mid-stream
    delivered: int = 0  # samples taken from the ring by the device or the silent clock
    xruns: int = 0  # callbacks where PortAudio itself reported an output underflow


class _Opened:
    """A device stream opened (not started) for this output, with what the switch to it needs."""

    def __init__(self, stream: Any, gen: int, name: str, latency: float, offset: float | None) -> None:
        self.stream, self.gen, self.name, self.latency, self.offset = stream, gen, name, latency, offset


def _dispose(stream: Any, wait: float = 0.3) -> threading.Thread:
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


class AudioOutput:
    """Plays float32 audio from a preallocated ring through a sounddevice callback; `clock()` says which
    sample of the written stream is being heard now.

    Thread roles: one feeder calls `write`; any thread may call `clock`, `flush`, `pause`; the
    callback only reads the ring and the write head and only advances the read head (see the module
    docstring). Start after pre-filling the ring, so the first callbacks find audio.
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
        self._device = device
        self._latency_req = latency
        self._name = "the default output device"
        sd = _sounddevice()
        if device is not None:
            label = f"output device {device!r}"
            try:
                info = sd.query_devices(device, "output")
            except (ValueError, sd.PortAudioError) as e:
                raise AudioDeviceError(f"{label}: not found ({str(e).splitlines()[0]}); "
                                       "list devices to see the names") from None
            self._name = str(info["name"])
            if info["max_output_channels"] < self.channels:
                raise AudioDeviceError(f"{label} ({self._name}): has {info['max_output_channels']} output "
                                       f"channels, {self.channels} requested")
            if isinstance(device, int):
                self._device = self._name  # indices can change when PortAudio is re-initialised; names do not
        else:
            try:
                self._name = str(sd.query_devices(None, "output")["name"])
            except (ValueError, sd.PortAudioError):
                pass  # no default output now: start() will run on the silent clock and retry
        self._cap = max(int(buffer_seconds * self.sample_rate), 1024)
        self._buf = np.zeros((self._cap, self.channels), np.float32)
        self._w = 0  # write head: written only by the feeder (write), under _write_lock
        self._r = 0  # read head: written only by the consumer (callback or silent clock)
        self._skip = 0  # flush request: the consumer jumps its read head up to here
        self._flushes = 0
        self._write_lock = threading.Lock()  # feeder vs flush; never taken by the callback
        self._clock_lock = threading.Lock()  # clock() callers among themselves; never taken by the callback
        self._paused = False
        self._pause_t = 0.0
        self._eos = False
        self.stats = AudioStats()
        self._stamp: tuple[float, float, float, float, float, float] | None = None
        self._last = 0.0  # the largest position clock() has returned, samples
        self._started = False
        self._closed = False
        self._silent = False
        # device stream state, owned by the supervisor thread once started
        self._stream: Any = None
        self._gen = 0  # the generation whose callback may consume; bumped to silence an old stream
        self._next_gen = 0
        self._offset: float | None = None  # stream.time - time.monotonic()
        self._stream_latency = 0.0
        self._lost = -1  # generation whose stream PortAudio finished on its own
        self._beat = 0.0  # monotonic time of the latest callback
        self._busy = False  # a callback is running
        self._pending: _Opened | None = None  # a re-opened stream waiting to be switched to
        self._stop = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._reopener: threading.Thread | None = None

    # ---- feeder side -------------------------------------------------------------------------------------

    def write(self, block: np.ndarray, stop: threading.Event | None = None) -> bool:
        """Append [n, channels] float32 (the feeder thread); waits (sleeping in small steps, never busy) while the
        ring is full; returns False if `stop` was set (or the output closed) while waiting. If `flush` is called
        while this waits, the rest of the block is dropped with the rest of the unplayed audio."""
        x = np.asarray(block, dtype=np.float32)
        if x.ndim == 1 and self.channels == 1:
            x = x.reshape(-1, 1)
        if x.ndim != 2 or x.shape[1] != self.channels:
            raise ValueError(f"write expects [n, {self.channels}] samples, got shape {x.shape}")
        n = x.shape[0]
        self._eos = False
        flushes = self._flushes
        done = 0
        while done < n:
            if self._closed or (stop is not None and stop.is_set()):
                return False
            if self._flushes != flushes:
                return True
            with self._write_lock:
                if self._flushes != flushes:
                    return True
                w = self._w
                k = min(n - done, self._cap - (w - self._r))
                if k > 0:
                    i = w % self._cap
                    first = min(k, self._cap - i)
                    self._buf[i:i + first] = x[done:done + first]
                    if first < k:
                        self._buf[:k - first] = x[done + first:done + k]
                    self._w = w + k  # publish only after the copy
                    done += k
                    continue
            step = min(0.02, max(0.002, (n - done) / self.sample_rate / 2))
            if stop is not None:
                stop.wait(step)
            else:
                time.sleep(step)
        return True

    @property
    def written(self) -> int:
        """Samples appended so far: the stream position of the write head."""
        return self._w

    def end_of_stream(self) -> None:
        """No more audio will be written: running dry afterwards is not an underrun (a later write undoes this)."""
        self._eos = True

    def flush(self) -> int:
        """Drop everything written but not yet delivered to the device (for a skip); returns the new write-head
        position, from which the next written sample plays. The clock continues from there once the dropped
        audio would have been reached. Safe while playing."""
        with self._write_lock:
            s = self._w
            self._flushes += 1
            if self._started and not self._closed:
                self._skip = s  # the consumer applies it
            else:
                self._r = self._skip = s  # no consumer runs: nothing to race with
        return s

    # ---- control -----------------------------------------------------------------------------------------

    def pause(self, paused: bool) -> None:
        """Paused: the device plays silence and nothing is consumed; the clock stops once the audio already
        handed to the device has been heard. Survives device loss and re-open."""
        self._pause_t = time.monotonic()
        self._paused = bool(paused)

    @property
    def started(self) -> bool:
        return self._started

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def silent(self) -> bool:
        """True while running on the silent clock (no device)."""
        return self._silent

    @property
    def device_name(self) -> str:
        return self._name

    @property
    def latency(self) -> float:
        """The device stream's output latency in seconds (0 when silent or not started)."""
        return 0.0 if self._silent or self._stream is None else self._stream_latency

    def start(self) -> None:
        """Open and start the device stream (after the caller pre-filled the ring). If the device cannot be
        opened, log a warning and run on the silent clock, retrying every `retry_seconds`."""
        if self._started:
            return
        if self._closed:
            raise AudioDeviceError("audio output: start() after close()")
        self._started = True
        self._skip = self._r
        self._last = float(self._r)
        opened = None
        try:
            opened = self._open()
            self._activate(opened)
        except Exception as e:  # noqa: BLE001 - any PortAudio/driver failure means: no device for now
            log.warning("audio device %s cannot be opened (%s); visuals continue on a silent clock",
                        self._name, str(e).splitlines()[0] if str(e) else type(e).__name__)
            self._to_silent(time.monotonic(), opened.stream if opened is not None else None)
        self._supervisor = threading.Thread(target=self._supervise, name="audio-out-clock", daemon=True)
        self._supervisor.start()

    def close(self) -> None:
        """Stop and close the stream and the clock threads; idempotent; returns within ~0.5 s."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self._supervisor is not None:
            self._supervisor.join(0.2)
        self._next_gen += 1
        self._gen = self._next_gen  # no callback consumes any more
        stream, self._stream = self._stream, None
        pending, self._pending = self._pending, None
        for s in (stream, pending.stream if pending is not None else None):
            if s is not None:
                _dispose(s, 0.15)
        if self._reopener is not None:
            self._reopener.join(0.1)
        late, self._pending = self._pending, None  # the reopener may have finished just now
        if late is not None:
            _dispose(late.stream, 0.15)

    def __enter__(self) -> AudioOutput:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the clock ---------------------------------------------------------------------------------------

    def _position(self, now: float) -> float:
        """The position heard at monotonic time `now`, in samples (never less than any returned before)."""
        st = self._stamp
        if st is None:
            return self._last
        idx, t, end, pidx, pt, pend = st
        if now >= t:
            pos = min(end, idx + (now - t) * self.sample_rate)
        else:
            pos = min(pend, pidx + (now - pt) * self.sample_rate)
        with self._clock_lock:
            if pos > self._last:
                self._last = pos
            return self._last

    def clock(self) -> float:
        """Seconds since stream sample 0 of what is heard now: the position of the sample at the DAC, from the
        latest callback's (first sample, DAC time, frames) extrapolated to now, clamped to the audio actually
        delivered, never going backwards. 0.0 before start."""
        if not self._started:
            return 0.0
        return self._position(time.monotonic()) / self.sample_rate

    # ---- the device --------------------------------------------------------------------------------------

    def _open(self) -> _Opened:
        """Open (not start) a stream on the device, with a callback bound to a fresh generation."""
        sd = _sounddevice()
        self._next_gen += 1
        gen = self._next_gen

        def callback(outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
            self._callback(gen, outdata, frames, time_info, status)

        def finished() -> None:
            if gen == self._gen and not self._closed:
                self._lost = gen

        stream = sd.OutputStream(device=self._device, samplerate=self.sample_rate, channels=self.channels,
                                 dtype="float32", latency=self._latency_req, callback=callback,
                                 finished_callback=finished)
        try:
            name = str(sd.query_devices(stream.device)["name"])
        except Exception:  # noqa: BLE001 - the name is only for messages
            name = self._name
        return _Opened(stream, gen, name, float(stream.latency), self._measure_offset(stream))

    @staticmethod
    def _measure_offset(stream: Any) -> float | None:
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

    def _activate(self, opened: _Opened) -> None:
        """Make `opened` the consumer and start it (the supervisor thread, or start() before it exists)."""
        self._offset = opened.offset
        self._stream_latency = opened.latency
        self._name = opened.name
        self._stream = opened.stream
        self._t_started = self._beat = self._offset_t = time.monotonic()
        self._flowing = False
        self._lost = -1
        self._silent = False
        self._gen = opened.gen
        opened.stream.start()

    def _callback(self, gen: int, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """The PortAudio callback: copy ring slices into outdata, zero-fill the rest, publish one stamp.
        Never blocks, takes no lock, allocates no array."""
        self._busy = True
        try:
            self._beat = time.monotonic()
            if gen != self._gen:
                outdata.fill(0)
                return
            if status.output_underflow:
                self.stats.xruns += 1
            r = self._r
            s = self._skip
            if s > r:
                self._r = r = s
            if self._paused:
                outdata.fill(0)
                return
            n = min(frames, self._w - r)
            if n > 0:
                cap = self._cap
                i = r % cap
                first = min(n, cap - i)
                outdata[:first] = self._buf[i:i + first]
                if first < n:
                    outdata[first:n] = self._buf[:n - first]
            else:
                n = 0
            if n < frames:
                outdata[n:] = 0
                if not self._eos:
                    self.stats.underruns += 1
            if n == 0:
                return
            self._r = r + n
            self.stats.delivered += n
            cur = time_info.currentTime
            dac = time_info.outputBufferDacTime
            off = self._offset
            # Sample r reaches the DAC `ahead` seconds after `cur`; never trusted to be sooner than the stream's
            # output latency (ALSA's pulse plugin reports 0 for about a second after audio starts to flow).
            ahead = max(dac - cur if (dac > 0 and cur > 0) else 0.0, self._stream_latency)
            t = cur - off + ahead if (off is not None and cur > 0) else self._beat + ahead
            old = self._stamp
            if old is None:
                self._stamp = (r, t, r + n, r, t, r + n)
            else:
                self._stamp = (r, t, r + n, old[0], old[1], old[2])
        finally:
            self._busy = False

    # ---- supervision: watchdog, silent clock, re-open ----------------------------------------------------

    def _supervise(self) -> None:
        while not self._stop.wait(_TICK):
            try:
                now = time.monotonic()
                if self._silent:
                    pending = self._pending
                    if pending is not None:
                        self._pending = None
                        self._reopen_to(pending, now)
                    else:
                        self._silent_tick(now)
                else:
                    self._watch(now)
            except Exception:  # noqa: BLE001 - the clock thread must survive anything
                log.exception("audio output supervisor")

    def _watch(self, now: float) -> None:
        """Device mode: detect a lost device; keep the time-base offset fresh."""
        stream = self._stream
        lat = self._stream_latency
        beat = self._beat
        if not self._flowing and beat > self._t_started + max(0.2, 2 * lat):
            self._flowing = True
        reason = None
        if self._lost == self._gen:
            reason = "the stream finished"
        elif not stream.active:
            reason = "the stream stopped"
        elif not self._paused:
            limit = max(0.5, 4 * lat) if self._flowing else _START_TIMEOUT
            if now - max(beat, self._pause_t) > limit:
                reason = f"no callback for {now - beat:.2f} s"
        if reason is not None:
            log.warning("audio device lost; visuals continue on a silent clock")
            log.debug("audio device %s: %s", self._name, reason)
            self.stats.device_losses += 1
            self._to_silent(now, stream)
        elif now - self._offset_t > _OFFSET_REFRESH:
            self._offset_t = now
            off = self._measure_offset(stream)
            if off is not None:
                self._offset = off

    def _to_silent(self, now: float, dead: Any) -> None:
        """Silence the device's callback and let the silent clock consume, continuing from the clock now."""
        self._next_gen += 1
        self._gen = self._next_gen
        deadline = time.monotonic() + 0.05
        while self._busy and time.monotonic() < deadline:  # let a running callback finish its copy
            time.sleep(0.0005)
        self._stream = None
        now = time.monotonic()
        c = self._position(now)
        self._a_idx, self._a_t = c, now
        self._sprev = (c, now, float(self._r))
        self._silent = True
        self._publish_silent()
        self._reopener = threading.Thread(target=self._reopen_loop, args=(dead,), name="audio-out-reopen",
                                          daemon=True)
        self._reopener.start()

    def _publish_silent(self) -> None:
        a, t, end = self._a_idx, self._a_t, float(self._r)
        p = self._sprev
        self._stamp = (a, t, end, p[0], p[1], p[2])

    def _silent_tick(self, now: float) -> None:
        """Consume the ring at real-time rate: the silent clock's line is a_idx + (now - a_t) * rate."""
        rate = self.sample_rate
        r = self._r
        s = self._skip
        if s > r:  # a flush: the new audio starts where the delivered audio ends
            p = (self._a_idx, self._a_t, float(r))
            t_s = max(now, self._a_t + (r - self._a_idx) / rate)
            self._sprev = p
            self._a_idx, self._a_t = float(s), t_s
            self._r = r = s
        due = self._a_idx + (now - self._a_t) * rate
        dry = self._w == r
        if due > r and (self._paused or dry):  # nothing to hear: hold the line at the delivered end
            if dry and not self._paused and not self._eos:
                self.stats.underruns += 1
            self._sprev = (self._a_idx, self._a_t, float(r))
            self._a_idx, self._a_t = float(r), now
        elif not self._paused:
            target = math.floor(self._a_idx + (now + _SILENT_AHEAD - self._a_t) * rate)
            n = min(target - r, self._w - r)
            if n > 0:
                self._r = r + n
                self.stats.delivered += n
        self._publish_silent()

    def _reopen_to(self, opened: _Opened, now: float) -> None:
        """Switch from the silent clock to a re-opened device, continuing from the current ring position."""
        self.stats.reopened += 1  # counted before `silent` turns False: a watcher never sees one without the other
        try:
            self._activate(opened)
        except Exception as e:  # noqa: BLE001
            self.stats.reopened -= 1
            log.debug("audio device %s: start failed (%s)", opened.name, e)
            self._stream = None
            self._to_silent(now, opened.stream)
            return
        log.warning("audio device back: %s", opened.name)

    def _reopen_loop(self, dead: Any) -> None:
        """Close the dead stream, then every retry_seconds re-initialise PortAudio and try to open the device."""
        if dead is not None:
            _dispose(dead, 2.0).join()
        while not self._stop.wait(self.retry_seconds):
            try:
                sd = _sounddevice()
                if sd._initialized:  # refresh PortAudio's device list: only way to see a restarted server
                    sd._terminate()
                sd._initialize()
                opened = self._open()
            except Exception as e:  # noqa: BLE001 - still gone; try again later
                log.debug("audio device %s: re-open failed (%s)", self._name, str(e).splitlines()[0] if str(e) else e)
                continue
            if self._stop.is_set():
                _dispose(opened.stream)
                return
            self._pending = opened
            return
