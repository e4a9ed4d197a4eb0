"""Live input: how long the control path takes from an audio block in to its ws out.

    python benchmarks/live_latency.py [--seconds 60] [--block-ms 20] [--threads 1]

Feeds a demo track in blocks of --block-ms through the low-latency control path (24 kHz causal
EnCodec, features without the harmonic median: about 41 ms of lookahead) on one thread, as the
live analysis thread runs it, and prints the compute time per block (p50, p95, max; target
≤ 30 ms p95 on this CPU) and the latency it adds up to: the input block, the path's lookahead and
the compute time. The end-to-end loopback figure (sound card → picture) is the live command's.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from lavlive.audio.demo import demo_track
from lavlive.generator import load_generator
from lavlive.lav.control import ControlPath
from lavlive.presets import load_preset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--block-ms", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--preset", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    G = load_generator(None)
    path, _ = ControlPath.for_generator(G, load_preset(args.preset), low_latency=True)
    rate = path.encoder.sample_rate
    audio = demo_track(args.seconds, rate)[:1]
    block = int(args.block_ms / 1000 * rate)
    times = []
    for i in range(0, audio.shape[1] - block + 1, block):
        start = time.perf_counter()
        path.push(audio[:, i:i + block])
        times.append(time.perf_counter() - start)
    ms = np.array(times[int(0.5 * rate / block):]) * 1000  # after the first half second (start-up)
    p95 = np.percentile(ms, 95)
    print(f"low-latency control path, {path.encoder.name}, "
          f"{args.block_ms:g} ms blocks, {args.threads} thread(s), {args.seconds:g} s of audio")
    print(f"compute per block: p50 {np.percentile(ms, 50):.1f} ms  p95 {p95:.1f} ms  max {ms.max():.1f} ms  "
          f"(target p95 <= 30 ms: {'met' if p95 <= 30 else 'NOT met'}); real-time factor "
          f"{ms.mean() / args.block_ms:.2f}")
    print(f"latency before synthesis: input block {args.block_ms:g} ms + lookahead {path.lookahead * 1000:.0f} ms "
          f"+ compute p95 {p95:.0f} ms = {args.block_ms + path.lookahead * 1000 + p95:.0f} ms")


if __name__ == "__main__":
    main()
