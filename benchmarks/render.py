"""Render throughput against raw synthesis, and peak memory of short and long renders.

    python benchmarks/render.py                  # both parts (about 6 minutes on 2 cores)
    python benchmarks/render.py --skip-memory

Throughput: the same generator and batch, in the same process, alternating rounds of (a) raw
synthesis of N frames in a worker thread and (b) the whole render of a demo track with N frames
(decode, EnCodec, features, mapping, smoothing, synthesis, H.264 + AAC into an .mp4). Medians of
the rounds are compared; the target is render ≥ 90 % of raw.

Memory: `lavlive render` of a 1-, a 10- and a 60-minute track in fresh processes (a small 64×64
model at 10 fps so the longest takes about eleven minutes on 2 cores), peak RSS of each; target: the
longer ones within 5 % of the 1-minute one (`--minutes 1,10` for a quicker check).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from lavlive.audio.demo import demo_track, write_wav
from lavlive.audio.sources import FileSource
from lavlive.devices import resolve_device, serial_here
from lavlive.pipeline import Engine, Synthesizer
from lavlive.generator import Generator, GeneratorConfig, load_generator, save_generator
from lavlive.control import ControlPath
from lavlive.presets import load_preset
from lavlive.render.video import VideoWriter


def raw_synthesis(synth: Synthesizer, ws: np.ndarray, batch: int, frames: int, threads: int) -> float:
    """Frames/s of synthesis alone, in a worker thread as in the engine."""
    result = {}

    def work() -> None:
        torch.set_num_threads(threads)
        synth(ws[:batch])  # warm-up
        start = time.perf_counter()
        for i in range(0, frames, batch):
            synth(ws[i % len(ws):i % len(ws) + batch] + 1e-3 * i, i)
        result["fps"] = frames / (time.perf_counter() - start)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    return result["fps"]


def render(G: Generator, synth: Synthesizer, track: Path, out: Path, fps: Fraction, batch: int,
           threads: int) -> tuple[float, int]:
    """Frames/s of the whole pipeline into a real .mp4 (from the first block read to the file closed)."""
    path, _ = ControlPath.for_generator(G, load_preset(None))
    source = FileSource(track, path.encoder.sample_rate, path.encoder.channels,
                        block_size=path.encoder.sample_rate // 2)
    start = time.perf_counter()
    writer = VideoWriter(out, fps, synth.size, audio_from=track)
    with Engine.for_track(source, path, synth, fps, batch=batch, synthesis_threads=threads) as engine:
        for frame in engine.frames():
            writer.write(frame.image)
    writer.close()
    return writer.frames_written / (time.perf_counter() - start), writer.frames_written


def throughput(args: argparse.Namespace, tmp: Path) -> None:
    with serial_here() as threads:
        _throughput(args, tmp, threads)


def _throughput(args: argparse.Namespace, tmp: Path, threads: int) -> None:
    device = resolve_device(args.device)
    batch = args.batch or (8 if device.type == "cuda" else 1)
    G = load_generator(args.model, device)
    synth = Synthesizer(G)
    track = tmp / "track.wav"
    write_wav(track, demo_track(args.seconds), 44100)
    fps = Fraction(args.fps)
    with torch.no_grad():
        ws = G.mapping(torch.randn(64, G.z_dim, device=device), truncation_psi=0.8).cpu().numpy()
    frames = round(args.seconds * fps)
    print(f"{G.img_resolution}×{G.img_resolution} {'embedded default' if args.model is None else args.model}, "
          f"{device}, batch {batch}, {threads} threads, {args.seconds:g} s track at {fps} fps = {frames} frames")
    raws, renders = [], []
    for r in range(args.rounds):
        raws.append(raw_synthesis(synth, ws, batch, frames, threads))
        fps_render, written = render(G, synth, track, tmp / "out.mp4", fps, batch, threads)
        assert written == frames, (written, frames)
        renders.append(fps_render)
        print(f"  round {r + 1}: raw synthesis {raws[-1]:.2f} frames/s, render {renders[-1]:.2f} frames/s", flush=True)
    raw, full = float(np.median(raws)), float(np.median(renders))
    print(f"median: raw {raw:.2f} frames/s, render {full:.2f} frames/s = {100 * full / raw:.0f} % of raw "
          f"(target ≥ 90 %)")


def memory(args: argparse.Namespace, tmp: Path) -> None:
    model = tmp / "small.safetensors"
    torch.manual_seed(0)
    save_generator(Generator(GeneratorConfig(z_dim=128, w_dim=128, img_resolution=64, channel_base=1024,
                                             channel_max=64, mapping_layers=2)).eval(), model)
    minute = demo_track(60.0)
    peaks = {}
    lengths = [int(m) for m in args.minutes.split(",")]
    for minutes in lengths:
        track = tmp / f"track-{minutes}.wav"
        write_wav(track, np.tile(minute, (1, minutes)), 44100)  # freed before the child starts (see peak_rss_kib)
        out = tmp / f"out-{minutes}.mp4"
        start = time.perf_counter()
        child = subprocess.run([sys.executable, __file__, "--child", str(track), str(out), str(model)],
                               capture_output=True, text=True, check=True)
        peaks[minutes] = int(child.stdout.strip().splitlines()[-1])
        print(f"  {minutes:2d}-minute track: peak RSS {peaks[minutes] / 1024:.0f} MiB "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
        track.unlink()
    first = lengths[0]
    for minutes in lengths[1:]:
        print(f"peak memory {minutes} min / {first} min = {peaks[minutes] / peaks[first]:.3f} (target ≤ 1.05)")


def child(track: str, out: str, model: str) -> None:
    """One render through the real command, then this process's peak RSS in KiB."""
    from lavlive.cli import main

    code = main(["render", track, "-o", out, "--model", model, "--fps", "10", "--device", "cpu", "--force"])
    assert code == 0
    print(peak_rss_kib())


def peak_rss_kib() -> int:
    """This process's peak resident memory since it started running this program (VmHWM). Not ru_maxrss: that
    also counts the forked parent's pages before exec, which made the parent's copy of a long track look like the
    render's own memory (benchmark figures before 2026-12 overstated long renders so)."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="checkpoint (default: the embedded 256×256 default)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=20.0, help="demo track length for throughput")
    parser.add_argument("--fps", default="30")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--minutes", default="1,10,60", help="track lengths for the memory part (minutes)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    threadpool_limits(1, user_api="blas")
    if args.child:
        os.environ.setdefault("TQDM_DISABLE", "1")
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_throughput:
            throughput(args, Path(tmp))
        if not args.skip_memory:
            memory(args, Path(tmp))


if __name__ == "__main__":
    main()
