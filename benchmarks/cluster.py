"""A segmented render on a local Ray cluster: 1 worker vs 2 workers on the same track, in one run.

Each configuration is a real cluster on 127.0.0.1 (tests/ray_cluster.py: `ray start` process
trees, as many CPUs per node as this machine has cores: a task runs the driver's thread count,
see lavlive/render/segments.py) running `lavlive render --segments N --cluster ADDRESS`; a single-process
render of the same inputs is the baseline. Prints the wall time of each, the speed-up of 2 workers
over 1, and the analysis pass and the join as shares of the segmented render's total.

    python benchmarks/cluster.py [--seconds 10] [--segments 4] [--threads N] [--model CKPT] [--size 256x256]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from ray_cluster import ray_cluster  # noqa: E402

import av  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from lavlive.audio.demo import demo_track, write_wav  # noqa: E402

RATE = 44100


def render(argv: list[str]) -> tuple[float, dict[str, float]]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "lavlive", "render", *argv, "--force"], capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"render failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    times = re.search(r"analysis pass ([\d.]+) s, segments ([\d.]+) s, join ([\d.]+) s", done.stdout)
    parts = dict(zip(("analysis", "segments", "join"), map(float, times.groups()))) if times else {}
    return wall, parts


def decoded(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)]).astype(np.float64)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2)) if a.shape == b.shape else float("nan")
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--segments", type=int, default=4)
    ap.add_argument("--model", default=None, help="checkpoint (default: the embedded 256×256 network)")
    ap.add_argument("--size", default=None)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads(),
                    help="torch threads per render and per worker (default: this machine's cores)")
    args = ap.parse_args()
    threads = args.threads
    with tempfile.TemporaryDirectory() as tmp:
        music = Path(tmp) / "music.wav"
        write_wav(music, demo_track(args.seconds, RATE), RATE)
        common = [str(music), "--threads", str(threads), *(["--model", args.model] if args.model else []),
                  *(["--size", args.size] if args.size else [])]
        single, _ = render([*common, "-o", str(Path(tmp) / "single.mp4")])
        results = {}
        for nodes in (1, 2):
            with ray_cluster(nodes=nodes, cpus_per_node=threads) as address:
                results[nodes] = render([*common, "-o", str(Path(tmp) / f"seg{nodes}.mp4"), "--segments",
                                         str(args.segments), "--cluster", address])
        whole, joined = decoded(Path(tmp) / "single.mp4"), decoded(Path(tmp) / "seg2.mp4")
    print(f"track {args.seconds:g} s, {args.segments} segments, model {args.model or 'embedded 256x256'}")
    print(f"single process ({threads} threads): {single:6.1f} s wall")
    for nodes, (wall, parts) in results.items():
        share = {k: 100 * v / wall for k, v in parts.items()}
        rest = wall - sum(parts.values())
        print(f"{nodes} worker{'s' if nodes > 1 else ' '} ({threads} threads each): {wall:6.1f} s wall = analysis pass "
              f"{parts.get('analysis', 0):.1f} s ({share.get('analysis', 0):.1f} %) + segments "
              f"{parts.get('segments', 0):.1f} s + join {parts.get('join', 0):.1f} s ({share.get('join', 0):.1f} %) "
              f"+ start-up and connecting {rest:.1f} s ({100 * rest / wall:.1f} %)")
    print(f"frames: single {len(whole)}, segmented {len(joined)}; decoded PSNR segmented vs single "
          f"{psnr(joined, whole):.1f} dB (each encoded at the default --crf 18)")
    print(f"2 workers vs 1: {results[1][0] / results[2][0]:.2f}x faster; vs single process: "
          f"{single / results[2][0]:.2f}x")


if __name__ == "__main__":
    main()
