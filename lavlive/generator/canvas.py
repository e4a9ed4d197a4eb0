"""Pictures at the screen's shape, drawn by the network rather than scaled: the canvas a user asks for, and the
grid of cells a square network draws to cover it.

A canvas is an aspect ('16:9', '9:16', '32:9'), which keeps the network's resolution R on its short side, or a
size in the network's own pixels ('1920x1080': a 1024 network draws 1920×1080 of its pixels, more of the world
around its square picture, at its own scale). Both sides come out even (H.264 in yuv420p).

A network draws in whole cells (StyleGAN2: a sample of its 4×4 constant, R/4 pixels; StyleGAN3: a sample of its
input's grid, R/16 pixels for the usual configs): the fewest that cover the canvas along each axis, the square
picture's cells among them, the added ones split evenly before and after (one more after when their number is
odd). The canvas is then cut from the drawn picture, centred on the square picture as nearly as the drawn
picture allows (exactly, when the added cells are even in number; StyleGAN3 always adds an even number).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import torch
from torch import Tensor

from ..errors import LavliveError, given

MAX_SIDE = 8192
MAX_ASPECT = 8  # 32:9 LED walls are 3.6


@dataclass(frozen=True)
class CanvasShape:
    """The canvas as the user gave it: an aspect (width / height) or a size in the network's pixels."""

    text: str
    aspect: Fraction | None = None
    size: tuple[int, int] | None = None

    def __str__(self) -> str:
        return self.text

    def pixels(self, resolution: int) -> tuple[int, int]:
        """(width, height) a network of this resolution draws: an aspect keeps `resolution` on the short side."""
        if self.size is not None:
            return self.size
        assert self.aspect is not None
        if self.aspect >= 1:
            return _even(resolution * self.aspect), _even(resolution)
        return _even(resolution), _even(resolution / self.aspect)


def _even(value: Fraction | float | int) -> int:
    return max(2, 2 * round(value / 2))


def parse_canvas(text: str) -> CanvasShape:
    """'16:9' (an aspect) or '1920x1080' (pixels) → CanvasShape; a one-line error names what does not fit."""
    t = text.strip().lower()
    try:
        if ":" in t:
            w, h = (int(v) for v in t.split(":"))
            if w < 1 or h < 1 or not 1 / MAX_ASPECT <= w / h <= MAX_ASPECT:
                raise LavliveError(f"--canvas {given(text)}: use an aspect between 1:{MAX_ASPECT} and {MAX_ASPECT}:1")
            return CanvasShape(text=f"{w}:{h}", aspect=Fraction(w, h))
        w, h = (int(v) for v in t.split("x"))
    except ValueError:
        raise LavliveError(f"--canvas {given(text)}: use an aspect W:H (16:9) or a size WIDTHxHEIGHT "
                           "(1920x1080) in the network's pixels") from None
    if not (16 <= w <= MAX_SIDE and 16 <= h <= MAX_SIDE):
        raise LavliveError(f"--canvas {given(text)}: width and height must be between 16 and {MAX_SIDE}")
    if w % 2 or h % 2:
        raise LavliveError(f"--canvas {given(text)}: width and height must be even (H.264 in yuv420p)")
    return CanvasShape(text=f"{w}x{h}", size=(w, h))


@dataclass(frozen=True)
class Axis:
    """One axis of the drawn grid: `cells` drawn, of which the square picture's `square` start after `before`
    added ones (negative: cut); `cut` pixels of the drawn picture lie before the canvas's `pixels`."""

    cells: int
    square: int
    before: int
    cut: int
    pixels: int

    @classmethod
    def covering(cls, pixels: int, resolution: int, square: int, even: bool = False) -> Axis:
        """The fewest cells of resolution/square pixels that cover `pixels`, centred on the square picture; `even`:
        as many added before as after (one cell more where needed)."""
        cell = resolution // square
        cells = max(1, math.ceil(pixels / cell))
        if even and (cells - square) % 2:
            cells += 1
        before = (cells - square) // 2
        centre = before * cell + resolution // 2  # the square picture's centre in the drawn picture
        cut = min(max(centre - pixels // 2, 0), cells * cell - pixels)
        return cls(cells, square, before, cut, pixels)

    def samples(self, resolution: int) -> tuple[int, int]:
        """(count, before) in samples of a layer at `resolution` (the square picture: `resolution` samples)."""
        per_cell = resolution // self.square
        return self.cells * per_cell, self.before * per_cell


@dataclass(frozen=True)
class CanvasGrid:
    """The cells a square network draws for a canvas of width × height of its pixels, along x and y."""

    x: Axis
    y: Axis

    @classmethod
    def covering(cls, width: int, height: int, resolution: int, square: int, even: bool = False) -> CanvasGrid:
        return cls(Axis.covering(width, resolution, square, even), Axis.covering(height, resolution, square, even))

    def cut(self, images: Tensor) -> Tensor:
        """The canvas out of the drawn pictures [N, C, H, W]."""
        x, y = self.x, self.y
        return images[..., y.cut:y.cut + y.pixels, x.cut:x.cut + x.pixels]


def mirrored(t: Tensor, rows: tuple[int, int], cols: tuple[int, int]) -> Tensor:
    """t's last two axes extended (or cut) to (count, before) each by mirroring at its edges
    (… 1 0 | 0 1 2 3 | 3 2 …): no seam where the copy meets the original, so convolutions see continuous content."""
    def index(n: int, count: int, before: int) -> Tensor:
        i = torch.arange(count, device=t.device) - before
        i = i % (2 * n)
        return torch.where(i < n, i, 2 * n - 1 - i)

    h, w = t.shape[-2:]
    return t.index_select(-2, index(h, *rows)).index_select(-1, index(w, *cols))
