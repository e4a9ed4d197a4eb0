"""Keeping the clock going when the sound card is not there: the watchdog's reaction, the silent clock, re-opening.

When the device cannot be opened or is lost (PortAudio finishes the stream, or callbacks stop), the
clock thread consumes the ring in real time instead (the silent clock), so the feeder keeps flowing
and the visuals keep moving; another thread re-initialises PortAudio and retries every
`retry_seconds`, and hands a re-opened stream to the clock thread, which switches to it at a tick.
Only the clock thread (or start() before it exists) switches between device and silent clock, so
the switch needs no lock.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from ...audio.sources import refresh_portaudio
from .clock import SilentClock
from .device import Device, Opened, dispose
from .stats import AudioStats

log = logging.getLogger(__name__)

_TICK = 0.005  # period of the supervising thread (silent clock, device watchdog), seconds


class Supervisor:
    """The "audio-out-clock" thread: each tick, either watch the device or run the silent clock (and switch to a
    re-opened device); plus the "audio-out-reopen" thread while the device is away. `open_stream` opens a stream
    (the output's `_open`); `stop` is set by `close`."""

    def __init__(self, device: Device, silent_clock: SilentClock, stats: AudioStats, stop: threading.Event,
                 open_stream: Callable[[], Opened], retry_seconds: float) -> None:
        self._device = device
        self._silent_clock = silent_clock
        self._stats = stats
        self._stop = stop
        self._open = open_stream
        self._retry = retry_seconds
        self._pending: Opened | None = None  # a re-opened stream waiting to be switched to
        self._thread: threading.Thread | None = None
        self._reopener: threading.Thread | None = None

    def start(self) -> None:
        """Open and start the device stream; if it cannot be opened, log a warning and run on the silent clock.
        Then start the clock thread."""
        opened = None
        try:
            opened = self._open()
            self._device.activate(opened)
        except Exception as e:  # noqa: BLE001 - any PortAudio/driver failure means: no device for now
            log.warning("audio device %s cannot be opened (%s); visuals continue on a silent clock",
                        self._device.name, str(e).splitlines()[0] if str(e) else type(e).__name__)
            self._to_silent(time.monotonic(), opened.stream if opened is not None else None)
        self._thread = threading.Thread(target=self._run, name="audio-out-clock", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop both threads and close every stream; returns within ~0.5 s."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(0.2)
        stream = self._device.close()
        pending, self._pending = self._pending, None
        for s in (stream, pending.stream if pending is not None else None):
            if s is not None:
                dispose(s, 0.15)
        if self._reopener is not None:
            self._reopener.join(0.1)
        late, self._pending = self._pending, None  # the reopener may have finished just now
        if late is not None:
            dispose(late.stream, 0.15)

    def _run(self) -> None:
        while not self._stop.wait(_TICK):
            try:
                now = time.monotonic()
                if self._device.silent:
                    pending = self._pending
                    if pending is not None:
                        self._pending = None
                        self._reopen_to(pending, now)
                    else:
                        self._silent_clock.tick(now)
                else:
                    self._watch(now)
            except Exception:  # noqa: BLE001 - the clock thread must survive anything
                log.exception("audio output supervisor")

    def _watch(self, now: float) -> None:
        """Device mode: on a lost device, go silent."""
        stream = self._device.stream
        reason = self._device.watch(stream, now)
        if reason is not None:
            log.warning("audio device lost; visuals continue on a silent clock")
            log.debug("audio device %s: %s", self._device.name, reason)
            self._stats.device_losses += 1
            self._to_silent(now, stream)

    def _to_silent(self, now: float, dead: Any) -> None:
        """Silence the device's callback and let the silent clock consume, continuing from the clock now; start
        re-opening (after closing `dead`, the stream given up on, if any)."""
        self._device.silence()
        now = time.monotonic()
        self._silent_clock.begin(now)
        self._device.silent = True
        self._silent_clock.publish()
        self._reopener = threading.Thread(target=self._reopen_loop, args=(dead,), name="audio-out-reopen",
                                          daemon=True)
        self._reopener.start()

    def _reopen_to(self, opened: Opened, now: float) -> None:
        """Switch from the silent clock to a re-opened device, continuing from the current ring position."""
        self._stats.reopened += 1  # counted before `silent` turns False: a watcher never sees one without the other
        try:
            self._device.activate(opened)
        except Exception as e:  # noqa: BLE001
            self._stats.reopened -= 1
            log.debug("audio device %s: start failed (%s)", opened.name, e)
            self._device.stream = None
            self._to_silent(now, opened.stream)
            return
        log.warning("audio device back: %s", opened.name)

    def _reopen_loop(self, dead: Any) -> None:
        """Close the dead stream, then every retry_seconds re-initialise PortAudio (the only way to see a restarted
        server) and try to open the device; a stream that opens waits in `_pending` for the clock thread."""
        if dead is not None:
            dispose(dead, 2.0).join()
        while not self._stop.wait(self._retry):
            try:
                refresh_portaudio()
                opened = self._open()
            except Exception as e:  # noqa: BLE001 - still gone; try again later
                log.debug("audio device %s: re-open failed (%s)", self._device.name,
                          str(e).splitlines()[0] if str(e) else e)
                continue
            if self._stop.is_set():
                dispose(opened.stream)
                return
            self._pending = opened
            return
