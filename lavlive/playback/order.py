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

from ..errors import LavliveError
from .playlist import Entry, Playlist

log = logging.getLogger(__name__)

KEPT_PASSES = 3  # 'previous' reaches back one track at most; a little more is kept


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

    def at(self, position: int) -> Place | None:
        """Where `position` lies; None before the first kept pass or past the end of a playlist that does not loop."""
        with self._lock:
            if position < 0 or position < self._passes[min(self._passes)][0]:
                return None
            while True:
                last = max(self._passes)
                start, entries = self._passes[last]
                if position < start + len(entries):
                    break
                if not self.playlist.loop:
                    return None
                self._begin(last + 1, start + len(entries))
            for number in sorted(self._passes, reverse=True):
                start, entries = self._passes[number]
                if position >= start:
                    return Place(number, position - start, entries[position - start], len(entries))
        return None

    def crossfade_before(self, entry: Entry) -> float:
        return self.playlist.crossfade_before(entry)

    def _begin(self, number: int, start: int) -> None:
        """Pass `number` starts at `start`: the playlist read again, its order drawn, old passes forgotten."""
        if self.reload is not None:
            try:
                fresh = self.reload()
            except LavliveError as e:
                log.warning("playlist not read again (%s); playing the last good one", str(e).splitlines()[0])
            else:
                fresh.shuffle_seed = self.playlist.shuffle_seed
                if [e.path for e in fresh.entries] != [e.path for e in self.playlist.entries]:
                    log.info("playlist changed: %d track%s from this loop on", len(fresh.entries),
                             "" if len(fresh.entries) == 1 else "s")
                self.playlist = fresh
        self._passes[number] = (start, self.playlist.order(number))
        for old in [n for n in self._passes if n <= number - KEPT_PASSES]:
            del self._passes[old]
