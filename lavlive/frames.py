"""ws → finished pictures: synthesis, scaling to the output size, and conversion to 8-bit RGB.

All of it runs on the synthesis device, so on a GPU only the final uint8 frames cross to the
host (through a pinned buffer) or stay there for the display.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .errors import LavliveError, given
from .generator import Generator
from .images import uint8_frames

SCALE_MODES = ("fit", "fill")


@dataclass(frozen=True)
class Size:
    width: int
    height: int

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"


def parse_size(text: str) -> Size:
    """'1920x1080' → Size; both sides even, as H.264 in yuv420p needs."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise LavliveError(f"--size {given(text)}: use WIDTHxHEIGHT, e.g. 1920x1080") from None
    if not (16 <= w <= 8192 and 16 <= h <= 8192):
        raise LavliveError(f"--size {given(text)}: width and height must be between 16 and 8192")
    if w % 2 or h % 2:
        raise LavliveError(f"--size {given(text)}: width and height must be even (H.264 in yuv420p)")
    return Size(w, h)


def fit_to(images: torch.Tensor, size: Size, mode: str) -> torch.Tensor:
    """Scale [N, C, h, w] keeping its aspect: 'fit' shows all of it on black bars, 'fill' covers and crops."""
    n, c, h, w = images.shape
    if (w, h) == (size.width, size.height):
        return images
    pick = min if mode == "fit" else max
    scale = pick(size.width / w, size.height / h)
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    scaled = F.interpolate(images, size=(sh, sw), mode="bicubic" if scale > 1 else "bilinear",
                           antialias=scale < 1, align_corners=False)
    out = images.new_full((n, c, size.height, size.width), -1.0)  # black in the network's range
    dy, dx = (size.height - sh) // 2, (size.width - sw) // 2
    src = scaled[..., max(0, -dy):max(0, -dy) + min(sh, size.height), max(0, -dx):max(0, -dx) + min(sw, size.width)]
    out[..., max(0, dy):max(0, dy) + src.shape[2], max(0, dx):max(0, dx) + src.shape[3]] = src
    return out


class Synthesizer:
    """Turns batches of ws into uint8 RGB frames [N, H, W, 3] of the output size.

    Noise in mode 'random' is drawn from a generator seeded by (seed, first frame index of the
    batch), so a render is reproducible for the same batch size.
    """

    def __init__(self, G: Generator, size: Size | None = None, scale: str = "fit", noise_mode: str = "const",
                 seed: int = 0, to_host: bool = True) -> None:
        if scale not in SCALE_MODES:
            raise LavliveError(f"scale mode {scale!r}: use one of {', '.join(SCALE_MODES)}")
        self.G = G
        self.device = next(G.parameters()).device
        self.size = size or Size(G.img_resolution, G.img_resolution)
        self.scale, self.noise_mode, self.seed, self.to_host = scale, noise_mode, seed, to_host
        self._pinned: torch.Tensor | None = None

    @torch.no_grad()
    def __call__(self, ws: np.ndarray, first_index: int = 0) -> np.ndarray | torch.Tensor:
        generator = None
        if self.noise_mode == "random":
            generator = torch.Generator(self.device).manual_seed(self.seed * 1_000_003 + first_index)
        images = self.G.synthesis(torch.from_numpy(ws).to(self.device), noise_mode=self.noise_mode,
                                  generator=generator)
        frames = uint8_frames(fit_to(images.float(), self.size, self.scale))
        if not self.to_host:
            return frames
        if self.device.type != "cuda":
            return frames.contiguous().numpy()
        if self._pinned is None or self._pinned.shape != frames.shape:
            self._pinned = torch.empty(frames.shape, dtype=torch.uint8, pin_memory=True)
        self._pinned.copy_(frames, non_blocking=True)
        torch.cuda.current_stream(self.device).synchronize()
        return self._pinned.numpy().copy()
