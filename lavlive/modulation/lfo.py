"""Low-frequency oscillators: a shape over one cycle, all in [0, 1], read at a position counted in cycles.

The position comes from the audio's time (a rate in Hz) or from the beat clock (a period in beats), never
from the wall clock, so a render and a show of the same track draw the same. `random` holds one value per
cycle, drawn from a hash of the route's seed and the cycle's number: the same on every run and every machine.
"""

from __future__ import annotations

import numpy as np

SHAPES = ("sine", "triangle", "saw", "square", "random")


def lfo(shape: str, cycles: np.ndarray, seed: int = 0) -> np.ndarray:
    """The shape at positions `cycles` (float, in cycles from 0): sine and triangle start at 0 and peak at half
    a cycle, saw rises 0 → 1, square is 1 for the first half, random holds a value per whole cycle."""
    cycles = np.asarray(cycles, np.float64)
    phase = cycles - np.floor(cycles)
    if shape == "sine":
        return 0.5 - 0.5 * np.cos(2 * np.pi * phase)
    if shape == "triangle":
        return 1 - np.abs(2 * phase - 1)
    if shape == "saw":
        return phase
    if shape == "square":
        return (phase < 0.5).astype(np.float64)
    if shape == "random":
        return _hashed(np.floor(cycles).astype(np.int64), seed)
    raise ValueError(f"unknown LFO shape {shape!r}")


def _hashed(n: np.ndarray, seed: int) -> np.ndarray:
    """Uniform in [0, 1) from integers: a SplitMix64 step of (seed, n), wrapping in uint64."""
    with np.errstate(over="ignore"):
        x = (n.astype(np.uint64) + np.uint64(seed & 0xFFFFFFFF) * np.uint64(0x9E3779B97F4A7C15)
             + np.uint64(0x9E3779B97F4A7C15))
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)
