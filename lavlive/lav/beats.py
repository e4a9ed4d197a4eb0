"""Beats, as a VJ's tools want them: an event the moment a hit starts, from the onset envelope alone.

A beat is a rising crossing of `threshold` by the percussive onset strength (which the features
scale into [0, 1] against a decaying running peak, so a hit as loud as the recent ones is near 1),
at least `refractory` seconds after the last beat. Causal and instant: no tempo model, so no
lookahead and no prediction. A crossing inside the refractory period is dropped (a flam is one
beat), and a roll that keeps the onset above the threshold is one beat until it falls back.
"""

from __future__ import annotations

import numpy as np


class BeatDetector:
    """Streaming: `push(onset [T])` → bool [T], True where a beat starts; `count` beats so far."""

    def __init__(self, frame_rate: float, threshold: float = 0.5, refractory: float = 0.2) -> None:
        self.threshold = threshold
        self.refractory_frames = max(1, round(refractory * frame_rate))
        self.count = 0
        self._previous = 0.0
        self._since = self.refractory_frames  # frames since the last beat

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
