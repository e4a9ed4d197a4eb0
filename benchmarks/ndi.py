"""NDI output: the cost of sending a frame (512², 1024²), and the latency from send to receive on loopback.

    python benchmarks/ndi.py [--sizes 512 1024] [--seconds 4]

A receiver runs in its own process (tests/ndi_receiver.py, as Resolume or OBS would). Per size:
the median time `NdiOutput.send` takes on the display thread (BGRA conversion + handing the buffer
to NDI, whose compression runs in its own threads), also during a dissolve, at 30 frames/s; and,
from frames of distinct flat colours, the time from send to the receiver having the frame (both
on CLOCK_MONOTONIC), with how many frames arrived.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from ndi_receiver import ReceiverProcess  # noqa: E402 - sets NDI_CONFIG_DIR before NDI loads

from lavlive.output.display.ndi import NdiOutput  # noqa: E402

LEVELS = 8  # frame i is flat grey at level i mod LEVELS: recognisable through NDI's compression


def measure(size: int, seconds: float, folder: Path) -> str:
    name = f"lavlive-bench-{size}-{os.getpid()}"
    out = NdiOutput(name, Fraction(30))
    receiver = ReceiverProcess(name, folder)
    greys = [np.full((size, size, 3), 16 + 224 * k // (LEVELS - 1), np.uint8) for k in range(LEVELS)]
    sent: list[float] = []
    plain: list[float] = []
    dissolve: list[float] = []
    try:
        out.send(greys[0])
        receiver.wait_found(30)
        while out.connections() == 0:
            time.sleep(0.01)
        start = time.monotonic()
        i = 0
        while time.monotonic() - start < seconds:  # latency and plain sends, paced at 30 frames/s
            t = time.monotonic()
            out.send(greys[i % LEVELS], index=i)
            plain.append(time.monotonic() - t)
            sent.append(t)
            i += 1
            time.sleep(max(0.0, start + i / 30 - time.monotonic()))
        time.sleep(0.5)
        arrivals, frames = receiver.stop()
        for k in range(30):  # then dissolves (their frames are not matched)
            t = time.monotonic()
            out.send(greys[k % LEVELS], greys[(k + 1) % LEVELS], 0.5, index=k)
            dissolve.append(time.monotonic() - t)
            time.sleep(1 / 30)
    finally:
        if receiver.proc.poll() is None:
            receiver.stop()
        out.close()
    latencies = []
    for arrival, frame in zip(arrivals, frames):
        level = round((float(frame.mean()) - 16) * (LEVELS - 1) / 224)
        candidates = [t for k, t in enumerate(sent) if k % LEVELS == level % LEVELS and t <= arrival]
        if candidates:
            latencies.append(arrival - candidates[-1])
    ms = sorted(1000 * x for x in latencies) or [float("nan")]
    return (f"{size:>5}²  send {1000 * statistics.median(plain):6.2f} ms  dissolve {1000 * statistics.median(dissolve):6.2f} ms"
            f"  send→receive median {ms[len(ms) // 2]:6.1f} ms  p95 {ms[int(0.95 * (len(ms) - 1))]:6.1f} ms"
            f"  ({len(frames)} frames received, {len(sent)} sent)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    ap.add_argument("--seconds", type=float, default=4.0)
    args = ap.parse_args()
    print(f"NDI on loopback, {os.cpu_count()} CPU cores, BGRA, 30 frames/s")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            print(measure(size, args.seconds, Path(tmp)), flush=True)


if __name__ == "__main__":
    main()
