"""What `--record` costs: per frame on the display thread and on the encoder thread, at 256² and 1024², and
whether a real show with the embedded default keeps every frame it shows.

    python benchmarks/record.py                  # about 2 minutes on 2 cores
    python benchmarks/record.py --seconds 30 --no-show

1. The recorder alone, on a moving picture of the embedded network (scaled to the size): frames offered as
   fast as the encoder takes them (so none is dropped); the display
   thread's cost is the time `Recorder.frame` takes to return, the encoder's the wall time per frame (compose,
   RGB → YUV 4:2:0, x264 veryfast on one thread, mux), with and without a dissolve to compose.
2. A show: `lavlive play` with the embedded default on a demo track, on Xvfb with PulseAudio's null sink,
   without and with --record (same track, same machine, one after the other): frames shown per second, and
   the frames the recording kept and could not keep.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from lavlive.audio.demo import demo_track, write_wav
from lavlive.playback.recorder import MAX_WAITING, Recorder

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from services import start_pulse, start_xvfb  # noqa: E402  (the same real services the tests use)


def gan_picture(size: int) -> np.ndarray:
    """The embedded network's picture of the default preset, at `size`² (x264's cost depends on the content)."""
    from PIL import Image

    from lavlive.pipeline.model import load_model
    from lavlive.presets import load_preset

    still = load_model(None, "cpu").still(load_preset(None))
    return np.asarray(Image.fromarray(still).resize((size, size), Image.BICUBIC))


def recorder_costs(picture: np.ndarray, frames: int, folder: Path, dissolve: bool) -> tuple[float, float]:
    """(ms on the display thread, ms on the encoder thread) per frame."""
    size = picture.shape[0]
    pictures = [np.roll(picture, 5 * k, axis=1) for k in range(8)]  # a picture that moves, as a show's does
    recorder = Recorder(folder / f"bench{size}{'d' if dissolve else ''}.mp4", Fraction(30), 48000, 2)
    offering = 0.0
    started = time.perf_counter()
    for i in range(frames):
        while recorder._waiting >= MAX_WAITING - 1:  # keep the encoder busy without dropping a frame
            time.sleep(0.0005)
        recorder.audio(i * 1600, np.zeros((2, 1600), np.float32))
        t = time.perf_counter()
        recorder.frame(i / 30, pictures[i % 8], pictures[(i + 4) % 8] if dissolve else None, 0.5 if dissolve else 0)
        offering += time.perf_counter() - t
    recorder.close()
    total = time.perf_counter() - started
    assert recorder.dropped == 0 and recorder.recorded == frames
    return offering / frames * 1000, total / frames * 1000


def show(track: Path, folder: Path, seconds: float, record: bool) -> dict:
    log = folder / f"frames-{record}.csv"
    cmd = [sys.executable, "-m", "lavlive", "play", str(track), "--frame-log", str(log), "--size", "512x512"]
    video = folder / "show.mp4"
    if record:
        cmd += ["--record", str(video)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"lavlive play failed:\n{proc.stdout}\n{proc.stderr}")
    data = np.genfromtxt(log, delimiter=",", names=True)
    t = data["time"]
    out = {"shown": len(data), "fps": (len(t) - 1) / (t[-1] - t[0]), "planned": round(seconds * 30)}
    if record:
        out.update(json.loads((folder / "show.mp4.json").read_text())["recorded"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=90, help="frames per recorder measurement (default: 90)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the show (default: 20)")
    parser.add_argument("--no-show", action="store_true", help="measure the recorder alone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("recorder alone (x264 veryfast, 1 thread, AAC; 30 fps):")
        for size in (256, 1024):
            picture = gan_picture(size)
            for dissolve in (False, True):
                display, encoder = recorder_costs(picture, args.frames, folder, dissolve)
                what = f"{size:>4}²{' + dissolve' if dissolve else '          '}"
                print(f"  {what}  display thread {display:6.3f} ms/frame   encoder thread {encoder:6.1f} ms/frame  "
                      f"({1000 / encoder:5.1f} frames/s at most)")
        if args.no_show:
            return
        if start_xvfb() is None or not start_pulse():
            raise SystemExit("needs Xvfb and PulseAudio: bash scripts/setup.sh --test")
        track = folder / "demo.wav"
        write_wav(track, demo_track(args.seconds, 44100, bpm=124), 44100)
        print(f"a show: lavlive play, embedded default (256²), {args.seconds:g} s demo track, window 512×512:")
        for record in (False, True):
            r = show(track, folder, args.seconds, record)
            kept = (f"  recorded {r['frames']}, not kept {r['not_kept']}" if record else "")
            print(f"  {'with' if record else 'without':>7} --record  {r['fps']:5.1f} frames/s shown "
                  f"({r['shown']} of {r['planned']}){kept}")


if __name__ == "__main__":
    main()
