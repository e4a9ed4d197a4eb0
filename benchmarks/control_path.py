"""Control-path cost on CPU: real-time factor (with a per-stage split) and peak memory vs track length.

    python benchmarks/control_path.py [--quick] [--seconds 30] [--block 0.1] [--threads 1 2]
                                      [--encoders 24khz 32khz] [--skip-rtf] [--skip-memory]

The whole path is measured as the engine runs it: a synthetic music-like track (chords, bass, kick
and hi-hat noise bursts; stereo 44.1 kHz FLAC written in chunks with PyAV, so decoding, mixdown and
resampling are included) is read with `FileSource` in fixed blocks and pushed through `ControlPath`
(EnCodec embeddings, onset/chroma features, LAV mapping, smoothing). Encoders use whatever weights
`load_encoder` finds (random ones offline: speed does not depend on weights); the mapping uses the
embedded default generator's W statistics. The ws produced are counted and dropped, so the
benchmark itself holds nothing that grows with the track.

1. RTF = compute seconds per audio second, per encoder and torch thread count, split into
   decode (FileSource), encoder (encoder.push/flush), features (features.push/flush) and the rest
   of ControlPath (alignment, mapping, smoothing).
2. Peak memory: each track length runs in a fresh subprocess (24 kHz encoder, 2 threads); the
   figure is the peak RSS over the baseline taken after imports and model construction (VmHWM is
   reset at the baseline through /proc/self/clear_refs; ru_maxrss is the fallback).

numpy's BLAS pool is capped at 1 thread by default (`--blas-threads 0` keeps OpenBLAS's own
default, one thread per core): on a loaded 2-core machine its spinning threads fight torch's
OpenMP pool and the 2-thread RTF went from ~0.6 to ~10.

Targets: RTF <= 0.15 on 2 threads with the 24 kHz encoder; peak memory for the long track
<= 1.5x that for the 1-minute track. `--quick` uses 1 vs 5 minutes instead of 1 vs 30.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FILE_RATE = 44_100
CHUNK_SECONDS = 10.0
RTF_TARGET = 0.15
MEMORY_TARGET = 1.5


# --- the synthetic track ----------------------------------------------------------------------------

def synth(start: int, n: int, chunk_index: int, sr: int = FILE_RATE) -> np.ndarray:
    """Samples [start, start + n) of a deterministic music-like track, float32 [2, n] in [-1, 1]."""
    rng = np.random.default_rng((1234, chunk_index))
    t = (start + np.arange(n)) / sr
    roots = np.array([220.0, 174.61, 261.63, 196.0])  # A F C G, two seconds each
    root = roots[(t // 2.0).astype(np.int64) % 4]
    x = 0.15 * np.sin(np.pi * root * t)  # bass an octave down
    for ratio, amp in ((1.0, 0.12), (1.25, 0.08), (1.5, 0.08), (2.0, 0.04), (3.0, 0.02)):
        x += amp * np.sin(2 * np.pi * ratio * root * t)
    beat = t % 0.5
    kick = np.exp(-beat / 0.04) * (0.5 * np.sin(2 * np.pi * 55.0 * beat) + 0.25 * rng.standard_normal(n))
    hat = 0.15 * np.exp(-((t + 0.25) % 0.5) / 0.01) * rng.standard_normal(n)
    snare = 0.3 * np.exp(-((t + 0.5) % 1.0) / 0.06) * rng.standard_normal(n)  # on beats 2 and 4
    mid = x + kick + snare
    out = np.stack([mid + 0.7 * hat, mid + 1.3 * hat])
    return np.clip(out, -1.0, 1.0).astype(np.float32)


def write_track(path: Path, seconds: float) -> float:
    """Write the track as stereo s16 FLAC, CHUNK_SECONDS at a time; returns the seconds it took."""
    import av

    t0 = time.perf_counter()
    total = int(round(seconds * FILE_RATE))
    chunk = int(CHUNK_SECONDS * FILE_RATE)
    frame_len = 4096
    with av.open(str(path), mode="w", format="flac") as container:
        stream = container.add_stream("flac", rate=FILE_RATE, layout="stereo")
        stream.format = "s16"
        pts = 0
        for i, start in enumerate(range(0, total, chunk)):
            x = synth(start, min(chunk, total - start), i)
            pcm = (x * 32767).round().astype(np.int16).T.reshape(1, -1)  # interleaved
            for j in range(0, x.shape[1], frame_len):
                part = np.ascontiguousarray(pcm[:, 2 * j: 2 * (j + frame_len)])
                frame = av.AudioFrame.from_ndarray(part, format="s16", layout="stereo")
                frame.sample_rate = FILE_RATE
                frame.pts = pts
                pts += frame.samples
                container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return time.perf_counter() - t0


# --- one pass of the control path -------------------------------------------------------------------

class Timed:
    """Proxy that adds the time spent in push/flush of the wrapped operator to `seconds`."""

    def __init__(self, inner) -> None:
        self.inner, self.seconds = inner, 0.0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def push(self, x):
        t = time.perf_counter()
        y = self.inner.push(x)
        self.seconds += time.perf_counter() - t
        return y

    def flush(self):
        t = time.perf_counter()
        y = self.inner.flush()
        self.seconds += time.perf_counter() - t
        return y


def load_stats(path: Path):
    from lavlive.control.statistics import WStatistics

    with np.load(path) as d:
        return WStatistics(**{k: d[k] for k in ("z_mean", "z_std", "pitch_means", "w_avg")})


def build(encoder_name: str, stats, num_ws: int, img_resolution: int):
    from lavlive.audio.encodec_stream import load_encoder
    from lavlive.control import ControlPath
    from lavlive.presets import load_preset

    encoder, notice = load_encoder(encoder_name)
    path = ControlPath(encoder, stats, load_preset("default"), num_ws, img_resolution)
    return path, notice


def run_path(path, track: Path, block_seconds: float, duration: float | None = None) -> dict:
    """Push the whole track through `path` (fresh); returns seconds per stage and counts."""
    from lavlive.audio.sources import FileSource

    sr = path.encoder.sample_rate
    src = FileSource(track, sample_rate=sr, channels=path.encoder.channels,
                     block_size=int(round(block_seconds * sr)), duration=duration)
    path.encoder = enc = Timed(path.encoder)
    path.features = feat = Timed(path.features)
    decode = push = 0.0
    samples = frames = 0
    blocks = iter(src)
    while True:
        t0 = time.perf_counter()
        block = next(blocks, None)
        t1 = time.perf_counter()
        decode += t1 - t0
        if block is None:
            break
        frames += len(path.push(block))
        push += time.perf_counter() - t1
        samples += block.shape[1]
    t0 = time.perf_counter()
    frames += len(path.flush())
    push += time.perf_counter() - t0
    path.encoder, path.features = enc.inner, feat.inner
    return {"audio": samples / sr, "decode": decode, "encoder": enc.seconds, "features": feat.seconds,
            "rest": push - enc.seconds - feat.seconds, "total": decode + push, "frames": frames,
            "expected_frames": int(np.ceil(samples / path._hop))}


# --- peak memory (child process) --------------------------------------------------------------------

def status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def limit_blas(n: int) -> str:
    """Cap numpy's BLAS pool (used by features and mapping) at n threads; 0 leaves the library default."""
    from threadpoolctl import threadpool_info, threadpool_limits

    if n > 0:
        threadpool_limits(limits=n, user_api="blas")
    return ", ".join(f"{i['internal_api']} {i['num_threads']}" for i in threadpool_info() if i["user_api"] == "blas")


def memory_child(args: argparse.Namespace) -> None:
    import torch

    limit_blas(args.blas_threads)
    torch.set_num_threads(args.child_threads)
    stats = load_stats(Path(args.child_stats))
    path, _ = build(args.child_encoder, stats, args.child_num_ws, args.child_res)
    gc.collect()
    base = status_kb("VmRSS")
    try:  # reset the high-water mark to the current RSS (Linux >= 4.0)
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        method = "VmHWM after clear_refs"
    except OSError:
        method = "ru_maxrss"
    r = run_path(path, Path(args.child_track), args.block)
    peak = status_kb("VmHWM") if method.startswith("VmHWM") else None
    if peak is None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux
        method = "ru_maxrss"
    print(json.dumps({"base_kb": base, "peak_kb": peak, "growth_kb": peak - base, "method": method,
                      "end_kb": status_kb("VmRSS"), **r}))


def memory_run(track: Path, stats_file: Path, num_ws: int, res: int, block: float, threads: int,
               blas: int) -> dict:
    cmd = [sys.executable, __file__, "--child-track", str(track), "--child-stats", str(stats_file),
           "--child-encoder", "24khz", "--child-num-ws", str(num_ws), "--child-res", str(res),
           "--child-threads", str(threads), "--block", str(block), "--blas-threads", str(blas)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# --- main -------------------------------------------------------------------------------------------

def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="memory: 1 vs 5 minutes instead of 1 vs 30")
    ap.add_argument("--seconds", type=float, default=30.0, help="track length for the RTF runs")
    ap.add_argument("--block", type=float, default=0.1, help="block size in seconds")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--encoders", nargs="+", default=["24khz", "32khz"])
    ap.add_argument("--memory-threads", type=int, default=2)
    ap.add_argument("--blas-threads", type=int, default=1,
                    help="numpy BLAS threads (0: library default, which oversubscribes small CPUs, see below)")
    ap.add_argument("--skip-rtf", action="store_true")
    ap.add_argument("--skip-memory", action="store_true")
    for name, kind in (("track", str), ("stats", str), ("encoder", str), ("num-ws", int), ("res", int),
                       ("threads", int)):
        ap.add_argument(f"--child-{name}", type=kind, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_track:
        memory_child(args)
        return

    import torch

    from lavlive.generator import default_generator
    from lavlive.control.statistics import sample_statistics

    long_minutes = 5 if args.quick else 30
    blas = limit_blas(args.blas_threads)
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
          f"blocks of {args.block:g} s ({int(round(args.block * 24000))} samples at 24 kHz, "
          f"{int(round(args.block * 32000))} at 32 kHz); file: stereo s16 FLAC at {FILE_RATE} Hz "
          f"(decode + mixdown + resampling included); numpy BLAS threads: {blas}")
    G = default_generator()
    stats = sample_statistics(G)
    num_ws, res = G.num_ws, G.img_resolution
    del G
    with tempfile.TemporaryDirectory(prefix="lavlive-bench-") as tmp:
        tmp = Path(tmp)
        stats_file = tmp / "stats.npz"
        np.savez(stats_file, **vars(stats))

        rtf24_2 = None
        if not args.skip_rtf:
            track = tmp / "rtf.flac"
            took = write_track(track, args.seconds)
            print(f"\n1. Real-time factor, {args.seconds:g} s track (written in {took:.1f} s), "
                  f"default generator stats (num_ws {num_ws}, {res} px)")
            print(f"{'encoder':<8} {'threads':>7} {'RTF':>7} {'decode':>7} {'encoder':>8} {'features':>9} "
                  f"{'rest':>7} {'frames':>7} {'load':>5}   (stage columns: seconds per audio second; load: 1-min load average before the row)")
            for name in args.encoders:
                path, notice = build(name, stats, num_ws, res)
                if notice:
                    print(f"  [{name}: {notice.splitlines()[0]}]")
                run_path(path, track, args.block, duration=2.0)  # warm-up (first-call costs)
                for threads in args.threads:
                    torch.set_num_threads(threads)
                    path, _ = build(name, stats, num_ws, res)
                    load = os.getloadavg()[0]
                    r = run_path(path, track, args.block)
                    a = r["audio"]
                    rtf = r["total"] / a
                    if name == "24khz" and threads == 2:
                        rtf24_2 = rtf
                    print(f"{name:<8} {threads:>7} {rtf:>7.3f} {r['decode'] / a:>7.3f} {r['encoder'] / a:>8.3f} "
                          f"{r['features'] / a:>9.3f} {r['rest'] / a:>7.3f} {r['frames']:>7} {load:>5.2f}", flush=True)
                    assert r["frames"] == r["expected_frames"], r
            if rtf24_2 is not None:
                print(f"target: RTF <= {RTF_TARGET} on 2 threads, 24 kHz: {rtf24_2:.3f} -> "
                      f"{verdict(rtf24_2 <= RTF_TARGET)}")

        if not args.skip_memory:
            print(f"\n2. Peak memory, 24 kHz encoder, {args.memory_threads} threads, fresh subprocess per track "
                  f"(growth of peak RSS over the baseline after imports + model construction)")
            results = {}
            for minutes in (1, long_minutes):
                track = tmp / f"mem{minutes}.flac"
                took = write_track(track, 60.0 * minutes)
                r = memory_run(track, stats_file, num_ws, res, args.block, args.memory_threads,
                               args.blas_threads)
                track.unlink()
                results[minutes] = r
                print(f"{minutes:>3} min track (written in {took:5.1f} s, {r['frames']} frames, "
                      f"RTF {r['total'] / r['audio']:.3f}): baseline {r['base_kb'] / 1024:7.1f} MiB, "
                      f"peak {r['peak_kb'] / 1024:7.1f} MiB, growth {r['growth_kb'] / 1024:6.1f} MiB "
                      f"[{r['method']}]", flush=True)
            ratio = results[long_minutes]["growth_kb"] / max(1, results[1]["growth_kb"])
            print(f"ratio {long_minutes} min / 1 min (peak growth): {ratio:.2f}")
            print(f"target: peak memory for {long_minutes} min <= {MEMORY_TARGET}x that for 1 min: {ratio:.2f}x -> "
                  f"{verdict(ratio <= MEMORY_TARGET)}"
                  + ("" if long_minutes == 30 else " (quick mode: the target is stated for 30 min)"))


if __name__ == "__main__":
    main()
