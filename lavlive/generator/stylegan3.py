"""StyleGAN3 (configs T and R), written from the paper (Karras et al. 2021, "Alias-Free Generative
Adversarial Networks", sections 3-4 and appendices C-F).

    z ─▶ mapping (StyleGAN2's) ─▶ w ─▶ ws [N, num_layers + 2, w_dim], whatever the resolution
    ws[0]     Fourier features: C sinusoids of fixed frequencies f_c and phases φ_c sampled on a grid
              in the input's own units (the picture's centre at 0), rotated and translated by an
              affine of w and by the user's `transform`, faded out as |f| nears the input's
              bandwidth, and mixed by a learned C×C matrix
    ws[1 + i] layer i (num_layers of them, then ToRGB), at its own sampling rate:
              x ← x · magnitude_ema^-½                          input magnitude normalisation
              y ← conv(x, W″), W″ = W·s demodulated, full padding (k − 1: the picture grows)
              y ← y + b, then ↑up by zero insertion and the FIR u (gain up²) at the temporary rate
              y ← lrelu(y)·√2 clamped, then the FIR d and ↓down: the filtered nonlinearity
    ToRGB is a 1×1 modulated conv without demodulation, linear; the picture is × output_scale.

Every layer's sampling rate, cutoff, transition band, size, channels and padding follow from the
config by the schedule of the paper's appendix F (`layer_plans`). Filters are Kaiser-windowed
sincs, separable (config T), or jincs, radially symmetric (config R, where not critically sampled).
A network read from a file uses the filters, frequencies and phases stored in it.

Parameter and buffer names are those of NVIDIA's stylegan3 repository (`synthesis.L3_36_128.weight`,
`synthesis.input.freqs`, …), so its network pickles load one to one.
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
from .canvas import CanvasGrid
from .network import LRELU_GAIN, LRELU_SLOPE, NOISE_MODES, FullyConnectedLayer, Generator, cpu_fast_path
from .resample import CHUNK, AxisResampler

MAX_RESOLUTION = 4096


@dataclass(frozen=True)
class StyleGAN3Config:
    """Everything needed to build the network; the keyword names follow NVIDIA's stylegan3 repository."""

    z_dim: int = 512
    c_dim: int = 0
    w_dim: int = 512
    img_resolution: int = 1024
    img_channels: int = 3
    mapping_layers: int = 2
    mapping_lr_multiplier: float = 0.01
    channel_base: int = 32768
    channel_max: int = 512
    num_layers: int = 14
    num_critical: int = 2
    first_cutoff: float = 2.0
    first_stopband: float = 2**2.1
    last_stopband_rel: float = 2**0.3
    margin_size: int = 10
    output_scale: float = 0.25
    conv_kernel: int = 3  # config R: 1
    filter_size: int = 6
    lrelu_upsampling: int = 2
    use_radial_filters: bool = False  # config R: True
    num_fp16_res: int = 4
    conv_clamp: float | None = 256.0

    family = "stylegan3"

    def __post_init__(self) -> None:
        limits = {"z_dim": (1, 8192), "w_dim": (1, 8192), "c_dim": (0, 100_000), "img_channels": (1, 4),
                  "img_resolution": (8, MAX_RESOLUTION), "mapping_layers": (1, 32), "channel_base": (1, 1 << 24),
                  "channel_max": (1, 8192), "num_layers": (2, 64), "margin_size": (0, 1024),
                  "conv_kernel": (1, 9), "filter_size": (1, 64), "lrelu_upsampling": (1, 8), "num_fp16_res": (0, 16)}
        for name, (lo, hi) in limits.items():
            v = getattr(self, name)
            if type(v) is not int or not lo <= v <= hi:
                raise ValueError(f"generator config {name}={shown(v)} is not an integer in [{lo}, {hi}]")
        if type(self.num_critical) is not int or not 0 <= self.num_critical < self.num_layers:
            raise ValueError(f"generator config num_critical={shown(self.num_critical)} is not in [0, num_layers)")
        for name in ("mapping_lr_multiplier", "first_cutoff", "first_stopband", "last_stopband_rel", "output_scale",
                     "conv_clamp"):
            v = getattr(self, name)
            if (v is not None or name != "conv_clamp") and not (isinstance(v, float) and math.isfinite(v) and v > 0):
                raise ValueError(f"generator config {name}={shown(v)} is not a positive finite float")
        if type(self.use_radial_filters) is not bool:
            raise ValueError(f"generator config use_radial_filters={shown(self.use_radial_filters)} is not a bool")

    @property
    def num_ws(self) -> int:
        return self.num_layers + 2

    @property
    def ws_resolutions(self) -> list[float]:
        """The resolution each ws index works at, on StyleGAN2's scale: twice the highest frequency its layer
        passes (ws[0]: the input's bandwidth; ws[1 + i]: layer i's output cutoff), so that the same smoothing
        groups take the same band of detail in either family."""
        plans = layer_plans(self)
        return [2 * plans[0].in_cutoff] + [2 * p.out_cutoff for p in plans]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StyleGAN3Config:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown generator config keys: {', '.join(unknown)}")
        d = dict(d)
        for f in fields(cls):  # JSON and pickles may give 2 for 2.0
            if f.type in ("float", "float | None") and type(d.get(f.name)) is int:
                d[f.name] = float(d[f.name])
        return cls(**d)


@dataclass(frozen=True)
class LayerPlan:
    """One synthesis layer's place in the schedule: what it reads and writes, at which rates, with which filters.

    Sizes are (width, height) in samples; rates and cutoffs in cycles per unit of the input's grid."""

    name: str
    in_channels: int
    out_channels: int
    in_size: tuple[int, int]
    out_size: tuple[int, int]
    in_sampling_rate: float
    out_sampling_rate: float
    in_cutoff: float
    out_cutoff: float
    in_half_width: float
    out_half_width: float
    is_torgb: bool
    is_critically_sampled: bool
    use_fp16: bool
    conv_kernel: int
    up_factor: int
    up_taps: int
    down_factor: int
    down_taps: int
    down_radial: bool
    padding: tuple[int, int, int, int]  # x0, x1, y0, y1 around the upsampled picture (negative: cropped)

    @property
    def tmp_sampling_rate(self) -> float:
        return self.in_sampling_rate * self.up_factor


def layer_plans(cfg: StyleGAN3Config, span: tuple[int, int] | None = None) -> list[LayerPlan]:
    """The schedule of the paper's appendix F: cutoffs rise geometrically from `first_cutoff` to half the output
    resolution over the layers before the last `num_critical`, stopbands likewise; each layer samples at the
    smallest power of two above twice its stopband (at most the output resolution) with `margin_size` samples
    around the picture, except the last two, which are the picture; channels fall as the cutoff rises.
    `span` (x, y): a canvas's picture in samples of the first layer's rate (the square's: that rate, twice), each
    layer's picture as many times its rate (canvas.py); names and filters do not change with it."""
    n, res = cfg.num_layers, cfg.img_resolution
    exponents = np.minimum(np.arange(n + 1) / (n - cfg.num_critical), 1)
    last_cutoff = res / 2
    cutoffs = cfg.first_cutoff * (last_cutoff / cfg.first_cutoff) ** exponents
    stopbands = cfg.first_stopband * (last_cutoff * cfg.last_stopband_rel / cfg.first_stopband) ** exponents
    rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, res))))
    half_widths = np.maximum(stopbands, rates / 2) - cutoffs
    sizes = rates + cfg.margin_size * 2
    sizes[-2:] = res
    widths, heights = (np.rint(rates * k / rates[0]).astype(int) + np.r_[[cfg.margin_size * 2] * (n - 1), 0, 0]
                       for k in span or (rates[0], rates[0]))
    channels = np.rint(np.minimum((cfg.channel_base / 2) / cutoffs, cfg.channel_max)).astype(int)
    channels[-1] = cfg.img_channels
    plans = []
    for i in range(n + 1):
        p = max(i - 1, 0)  # the layer before (the input, for the first)
        torgb = i == n
        tmp_rate = max(rates[p], rates[i]) * (1 if torgb else cfg.lrelu_upsampling)
        up, down = int(round(tmp_rate / rates[p])), int(round(tmp_rate / rates[i]))
        up_taps = cfg.filter_size * up if up > 1 and not torgb else 1
        down_taps = cfg.filter_size * down if down > 1 and not torgb else 1
        kernel = 1 if torgb else cfg.conv_kernel
        # Output samples (size_out - 1)·down + 1 after the down filter, from a conv output of size_in + kernel - 1
        # upsampled: the rest is padding, split so that the picture stays centred.
        pads = []
        for size_in, size_out in ((widths[p], widths[i]), (heights[p], heights[i])):
            total = (size_out - 1) * down + 1 - (size_in + kernel - 1) * up + up_taps + down_taps - 2
            pads += [(total + up) // 2, total - (total + up) // 2]
        plans.append(LayerPlan(
            name=f"L{i}_{int(sizes[i])}_{int(channels[i])}", in_channels=int(channels[p]),
            out_channels=int(channels[i]), in_size=(int(widths[p]), int(heights[p])),
            out_size=(int(widths[i]), int(heights[i])), in_sampling_rate=float(rates[p]),
            out_sampling_rate=float(rates[i]), in_cutoff=float(cutoffs[p]), out_cutoff=float(cutoffs[i]),
            in_half_width=float(half_widths[p]), out_half_width=float(half_widths[i]), is_torgb=torgb,
            is_critically_sampled=i >= n - cfg.num_critical, use_fp16=bool(rates[i] * 2**cfg.num_fp16_res > res),
            conv_kernel=kernel, up_factor=up, up_taps=up_taps, down_factor=down, down_taps=down_taps,
            down_radial=cfg.use_radial_filters and not i >= n - cfg.num_critical, padding=tuple(int(v) for v in pads)))
    return plans


def lowpass_filter(taps: int, cutoff: float, width: float, rate: float, radial: bool = False) -> Tensor | None:
    """A Kaiser-windowed low-pass FIR at sampling rate `rate`: a sinc (1-D, used separably) or, `radial`, a jinc
    (2-D, radially symmetric), passing up to `cutoff` with a transition band `width` wide; unit DC gain.
    One tap is no filter (None)."""
    if taps == 1:
        return None
    import scipy.signal
    import scipy.special

    if not radial:
        return torch.as_tensor(scipy.signal.firwin(taps, cutoff, width=width, fs=rate), dtype=torch.float32)
    x = (np.arange(taps) - (taps - 1) / 2) / rate
    r = np.hypot(*np.meshgrid(x, x))
    with np.errstate(invalid="ignore", divide="ignore"):
        jinc = np.where(r > 0, scipy.special.j1(2 * np.pi * cutoff * r) / (np.pi * r), cutoff)
    window = np.kaiser(taps, scipy.signal.kaiser_beta(scipy.signal.kaiser_atten(taps, width / (rate / 2))))
    f = jinc * np.outer(window, window)
    return torch.as_tensor(f / f.sum(), dtype=torch.float32)


def input_transforms(values: np.ndarray) -> Tensor:
    """`input_transform` of each row (x, y, rotate) of values [N, 3]: [N, 3, 3]."""
    return torch.stack([input_transform((x, y), r) for x, y, r in np.asarray(values, np.float64)])


def input_transform(translate: tuple[float, float] = (0.0, 0.0), rotate: float = 0.0) -> Tensor:
    """The input's `transform` that moves the picture by `translate` (x, y, in picture widths: the input's grid
    unit is the picture) and turns it by `rotate` degrees: the inverse of the motion
    M = [[cos a, sin a, x], [−sin a, cos a, y], [0, 0, 1]], inverted in float64 and then stored as float32, as
    NVIDIA's own tools set it (so pictures match theirs to the bit's last place)."""
    a = math.radians(rotate)
    m = np.array([[math.cos(a), math.sin(a), translate[0]], [-math.sin(a), math.cos(a), translate[1]], [0, 0, 1]])
    return torch.from_numpy(np.linalg.inv(m)).float()


# ---------------------------------------------------------------------------- the filtered nonlinearity


def upfirdn2d(x: Tensor, f: Tensor | None, up: int = 1, down: int = 1, padding: tuple[int, int, int, int] = (0,) * 4,
              gain: float = 1.0) -> Tensor:
    """Upsample by inserting up − 1 zeros after each sample, pad (negative: crop) by (x0, x1, y0, y1), convolve
    with the FIR f (1-D: along x then y; 2-D as it is) times `gain`, keep every down-th sample."""
    n, c, h, w = x.shape
    if up > 1:
        x = F.pad(x.reshape(n, c, h, 1, w, 1), [0, up - 1, 0, 0, 0, up - 1]).reshape(n, c, h * up, w * up)
    x0, x1, y0, y1 = padding
    x = F.pad(x, [max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)])
    x = x[:, :, max(-y0, 0):x.shape[2] - max(-y1, 0), max(-x0, 0):x.shape[3] - max(-x1, 0)]
    if f is not None:
        f = f.to(x.dtype).flip(list(range(f.ndim)))  # convolution, not correlation
        if f.ndim == 1:
            g = f * math.sqrt(gain)
            x = F.conv2d(x, g[None, None, None].expand(c, 1, 1, -1), groups=c)
            x = F.conv2d(x, g[None, None, :, None].expand(c, 1, -1, 1), groups=c)
        else:
            x = F.conv2d(x, (f * gain)[None, None].expand(c, 1, -1, -1), groups=c)
    return x[:, :, ::down, ::down] if down > 1 else x


def filtered_lrelu(x: Tensor, bias: Tensor, up_filter: Tensor | None, down_filter: Tensor | None, up: int, down: int,
                   padding: tuple[int, int, int, int], gain: float, slope: float, clamp: float | None) -> Tensor:
    """Bias, then ↑up with the FIR u (gain up²), lrelu·gain clamped at the temporary rate, the FIR d and ↓down."""
    x = x + bias.to(x.dtype)[None, :, None, None]
    x = upfirdn2d(x, up_filter, up=up, padding=padding, gain=up**2)
    x = F.leaky_relu(x, slope) * gain if slope != 1 else x * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return upfirdn2d(x, down_filter, down=down)


def modulated_weights(weight: Tensor, styles: Tensor, demodulate: bool, input_gain: Tensor) -> Tensor:
    """W″ [N, out, in, k, k] for styles [N, in]: W″_oi = W_oi·s_i / sqrt(Σ_i,k (W_oi·s_i)²) (demodulated), times
    the input gain (so that conv(x, W″) = conv(x · input_gain, W′)). With demodulation, W (per output channel)
    and s (per sample) are first brought to unit mean square, which demodulation cancels but which keeps fp16 in
    range."""
    w = weight[None]
    if demodulate:
        w = w * (w.square().mean(dim=(2, 3, 4), keepdim=True) + 1e-8).rsqrt()
        styles = styles * (styles.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()
    w = w * styles[:, None, :, None, None]
    if demodulate:
        w = w * (w.square().sum(dim=(2, 3, 4), keepdim=True) + 1e-8).rsqrt()
    return w * input_gain.to(w.dtype)


def modulated_conv2d(x: Tensor, weight: Tensor, styles: Tensor, demodulate: bool, input_gain: Tensor,
                     padding: int) -> Tensor:
    """conv(x · input_gain, W″) per sample, as one grouped convolution (see modulated_weights)."""
    n, in_channels = styles.shape
    w = modulated_weights(weight, styles, demodulate, input_gain)
    out_channels, k = weight.shape[0], weight.shape[-1]
    y = F.conv2d(x.reshape(1, n * in_channels, *x.shape[2:]), w.reshape(n * out_channels, in_channels, k, k).to(x.dtype),
                 padding=padding, groups=n)
    return y.reshape(n, out_channels, *y.shape[2:])


# ---------------------------------------------------------------------------- the layers


class FourierInput(nn.Module):
    """The first layer: Fourier features on a grid, turned by w's rotation and translation and the user's."""

    def __init__(self, cfg: StyleGAN3Config, channels: int, size: tuple[int, int], rate: float,
                 bandwidth: float) -> None:
        super().__init__()
        self.channels, self.size, self.sampling_rate, self.bandwidth = channels, size, rate, bandwidth
        self.affine = FullyConnectedLayer(cfg.w_dim, 4)  # rotation (cos, sin) and translation (x, y)
        with torch.no_grad():
            self.affine.weight.zero_()
            self.affine.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))
        self.weight = nn.Parameter(torch.randn(channels, channels))
        self.register_buffer("transform", torch.eye(3))  # the user's: the inverse of the picture's motion
        # Frequencies uniform over the disc of radius `bandwidth`, phases uniform: drawn once, then part of the
        # network (a file's are read from it).
        radius, angle = bandwidth * torch.rand(channels).sqrt(), 2 * math.pi * torch.rand(channels)
        self.register_buffer("freqs", torch.stack([radius * angle.cos(), radius * angle.sin()], dim=1))
        self.register_buffer("phases", torch.rand(channels) - 0.5)

    def grid(self, device: torch.device, size: tuple[int, int] | None = None) -> tuple[Tensor, Tensor]:
        """Sample positions along x and along y, in the input's units, the picture's centre at 0; `size` (width,
        height): a canvas's, in place of the square's."""
        (width, height), rate = size or self.size, self.sampling_rate
        gx = (torch.arange(width, device=device, dtype=torch.float32) + 0.5 - width / 2) / rate
        gy = (torch.arange(height, device=device, dtype=torch.float32) + 0.5 - height / 2) / rate
        return gx, gy

    def forward(self, w: Tensor, transform: Tensor | None = None, size: tuple[int, int] | None = None) -> Tensor:
        """Fourier features for w [N, w_dim]; `transform` [N, 3, 3]: a user transform per sample (input_transforms),
        after the network's own buffer; `size`: the grid's (see `grid`)."""
        t = self.affine(w)  # [N, 4]
        t = t / t[:, :2].norm(dim=1, keepdim=True).clamp_min(1e-8)  # a pure rotation, whatever w's length
        n = len(w)
        rotate = torch.eye(3, device=w.device)[None].repeat(n, 1, 1)
        rotate[:, 0, 0], rotate[:, 0, 1], rotate[:, 1, 0], rotate[:, 1, 1] = t[:, 0], -t[:, 1], t[:, 1], t[:, 0]
        shift = torch.eye(3, device=w.device)[None].repeat(n, 1, 1)
        shift[:, 0, 2], shift[:, 1, 2] = -t[:, 2], -t[:, 3]
        m = rotate @ shift @ self.transform[None]
        if transform is not None:
            m = m @ transform.to(m.dtype)
        # The sinusoid of frequency f at grid point p is sin(2π(f·(A p + b) + φ)) = sin(2π((f A)·p + f·b + φ)).
        phases = self.phases[None] + (self.freqs[None] @ m[:, :2, 2:]).squeeze(2)
        freqs = self.freqs[None] @ m[:, :2, :2]  # [N, C, 2]
        # Fade out frequencies as they approach the Nyquist limit of the input's sampling rate.
        amplitudes = (1 - (freqs.norm(dim=2) - self.bandwidth) / (self.sampling_rate / 2 - self.bandwidth)).clamp(0, 1)
        gx, gy = self.grid(w.device, size)
        x = gx[None, None, :, None] * freqs[:, None, None, :, 0] + gy[None, :, None, None] * freqs[:, None, None, :, 1]
        x = torch.sin((x + phases[:, None, None]) * (2 * math.pi)) * amplitudes[:, None, None]
        x = x @ (self.weight / math.sqrt(self.channels)).t()  # [N, H, W, C]
        return x.permute(0, 3, 1, 2)


class AliasFreeLayer(nn.Module):
    """A modulated convolution and the filtered nonlinearity around it (see the module docstring)."""

    def __init__(self, cfg: StyleGAN3Config, plan: LayerPlan) -> None:
        super().__init__()
        self.plan = plan
        self.conv_clamp = cfg.conv_clamp
        self.affine = FullyConnectedLayer(cfg.w_dim, plan.in_channels, bias_init=1.0)
        k = plan.conv_kernel
        self.weight = nn.Parameter(torch.randn(plan.out_channels, plan.in_channels, k, k))
        self.bias = nn.Parameter(torch.zeros(plan.out_channels))
        self.register_buffer("magnitude_ema", torch.ones([]))
        tmp = plan.tmp_sampling_rate
        self.register_buffer("up_filter", lowpass_filter(plan.up_taps, plan.in_cutoff, plan.in_half_width * 2, tmp))
        self.register_buffer("down_filter", lowpass_filter(plan.down_taps, plan.out_cutoff, plan.out_half_width * 2,
                                                           tmp, radial=plan.down_radial))
        self.weight_gain = 1 / math.sqrt(plan.in_channels * k * k)  # ToRGB's, on its style
        self._resamplers: dict[tuple[int, int], LayerResamplers] = {}  # the CPU path's, by input size (which
        # fixes the plan: sizes grow with a canvas's span)

    def forward(self, x: Tensor, w: Tensor, dtype: torch.dtype, plan: LayerPlan | None = None) -> Tensor:
        """`plan`: this layer's for a canvas (its sizes and padding), in place of the square picture's."""
        p = plan or self.plan
        styles = self.affine(w)
        if p.is_torgb:
            styles = styles * self.weight_gain
        if cpu_fast_path(x.to(dtype)):
            return self._forward_cpu(x, styles, dtype, p)
        y = modulated_conv2d(x.to(dtype), self.weight, styles, not p.is_torgb, self.magnitude_ema.rsqrt(),
                             p.conv_kernel - 1)
        return filtered_lrelu(y, self.bias, self.up_filter, self.down_filter, p.up_factor, p.down_factor, p.padding,
                              1.0 if p.is_torgb else LRELU_GAIN, 1.0 if p.is_torgb else LRELU_SLOPE, self.conv_clamp)

    def _forward_cpu(self, x: Tensor, styles: Tensor, dtype: torch.dtype, p: LayerPlan) -> Tensor:
        """Batch 1 on the CPU, channels last throughout: the conv (1×1: one matrix product; else oneDNN's) with
        the bias in it, then the filtered nonlinearity over [H, W, C] by strided scaled adds (resample.py): the same
        maths, several times faster. Takes and returns NCHW with channels-last strides (a view of [H, W, C])."""
        cl = torch.channels_last
        weight = modulated_weights(self.weight, styles, not p.is_torgb, self.magnitude_ema.rsqrt())[0].to(dtype)
        hwc, bias = x[0].permute(1, 2, 0).to(dtype).contiguous(), self.bias.to(dtype)
        if p.conv_kernel == 1:
            y = torch.addmm(bias, hwc.reshape(-1, hwc.shape[2]), weight[:, :, 0, 0].t()).reshape(*hwc.shape[:2], -1)
        else:
            y = F.conv2d(hwc.permute(2, 0, 1)[None], weight.contiguous(memory_format=cl), bias,
                         padding=p.conv_kernel - 1)[0].permute(1, 2, 0).contiguous()
        if p.is_torgb:
            y = y if self.conv_clamp is None else y.clamp(-self.conv_clamp, self.conv_clamp)
            return y.permute(2, 0, 1)[None]
        r = self._resamplers.get(y.shape[:2])
        if r is None:
            r = self._resamplers[y.shape[:2]] = LayerResamplers(self, p, *y.shape[:2])
        tall = r.up_h(y, 0)  # [2H, W, C]; the rest goes a block of its rows at a time, so that the widest
        rows = max(1, CHUNK // (r.up_w.n_out * tall.shape[2]))  # tensor (upsampled both ways) stays in the cache
        narrow = [torch.empty(tall.shape[0], down_w.n_out, tall.shape[2], dtype=dtype) for _, down_w in r.down]
        for h in range(0, tall.shape[0], rows):
            z = r.up_w(tall[h:h + rows], 1)
            F.leaky_relu(z, LRELU_SLOPE, inplace=True)
            if self.conv_clamp is not None:  # clamp(gain·z) = gain·clamp(z / gain): the gain is in the down pass
                z.clamp_(-self.conv_clamp / LRELU_GAIN, self.conv_clamp / LRELU_GAIN)
            for out, (_, down_w) in zip(narrow, r.down):
                out[h:h + rows] = down_w(z, 1)
        out = sum(down_h(n, 0) for n, (down_h, _) in zip(narrow, r.down))
        return out.permute(2, 0, 1)[None]


class LayerResamplers:
    """A layer's up- and downsampling as per-axis resamplers for one input size (H, W): the up filter along W and
    H with the layer's padding and gain up each; the down filter along H and W, the activation gain folded in.
    A 2-D (radial, config R) down filter is a sum of a few separable ones: its singular value decomposition,
    cut where the terms fall below 1e-5 of the first (a jinc under a Kaiser window then needs 2 to 4; the
    pictures move by about 2e-6 against NVIDIA's for it)."""

    def __init__(self, layer: AliasFreeLayer, p: LayerPlan, h: int, w: int) -> None:
        x0, x1, y0, y1 = p.padding
        up = np.ones(1) if layer.up_filter is None else layer.up_filter.double().numpy()
        h_conv, w_conv = h, w  # the conv's output (full padding) is this layer's input here
        self.up_w = AxisResampler(up, p.up_factor, 1, (x0, x1), w_conv, gain=p.up_factor)
        self.up_h = AxisResampler(up, p.up_factor, 1, (y0, y1), h_conv, gain=p.up_factor)
        down = np.ones(1) if layer.down_filter is None else layer.down_filter.double().numpy()
        if down.ndim == 1:
            terms = [(down, down)]
        else:
            u, s, vt = np.linalg.svd(down)
            keep = max(1, int((s > 1e-5 * s[0]).sum()))
            terms = [(u[:, k] * s[k], vt[k]) for k in range(keep)]
        self.down = [(AxisResampler(fh, 1, p.down_factor, (0, 0), self.up_h.n_out, gain=LRELU_GAIN),
                      AxisResampler(fw, 1, p.down_factor, (0, 0), self.up_w.n_out)) for fh, fw in terms]


class AliasFreeSynthesis(nn.Module):
    """ws [N, num_ws, w_dim] → pictures [N, img_channels, H, W] in about [-1, 1]."""

    def __init__(self, cfg: StyleGAN3Config) -> None:
        super().__init__()
        self.config, self.plans = cfg, layer_plans(cfg)
        self.num_ws, self.w_dim = cfg.num_ws, cfg.w_dim
        self.layer_names = [p.name for p in self.plans]
        first = self.plans[0]
        self.input = FourierInput(cfg, first.in_channels, first.in_size, first.in_sampling_rate, first.in_cutoff)
        for plan in self.plans:
            setattr(self, plan.name, AliasFreeLayer(cfg, plan))
        self.channels_last = False  # the synthesizer's hint for GPUs; unused here so far
        self._canvases: dict[tuple[int, int], tuple[CanvasGrid, list[LayerPlan]]] = {}

    def canvas_plans(self, canvas: tuple[int, int]) -> tuple[CanvasGrid, list[LayerPlan]]:
        """The grid (in samples of the input) and the layers' plans that draw a canvas of (width, height) pixels:
        the input's grid widened or narrowed, every layer's picture with it, an even number of samples added so
        that the square picture stays in the middle (canvas.py)."""
        if canvas not in self._canvases:
            grid = CanvasGrid.covering(*canvas, self.config.img_resolution, int(self.plans[0].in_sampling_rate),
                                       even=True)
            self._canvases[canvas] = grid, layer_plans(self.config, (grid.x.cells, grid.y.cells))
        return self._canvases[canvas]

    def forward(self, ws: Tensor, noise_mode: str = "const", force_fp32: bool = False,
                generator: torch.Generator | None = None, bf16: bool = False,
                transform: Tensor | None = None, canvas: tuple[int, int] | None = None,
                bend: tuple[int, Tensor] | None = None, noise_gain: Tensor | None = None) -> Tensor:
        """StyleGAN3 has no noise inputs: `noise_mode` is checked and otherwise unused (as `generator`). Layers run
        in fp16 on CUDA where the checkpoint marks them (unless force_fp32), or all in bfloat16 with `bf16`; the
        input and the output are fp32. `transform` [N, 3, 3]: each picture's own input transform (see
        input_transforms), after the `input.transform` buffer. `canvas` (width, height): a picture of that many of
        the network's pixels, more (or less) of the same picture around its centre (`canvas_plans`). `bend`
        (resolution, [N, 4]): the features leaving the last layer sampled at that rate or below bent (bending.py);
        `noise_gain` is accepted and unused, like `noise_mode`."""
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}")
        if ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(f"expected ws of shape [N, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}")
        ws = ws.to(torch.float32)
        fp16 = ws.device.type == "cuda" and not force_fp32 and not bf16
        grid, plans = (None, self.plans) if canvas is None else self.canvas_plans(canvas)
        x = self.input(ws[:, 0], transform, plans[0].in_size)
        for i, plan in enumerate(plans):
            dtype = torch.bfloat16 if bf16 else torch.float16 if fp16 and plan.use_fp16 else torch.float32
            x = getattr(self, plan.name)(x, ws[:, i + 1], dtype, plan)
            if bend is not None and i == self.bent_layer(bend[0]):
                x = bent(x, bend[1])
        x = x.float() * self.config.output_scale
        return x if grid is None else grid.cut(x)


    def bent_layer(self, resolution: int) -> int:
        """The index of the last layer (before ToRGB) whose output is sampled at `resolution` or below; -1: none."""
        return max((i for i, p in enumerate(self.plans[:-1]) if p.out_sampling_rate <= resolution), default=-1)


class StyleGAN3Generator(Generator):
    """z → image, config T or R: StyleGAN2's mapping (2 layers by default) and the alias-free synthesis."""

    synthesis_network = AliasFreeSynthesis
