"""How closely the picture's motion follows the music, per preset: the figure a VJ feels as "it moves with the beat".

    python benchmarks/follow.py [--seconds 30] [--fps 15] [--presets default,pulse] [TRACK ...]

For each track (default: the demo track, and the Debian packages' songs where installed: fretsonfire-songs-sectoid,
hyperrogue-music) and each built-in preset, runs the real control path and draws every frame with the embedded
network (256², CPU), then prints:

- corr: the correlation between the picture's frame-to-frame change (mean absolute pixel difference) and the
  percussive onset strength at that frame (lag 0), and the best over lags 0..4 frames (the smoothing delays);
- hit/rest: the mean change on frames with onset ≥ 0.5 over that on frames with onset < 0.2 (how much harder the
  picture moves on hits than between them);
- still: the mean change in digital silence (a preset should stand still when the music stops).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import numpy as np
import torch

from lavlive.audio.demo import demo_track, write_wav
from lavlive.audio.sources import FileSource
from lavlive.control import follow_song
from lavlive.pipeline.model import load_model
from lavlive.pipeline.synthesizer import SynthesisOptions
from lavlive.pipeline.track import TrackPlan
from lavlive.presets import builtin_presets, load_preset

DEBIAN_SONGS = [
    "/usr/share/games/fretsonfire/data/songs/sectoid/Metal madness/song.ogg",
    "/usr/share/games/fretsonfire/data/songs/sectoid/Feelings/song.ogg",
    "/usr/share/hyperrogue/music/hr3-caves.ogg",
]
BATCH = 8


def follow(track: Path, preset_name: str, seconds: float, fps: int, start: float = 0.0) -> dict[str, float]:
    preset = load_preset(preset_name)
    model = load_model(None, "cpu", SynthesisOptions(noise_mode=preset.synthesis.noise_mode,
                                                     seed=preset.modulation.seed), warm_up=None)
    path, _ = model.control_path(preset)
    follow_song(path, preset, track, start, seconds)
    rate = path.encoder.sample_rate
    source = FileSource(track, rate, path.encoder.channels, block_size=rate // 2, start=start, duration=seconds)
    change, onset, previous = [], [], None
    frames = list(TrackPlan(source, path, fps))
    for i in range(0, len(frames), BATCH):
        batch = frames[i:i + BATCH]
        images = model.synthesizer(np.stack([f.ws for f in batch]), batch[0].index, np.stack([f.picture for f in batch]))
        for frame, image in zip(batch, images.astype(np.int16)):
            if previous is not None:
                change.append(float(np.abs(image - previous).mean()))
                onset.append(frame.onset)
            previous = image
    change_a, onset_a = np.array(change), np.array(onset)
    corr = [float(np.corrcoef(change_a[lag:], onset_a[:len(onset_a) - lag])[0, 1]) for lag in range(5)]
    hits, rest = change_a[onset_a >= 0.5], change_a[onset_a < 0.2]
    return {"corr": corr[0], "best": max(corr), "lag": int(np.argmax(corr)),
            "hit/rest": float(hits.mean() / max(rest.mean(), 1e-9)) if len(hits) and len(rest) else float("nan"),
            "change": float(change_a.mean())}


def stillness(preset_name: str, fps: int) -> float:
    """Mean frame-to-frame change over the last 2 s of 4 s of digital silence after 4 s of the demo track."""
    with tempfile.TemporaryDirectory() as tmp:
        audio = demo_track(4.0, 44100)
        audio = np.concatenate([audio, np.zeros_like(audio)], axis=-1)
        wav = Path(tmp) / "then-silence.wav"
        write_wav(wav, audio, 44100)
        preset = load_preset(preset_name)
        model = load_model(None, "cpu", SynthesisOptions(seed=preset.modulation.seed), warm_up=None)
        path, _ = model.control_path(preset)
        rate = path.encoder.sample_rate
        frames = [f for f in TrackPlan(FileSource(wav, rate, path.encoder.channels, block_size=rate // 2), path, fps)
                  if f.time >= 6.0]
        images = model.synthesizer(np.stack([f.ws for f in frames]), frames[0].index,
                                   np.stack([f.picture for f in frames])).astype(np.int16)
        return float(np.abs(np.diff(images, axis=0)).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tracks", nargs="*", type=Path)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--start", type=float, default=30.0, help="where in each song to start (the demo: 0)")
    ap.add_argument("--fps", type=int, default=15)
    ap.add_argument("--presets", default=",".join(builtin_presets()))
    args = ap.parse_args()
    torch.set_num_threads(2)
    presets = args.presets.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        demo = Path(tmp) / "demo.wav"
        write_wav(demo, demo_track(args.seconds, 44100), 44100)
        tracks = args.tracks or [demo] + [Path(p) for p in DEBIAN_SONGS if Path(p).exists()]
        print(f"{args.seconds:g} s of each track at {args.fps} fps, embedded network 256², CPU\n")
        print(f"{'track':<22} {'preset':<10} {'corr':>6} {'best':>6} {'lag':>4} {'hit/rest':>9} {'change':>7}")
        table: dict[str, list[dict[str, float]]] = {p: [] for p in presets}
        for track in tracks:
            start = 0.0 if track == demo else args.start
            name = "demo" if track == demo else f"{track.parent.name}/{track.stem}"[-22:]
            for preset in presets:
                r = follow(track, preset, args.seconds, args.fps, start)
                table[preset].append(r)
                print(f"{name:<22} {preset:<10} {r['corr']:6.3f} {r['best']:6.3f} {r['lag']:4d} "
                      f"{r['hit/rest']:9.2f} {r['change']:7.2f}", flush=True)
        print(f"\n{'preset':<10} {'median corr':>11} {'median best':>11} {'median hit/rest':>15} {'still':>6}")
        for preset, rows in table.items():
            med = lambda key: statistics.median(r[key] for r in rows)  # noqa: E731
            print(f"{preset:<10} {med('corr'):11.3f} {med('best'):11.3f} {med('hit/rest'):15.2f} "
                  f"{stillness(preset, args.fps):6.2f}", flush=True)


if __name__ == "__main__":
    main()
