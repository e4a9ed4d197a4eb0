"""CPU synthesis variants at batch 1 (issue 13): ms/frame, ratio to today's eager path, max abs diff.

    python benchmarks/synthesis_variants.py [--resolutions 256 1024] [--rounds 5 2] [--compile]

Every variant is an alternative forward pass over the SAME modules and weights as today's
`G.synthesis(ws, noise_mode="const")`, which is the reference for speed and accuracy. Variants are
run in one process, alternating round by round, and the median per frame is printed.

    today          the generic path (fused grouped-conv modulation, NCHW): lavlive before issue 13,
                   run with network.cpu_fast_path switched off; the reference for ratio and diff
    today-cl       the same with G.synthesis.channels_last = True (weights stay NCHW)
    lavlive        G.synthesis as it is now (modulated_conv2d_cpu: fused-cl below, in network.py)
    fused[-cl]     per-frame modulated weights, gain and bias folded into the conv, in-place
                   noise / lrelu / clamp epilogue, image skip upsampled as a batch of 1-channel images
    split[-cl]     the non-fused form: x·s, conv with the FIXED weight, ·d (d from precomputed Σ_k W²)
    auto-cl        fused where the weights dominate (few pixels), split where activations dominate
    *-sep          the [1,3,3,1] FIR as two 1-D depthwise passes instead of one 4×4
    *-t1           torch.set_num_threads(1) (interop threads do not matter: eager runs one op at a time)
    *-bf16         torch.autocast("cpu", torch.bfloat16)
    compile        torch.compile(inductor) of today's synthesis, in a subprocess (--compile)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthesis import config_f

from lavlive.generator import (
    Generator,
    default_generator,
    network,
)
from lavlive.generator.network import LRELU_GAIN, LRELU_SLOPE, SynthesisNetwork

CL = torch.channels_last


# ---------------------------------------------------------------------------- variant forward passes


class Variant:
    """A forward pass over `syn`'s modules. Precomputes only weight-derived constants (fixed weights)."""

    def __init__(self, syn: SynthesisNetwork, mode: str = "fused", cl: bool = False, fir: str = "dw",
                 split_min_pixels: int = 64 * 64) -> None:
        self.syn, self.mode, self.cl, self.fir_form, self.split_min_pixels = syn, mode, cl, fir, split_min_pixels
        self.fmt = CL if cl else torch.contiguous_format
        self.pre: dict[int, dict[str, torch.Tensor]] = {}
        for res in syn.block_resolutions:
            block = getattr(syn, f"b{res}")
            for L in [getattr(block, "conv0", None), block.conv1]:
                if L is None:
                    continue
                wt = L.weight.detach()
                p = {"wsq": wt.square().sum(dim=[2, 3])}  # [out, in]: d = rsqrt(wsq @ s² + eps)
                if L.up:
                    p["wt"] = wt.transpose(0, 1).contiguous(memory_format=self.fmt)  # [in, out, kh, kw]
                else:
                    p["w"] = wt.contiguous(memory_format=self.fmt)
                self.pre[id(L)] = p
        f = syn.b4.resample_filter.detach()
        self.fir2d = (f * 4).flip([0, 1])  # true convolution, gain 4
        t = f.sum(dim=1)  # separable 1-D taps (sum to 1), outer(t, t) == f
        self.fir1d = (t * 2).flip([0])

    def use_split(self, res: int) -> bool:
        return self.mode == "split" or (self.mode == "auto" and res * res >= self.split_min_pixels)

    def filter(self, y: torch.Tensor, scale: torch.Tensor | None, bias: torch.Tensor | None) -> torch.Tensor:
        """Pad 1 and filter (true convolution): per-channel `scale` folded into the taps, bias in the conv."""
        c = y.shape[1]
        y = F.pad(y, [1, 1, 1, 1])
        if self.cl:
            y = y.contiguous(memory_format=CL)
        if self.fir_form == "dw":
            k = self.fir2d[None, None].expand(c, 1, 4, 4)
            if scale is not None:
                k = k * scale[:, None, None, None]
            return F.conv2d(y, k.contiguous(memory_format=self.fmt), bias, groups=c)
        kv = self.fir1d[None, None, :, None].expand(c, 1, 4, 1)
        kh = self.fir1d[None, None, None, :].expand(c, 1, 1, 4)
        if scale is not None:
            kh = kh * scale[:, None, None, None]
        y = F.conv2d(y, kv.contiguous(memory_format=self.fmt), groups=c)
        return F.conv2d(y, kh.contiguous(memory_format=self.fmt), bias, groups=c)

    def layer(self, L, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        g = LRELU_GAIN
        s = L.affine(w)[0]  # [in]
        p = self.pre[id(L)]
        d = (p["wsq"] @ s.square() + 1e-8).rsqrt()  # [out]
        b = L.bias
        if self.use_split(L.resolution):
            xs = x * s.reshape(1, -1, 1, 1)
            if L.up:
                y = F.conv_transpose2d(xs, p["wt"], stride=2)
                y = self.filter(y, d * g, b * g)
            else:
                y = F.conv2d(xs, p["w"], b / d, padding=1)
                y.mul_((d * g).reshape(1, -1, 1, 1))
        else:
            wm = L.weight * (s * 1.0)[None, :, None, None] * (d * g)[:, None, None, None]
            if L.up:
                wt = wm.transpose(0, 1).contiguous(memory_format=self.fmt)
                y = F.conv_transpose2d(x, wt, stride=2)
                y = self.filter(y, None, b * g)
            else:
                y = F.conv2d(x, wm.contiguous(memory_format=self.fmt), b * g, padding=1)
        y.add_(L.noise_const * (L.noise_strength * g))
        F.leaky_relu_(y, LRELU_SLOPE)
        if L.conv_clamp is not None:
            y.clamp_(-L.conv_clamp, L.conv_clamp)
        return y

    def torgb(self, T, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        s = T.affine(w)[0] * T.weight_gain
        wm = (T.weight * s[None, :, None, None]).contiguous(memory_format=self.fmt)
        y = F.conv2d(x, wm, T.bias)
        if T.conv_clamp is not None:
            y.clamp_(-T.conv_clamp, T.conv_clamp)
        return y

    def upsample_img(self, img: torch.Tensor, rgb: torch.Tensor) -> torch.Tensor:
        """upsample_2x of the image skip: channels as a batch of 1-channel images (one plain conv)."""
        n, c, h, w_ = img.shape
        k = self.fir2d.flip([0, 1])[None, None]  # conv_transpose2d does not flip: un-flip
        up = F.conv_transpose2d(img.reshape(n * c, 1, h, w_), k.to(img.dtype), stride=2, padding=1)
        return up.reshape(n, c, 2 * h, 2 * w_).add_(rgb)

    def __call__(self, ws: torch.Tensor) -> torch.Tensor:
        syn = self.syn
        ws = ws.to(torch.float32)
        x = img = None
        i = 0
        for res in syn.block_resolutions:
            block = getattr(syn, f"b{res}")
            w = ws[:, i:i + block.num_conv + 1].unbind(1)
            if block.in_channels == 0:
                x = block.const.unsqueeze(0).contiguous(memory_format=self.fmt)
                x = self.layer(block.conv1, x, w[0])
            else:
                x = self.layer(block.conv0, x, w[0])
                x = self.layer(block.conv1, x, w[1])
            rgb = self.torgb(block.torgb, x, w[block.num_conv]).to(torch.float32)
            img = rgb.contiguous() if img is None else self.upsample_img(img, rgb.contiguous())
            i += block.num_conv
        return img


# ---------------------------------------------------------------------------- measurement


def with_threads(fn: Callable, n: int) -> Callable:
    def run(ws):
        old = torch.get_num_threads()
        torch.set_num_threads(n)
        try:
            return fn(ws)
        finally:
            torch.set_num_threads(old)
    return run


def with_bf16(fn: Callable) -> Callable:
    def run(ws):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return fn(ws).float()
    return run


def variants(G: Generator, include_extra: bool) -> dict[str, Callable]:
    syn = G.synthesis

    def today(ws, cl=False):
        """The generic path lavlive took before the CPU batch-1 path (cpu_fast_path switched off)."""
        fast, network.cpu_fast_path = network.cpu_fast_path, lambda x: False
        syn.channels_last = cl
        try:
            return syn(ws, noise_mode="const")
        finally:
            network.cpu_fast_path, syn.channels_last = fast, False

    def lavlive(ws):
        return syn(ws, noise_mode="const")

    v = {"today": today, "today-cl": lambda ws: today(ws, cl=True), "lavlive": lavlive,
         "fused": Variant(syn, "fused"), "fused-cl": Variant(syn, "fused", cl=True),
         "split": Variant(syn, "split"), "split-cl": Variant(syn, "split", cl=True),
         "auto-cl": Variant(syn, "auto", cl=True), "auto-cl-sep": Variant(syn, "auto", cl=True, fir="sep")}
    if include_extra:
        v["lavlive-t1"] = with_threads(lavlive, 1)
        v["today-t1"] = with_threads(today, 1)
        v["today-bf16"] = with_bf16(today)
        v["lavlive-bf16"] = with_bf16(lavlive)
    return v


def bench(name: str, G: Generator, rounds: int, include_extra: bool) -> list[tuple]:
    torch.manual_seed(0)
    with torch.inference_mode():
        ws = G.mapping(torch.randn(1, G.z_dim))
        vs = variants(G, include_extra)
        ref = vs["today"](ws)
        diffs = {k: (fn(ws) - ref).abs().max().item() for k, fn in vs.items()}  # also the warm-up
        times: dict[str, list[float]] = {k: [] for k in vs}
        for _ in range(rounds):
            for k, fn in vs.items():
                t = time.perf_counter()
                fn(ws)
                times[k].append(time.perf_counter() - t)
    base = statistics.median(times["today"])
    return [(name, k, 1000 * statistics.median(t), statistics.median(t) / base, diffs[k]) for k, t in times.items()]


COMPILE_CHILD = r"""
import sys, time, statistics, torch
sys.path.insert(0, "benchmarks")
from synthesis import config_f
from lavlive.generator import Generator, network
torch.set_num_threads(2)
res = int(sys.argv[1])
torch.manual_seed(0)
G = Generator(config_f(res)).eval().requires_grad_(False)
ws = G.mapping(torch.randn(1, G.z_dim))
fast = network.cpu_fast_path
def today(ws):
    network.cpu_fast_path = lambda x: False
    try:
        return G.synthesis(ws, noise_mode="const")
    finally:
        network.cpu_fast_path = fast
with torch.no_grad():
    ref = today(ws)
    fn = torch.compile(G.synthesis)  # traces lavlive's current (CPU batch-1) path
    t = time.perf_counter(); out = fn(ws, noise_mode="const"); warm = time.perf_counter() - t
    T = {"compiled": [], "lavlive": [], "today": []}
    runs = {"compiled": lambda: fn(ws, noise_mode="const"), "lavlive": lambda: G.synthesis(ws, noise_mode="const"),
            "today": lambda: today(ws)}
    G.synthesis(ws, noise_mode="const")
    for _ in range(int(sys.argv[2])):
        for k, f in runs.items():
            t = time.perf_counter(); f(); T[k].append(time.perf_counter() - t)
    m = {k: 1000 * statistics.median(v) for k, v in T.items()}
    print(f"RESULT {warm:.1f} {m['compiled']:.1f} {m['lavlive']:.1f} {m['today']:.1f} {(out - ref).abs().max().item():.2e}")
"""


def compile_runs(res: int, rounds: int, cap_s: float, cache_dir: str) -> list[str]:
    env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=cache_dir, TORCHINDUCTOR_FX_GRAPH_CACHE="1")
    lines = []
    for attempt in ("cold cache", "warm cache"):
        t = time.perf_counter()
        try:
            r = subprocess.run([sys.executable, "-c", COMPILE_CHILD, str(res), str(rounds)], env=env,
                               capture_output=True, text=True, timeout=cap_s, check=False)
        except subprocess.TimeoutExpired:
            lines.append(f"compile {res} ({attempt}): did not finish in {cap_s:.0f} s")
            break
        wall = time.perf_counter() - t
        out = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT")]
        if not out:
            lines.append(f"compile {res} ({attempt}): failed: {r.stderr.strip().splitlines()[-1:]}")
            break
        warm, c_ms, e_ms, t_ms, diff = out[0].split()[1:]
        lines.append(f"compile {res} ({attempt}): first call {warm} s, process {wall:.0f} s; compiled {c_ms} ms/frame, "
                     f"eager lavlive {e_ms} ms, today {t_ms} ms (ratio to today {float(c_ms) / float(t_ms):.2f}, "
                     f"to lavlive {float(c_ms) / float(e_ms):.2f}), max diff to today {diff}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolutions", type=int, nargs="+", default=[256, 1024])
    ap.add_argument("--rounds", type=int, nargs="+", default=[5, 2], help="rounds per resolution (last repeats)")
    ap.add_argument("--default-rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--compile", action="store_true", help="also time torch.compile in subprocesses")
    ap.add_argument("--compile-cap", type=float, default=300.0)
    ap.add_argument("--compile-resolutions", type=int, nargs="+", default=[256])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, cpu capability "
          f"{torch.backends.cpu.get_cpu_capability()}, mkldnn {torch.backends.mkldnn.is_available()}")
    rows = bench("default 256", default_generator(), args.default_rounds, True)
    for i, res in enumerate(args.resolutions):
        torch.manual_seed(res)
        G = Generator(config_f(res)).eval().requires_grad_(False)
        rows += bench(f"config-F {res}", G, args.rounds[min(i, len(args.rounds) - 1)], True)
        del G
    print(f"{'model':<14} {'variant':<14} {'ms/frame':>9} {'ratio':>6} {'max|diff|':>10}")
    for name, k, ms, ratio, diff in rows:
        print(f"{name:<14} {k:<14} {ms:>9.1f} {ratio:>6.2f} {diff:>10.2e}")
    if args.compile:
        import tempfile
        with tempfile.TemporaryDirectory() as cache:
            for res in args.compile_resolutions:
                for line in compile_runs(res, 3, args.compile_cap, cache):
                    print(line, flush=True)


if __name__ == "__main__":
    main()
