"""A second Ableton Link peer for the tests, standing in for the DJ's software (Link finds peers over
loopback, as on a stage network). It needs the binding, `link` (LinkPython-extern)."""

from __future__ import annotations

import time


class Peer:
    """Another peer of the session: it sets the tempo and tells its beat at an instant."""

    def __init__(self, bpm: float = 100.0) -> None:
        import link as ableton

        self.link = ableton.Link(bpm)
        self.link.enabled = True

    def beat_at(self, monotonic: float, quantum: int = 4) -> float:
        """Its beat at a time.monotonic() instant."""
        offset = self.link.clock().micros() - time.monotonic() * 1e6
        return self.link.captureAppSessionState().beatAtTime(round(monotonic * 1e6 + offset), quantum)

    def set_tempo(self, bpm: float) -> None:
        state = self.link.captureAppSessionState()
        state.setTempo(bpm, self.link.clock().micros())
        self.link.commitAppSessionState(state)

    def close(self) -> None:
        self.link.enabled = False


def follows(lavlive, peer: Peer, bpm: float, timeout: float = 5.0) -> float | None:
    """The peer sets `bpm` once it and lavlive's Link (an AbletonLink) have found each other; the seconds
    until lavlive has that tempo, or None if it has not within `timeout` (counted from the call)."""
    deadline = time.monotonic() + timeout
    while (lavlive.now().peers == 0 or peer.link.numPeers() == 0) and time.monotonic() < deadline:
        time.sleep(0.01)
    peer.set_tempo(bpm)
    asked = time.monotonic()
    while time.monotonic() < deadline:
        if abs(lavlive.now().tempo - bpm) < 0.01:
            return time.monotonic() - asked
        time.sleep(0.01)
    return None
