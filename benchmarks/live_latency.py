"""Live input: the control path's compute per block, and the end-to-end latency from sound card to screen.

    python benchmarks/live_latency.py [--seconds 60] [--block-ms 20] [--threads 1]
    python benchmarks/live_latency.py --end-to-end [--resolution 128] [--fps 15] [--device cuda]

Feeds a demo track in blocks of --block-ms through the low-latency control path (24 kHz causal
EnCodec, features without the harmonic median: about 41 ms of lookahead) on one thread, as the
live analysis thread runs it, and prints the compute time per block (p50, p95, max; target
≤ 30 ms p95 on this CPU) and the latency it adds up to: the input block, the path's lookahead and
the compute time.

--end-to-end runs `lavlive live` (a random network of the default architecture at --resolution)
on a real loopback: a demo track played into PulseAudio's null sink is captured from its monitor,
in a window on Xvfb (both started if none runs), and reads its frame log: per shown frame, when
its audio was captured, its ws known, its picture drawn and shown, on one clock, and for each drum
hit (a detected beat) the time from its capture to the first frame that shows it.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from lavlive.audio.demo import demo_track, write_wav
from lavlive.generator import load_generator, save_generator
from lavlive.generator.default import DEFAULT_CONFIG, default_generator
from lavlive.control import ControlPath
from lavlive.presets import load_preset


def end_to_end(resolution: int, fps: int, device: str, seconds: float, block_ms: float) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from services import start_pulse, start_xvfb

    if start_xvfb() is None or not start_pulse():
        raise SystemExit("needs Xvfb and PulseAudio (bash scripts/setup.sh --test)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = folder / "model.pt"
        save_generator(default_generator(cfg=dataclasses.replace(DEFAULT_CONFIG, img_resolution=resolution)), model)
        write_wav(folder / "track.wav", demo_track(seconds, 44100), 44100)
        log = folder / "frames.csv"
        live = subprocess.Popen([sys.executable, "-m", "lavlive", "live", "--model", str(model), "--fps", str(fps),
                                 "--device", device, "--block-ms", str(block_ms), "--frame-log", str(log)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        while not log.exists() or log.stat().st_size < 200:
            if live.poll() is not None:
                raise SystemExit(live.communicate()[0])
            time.sleep(0.2)
        subprocess.run(["paplay", str(folder / "track.wav")], check=True)
        live.send_signal(signal.SIGTERM)
        live.communicate(timeout=30)
        data = np.genfromtxt(log, delimiter=",", names=True)
    data = data[-int(len(data) * 0.7):]
    first = (np.diff(data["beats"], prepend=data["beats"][0]) > 0) & ~np.isnan(data["beat_captured"])
    t = data["shown"]
    print(f"lavlive live, {resolution}×{resolution} on {device}, {fps} fps requested, {block_ms:g} ms blocks, "
          f"{os.cpu_count()} CPU cores: {(len(t) - 1) / (t[-1] - t[0]):.1f} frames/s shown")
    for name, a, b in (("input + control path", "captured", "planned"), ("synthesis (incl. queue)", "planned", "drawn"),
                       ("display", "drawn", "shown"), ("end to end", "captured", "shown")):
        ms = (data[b] - data[a]) * 1000
        print(f"  {name:<24} median {np.median(ms):6.1f} ms  p95 {np.percentile(ms, 95):6.1f} ms  max {ms.max():6.1f} ms")
    if first.any():  # a drum hit's capture to the first frame that shows its beat
        ms = (data["shown"][first] - data["beat_captured"][first]) * 1000
        print(f"  {'hit to picture':<24} median {np.median(ms):6.1f} ms  p95 {np.percentile(ms, 95):6.1f} ms  "
              f"max {ms.max():6.1f} ms  ({first.sum()} beats)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--block-ms", type=float, default=40.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--preset", default=None)
    parser.add_argument("--end-to-end", action="store_true", help="run lavlive live on a PulseAudio loopback")
    parser.add_argument("--resolution", type=int, default=128)
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.end_to_end:
        end_to_end(args.resolution, args.fps, args.device, min(args.seconds, 20.0), args.block_ms)
        return
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
