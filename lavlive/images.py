"""Turning generator output into pictures people look at."""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image

SCALE_MODES = ("fit", "fill")  # a picture on another shape: whole, on black bars; or covering it, cropped


def uint8_frames(images: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] in the network's [-1, 1] range → [N, H, W, 3] uint8 on the same device (grey repeated)."""
    x = (images.detach().float() * 127.5 + 128).clamp(0, 255).to(torch.uint8)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return x.permute(0, 2, 3, 1)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """[N, C, H, W] in [-1, 1] → [N, H, W, 3] uint8 NumPy frames."""
    return uint8_frames(images).cpu().contiguous().numpy()


def contact_sheet(frames: np.ndarray, columns: int | None = None, gap: int = 4) -> Image.Image:
    """Tile [N, H, W, 3] uint8 frames into one picture on a dark background."""
    n, h, w, _ = frames.shape
    cols = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    sheet = np.full((rows * (h + gap) + gap, cols * (w + gap) + gap, 3), 16, np.uint8)
    for i, frame in enumerate(frames):
        r, c = divmod(i, cols)
        y, x = gap + r * (h + gap), gap + c * (w + gap)
        sheet[y:y + h, x:x + w] = frame[..., :3]
    return Image.fromarray(sheet)
