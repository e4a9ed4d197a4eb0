"""Live playback: achieved frame rate, frames not shown, and the A/V offset distribution.

    python benchmarks/play.py                         # CPU: 128×128 and 256×256 (about 2 minutes)
    python benchmarks/play.py --device cuda --resolutions 256 512 1024

Runs `lavlive play` on a demo track for each model resolution (random networks of the embedded
default's architecture) in a window on Xvfb with sound through PulseAudio's null sink, both
started here if none is running, and reads the player's frame log: for every shown frame, its
presentation time and the audio clock (what is heard) right after the buffer swap.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from lavlive.audio.demo import demo_track, write_wav
from lavlive.generator import save_generator
from lavlive.generator.default import DEFAULT_CONFIG, default_generator

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from services import start_pulse, start_xvfb  # noqa: E402  (the same real services the tests use)


def model_file(resolution: int, folder: Path) -> Path:
    path = folder / f"default{resolution}.pt"
    save_generator(default_generator(cfg=dataclasses.replace(DEFAULT_CONFIG, img_resolution=resolution)), path)
    return path


def play(track: Path, model: Path, device: str, fps: int, size: str, log: Path) -> str:
    cmd = [sys.executable, "-m", "lavlive", "play", str(track), "--model", str(model), "--device", device,
           "--fps", str(fps), "--size", size, "--frame-log", str(log)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"lavlive play failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stderr


def report(resolution: int, log_path: Path, seconds: float, fps: int) -> None:
    data = np.genfromtxt(log_path, delimiter=",", names=True)
    t, offset = data["time"][1:], data["offset"][1:] * 1000  # the first frame waits for the audio to start
    shown = len(data)
    planned = round(seconds * fps)
    achieved = (len(t) - 1) / (t[-1] - t[0])
    a = np.abs(offset)
    third = len(offset) // 3  # drift: medians of the last and first thirds (robust to a single late frame)
    trend = np.median(offset[-third:]) - np.median(offset[:third])
    print(f"{resolution:>5}²  {achieved:6.1f} fps  shown {shown:4d}/{planned}  not shown {planned - shown:4d}  "
          f"|A/V offset| ms: mean {a.mean():5.1f}  p50 {np.percentile(a, 50):5.1f}  p95 {np.percentile(a, 95):5.1f}  "
          f"max {a.max():6.1f}  (signed mean {offset.mean():+5.1f})  drift {trend:+5.2f} ms over {t[-1] - t[0]:.0f} s  "
          f"p95 within a frame period ({1000 / achieved:.0f} ms): {'yes' if np.percentile(a, 95) <= 1000 / achieved else 'NO'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--resolutions", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--size", default="960x540", help="window size")
    args = parser.parse_args()
    if start_xvfb() is None and not os.environ.get("DISPLAY"):
        raise SystemExit("no X server (install Xvfb: bash scripts/setup.sh --test)")
    if not start_pulse():
        raise SystemExit("no PulseAudio server (bash scripts/setup.sh --test)")
    print(f"lavlive play, {args.seconds:g} s demo track at {args.fps} fps, window {args.size}, device {args.device}, "
          f"{os.cpu_count()} CPU cores")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        track = folder / "track.wav"
        write_wav(track, demo_track(args.seconds, 44100), 44100)
        for resolution in args.resolutions:
            log = folder / f"frames{resolution}.csv"
            play(track, model_file(resolution, folder), args.device, args.fps, args.size, log)
            report(resolution, log, args.seconds, args.fps)


if __name__ == "__main__":
    main()
