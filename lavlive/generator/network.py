"""StyleGAN2 generator, written from the paper (Karras et al. 2020, "Analyzing and
Improving the Image Quality of StyleGAN", sections 2-4 and appendix B).

    z ──normalise──▶ 8 × (FC, lrelu) ──▶ w ──truncation──▶ ws [N, num_ws, w_dim]
    ws ──▶ const 4×4 ──▶ per resolution: [up] mod-conv 3×3 ─▶ mod-conv 3×3 ─▶ ToRGB ─▶ + upsampled image

The maths, per layer with input x, weight W (out × in × k × k) and style s = A(w):

    W'_oi   = W_oi · s_i                                  (modulation)
    W''_oi  = W'_oi / sqrt(Σ_i,k W'_oi² + 1e-8)           (demodulation)
    y       = lrelu(conv(x, W'') + strength · noise + b) · √2, clamped to ±conv_clamp
    up      = transposed conv, stride 2, then the [1,3,3,1] FIR (gain 4)
    ToRGB   = 1×1 modulated conv without demodulation, style scaled by 1/sqrt(in)

All weights are stored unscaled and multiplied by their equalised-learning-rate gain at
run time, so parameter names and shapes match the stylegan2-ada-pytorch layout one to one
(`mapping.fc0.weight`, `synthesis.b64.conv0.affine.bias`, …) and such state dicts load directly.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from ..errors import shown
from .bending import bent
from .canvas import CanvasGrid, mirrored

LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2.0)
NOISE_MODES = ("const", "random", "none")
MAX_RESOLUTION = 4096


@dataclass(frozen=True)
class GeneratorConfig:
    """Everything needed to build the network; the keyword names follow stylegan2-ada-pytorch."""

    z_dim: int = 512
    c_dim: int = 0
    w_dim: int = 512
    img_resolution: int = 1024
    img_channels: int = 3
    mapping_layers: int = 8
    mapping_lr_multiplier: float = 0.01
    channel_base: int = 32768
    channel_max: int = 512
    num_fp16_res: int = 0
    conv_clamp: float | None = None
    resample_filter: tuple[int, ...] = (1, 3, 3, 1)

    family = "stylegan2"

    def __post_init__(self) -> None:
        limits = {"z_dim": (1, 8192), "w_dim": (1, 8192), "c_dim": (0, 100_000), "img_channels": (1, 4),
                  "img_resolution": (4, MAX_RESOLUTION), "mapping_layers": (1, 32), "channel_base": (1, 1 << 24),
                  "channel_max": (1, 8192), "num_fp16_res": (0, 16)}
        for name, (lo, hi) in limits.items():
            v = getattr(self, name)
            if type(v) is not int or not lo <= v <= hi:
                raise ValueError(f"generator config {name}={shown(v)} is not an integer in [{lo}, {hi}]")
        res = self.img_resolution
        if res & (res - 1):
            raise ValueError(f"generator config img_resolution={res} is not a power of two")
        if self.channels(res) < 1:
            raise ValueError(f"generator config gives no channels at {res}px (channel_base={self.channel_base})")
        taps = self.resample_filter
        if not isinstance(taps, tuple) or len(taps) != 4 or not all(type(t) is int and 0 < t < 1000 for t in taps):
            raise ValueError(f"generator config resample_filter={shown(taps)} is not 4 positive taps")
        for name in ("mapping_lr_multiplier", "conv_clamp"):
            v = getattr(self, name)
            if (v is not None or name != "conv_clamp") and not (isinstance(v, float) and math.isfinite(v) and v > 0):
                raise ValueError(f"generator config {name}={shown(v)} is not a positive finite float")

    @property
    def block_resolutions(self) -> list[int]:
        return [2**i for i in range(2, int(math.log2(self.img_resolution)) + 1)]

    def channels(self, resolution: int) -> int:
        return min(self.channel_base // resolution, self.channel_max)

    @property
    def num_ws(self) -> int:
        return 2 * int(math.log2(self.img_resolution)) - 2

    @property
    def ws_resolutions(self) -> list[int]:
        """The resolution each ws index works at: index 0 the 4×4 conv, then two per resolution (conv0, conv1;
        each ToRGB shares the next conv's), the last the final ToRGB: min(4·2^ceil(l/2), R)."""
        return [min(4 * 2 ** math.ceil(l / 2), self.img_resolution) for l in range(self.num_ws)]  # noqa: E741

    @property
    def fp16_resolution(self) -> int:
        """Blocks at this resolution and above run in fp16 (on CUDA)."""
        return max(2 ** (int(math.log2(self.img_resolution)) + 1 - self.num_fp16_res), 8)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["resample_filter"] = list(self.resample_filter)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GeneratorConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown generator config keys: {', '.join(unknown)}")
        d = dict(d)
        if isinstance(d.get("resample_filter"), list):
            d["resample_filter"] = tuple(d["resample_filter"])
        for name in ("mapping_lr_multiplier", "conv_clamp"):
            if type(d.get(name)) is int:
                d[name] = float(d[name])
        return cls(**d)


# ---------------------------------------------------------------------------- building blocks


def fir_kernel(taps: tuple[int, ...]) -> Tensor:
    """Separable 2-D low-pass filter from 1-D taps, normalised to unit DC gain."""
    t = torch.as_tensor(taps, dtype=torch.float32)
    f = torch.outer(t, t)
    return f / f.sum()


def fir_filter(x: Tensor, kernel: Tensor, pad: int, gain: float) -> Tensor:
    """Depthwise 2-D convolution (true convolution, so the kernel is flipped) with zero padding."""
    c = x.shape[1]
    k = (kernel * gain).flip([0, 1]).to(x.dtype)[None, None].expand(c, 1, *kernel.shape)
    return F.conv2d(F.pad(x, [pad] * 4), k, groups=c)


def upsample_2x(x: Tensor, kernel: Tensor) -> Tensor:
    """Zero-stuffing ×2 followed by the FIR (gain 4), written as one strided transposed conv."""
    n, c, h, w_ = x.shape
    if cpu_fast_path(x):  # channels as a batch of 1-channel images: a plain (oneDNN) conv, not a grouped one
        k = (kernel * 4).to(x.dtype)[None, None]
        return F.conv_transpose2d(x.reshape(n * c, 1, h, w_), k, stride=2, padding=1).reshape(n, c, 2 * h, 2 * w_)
    k = (kernel * 4).to(x.dtype)[None, None].expand(c, 1, *kernel.shape)
    return F.conv_transpose2d(x, k, stride=2, padding=1, groups=c)


def cpu_fast_path(x: Tensor) -> bool:
    """Batch 1 in fp32 (or bf16) on the CPU: the channels-last path below (about 0.7× the time at 256 px, 0.4× at 1024)."""
    return x.device.type == "cpu" and x.dtype in (torch.float32, torch.bfloat16) and x.shape[0] == 1


def modulated_conv2d_cpu(x: Tensor, weight: Tensor, styles: Tensor, bias: Tensor, gain: float = 1.0,
                         demodulate: bool = True, up: bool = False, kernel: Tensor | None = None) -> Tensor:
    """The fused form of `modulated_conv2d` for one sample, laid out for oneDNN on the CPU.

    Activations and the per-frame modulated weight are channels-last (oneDNN's native layout, no
    reorders of the activations); demodulation and `gain` are folded into the weight and `bias`
    into the convolution (for `up`, into the FIR pass, which takes its zero padding in the conv).
    Returns (conv(x, W'') + bias) · gain, channels-last, in x's dtype (the weight maths in fp32). Fixed weights with input/output scaling
    (the non-fused form) measured slower here: one more pass over the activations costs more than
    the reorder of a per-frame weight.
    """
    cl = torch.channels_last
    c_out, c_in, kh, _ = weight.shape
    wmod = weight * styles.reshape(1, c_in, 1, 1)
    scale = gain
    if demodulate:
        scale = (wmod.square().sum(dim=[1, 2, 3]) + 1e-8).rsqrt().reshape(c_out, 1, 1, 1) * gain
    if not isinstance(scale, float) or scale != 1.0:
        wmod = wmod * scale
    x = x.contiguous(memory_format=cl)
    b = (bias if gain == 1.0 else bias * gain).to(x.dtype)
    wmod = wmod.to(x.dtype)
    if not up:
        return F.conv2d(x, wmod.contiguous(memory_format=cl), b, padding=kh // 2)
    y = F.conv_transpose2d(x, wmod.transpose(0, 1).contiguous(memory_format=cl), stride=2)
    k = (kernel * 4).flip([0, 1])[None, None].expand(c_out, 1, *kernel.shape).to(x.dtype).contiguous(memory_format=cl)
    return F.conv2d(y, k, b, padding=1, groups=c_out)


def noise_lrelu_clamp(y: Tensor, noise: Tensor | None, gain: float, clamp: float | None) -> Tensor:
    """y + gain·noise, leaky ReLU, clamp: in place unless autograd needs y (y already carries the gain)."""
    inplace = not (torch.is_grad_enabled() and y.requires_grad)
    if noise is not None:
        noise = (noise * gain).to(y.dtype)  # [res, res]: cast once, so the add stays in y's dtype
        y = y.add_(noise) if inplace else y + noise
    y = F.leaky_relu(y, LRELU_SLOPE, inplace=inplace)
    if clamp is not None:
        y = y.clamp_(-clamp, clamp) if inplace else y.clamp(-clamp, clamp)
    return y


def bias_lrelu(x: Tensor, bias: Tensor, gain: float, clamp: float | None) -> Tensor:
    x = F.leaky_relu(x + bias.to(x.dtype).reshape(1, -1, 1, 1), LRELU_SLOPE) * gain
    return x if clamp is None else x.clamp(-clamp, clamp)


def modulated_conv2d(
    x: Tensor,
    weight: Tensor,
    styles: Tensor,
    demodulate: bool = True,
    up: bool = False,
    kernel: Tensor | None = None,
    noise: Tensor | None = None,
    fused: bool = True,
) -> Tensor:
    """Modulate `weight` per sample by `styles`, optionally demodulate, convolve.

    fused: one grouped convolution with per-sample weights (best for batch 1);
    otherwise scale the activations before and after a shared convolution (best for batches).
    The weight maths runs in fp32; only the convolution runs in x's dtype. In fp16 the weight and
    styles are first scaled to a max of 1 (demodulation cancels the scale) so nothing overflows.
    """
    n, c_in, h, w_ = x.shape
    c_out, _, kh, kw = weight.shape
    if demodulate and x.dtype == torch.float16:
        weight = weight / (math.sqrt(c_in * kh * kw) * weight.abs().amax(dim=[1, 2, 3], keepdim=True))
        styles = styles / styles.abs().amax(dim=1, keepdim=True)
    wmod = weight[None] * styles[:, None, :, None, None]  # [N, out, in, kh, kw]
    dcoefs = (wmod.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt() if demodulate else None  # [N, out]

    def conv(inp: Tensor, wt: Tensor, groups: int) -> Tensor:
        wt = wt.to(inp.dtype)
        if up:
            c_o = wt.shape[0] // groups
            wt = wt.reshape(groups, c_o, -1, kh, kw).transpose(1, 2).reshape(-1, c_o, kh, kw)
            return fir_filter(F.conv_transpose2d(inp, wt, stride=2, groups=groups), kernel, pad=1, gain=4)
        return F.conv2d(inp, wt, padding=kh // 2, groups=groups)

    if fused:
        if dcoefs is not None:
            wmod = wmod * dcoefs[:, :, None, None, None]
        y = conv(x.reshape(1, n * c_in, h, w_), wmod.reshape(n * c_out, c_in, kh, kw), groups=n)
        y = y.reshape(n, c_out, *y.shape[2:])
    else:
        y = conv(x * styles.to(x.dtype)[:, :, None, None], weight, groups=1)
        if dcoefs is not None:
            y = y * dcoefs.to(y.dtype)[:, :, None, None]
    if noise is not None:
        y = y + noise.to(y.dtype)
    return y


class FullyConnectedLayer(nn.Module):
    """Dense layer with equalised learning rate: weight and bias scaled at run time."""

    def __init__(self, in_features: int, out_features: int, lrelu: bool = False,
                 lr_multiplier: float = 1.0, bias_init: float = 0.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init)))
        self.lrelu = lrelu
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: Tensor) -> Tensor:
        x = torch.addmm(self.bias * self.bias_gain, x, (self.weight * self.weight_gain).t())
        return F.leaky_relu(x, LRELU_SLOPE) * LRELU_GAIN if self.lrelu else x


def normalize_2nd_moment(x: Tensor, eps: float = 1e-8) -> Tensor:
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


# ---------------------------------------------------------------------------- mapping


class MappingNetwork(nn.Module):
    """z (and optional class c) → w, broadcast to num_ws, with truncation towards w_avg."""

    def __init__(self, cfg: GeneratorConfig) -> None:
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = cfg.z_dim, cfg.c_dim, cfg.w_dim, cfg.num_ws
        self.num_layers = cfg.mapping_layers
        embed = cfg.w_dim if cfg.c_dim else 0
        if cfg.c_dim:
            self.embed = FullyConnectedLayer(cfg.c_dim, embed)
        dims = [cfg.z_dim + embed] + [cfg.w_dim] * cfg.mapping_layers
        for i in range(cfg.mapping_layers):
            fc = FullyConnectedLayer(dims[i], dims[i + 1], lrelu=True, lr_multiplier=cfg.mapping_lr_multiplier)
            setattr(self, f"fc{i}", fc)
        self.register_buffer("w_avg", torch.zeros(cfg.w_dim))

    def forward(self, z: Tensor, c: Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None) -> Tensor:
        x = normalize_2nd_moment(z.to(torch.float32))
        if self.c_dim:
            c = torch.zeros(len(z), self.c_dim, device=z.device) if c is None else c.to(torch.float32)
            x = torch.cat([x, normalize_2nd_moment(self.embed(c))], dim=1)
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        ws = x.unsqueeze(1).repeat(1, self.num_ws, 1)
        return truncate(ws, self.w_avg, truncation_psi, truncation_cutoff)


def truncate(ws: Tensor, w_avg: Tensor, psi: float, cutoff: int | None = None) -> Tensor:
    """w' = w_avg + psi·(w − w_avg) on the first `cutoff` ws (all when None)."""
    if psi == 1:
        return ws
    if cutoff is None:
        return w_avg.lerp(ws, psi)
    ws = ws.clone()
    ws[:, :cutoff] = w_avg.lerp(ws[:, :cutoff], psi)
    return ws


# ---------------------------------------------------------------------------- synthesis


NOISE_GROUPS = (8, 32)  # the largest resolution of the coarse and the middle noise group (fine: above)


def noise_group(resolution: int) -> int:
    """0 coarse, 1 middle, 2 fine: which of a `noise_gain`'s columns scales a layer's noise at `resolution`."""
    return sum(resolution > top for top in NOISE_GROUPS)


class SynthesisLayer(nn.Module):
    """Modulated 3×3 conv (optionally upsampling ×2) + noise + bias + lrelu."""

    def __init__(self, in_channels: int, out_channels: int, cfg: GeneratorConfig,
                 resolution: int, up: bool = False) -> None:
        super().__init__()
        self.resolution, self.up, self.conv_clamp = resolution, up, cfg.conv_clamp
        self.affine = FullyConnectedLayer(cfg.w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 3, 3))
        self.register_buffer("resample_filter", fir_kernel(cfg.resample_filter))
        self.register_buffer("noise_const", torch.randn(resolution, resolution))
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: Tensor, w: Tensor, noise_mode: str, fused: bool,
                generator: torch.Generator | None = None, grid: CanvasGrid | None = None,
                noise_gain: Tensor | None = None) -> Tensor:
        """`noise_gain` [N]: each picture's noise scaled (1: as trained)."""
        noise = self._noise(len(x), noise_mode, x.device, generator, grid)
        if noise is not None and noise_gain is not None:
            noise = noise * noise_gain.view(-1, 1, 1, 1).to(noise.dtype)
        if fused and cpu_fast_path(x):
            y = modulated_conv2d_cpu(x, self.weight, self.affine(w), self.bias, LRELU_GAIN, up=self.up,
                                     kernel=self.resample_filter)
            return noise_lrelu_clamp(y, noise, LRELU_GAIN, self.conv_clamp)
        y = modulated_conv2d(x, self.weight, self.affine(w), up=self.up,
                             kernel=self.resample_filter, noise=noise, fused=fused)
        return bias_lrelu(y, self.bias, LRELU_GAIN, self.conv_clamp)

    def _noise(self, n: int, noise_mode: str, device: torch.device, generator: torch.Generator | None,
               grid: CanvasGrid | None) -> Tensor | None:
        """The noise image times its strength: the stored one (mirrored out to a canvas's grid) or a drawn one."""
        r = self.resolution
        rows, cols = (grid.y.samples(r), grid.x.samples(r)) if grid is not None else ((r, 0), (r, 0))
        if noise_mode == "const":
            const = self.noise_const if grid is None else mirrored(self.noise_const, rows, cols)
            return const * self.noise_strength
        if noise_mode == "random":
            return torch.randn(n, 1, rows[0], cols[0], device=device, generator=generator) * self.noise_strength
        return None


class ToRGBLayer(nn.Module):
    """1×1 modulated conv to image channels, no demodulation."""

    def __init__(self, in_channels: int, cfg: GeneratorConfig) -> None:
        super().__init__()
        self.conv_clamp = cfg.conv_clamp
        self.affine = FullyConnectedLayer(cfg.w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn(cfg.img_channels, in_channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(cfg.img_channels))
        self.weight_gain = 1 / math.sqrt(in_channels)

    def forward(self, x: Tensor, w: Tensor, fused: bool) -> Tensor:
        if fused and cpu_fast_path(x):
            y = modulated_conv2d_cpu(x, self.weight, self.affine(w) * self.weight_gain, self.bias,
                                     demodulate=False).contiguous()
            return y if self.conv_clamp is None else y.clamp(-self.conv_clamp, self.conv_clamp)
        y = modulated_conv2d(x, self.weight, self.affine(w) * self.weight_gain, demodulate=False, fused=fused)
        y = y + self.bias.to(y.dtype).reshape(1, -1, 1, 1)
        return y if self.conv_clamp is None else y.clamp(-self.conv_clamp, self.conv_clamp)


class SynthesisBlock(nn.Module):
    """One resolution of the skip architecture: (const | up-conv) → conv → ToRGB added to the image."""

    def __init__(self, in_channels: int, out_channels: int, cfg: GeneratorConfig, resolution: int) -> None:
        super().__init__()
        self.in_channels, self.resolution = in_channels, resolution
        self.use_fp16 = resolution >= cfg.fp16_resolution
        self.register_buffer("resample_filter", fir_kernel(cfg.resample_filter))
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn(out_channels, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, cfg, resolution, up=True)
        self.conv1 = SynthesisLayer(out_channels, out_channels, cfg, resolution)
        self.torgb = ToRGBLayer(out_channels, cfg)
        self.num_conv = 1 if in_channels == 0 else 2

    def forward(self, x: Tensor | None, img: Tensor | None, ws: Tensor, noise_mode: str,
                dtype: torch.dtype, memory_format: torch.memory_format,
                generator: torch.Generator | None = None, grid: CanvasGrid | None = None,
                noise_gain: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """`grid`: a canvas's, whose cells are the constant's samples (mirrored out beyond its 4×4); `noise_gain`
        [N]: its layers' noise scaled per picture."""
        fused = dtype == torch.float32 or ws.shape[0] == 1
        w = ws.unbind(1)
        if self.in_channels == 0:
            const = self.const if grid is None else mirrored(self.const, grid.y.samples(4), grid.x.samples(4))
            x = const.to(dtype).unsqueeze(0).repeat(ws.shape[0], 1, 1, 1)
            x = self.conv1(x.contiguous(memory_format=memory_format), w[0], noise_mode, fused, generator, grid,
                           noise_gain)
        else:
            x = x.to(dtype).contiguous(memory_format=memory_format)
            x = self.conv0(x, w[0], noise_mode, fused, generator, grid, noise_gain)
            x = self.conv1(x, w[1], noise_mode, fused, generator, grid, noise_gain)
        rgb = self.torgb(x, w[self.num_conv], fused).to(torch.float32)
        img = rgb if img is None else upsample_2x(img, self.resample_filter) + rgb
        return x, img


class SynthesisNetwork(nn.Module):
    """ws → image. ws[0] feeds the 4×4 conv; each later block takes the next two, and each
    ToRGB shares its w with the following conv (the last w feeds the final ToRGB)."""

    def __init__(self, cfg: GeneratorConfig) -> None:
        super().__init__()
        self.w_dim, self.img_resolution, self.img_channels = cfg.w_dim, cfg.img_resolution, cfg.img_channels
        self.block_resolutions = cfg.block_resolutions
        self.num_ws = cfg.num_ws
        self.channels_last = False
        for res in self.block_resolutions:
            in_ch = 0 if res == 4 else cfg.channels(res // 2)
            setattr(self, f"b{res}", SynthesisBlock(in_ch, cfg.channels(res), cfg, res))

    def forward(self, ws: Tensor, noise_mode: str = "const", force_fp32: bool = False,
                generator: torch.Generator | None = None, bf16: bool = False,
                canvas: tuple[int, int] | None = None, noise_gain: Tensor | None = None,
                bend: tuple[int, Tensor] | None = None) -> Tensor:
        """`generator` seeds noise_mode 'random' (on the device of ws) so renders are reproducible.
        Blocks run in fp16 on CUDA where the checkpoint marks them (unless force_fp32), or all in
        bfloat16 with `bf16`; the image skip path and the output stay fp32. `canvas` (width, height): a picture
        of that many of the network's pixels, drawn from the constant and the noise mirrored out (canvas.py).
        `noise_gain` [N, 3]: each picture's noise scaled in the coarse, middle and fine layers (NOISE_GROUPS);
        `bend` (resolution, [N, 4]): the features leaving the block at that resolution bent (bending.py)."""
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        if ws.ndim != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(f"ws must be [N, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}")
        ws = ws.to(torch.float32)
        fp16 = ws.device.type == "cuda" and not force_fp32 and not bf16
        # channels_last: always on the CPU at batch 1 (see cpu_fast_path); elsewhere when asked for
        cl = self.channels_last or cpu_fast_path(ws)
        memory_format = torch.channels_last if cl else torch.contiguous_format
        grid = None if canvas is None else CanvasGrid.covering(*canvas, self.img_resolution, 4)
        x = img = None
        w_idx = 0
        for res in self.block_resolutions:
            block = getattr(self, f"b{res}")
            dtype = torch.bfloat16 if bf16 else torch.float16 if fp16 and block.use_fp16 else torch.float32
            gain = None if noise_gain is None else noise_gain[:, noise_group(res)]
            x, img = block(x, img, ws[:, w_idx:w_idx + block.num_conv + 1], noise_mode, dtype, memory_format,
                           generator, grid, gain)
            if bend is not None and res == bend[0]:
                x = bent(x, bend[1])
            w_idx += block.num_conv
        return img if grid is None else grid.cut(img)


class Generator(nn.Module):
    """z → image. `G.mapping` and `G.synthesis` are usable on their own, as in the reference. A family with another
    synthesis network and the same mapping (StyleGAN3) names its own `synthesis_network`."""

    synthesis_network: type[nn.Module] = SynthesisNetwork

    def __init__(self, cfg: GeneratorConfig) -> None:
        super().__init__()
        self.config = cfg
        self.z_dim, self.c_dim, self.w_dim = cfg.z_dim, cfg.c_dim, cfg.w_dim
        self.img_resolution, self.img_channels, self.num_ws = cfg.img_resolution, cfg.img_channels, cfg.num_ws
        self.synthesis = self.synthesis_network(cfg)
        self.mapping = MappingNetwork(cfg)

    def forward(self, z: Tensor, c: Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, noise_mode: str = "const",
                force_fp32: bool = False) -> Tensor:
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, noise_mode=noise_mode, force_fp32=force_fp32)


def seeded_z(seeds: list[int] | np.ndarray, z_dim: int) -> Tensor:
    """The z for each seed, as the reference tools draw it (NumPy RandomState normal)."""
    return torch.from_numpy(np.stack([np.random.RandomState(int(s)).randn(z_dim) for s in seeds])).float()
