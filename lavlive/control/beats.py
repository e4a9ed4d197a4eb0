"""Beats, as a VJ's tools want them: an event the moment a hit starts, from the onset envelope alone.

A beat is a rising crossing of `threshold` by the percussive onset strength (which the features
scale into [0, 1] against a decaying running peak, so a hit as loud as the recent ones is near 1),
at least `refractory` seconds after the last beat. Causal and instant: no tempo model, so no
lookahead and no prediction. A crossing inside the refractory period is dropped (a flam is one
beat), and a roll that keeps the onset above the threshold is one beat until it falls back.
"""

from __future__ import annotations

import numpy as np

from ..snapshot import reading, same_settings, scalar_of


class BeatDetector:
    """Streaming: `push(onset [T])` → bool [T], True where a beat starts; `count` beats so far."""

    def __init__(self, frame_rate: float, threshold: float = 0.5, refractory: float = 0.2) -> None:
        self.threshold = threshold
        self.refractory_frames = max(1, round(refractory * frame_rate))
        self.count = 0
        self._previous = 0.0
        self._since = self.refractory_frames  # frames since the last beat

    def state(self) -> dict:
        """The count and what the next crossing depends on, as plain data (see lavlive/snapshot.py)."""
        return {"settings": self._settings(), "count": self.count, "previous": self._previous, "since": self._since}

    def load_state(self, state: dict) -> None:
        with reading("the beat detector"):
            same_settings(state["settings"], self._settings(), "a beat detector")
            count, since = (int(scalar_of(state[k], f"the beats' {k}", (int, np.integer))) for k in ("count", "since"))
            previous = scalar_of(state["previous"], "the beats' previous onset", (int, float, np.floating))
        self.count, self._previous, self._since = count, previous, since

    def _settings(self) -> dict:
        return {"threshold": self.threshold, "refractory_frames": self.refractory_frames}

    def push(self, onset: np.ndarray) -> np.ndarray:
        beats = np.zeros(len(onset), bool)
        for t, value in enumerate(np.asarray(onset, np.float64)):
            self._since += 1
            if value >= self.threshold > self._previous and self._since >= self.refractory_frames:
                beats[t] = True
                self._since = 0
            self._previous = value
        self.count += int(beats.sum())
        return beats
