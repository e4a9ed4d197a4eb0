"""The sound of a show: the playlist's tracks decoded in order into the audio output, crossfaded.

The feeder decodes each track at the device's rate, mixes each overlap with equal-power fades
and writes it to the audio output. It decides where each track starts, because only decoding
tells a track's exact length, and publishes that as `slots`: the timeline the picture follows
(pipeline/setlist.py). Tracks are prepared (playback/preparer.py) in the background while the
previous one plays; one that cannot be prepared is skipped with a log line.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future

import numpy as np
import torch

from ..output.audio import AudioOutput
from ..pipeline.setlist import Slot, Slots, Track
from .playlist import Entry

log = logging.getLogger(__name__)

BACKOFF_SECONDS = 5.0  # between tries when every track failed in a row


class Stopped(Exception):
    """The show was closed while the feeder waited."""


def _fades(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Equal-power fade-out and fade-in gains over n samples (power sums to 1 throughout)."""
    x = (np.arange(n) + 0.5) / max(n, 1) * (math.pi / 2)
    return np.cos(x).astype(np.float32)[:, None], np.sin(x).astype(np.float32)[:, None]


Upcoming = Iterator[tuple[Entry, float, "Future[Track]"]]  # entry, its crossfade in seconds, its preparation


class Feeder:
    """Decodes the tracks in order into the audio output, crossfading; publishes where each sounds.

    While a track is decoded, its last `hold` samples (the next entry's crossfade) are kept back;
    at its end they become the tail that is mixed into the next track's start, so the next track
    starts `keep` samples (the crossfade, at most half this track) before this one ends. Since a
    track ends no earlier than what is decoded of it, `safe_until = written + held - hold` is a
    lower bound on the next track's start: every track starting before it is in `slots`, and the
    plan waits for it instead of guessing (the feeder runs seconds ahead of playback).
    """

    def __init__(self, upcoming: Upcoming, audio: AudioOutput, on_skip: Callable[[Entry, BaseException], None],
                 backoff_after: int = 0) -> None:
        self.upcoming, self.audio, self.on_skip = upcoming, audio, on_skip
        self.backoff_after = backoff_after  # failures in a row before waiting between tries (0: never)
        self.rate = audio.sample_rate
        self.slots = Slots()
        self.safe_until: float = 0  # samples
        self.finished = False  # every track is written; the last slot's end is the end of the show
        self.error: BaseException | None = None
        self.written = 0  # samples written to the audio output
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lavlive-feeder", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        torch.set_num_threads(1)
        try:
            self._feed()
        except Stopped:
            pass
        except BaseException as e:  # noqa: BLE001 - reported to the plan and the player
            self.error = e
        finally:
            self.finished = True
            self.safe_until = math.inf

    def _write(self, x: np.ndarray) -> None:
        if len(x) and not self.audio.write(np.ascontiguousarray(x, np.float32), self._stop):
            raise Stopped
        self.written += len(x)

    def _ready(self, item: tuple[Entry, float, Future[Track]] | None) -> tuple[Track, float] | None:
        """Wait for a prepared track; one that failed is reported and skipped for the next one.

        When every file fails in a row (a kiosk whose folder went bad), it waits a little between
        tries instead of spinning."""
        failures = 0
        while item is not None:
            entry, crossfade, future = item
            while not future.done():
                if self._stop.wait(0.02):
                    raise Stopped
            try:
                return future.result(), crossfade
            except Exception as e:  # noqa: BLE001 - any failure to prepare a track skips it
                self.on_skip(entry, e)
            failures += 1
            if self.backoff_after and failures >= self.backoff_after and self._stop.wait(BACKOFF_SECONDS):
                raise Stopped
            item = next(self.upcoming, None)
        return None

    def _feed(self) -> None:
        channels = self.audio.channels
        tail = np.zeros((0, channels), np.float32)  # the previous track's end, held back to overlap this one
        current = self._ready(next(self.upcoming, None))
        while current is not None:
            track = current[0]
            slot = Slot(track, self.written)  # the tail, not yet written, overlaps this track's start
            self.slots.append(slot)
            ahead = next(self.upcoming, None)  # its preparation starts now, while this track plays
            hold = 0 if ahead is None else int(round(ahead[1] * self.rate))
            fade_out, fade_in = _fades(len(tail))
            held: deque[np.ndarray] = deque()
            held_len = fade_pos = 0
            for block in track.audio:
                x = block.T
                if fade_pos < len(tail):  # mix the previous track's tail into this one's start
                    n = min(len(x), len(tail) - fade_pos)
                    x = x.copy()
                    x[:n] = x[:n] * fade_in[fade_pos:fade_pos + n] + tail[fade_pos:fade_pos + n] * \
                        fade_out[fade_pos:fade_pos + n]
                    fade_pos += n
                held.append(x)
                held_len += len(x)
                while held and held_len - len(held[0]) >= hold:  # keep back only what the next crossfade needs
                    first = held.popleft()
                    held_len -= len(first)
                    self._write(first)
                self.safe_until = self.written + held_len - hold
            if fade_pos < len(tail):  # a track shorter than the crossfade: the rest of the tail alone
                held.append(tail[fade_pos:] * fade_out[fade_pos:])
            x = np.concatenate(list(held)) if held else np.zeros((0, channels), np.float32)
            current = self._ready(ahead)
            length = self.written - slot.start + len(x)  # this track's samples, overlaps included
            keep = 0 if current is None else min(int(round(current[1] * self.rate)), hold, len(x), length // 2)
            self._write(x[:len(x) - keep])
            tail = x[len(x) - keep:]
            slot.end = self.written + len(tail)
            log.debug("%s sounds over %.3f-%.3f s", track.entry.name, slot.start / self.rate, slot.end / self.rate)
        self._write(tail)
        self.audio.end_of_stream()
