"""What the picture controls cost per frame: network bending and the effects, beside the same synthesis without.

    python benchmarks/picture.py [--resolutions 256 1024] [--rounds 5] [--device cpu|cuda]

For the embedded network (256²) and config-F networks at each resolution (random weights: speed does not depend
on them), draws one frame through lavlive's Synthesizer (ws → uint8, as render and play draw) with neutral
controls, with a bend at 16², with a bend at half the resolution, with every effect at once but feedback, with
feedback alone, and with all of it; rounds alternate between the variants, and the table gives each median
ms/frame and its cost over the neutral frame of the same round. On CUDA a graph runs every control every frame
(a neutral one costs what a moving one does): the rows there are what each costs inside the graph.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from lavlive.generator import build_network, default_generator
from lavlive.modulation import PICTURE, PICTURE_NEUTRAL
from lavlive.pipeline.synthesizer import Synthesizer

from synthesis import config_f

NEUTRAL = np.array([PICTURE_NEUTRAL[n] for n in PICTURE])


def controls(resolution: int) -> dict[str, dict[str, float]]:
    effects = {"effect/flash": 0.2, "effect/hue": 30.0, "effect/mirror": 0.5, "effect/kaleidoscope": 0.5,
               "effect/zoom": 0.3}
    bend = {"bend/x": 0.1, "bend/rotate": 15.0, "bend/zoom": 0.3}
    return {"neutral": {}, "bend at 16": {**bend, "bend/block": 16},
            f"bend at {resolution // 2}": {**bend, "bend/block": resolution // 2},
            "effects": effects, "feedback": {"effect/feedback": 0.8},
            "all": {**bend, **effects, "effect/feedback": 0.8}}


def picture(values: dict[str, float]) -> np.ndarray:
    p = NEUTRAL.copy()
    for name, value in values.items():
        p[PICTURE.index(name)] = value
    return p[None]


@torch.no_grad()
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--resolutions", type=int, nargs="+", default=[256, 1024])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    device = torch.device(args.device)
    models = [("embedded 256", default_generator, 256)]
    models += [(f"config-F {r}", lambda r=r: build_network(config_f(r)).eval().requires_grad_(False), r)
               for r in args.resolutions]
    print(f"{'model':<16} {'controls':<14} {'ms/frame':>9} {'cost':>9}")
    for name, build, resolution in models:
        G = build().to(device)
        synthesizer = Synthesizer(G)
        ws = G.mapping(torch.randn(1, G.z_dim, device=device)).cpu().numpy()
        variants = {label: picture(values) for label, values in controls(resolution).items()}
        times: dict[str, list[float]] = {label: [] for label in variants}
        for label, p in variants.items():  # warm: kernels, grids, the trail
            synthesizer(ws, 0, p)
        for _ in range(args.rounds):
            for label, p in variants.items():
                start = time.perf_counter()
                synthesizer(ws, 0, p)
                times[label].append(time.perf_counter() - start)
        base = statistics.median(times["neutral"])
        for label, t in times.items():
            med = statistics.median(t)
            cost = "" if label == "neutral" else f"{1000 * (med - base):+8.1f}"
            print(f"{name:<16} {label:<14} {1000 * med:9.1f} {cost:>9}", flush=True)
        del G, synthesizer


if __name__ == "__main__":
    main()
