"""The play order: positions 0, 1, 2, … → playlist entries, pass after pass when looping.

A pass is one time through the playlist (a new shuffle each pass when shuffling). Each pass after
the first reads the playlist again from its inputs first, so tracks added to a folder or playlist
file join at the next loop and removed ones leave it; a playlist that cannot be read at that moment
(half saved, deleted) is logged and the last good one goes round again. Only the latest passes are
kept: a kiosk goes round for months.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from .playlist import Entry, Playlist

log = logging.getLogger(__name__)

KEPT_PASSES = 8  # 'previous' reaches back one track; the player falls back to `oldest` past these


@dataclass(frozen=True)
class Place:
    """Where a position of the play order lies: the pass, the index in that pass's order, the entry."""

    pass_index: int
    index: int
    entry: Entry
    size: int  # entries in that pass


class PlayOrder:
    """Thread-safe (the feeder reads ahead, the player goes next and previous). `reload` reads the playlist
    again (None: never); the first pass is `first_pass` (a resumed show goes on from its pass)."""

    def __init__(self, playlist: Playlist, reload: Callable[[], Playlist] | None = None, first_pass: int = 0) -> None:
        self.playlist = playlist
        self.reload = reload
        self._passes: dict[int, tuple[int, list[Entry]]] = {first_pass: (0, playlist.order(first_pass))}
        self._lock = threading.Lock()

    @property
    def oldest(self) -> int:
        """The first position still known (a show far past a position forgets it)."""
        with self._lock:
            return self._passes[min(self._passes)][0]

    def at(self, position: int) -> Place | None:
        """Where `position` lies; None before the oldest kept pass or past the end of a playlist that does not
        loop. A new pass reads the playlist again outside the lock, so the player is never held up by a slow disk."""
        while True:
            with self._lock:
                if position < 0 or position < self._passes[min(self._passes)][0]:
                    return None
                last = max(self._passes)
                start, entries = self._passes[last]
                if position < start + len(entries):
                    return self._place(position)
                if not self.playlist.loop:
                    return None
            fresh = self._read_again()
            with self._lock:
                if max(self._passes) == last:  # nobody began it meanwhile
                    self._begin(last + 1, start + len(entries), fresh)

    def crossfade_before(self, entry: Entry) -> float:
        return self.playlist.crossfade_before(entry)

    def _place(self, position: int) -> Place:
        for number in sorted(self._passes, reverse=True):
            start, entries = self._passes[number]
            if position >= start:
                return Place(number, position - start, entries[position - start], len(entries))
        raise AssertionError("a position before the oldest pass")  # at() checked it

    def _read_again(self) -> Playlist | None:
        """The playlist as its inputs say now; None (with a log line) if they cannot be read at the moment."""
        if self.reload is None:
            return None
        try:
            return self.reload()
        except Exception as e:  # noqa: BLE001 - a half-saved playlist or a vanished share must not end the show
            log.warning("playlist not read again (%s); playing the last good one", str(e).splitlines()[0] if str(e)
                        else type(e).__name__)
            return None

    def _begin(self, number: int, start: int, fresh: Playlist | None) -> None:
        """Pass `number` starts at `start`, with the playlist read again if it could be; old passes are forgotten."""
        if fresh is not None:
            fresh.shuffle_seed = self.playlist.shuffle_seed
            if [e.path for e in fresh.entries] != [e.path for e in self.playlist.entries]:
                log.info("playlist changed: %d track%s from this loop on", len(fresh.entries),
                         "" if len(fresh.entries) == 1 else "s")
            self.playlist = fresh
        self._passes[number] = (start, self.playlist.order(number))
        for old in [n for n in self._passes if n <= number - KEPT_PASSES]:
            del self._passes[old]
