"""Ableton Link: lavlive joins the tempo session of a DJ's software, a band's Live set or a drum
machine on the network, shows where the session's timeline stands, and can start switches on its
beats and bars.

Optional (`pip install 'lavlive[link]'`): LinkPython-extern, whose wheels build in Ableton's Link
library (GPL-2.0-or-later; lavlive itself stays MIT and imports it only when `--link` is given).

Link's timeline is a function of Link's own host clock (`clock().micros()`, CLOCK_MONOTONIC_RAW on
Linux), while lavlive's clocks (the audio clock, the frame log) are `time.monotonic()`. Each
conversion reads both clocks back to back, so the offset between them (which drifts slowly under
NTP) never goes stale. A beat line here is an integral beat of the session; a bar line is a beat
where the phase over `quantum` beats is 0, the same for every peer using that quantum.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from ..errors import LavliveError

log = logging.getLogger(__name__)

INSTALL_HINT = "Ableton Link needs LinkPython-extern: pip install 'lavlive[link]'"
QUANTUM = 4  # beats per bar: what Live and most Link apps use


def _binding() -> Any:
    try:
        import link
    except ImportError:
        raise LavliveError(f"--link: {INSTALL_HINT}") from None
    return link


@dataclass(frozen=True)
class LinkNow:
    """Where the session stands at one instant."""

    tempo: float  # beats per minute
    beat: float  # position on the session's timeline
    phase: float  # beat within the bar, 0 ≤ phase < quantum
    quantum: int
    peers: int

    def describe(self) -> str:
        peers = "alone" if self.peers == 0 else f"{self.peers} peer{'s' if self.peers > 1 else ''}"
        return f"link {self.tempo:.1f} bpm, beat {self.phase + 1:.2f} of {self.quantum}, {peers}"


class AbletonLink:
    """A Link peer, enabled from construction until `close`."""

    def __init__(self, quantum: int = QUANTUM, tempo: float = 120.0) -> None:
        if not 1 <= quantum <= 16:
            raise LavliveError(f"--link-quantum {quantum}: use 1 to 16 beats per bar")
        self.quantum = quantum
        self._link = _binding().Link(float(tempo))
        self._link.enabled = True
        self._clock = self._link.clock()
        log.info("link: joined the session (%d beats per bar)", quantum)

    def _link_time(self, monotonic: float) -> int:
        """A time.monotonic() instant on Link's clock, in microseconds."""
        before = time.monotonic()
        micros = self._clock.micros()
        after = time.monotonic()
        return round(micros + (monotonic - (before + after) / 2) * 1e6)

    def _monotonic(self, micros: int) -> float:
        before = time.monotonic()
        now = self._clock.micros()
        after = time.monotonic()
        return (before + after) / 2 + (micros - now) / 1e6

    def now(self) -> LinkNow:
        state = self._link.captureAppSessionState()
        t = self._clock.micros()
        return LinkNow(state.tempo(), state.beatAtTime(t, self.quantum), state.phaseAtTime(t, self.quantum),
                       self.quantum, self._link.numPeers())

    def next_line(self, after: float, unit: str) -> tuple[float, float]:
        """(time.monotonic() instant, beat) of the first beat or bar line (`unit` 'beat' or 'bar') at or
        after the time.monotonic() instant `after`."""
        state = self._link.captureAppSessionState()
        t = self._link_time(after)
        beat = state.beatAtTime(t, self.quantum)
        if unit == "bar":
            phase = state.phaseAtTime(t, self.quantum)
            line = beat - phase + (self.quantum if phase > 1e-9 else 0)
        else:
            line = float(math.ceil(beat - 1e-9))
        return self._monotonic(state.timeAtBeat(line, self.quantum)), line

    def set_tempo(self, bpm: float) -> None:
        """Propose a tempo to the session (every peer follows the latest proposal)."""
        state = self._link.captureAppSessionState()
        state.setTempo(float(bpm), self._clock.micros())
        self._link.commitAppSessionState(state)

    def close(self) -> None:
        self._link.enabled = False
