"""What the modulation routes cost per video frame, on the CPU, beside the control path they run in.

    python benchmarks/routes.py [--seconds 20] [--fps 30] [--rounds 5]

Runs the real control path (24 kHz EnCodec, random weights, the embedded network's W statistics) over the
same synthetic track with no routes, and with 4, 16 and 64 routes of every kind (sources, LFOs in Hz and in
beats, attack/release, beat and bar quantising, every target), alternating rounds in one process. Prints
the median time per video frame of the whole path, and the difference the routes make (within the path's
own noise: EnCodec dominates it); then the parts alone: the source tracking (the beat clock, band levels: run
with or without routes), the matrix with 4, 16 and 64 routes, and a whole look (mapping, smoothing, routes,
truncation) with them against one without, pushed 3 control frames at a time as the path does, alternating.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from lavlive.audio.demo import demo_track
from lavlive.audio.encodec_stream import load_encoder
from lavlive.control import ControlPath, HierarchicalSmoother, LavMapper, Look, w_statistics
from lavlive.generator import default_generator
from lavlive.modulation import SOURCES, TARGETS, ModulationMatrix, SourceTracker, band_levels
from lavlive.presets import preset_from_dict

SR = 24000


def routes(count: int) -> list[dict]:
    """`count` routes cycling through the sources, targets and kinds of shaping."""
    sources = [s for s in SOURCES if s != "lfo"]
    out = []
    for i in range(count):
        target = list(TARGETS)[i % len(TARGETS)]
        lo, hi = TARGETS[target].range
        route = {"name": f"r{i}", "target": target, "amount": 0.1 * (hi - lo), "release": 0.2 * (i % 3),
                 "attack": 0.05 * (i % 2), "quantise": ("none", "beat", "bar")[i % 3]}
        if i % 4 == 3:
            route.update(source="lfo", shape=("sine", "triangle", "saw", "square", "random")[i % 5],
                         **({"hz": 0.5} if i % 8 == 3 else {"beats": 4}))
        else:
            route.update(source=sources[i % len(sources)], curve=1.0 + (i % 2))
        out.append(route)
    return out


def run_path(encoder, stats, G, preset, audio: np.ndarray) -> float:
    path = ControlPath(encoder, stats, preset, G.num_ws, G.img_resolution)
    encoder.reset()
    start = time.process_time()
    for i in range(0, audio.shape[1], 2400):
        path.push(audio[:, i:i + 2400])
    path.flush()
    return time.process_time() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    G = default_generator()
    stats = w_statistics(G)
    encoder, _ = load_encoder("24khz")
    audio = demo_track(args.seconds, SR)[:1].astype(np.float32)
    frames = args.seconds * args.fps
    counts = (0, 4, 16, 64)
    presets = {n: preset_from_dict({"route": routes(n)} if n else {}, f"{n} routes") for n in counts}
    times: dict[int, list[float]] = {n: [] for n in counts}
    for _ in range(args.rounds):
        for n in counts:
            times[n].append(run_path(encoder, stats, G, presets[n], audio))
    base = statistics.median(times[0]) / frames * 1000
    print(f"control path, {args.seconds:g} s of audio at {args.fps:g} fps, CPU time per video frame "
          f"(1 thread, median of {args.rounds}):")
    print(f"  no routes: {base:.3f} ms")
    for n in counts[1:]:
        ms = statistics.median(times[n]) / frames * 1000
        print(f"  {n:2d} routes: {ms:.3f} ms, routes {ms - base:+.3f} ms per frame")

    tracker, rate = SourceTracker(75.0), 75.0
    hops = audio[0, :int(args.seconds * rate) * 320].reshape(-1, 320)
    k = len(hops)
    beats = np.zeros(k, bool)
    beats[::37] = True  # about 120 bpm
    pushed = []
    start = time.process_time()
    for i in range(0, k, 3):
        bands = band_levels(hops[i:i + 3], SR)
        n = len(bands)
        pushed.append(tracker.push(np.arange(i, i + n) / rate, np.full(n, 0.3), np.full(n, 2.0),
                                   np.full((n, 12), 0.5), np.full(n, -20.0), bands, beats[i:i + n]))
    print(f"  sources alone (beat clock, band levels), always run: "
          f"{(time.process_time() - start) / frames * 1000:.3f} ms per frame")
    for n in counts[1:]:
        matrix = ModulationMatrix(presets[n].routes, rate)
        start = time.process_time()
        for frames_ in pushed:
            matrix.push(frames_)
        print(f"  the matrix alone, {n:2d} routes: {(time.process_time() - start) / frames * 1000:.3f} ms per frame")
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(k, 128))
    looks = {n: Look(LavMapper(stats, presets[n].modulation, rate),
                     HierarchicalSmoother(G.num_ws, G.img_resolution, presets[n].smoothing, rate, w_dim=G.w_dim),
                     routes=presets[n].routes, truncation=0.8) for n in counts}
    spent = {n: [] for n in counts}
    for _ in range(args.rounds):
        for n, look in looks.items():
            start = time.process_time()
            for i, frames_ in zip(range(0, k, 3), pushed):
                m = len(frames_)
                look.push(emb[i:i + m], np.full(m, 0.3), np.full((m, 12), 0.5), np.full(m, -20.0), np.zeros(m, bool),
                          frames_)
            spent[n].append(time.process_time() - start)
    plain = statistics.median(spent[0]) / frames * 1000
    print(f"  a look alone: no routes {plain:.3f} ms per frame; " + ", ".join(
        f"{n} routes {statistics.median(spent[n]) / frames * 1000 - plain:+.3f} ms" for n in counts[1:]))


if __name__ == "__main__":
    main()
