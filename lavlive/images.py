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


def host_array(image: np.ndarray | torch.Tensor) -> np.ndarray:
    """A [H, W, 3] uint8 frame as a NumPy array on the host (a torch tensor, on any device, copied)."""
    if isinstance(image, torch.Tensor):
        return image.detach().to("cpu").numpy()
    return np.asarray(image)


def dissolve(image: np.ndarray, blend: np.ndarray, alpha: float) -> np.ndarray:
    """(1 - alpha) · image + alpha · blend for uint8 frames, rounded, in 16-bit integers (a third of float64's
    time at 1024²); a blend of another size is scaled to the image's, as the window scales it."""
    if blend.shape != image.shape:
        blend = np.asarray(Image.fromarray(blend).resize((image.shape[1], image.shape[0]), Image.BILINEAR))
    a = np.uint16(round(min(max(alpha, 0.0), 1.0) * 256))
    mixed = image.astype(np.uint16) * (np.uint16(256) - a)
    mixed += blend.astype(np.uint16) * a
    mixed += np.uint16(128)
    return (mixed >> 8).astype(np.uint8)


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
