"""Synthesis speed: ms per frame and frames/s for batch 1 and 8 at 256/512/1024 (config-F channels).

    python benchmarks/synthesis.py [--device cpu|cuda] [--resolutions 256 512 1024] [--batches 1 8]

Prints a table; fp32 always, fp16 where the device supports it (CUDA). Random weights: speed
does not depend on them. The embedded default generator is measured too.
"""

from __future__ import annotations

import argparse
import time

import torch

from lavlive.generator import Generator, GeneratorConfig, default_generator


def config_f(resolution: int) -> GeneratorConfig:
    return GeneratorConfig(img_resolution=resolution, channel_base=32768, channel_max=512,
                           num_fp16_res=4, conv_clamp=256.0)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


@torch.no_grad()
def measure(G: Generator, batch: int, device: torch.device, fp16: bool, min_seconds: float, min_iters: int) -> float:
    """Seconds per batch: one warm-up call, then repeat until both minimums are met."""
    ws = G.mapping(torch.randn(batch, G.z_dim, device=device))
    G.synthesis(ws, force_fp32=not fp16)
    sync(device)
    times = []
    start = time.perf_counter()
    while len(times) < min_iters or time.perf_counter() - start < min_seconds:
        t = time.perf_counter()
        G.synthesis(ws, force_fp32=not fp16)
        sync(device)
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--resolutions", type=int, nargs="+", default=[256, 512, 1024])
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--min-seconds", type=float, default=3.0)
    ap.add_argument("--min-iters", type=int, default=3)
    ap.add_argument("--channels-last", action="store_true")
    args = ap.parse_args()
    device = torch.device(args.device)
    precisions = ["fp32", "fp16"] if device.type == "cuda" else ["fp32"]
    print(f"device: {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else f'{torch.get_num_threads()} threads'}), "
          f"torch {torch.__version__}")
    print(f"{'model':<22} {'precision':<9} {'batch':>5} {'ms/frame':>10} {'frames/s':>9}")
    models = [("embedded default 256", default_generator())] + [
        (f"config-F {r}", Generator(config_f(r)).eval()) for r in args.resolutions]
    for name, G in models:
        G = G.to(device)
        G.synthesis.channels_last = args.channels_last
        for precision in precisions:
            for batch in args.batches:
                sec = measure(G, batch, device, precision == "fp16", args.min_seconds, args.min_iters)
                print(f"{name:<22} {precision:<9} {batch:>5} {1000 * sec / batch:>10.1f} {batch / sec:>9.2f}", flush=True)
        del G
        if device.type == "cuda":
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
