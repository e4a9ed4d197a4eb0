"""The modulation matrix: every route of a look, evaluated per control frame, summed per target.

    source ─▶ gain·x + offset ─▶ sign(x)·|x|^curve ─▶ attack/release ─▶ held to beat/bar lines ─▶ × amount ─┐
    source ─▶ …                                                                                           ├─▶ Σ per target
                                                                                                          ┘
A route's value runs at the control rate (the encoder's, 75 Hz for the 24 kHz model), like the ws it moves.
The attack/release follower is one-pole: per frame it moves 1 − exp(−1 / (seconds · rate)) of the way to its
input, with the attack's seconds while rising and the release's while falling (0: at once). Quantised, the
route's output changes only on a frame where a beat (bar) line falls, taking the follower's value there.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import asdict

import numpy as np

from ..errors import LavliveError
from ..snapshot import array_of, reading, same_settings
from .lfo import lfo
from .routes import Route, route_from_dict
from .sources import LFO, SourceFrames


class ModulationMatrix:
    """Streaming: `push(SourceFrames)` → {target: offsets [T]} for the targets some route moves."""

    def __init__(self, routes: Sequence[Route], frame_rate: float) -> None:
        self.routes, self.frame_rate = tuple(routes), frame_rate
        self._rise = np.array([_step(r.attack, frame_rate) for r in self.routes])
        self._fall = np.array([_step(r.release, frame_rate) for r in self.routes])
        self._follow = np.zeros(len(self.routes))  # each route's follower
        self._held = np.zeros(len(self.routes))  # each quantised route's output between lines
        self.last: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # route → its source and what it added, last push

    def __bool__(self) -> bool:
        return bool(self.routes)

    def change(self, name: str, key: str, value: float) -> None:
        """Set one field (amount, gain, offset) of the route `name` from the next push on, checked as a preset's
        would be (LavliveError, and nothing changed, if refused); its follower and held value carry on."""
        index = next((i for i, r in enumerate(self.routes) if r.name == name), None)
        if index is None:
            known = ", ".join(r.name for r in self.routes) or "none"
            raise LavliveError(f"no route '{name}' in the preset on screen (its routes: {known})")
        changed = route_from_dict({**self.routes[index].to_dict(), key: value}, f"route '{name}'")
        self.routes = self.routes[:index] + (changed,) + self.routes[index + 1:]

    def push(self, frames: SourceFrames) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        self.last = {}
        for i, route in enumerate(self.routes):
            source = self._source(route, frames)
            added = route.amount * self._shaped(i, route, source, frames)
            out[route.target] = out.get(route.target, 0.0) + added
            self.last[route.name] = source, added
        return out

    def _source(self, route: Route, frames: SourceFrames) -> np.ndarray:
        if route.source != LFO:
            return frames[route.source]
        cycles = frames.time * route.hz if route.hz else np.maximum(frames.position, 0) / route.beats
        return lfo(route.shape, cycles, seed=zlib.crc32(route.name.encode()))

    def _shaped(self, i: int, route: Route, x: np.ndarray, frames: SourceFrames) -> np.ndarray:
        x = route.gain * x + route.offset
        if route.curve != 1.0:
            x = np.sign(x) * np.abs(x) ** route.curve
        y = np.empty(len(x))
        follow, rise, fall = self._follow[i], self._rise[i], self._fall[i]
        if rise == fall == 1.0:
            y[:] = x
            follow = x[-1] if len(x) else follow
        else:
            for k, value in enumerate(x):
                follow += (rise if value > follow else fall) * (value - follow)
                y[k] = follow
        self._follow[i] = follow
        if route.quantise == "none":
            return y
        lines = frames.beat_line if route.quantise == "beat" else frames.bar_line
        held = self._held[i]
        for k in range(len(y)):
            if lines[k]:
                held = y[k]
            y[k] = held
        self._held[i] = held
        return y

    def state(self) -> dict:
        """The followers and held values, as plain data (see lavlive/snapshot.py)."""
        return {"routes": self._settings(), "follow": self._follow.copy(), "held": self._held.copy()}

    def load_state(self, state: dict) -> None:
        with reading("the modulation routes"):
            same_settings(state["routes"], self._settings(), "a look's routes")
            n = len(self.routes)
            follow = array_of(state["follow"], "the routes' followers", (n,), np.float64)
            held = array_of(state["held"], "the routes' held values", (n,), np.float64)
        self._follow, self._held = follow, held

    def copy(self) -> ModulationMatrix:
        other = ModulationMatrix(self.routes, self.frame_rate)
        other._follow, other._held = self._follow.copy(), self._held.copy()
        return other

    def _settings(self) -> dict:
        return {"frame_rate": float(self.frame_rate), "routes": [asdict(r) for r in self.routes]}


def _step(seconds: float, frame_rate: float) -> float:
    """The share of the way a one-pole follower moves per frame: 1 for 0 s."""
    return 1.0 if seconds <= 0 else 1 - math.exp(-1 / (seconds * frame_rate))
