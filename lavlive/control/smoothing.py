"""Hierarchical causal smoothing: each ws index is averaged over its layer group's own window.

Each ws index feeds layers that work at some resolution (the generator says which: `ws_resolutions`
of its config; StyleGAN2's index l works at min(4·2^ceil(l/2), R), StyleGAN3's at twice its layer's
cutoff frequency). Indices are grouped by that resolution into coarse (≤ coarse_max), middle
(≤ middle_max) and fine, and each group is a causal box average of w over its window in seconds, so
slow layers (pose, layout) drift while fine layers (texture, colour detail) follow the beat, and the
look does not change with the frame rate. One ring buffer of w serves all groups, since they differ
only in how far back they look.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..presets import SmoothingSettings
from ..snapshot import array_of, fits, reading, same_settings, scalar_of

GROUPS = ("coarse", "middle", "fine")


def ws_resolutions(num_ws: int, img_resolution: int) -> list[int]:
    """StyleGAN2's: see GeneratorConfig.ws_resolutions."""
    return [min(4 * 2 ** math.ceil(l / 2), img_resolution) for l in range(num_ws)]  # noqa: E741


def ws_groups(num_ws: int, img_resolution: int, settings: SmoothingSettings,
              resolutions: Sequence[float] | None = None) -> np.ndarray:
    """Group index (0 coarse, 1 middle, 2 fine) of every ws index, by `resolutions` (default: StyleGAN2's)."""
    res = np.array(ws_resolutions(num_ws, img_resolution) if resolutions is None else resolutions)
    if len(res) != num_ws:
        raise ValueError(f"{len(res)} ws resolutions for {num_ws} ws")
    return np.where(res <= settings.coarse_max_resolution, 0, np.where(res <= settings.middle_max_resolution, 1, 2))


class HierarchicalSmoother:
    """Streaming: `push(w [T, w_dim])` → ws [T, num_ws, w_dim]; output t uses only inputs ≤ t. `resolutions`:
    the resolution each ws index works at (default: StyleGAN2's for num_ws and img_resolution)."""

    def __init__(self, num_ws: int, img_resolution: int, settings: SmoothingSettings, frame_rate: float,
                 w_dim: int = 512, resolutions: Sequence[float] | None = None) -> None:
        self.settings = settings  # as built (set_seconds changes `windows`, not this)
        self.resolutions = None if resolutions is None else tuple(resolutions)
        self.groups = ws_groups(num_ws, img_resolution, settings, resolutions)
        seconds = [settings.coarse, settings.middle, settings.fine]
        self.windows = [max(1, round(s * frame_rate)) for s in seconds]
        self.members = [np.flatnonzero(self.groups == g) for g in range(len(GROUPS))]
        self.ring = np.zeros((max(self.windows), w_dim), np.float32)
        self.num_ws, self.w_dim = num_ws, w_dim
        self.frame_rate = frame_rate
        self.reset()

    def set_seconds(self, coarse: float | None = None, middle: float | None = None, fine: float | None = None) -> None:
        """New window lengths in seconds (None: unchanged) from the next push on (stage control; call it from
        the pushing thread). The ring grows when a window outgrows it, keeping the frames it holds, and
        never shrinks, so a window that grows back finds its history."""
        seconds = (coarse, middle, fine)
        windows = [n if s is None else max(1, round(s * self.frame_rate)) for n, s in zip(self.windows, seconds)]
        self._hold(max(windows))
        self.windows = windows

    def _hold(self, need: int) -> None:
        """Grow the ring to hold `need` frames, keeping the ones it holds."""
        cap = len(self.ring)
        if need > cap:
            ring = np.zeros((need, self.w_dim), np.float32)
            frames = self.count - 1 - np.arange(min(self.count, cap))  # the frame numbers the ring holds
            ring[frames % need] = self.ring[frames % cap]
            self.ring = ring

    def reset(self) -> None:
        self.count = 0

    def state(self) -> dict:
        """The ring of recent w and the frame count, as plain data (see lavlive/snapshot.py)."""
        return {"settings": self._settings(), "ring": self.ring.copy(), "count": self.count}

    def load_state(self, state: dict) -> None:
        """Go on from `state`, taken from a smoother with the same layers and windows."""
        with reading("the smoothing"):
            same_settings(state["settings"], self._settings(), "a smoothing")
            ring = array_of(state["ring"], "the smoothing's ring", (None, self.w_dim), np.float32)
            fits(len(ring) >= max(self.windows), f"the smoothing's ring holds {len(ring)} frames, "
                 f"its windows need {max(self.windows)}")
            count = int(scalar_of(state["count"], "the smoothing's count", (int, np.integer)))
        self.ring, self.count = ring, count  # a ring grown by set_seconds stays as large

    def _settings(self) -> dict:
        return {"num_ws": self.num_ws, "w_dim": self.w_dim, "frame_rate": self.frame_rate,
                "groups": [int(g) for g in self.groups], "windows": list(self.windows)}

    def push(self, w: np.ndarray, seconds: np.ndarray | None = None) -> np.ndarray:
        """`seconds` [T, 3]: each frame's own window per group (routes moving them), in place of `windows`."""
        frames = None if seconds is None else np.maximum(1, np.round(np.asarray(seconds) * self.frame_rate)).astype(int)
        if frames is not None and len(frames):
            self._hold(int(frames.max()))
        cap = len(self.ring)
        out = np.empty((len(w), self.num_ws, self.w_dim), np.float32)
        for t, frame in enumerate(np.asarray(w, np.float32)):
            self.ring[self.count % cap] = frame
            self.count += 1
            for members, n in zip(self.members, self.windows if frames is None else frames[t]):
                if len(members):
                    idx = (self.count - 1 - np.arange(min(n, self.count))) % cap
                    out[t, members] = self.ring[idx].mean(axis=0)
        return out
