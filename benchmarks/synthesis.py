"""Synthesis speed: ms per frame at 256/512/1024 (config-F channels), and side by side with the reference.

    python benchmarks/synthesis.py [--family stylegan2|stylegan3-t|stylegan3-r] [--device cpu|cuda]
                                   [--resolutions 256 512 1024] [--batches 1 8] [--canvas 16:9]
    python benchmarks/synthesis.py --reference DIR [--family ...] [--resolutions 128 256 1024] [--rounds 5]

--family picks the network: StyleGAN2 config F (default), or StyleGAN3 config T or R at NVIDIA's
channel settings (T: channel_base 32768, channel_max 512; R: both doubled; fp16 in the top 4
resolutions with conv_clamp 256, as the stylegan3 repository's train.py makes them).

Without --reference: a table of lavlive's own figures. On the CPU fp32 (and bf16 where the CPU has
it, with its max abs error against fp32); on CUDA fp32, fp16 eager, and fp16 replayed from a CUDA
graph (batch 1), each with its median ms/frame. With --canvas, each path also draws that canvas
(generator/canvas.py), timed right after the square picture, with the ratio of the two.

With --reference DIR: DIR is a user's own checkout of NVIDIA's stylegan2-ada-pytorch, or of its
stylegan3 repository for the StyleGAN3 families (imported from there at run time, never copied into
lavlive). Both networks get the same random weights (lavlive's
state dict loads into the reference one to one); lavlive's default path (and its bf16 path, where
the device has bf16) and the reference's `synthesis(ws, noise_mode='const')` (fp32 on the CPU) are
timed in the same process, alternating round by round, batch 1; the table gives each median, the
ratio to the reference and the max abs difference of the pictures. Random weights: speed does not depend on them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

from lavlive.generator import Generator, GeneratorConfig, StyleGAN3Config, build_network, default_generator
from lavlive.generator.canvas import parse_canvas
from lavlive.generator.runtime import CudaGraphCall, bf16_supported

FAMILIES = ("stylegan2", "stylegan3-t", "stylegan3-r")


def config_f(resolution: int) -> GeneratorConfig:
    return GeneratorConfig(img_resolution=resolution, channel_base=32768, channel_max=512,
                           num_fp16_res=4, conv_clamp=256.0)


def config_of(family: str, resolution: int) -> GeneratorConfig | StyleGAN3Config:
    """The benchmark's network of each family at a resolution (see the module docstring)."""
    if family == "stylegan2":
        return config_f(resolution)
    r = family == "stylegan3-r"
    return StyleGAN3Config(img_resolution=resolution, channel_base=32768 * (1 + r), channel_max=512 * (1 + r),
                           conv_kernel=1 if r else 3, use_radial_filters=r)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn: Callable[[], torch.Tensor], device: torch.device) -> float:
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def measure(fn: Callable[[], torch.Tensor], device: torch.device, min_seconds: float, min_iters: int) -> float:
    """Median seconds per call: one warm-up call, then repeat until both minimums are met."""
    timed(fn, device)
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_iters or time.perf_counter() - start < min_seconds:
        times.append(timed(fn, device))
    return statistics.median(times)


@torch.no_grad()
def own_figures(args: argparse.Namespace, device: torch.device) -> None:
    print(f"{'model':<22} {'path':<14} {'batch':>5} {'ms/frame':>10} {'frames/s':>9} {'max diff':>9}")
    models = [("embedded default 256", default_generator)] if args.family == "stylegan2" else []
    label = {"stylegan2": "config-F", "stylegan3-t": "StyleGAN3-T", "stylegan3-r": "StyleGAN3-R"}[args.family]
    models += [(f"{label} {r}", lambda r=r: build_network(config_of(args.family, r)).eval().requires_grad_(False))
               for r in args.resolutions]
    for name, build in models:
        G = build().to(device)
        G.synthesis.channels_last = device.type == "cuda"
        shapes = {"": None}
        if args.canvas:
            shapes[f" {args.canvas}"] = {"canvas": args.canvas.pixels(G.img_resolution)}
        for batch in args.batches:
            ws = G.mapping(torch.randn(batch, G.z_dim, device=device))
            square: dict[str, float] = {}
            for shape, canvas in shapes.items():
                for path, fn in paths(G, ws, canvas or {}).items():
                    sec = measure(fn, device, args.min_seconds, args.min_iters)
                    diff = (fn().float() - G.synthesis(ws, force_fp32=True, **(canvas or {}))).abs().max().item()
                    versus = f" {sec / square[path]:.2f}x the square" if canvas else ""
                    square.setdefault(path, sec)
                    print(f"{name:<22} {path + shape:<14} {batch:>5} {1000 * sec / batch:>10.2f} {batch / sec:>9.2f} "
                          f"{diff:>9.1e}{versus}", flush=True)
        del G
        if device.type == "cuda":
            torch.cuda.empty_cache()


def paths(G: Generator, ws: torch.Tensor, kw: dict | None = None) -> dict[str, Callable[[], torch.Tensor]]:
    """The ways this device can run synthesis, by name; `kw`: more keywords for synthesis (a canvas)."""
    device, kw = ws.device, kw or {}
    runs: dict[str, Callable[[], torch.Tensor]] = {"fp32": lambda: G.synthesis(ws, force_fp32=True, **kw)}
    if device.type == "cuda":
        runs["fp16 eager"] = lambda: G.synthesis(ws, **kw)
        if len(ws) == 1:
            graph = CudaGraphCall(lambda w: G.synthesis(w, **kw), ws)
            runs["fp16 graph"] = lambda: graph(ws)
    if bf16_supported(device):
        runs["bf16"] = lambda: G.synthesis(ws, bf16=True, **kw)
    return runs


def reference_generator(folder: Path, cfg: GeneratorConfig | StyleGAN3Config) -> torch.nn.Module:
    """The reference network of the same shape, from the user's checkout."""
    module = "networks_stylegan3" if cfg.family == "stylegan3" else "networks"
    if not (folder / "training" / f"{module}.py").is_file():
        repo = "stylegan3" if cfg.family == "stylegan3" else "stylegan2-ada-pytorch"
        sys.exit(f"--reference {folder}: no training/{module}.py there (give a {repo} checkout)")
    sys.path.insert(0, str(folder))
    try:
        import pkg_resources  # noqa: F401 - the checkout's conv2d_gradfix imports it; newer setuptools lack it
    except ImportError:
        import types

        from packaging.version import parse

        sys.modules["pkg_resources"] = types.SimpleNamespace(parse_version=parse)
    synthesis = {"channel_base": cfg.channel_base, "channel_max": cfg.channel_max,
                 "num_fp16_res": cfg.num_fp16_res, "conv_clamp": cfg.conv_clamp}
    shape = dict(z_dim=cfg.z_dim, c_dim=cfg.c_dim, w_dim=cfg.w_dim, img_resolution=cfg.img_resolution,
                 img_channels=cfg.img_channels, mapping_kwargs={})
    if cfg.family == "stylegan3":
        from training.networks_stylegan3 import Generator as Reference3  # the user's code, found at run time

        synthesis.update(conv_kernel=cfg.conv_kernel, use_radial_filters=cfg.use_radial_filters)
        return Reference3(**shape, **synthesis)
    from training.networks import Generator as Reference  # the user's code, found at run time

    return Reference(**shape, synthesis_kwargs=synthesis)


@torch.no_grad()
def side_by_side(args: argparse.Namespace, device: torch.device) -> None:
    print(f"batch 1, {args.rounds} alternating rounds, medians; bf16: lavlive --precision bf16, its max diff to the "
          "reference in brackets")
    print(f"{args.family:>12} {'lavlive ms':>11} {'reference ms':>13} {'ratio':>6} {'max diff':>9} {'bf16 ms':>8} "
          f"{'ratio':>6} {'(diff)':>9}")
    for res in args.resolutions:
        ms, diff = race(Path(args.reference), config_of(args.family, res), device, args.rounds)
        line = (f"{res:>12} {ms['lavlive']:>11.1f} {ms['reference']:>13.1f} {ms['lavlive'] / ms['reference']:>6.2f} "
                f"{diff['lavlive']:>9.1e}")
        if "bf16" in ms:
            line += f" {ms['bf16']:>8.1f} {ms['bf16'] / ms['reference']:>6.2f} {diff['bf16']:>9.1e}"
        print(line, flush=True)


def race(folder: Path, cfg: GeneratorConfig | StyleGAN3Config, device: torch.device,
         rounds: int) -> tuple[dict[str, float], dict[str, float]]:
    """Median ms of each path at batch 1, alternating round by round, and each one's max abs difference
    to the reference's picture."""
    ours = build_network(cfg).eval().requires_grad_(False).to(device)
    ref = reference_generator(folder, cfg).eval().requires_grad_(False).to(device)
    ref.load_state_dict(ours.state_dict())
    seed = torch.Generator(device).manual_seed(cfg.img_resolution)
    ws = ours.mapping(torch.randn(1, cfg.z_dim, device=device, generator=seed))
    fp32 = device.type != "cuda"  # on the CPU both run fp32; on CUDA both use their fp16 blocks
    ours_fn: Callable[[torch.Tensor], torch.Tensor] = lambda w: ours.synthesis(w, noise_mode="const", force_fp32=fp32)
    if device.type == "cuda":  # lavlive's CUDA default: channels-last, replayed from a CUDA graph
        ours.synthesis.channels_last = True
        ours_fn = CudaGraphCall(ours_fn, ws)
    runs = {"lavlive": lambda: ours_fn(ws), "reference": lambda: ref.synthesis(ws, noise_mode="const", force_fp32=fp32)}
    if bf16_supported(device):
        runs["bf16"] = lambda: ours.synthesis(ws, noise_mode="const", bf16=True)
    picture = runs["reference"]()
    diff = {name: (fn() - picture).abs().max().item() for name, fn in runs.items() if name != "reference"}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, fn in runs.items():
            times[name].append(timed(fn, device))
    return {name: 1000 * statistics.median(t) for name, t in times.items()}, diff


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--family", choices=FAMILIES, default="stylegan2", help="the network (default: stylegan2)")
    ap.add_argument("--resolutions", type=int, nargs="+", default=None,
                    help="default: 256 512 1024; with --reference 128 256 1024")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--canvas", type=parse_canvas, default=None, metavar="W:H|WxH",
                    help="also time drawing this canvas (e.g. 16:9) beside the square picture")
    ap.add_argument("--min-seconds", type=float, default=3.0)
    ap.add_argument("--min-iters", type=int, default=3)
    ap.add_argument("--reference", metavar="DIR", default=None,
                    help="a stylegan2-ada-pytorch (stylegan3 for --family stylegan3-*) checkout to time against")
    ap.add_argument("--rounds", type=int, default=5, help="with --reference: alternating rounds per size")
    args = ap.parse_args()
    device = torch.device(args.device)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{torch.get_num_threads()} threads"
    print(f"device: {device} ({where}), torch {torch.__version__}")
    if args.reference:
        args.resolutions = args.resolutions or [128, 256, 1024]
        side_by_side(args, device)
    else:
        args.resolutions = args.resolutions or [256, 512, 1024]
        own_figures(args, device)


if __name__ == "__main__":
    main()
