"""ws → finished pictures: synthesis, scaling to the output size, and conversion to 8-bit RGB.

All of it runs on the synthesis device, so on a GPU only the final uint8 frames cross to the
host (through a pinned buffer) or stay there for the display.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import LavliveError, given
from ..generator import Generator
from ..generator.canvas import CanvasShape
from ..generator.runtime import (CudaGraphCall, check_precision, compiled, cuda_lock, describe_precision,
                                 resolve_execution)
from ..effects import EFFECTS, PictureEffects
from ..generator.stylegan3 import input_transforms
from ..images import SCALE_MODES, uint8_frames
from ..modulation import BEND_TARGETS, EFFECT_TARGETS, NOISE_TARGETS, PICTURE, PICTURE_NEUTRAL, TRANSFORM_TARGETS


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


@dataclass(frozen=True)
class SynthesisOptions:
    """How a Synthesizer draws (its keyword arguments): the output size and scaling (None: the canvas's),
    noise mode and seed, precision and execution (generator/runtime.py), whether finished frames are copied to
    the host (render, NDI) or stay on the device (the window), and the canvas the network draws (None: its
    square picture; generator/canvas.py)."""

    size: Size | None = None
    scale: str = "fit"
    noise_mode: str = "const"
    seed: int = 0
    to_host: bool = True
    precision: str = "auto"
    execution: str = "auto"
    canvas: CanvasShape | None = None


class Synthesizer:
    """Turns batches of ws into uint8 RGB frames [N, H, W, 3] of the output size: the network draws its canvas
    (its square picture, or the shape asked for), which is then scaled to the size (fit or fill).

    Noise in mode 'random' is drawn from a generator seeded by (seed, first frame index of the
    batch), so a render is reproducible for the same batch size. `precision` and `execution` are
    those of generator/runtime.py. A graph (CUDA) is captured per batch size and covers everything
    from ws to the uint8 frame; a smaller batch (a render's last) is padded to a size already
    captured or compiled rather than capturing or compiling again.
    """

    def __init__(self, G: Generator, size: Size | None = None, scale: str = "fit", noise_mode: str = "const",
                 seed: int = 0, to_host: bool = True, precision: str = "auto", execution: str = "auto",
                 canvas: CanvasShape | None = None) -> None:
        """The keyword arguments are those of `SynthesisOptions`."""
        if scale not in SCALE_MODES:
            raise LavliveError(f"scale mode {scale!r}: use one of {', '.join(SCALE_MODES)}")
        self.G = G
        self.device = next(G.parameters()).device
        self.canvas = canvas
        pixels = canvas.pixels(G.img_resolution) if canvas is not None else None
        self._canvas = {} if pixels is None else {"canvas": pixels}  # the network's keyword for it
        self.canvas_size = Size(*pixels) if pixels else Size(G.img_resolution, G.img_resolution)
        self.size = size or self.canvas_size
        self.scale, self.noise_mode, self.seed, self.to_host = scale, noise_mode, seed, to_host
        self.precision = check_precision(precision, self.device)
        self.execution = resolve_execution(execution, self.device, noise_mode)
        on_gpu = self.device.type == "cuda"
        if on_gpu:
            G.synthesis.channels_last = True  # tensor cores read NHWC; it costs nothing in fp32 there
        self.takes_transform = G.config.family == "stylegan3"  # an input transform per frame (x, y, rotate)
        self._pool = torch.cuda.graph_pool_handle() if self.execution == "graph" else None
        self._compiled = compiled(self._frames) if self.execution == "compile" else None
        self._sizes: dict[tuple[int, int], Callable[..., torch.Tensor]] = {}  # (batch, bent block) → graph or fn
        self.effects = PictureEffects()  # owns the feedback trail
        self._pinned: torch.Tensor | None = None

    def describe(self) -> str:
        """How it draws, for the start-up line: e.g. 'float32, eager' or 'float16 (top 4 blocks), graph, canvas
        16:9 (456x256)'."""
        drawn = f", canvas {self.canvas} ({self.canvas_size})" if self.canvas is not None else ""
        return f"{describe_precision(self.precision, self.device, self.G.config.num_fp16_res)}, {self.execution}{drawn}"

    def _frames(self, ws: torch.Tensor, pictures: torch.Tensor, *transform: torch.Tensor,
                generator: torch.Generator | None = None, block: int = 16, active: Active | None = None
                ) -> torch.Tensor:
        """ws and the picture controls [N, len(PICTURE)] (and for StyleGAN3 the input transforms [N, 3, 3]) on the
        device → contiguous uint8 frames there; `block`: the resolution bent; `active`: which controls this batch
        moves from their neutral values (None: all, as graphs and compiled code draw)."""
        noise, bends, effects = pictures[:, NOISE], pictures[:, BENDS], pictures[:, EFFECTS_COLUMNS]
        extra = {"transform": transform[0]} if transform else {}
        if active is None or active.noise:
            extra["noise_gain"] = noise
        if active is None or active.bend:
            extra["bend"] = (block, bends)
        images = self.G.synthesis(ws, noise_mode=self.noise_mode, force_fp32=self.precision == "fp32",
                                  generator=generator, bf16=self.precision == "bf16", **extra, **self._canvas)
        images = self.effects(images.float(), effects, None if active is None else active.effects)
        return uint8_frames(fit_to(images, self.size, self.scale)).contiguous()

    def _inputs(self, ws: np.ndarray, pictures: np.ndarray) -> tuple[torch.Tensor, ...]:
        """What a draw takes on the device: ws, the picture controls, and for StyleGAN3 each frame's input transform
        as a matrix (made on the host in float64, as NVIDIA's tools make it)."""
        inputs = (torch.from_numpy(ws), torch.from_numpy(pictures.astype(np.float32)))
        if self.takes_transform:
            inputs += (input_transforms(pictures[:, :len(TRANSFORM_TARGETS)]),)
        return tuple(x.to(self.device) for x in inputs)

    def _static(self, inputs: tuple[torch.Tensor, ...], block: int) -> torch.Tensor:
        """Frames from a graph or compiled function made for this batch size and bent block, or for a larger
        batch (padded): one capture per batch size and block, never one per frame (the controls are inputs)."""
        n = len(inputs[0])
        fits = [b for b, bent in self._sizes if b >= n and bent == block]
        if not fits:
            draw = partial(self._frames, block=block)
            self._sizes[n, block] = (CudaGraphCall(draw, inputs, self._pool) if self._pool is not None
                                     else partial(self._compiled, block=block))
            fits = [n]
        batch = min(fits)
        if batch > n:
            inputs = tuple(torch.cat([x, x[-1:].expand(batch - n, *x.shape[1:])]) for x in inputs)
        return self._sizes[batch, block](*inputs)[:n]

    @torch.no_grad()
    def warm_up(self, batch: int = 1) -> None:
        """Before the show: capture the CUDA graph, or compile on CUDA, for this batch size. On the CPU
        compilation waits for the first frame, on the synthesis thread: inductor's CPU code keeps the
        thread count of the thread that compiled it."""
        if self.execution == "graph" or (self.execution == "compile" and self.device.type == "cuda"):
            self(np.zeros((batch, self.G.num_ws, self.G.w_dim), np.float32))

    @torch.no_grad()
    def __call__(self, ws: np.ndarray, first_index: int = 0, pictures: np.ndarray | None = None
                 ) -> np.ndarray | torch.Tensor:
        """Frames for ws [N, num_ws, w_dim] and their picture controls [N, len(PICTURE)] (None: neutral; see
        lavlive/modulation/targets.py); on CUDA they are ready (the stream synchronised) on return."""
        if pictures is None:
            pictures = np.tile(NEUTRAL, (len(ws), 1))
        if self.device.type != "cuda":
            frames = self._draw(self._inputs(ws, pictures), first_index, pictures)
            return frames.numpy() if self.to_host else frames
        with cuda_lock:
            frames = self._draw(self._inputs(ws, pictures), first_index, pictures)
            if self.to_host:
                if self._pinned is None or self._pinned.shape != frames.shape:
                    self._pinned = torch.empty(frames.shape, dtype=torch.uint8, pin_memory=True)
                self._pinned.copy_(frames, non_blocking=True)
            torch.cuda.current_stream(self.device).synchronize()
        return self._pinned.numpy().copy() if self.to_host else frames

    def _draw(self, inputs: tuple[torch.Tensor, ...], first_index: int, pictures: np.ndarray) -> torch.Tensor:
        block = int(pictures[-1, PICTURE.index("bend/block")])  # one per batch: the newest frame's
        if self.execution == "eager":
            generator = None
            if self.noise_mode == "random":
                generator = torch.Generator(self.device).manual_seed(self.seed * 1_000_003 + first_index)
            return self._frames(*inputs, generator=generator, block=block, active=Active.of(pictures))
        return self._static(inputs, block)


assert EFFECTS == tuple(name.removeprefix("effect/") for name in EFFECT_TARGETS), "the same effects, in order"
NEUTRAL = np.array([PICTURE_NEUTRAL[name] for name in PICTURE])


def _columns(names: tuple[str, ...]) -> slice:
    """The columns of PICTURE that `names` are (they stand together, in order)."""
    first = PICTURE.index(names[0])
    assert PICTURE[first:first + len(names)] == names
    return slice(first, first + len(names))


NOISE, BENDS, EFFECTS_COLUMNS = _columns(NOISE_TARGETS), _columns(BEND_TARGETS), _columns(EFFECT_TARGETS)


@dataclass(frozen=True)
class Active:
    """Which picture controls a batch moves from neutral, so eager drawing skips the rest (exactly as before)."""

    noise: bool
    bend: bool
    effects: tuple[bool, ...]

    @classmethod
    def of(cls, pictures: np.ndarray) -> Active:
        moved = (pictures != NEUTRAL).any(axis=0)
        return cls(bool(moved[NOISE].any()), bool(moved[BENDS].any()), tuple(bool(m) for m in moved[EFFECTS_COLUMNS]))
