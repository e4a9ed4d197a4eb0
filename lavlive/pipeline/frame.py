"""A frame on its way through the pipeline: planned with its time and ws, then drawn."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .synthesizer import Synthesizer


@dataclass
class Frame:
    """Planned with its ws (by a plan, in the analysis thread), then drawn (its image, by synthesis)."""

    index: int
    time: float  # presentation time in seconds from the start of the audio
    ws: np.ndarray  # [num_ws, w_dim]
    image: np.ndarray | torch.Tensor | None = None  # [H, W, 3] uint8
    synthesizer: Synthesizer | None = None  # draws this frame; None: the engine's
    blend: Frame | None = None  # a second picture dissolved over this one (a crossfade between models)
    alpha: float = 0.0  # weight of `blend`
    onset: float = 0.0  # percussive onset strength at its time, in [0, 1]
    beats: int = 0  # beats detected up to its time (counting on through a show: a rise is a new beat)
    beat_time: float | None = None  # audio time of the newest of those beats (live: click-to-picture latency)
    switch: float = 1.0  # weight of the look a seed or preset switch went to last (0 → 1 while it fades in)
    picture: np.ndarray | None = None  # the controls drawing it applies (modulation.PICTURE); None: neutral
    planned_at: float = 0.0  # time.monotonic() when its ws were known
    drawn_at: float = 0.0  # time.monotonic() when its picture was ready
