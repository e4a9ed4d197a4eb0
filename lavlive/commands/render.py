"""`lavlive render`: a track to a video file, offline, with its audio and a sidecar to make it again."""

from __future__ import annotations

import argparse
from fractions import Fraction
from pathlib import Path

from ..control import parse_fps
from ..devices import DEVICE_CHOICES
from ..errors import LavliveError
from ..images import SCALE_MODES
from ..pipeline.synthesizer import parse_size
from ..render import RenderSettings, VideoSettings, render, replay
from ..render.video import ENCODERS, X264_SPEEDS
from .arguments import FILE, check_times, nonempty
from .options import add_control_options, add_synthesis_options, model_settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="render a track to a video file (H.264 + the track's audio)",
                       description="Render the visuals of a track offline into a video file with its audio, "
                                   "plus OUT.json with everything needed to reproduce it.")
    p.add_argument("input", type=nonempty("INPUT", "give an audio file"), nargs="?",
                   help="audio file (wav, flac, ogg, opus, mp3, m4a, …)")
    p.add_argument("--replay", type=nonempty("--replay", FILE, Path), default=None, metavar="SHOW.json",
                   help="instead of a track: draw again a show recorded with play --record VIDEO, from VIDEO.json "
                        "(its tracks, changes, frame rate and sound), at this render's size and quality")
    p.add_argument("-o", "--output", required=True, type=nonempty("--output", FILE),
                   help="video to write (.mp4, .mov, .mkv)")
    add_control_options(p)
    p.add_argument("--fps", type=parse_fps, default=Fraction(30), help="frame rate: 24, 29.97, 30000/1001, 60, … "
                   "(default: 30)")
    p.add_argument("--size", type=parse_size, default=None, help="WIDTHxHEIGHT (default: the model's resolution)")
    p.add_argument("--scale", choices=SCALE_MODES, default="fit",
                   help="when --size has another aspect: fit (whole picture, black bars) or fill (crop) "
                        "(default: fit)")
    p.add_argument("--start", type=float, default=0.0, help="start at this many seconds into the track")
    p.add_argument("--duration", type=float, default=None, help="render this many seconds (default: to the end)")
    p.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="CPU threads for synthesis and the control path (default: all cores); the frames depend "
                        "on it in their last bits, and a segmented render uses it on every machine")
    add_synthesis_options(p)
    p.add_argument("--batch", type=int, default=None, help="frames per synthesis batch (default: 1 on CPU, 8 on CUDA)")
    p.add_argument("--crf", type=int, default=18, help="H.264 quality, 0 (lossless) to 51 (worst) (default: 18)")
    p.add_argument("--speed", choices=X264_SPEEDS, default="medium",
                   help="x264 preset (NVENC: the matching p1-p7): slower gives smaller files at the same --crf "
                        "(default: medium)")
    p.add_argument("--encoder", choices=ENCODERS, default="auto",
                   help="H.264 encoder: auto takes NVENC when synthesis runs on an NVIDIA GPU that has it, else x264; "
                        "a segmented render always uses x264 (default: auto)")
    p.add_argument("--seed", type=int, default=None, help="projection seed (overrides the preset's modulation.seed)")
    p.add_argument("--force", action="store_true", help="overwrite OUT and OUT.json if they exist")
    p.add_argument("--segments", type=int, default=None, metavar="N",
                   help="split the render by time into N segments rendered in parallel on Ray (pip install "
                        "'lavlive[cluster]'), joined into the same video; finished segments are kept in "
                        "OUT.segments/ so a re-run resumes")
    p.add_argument("--cluster", default=None, metavar="local|ADDRESS",
                   help="with --segments: 'local' starts Ray on this machine (default); HOST:PORT joins a cluster "
                        "started with 'ray start --head'")
    p.add_argument("--keep-segments", action="store_true",
                   help="with --segments: keep OUT.segments/ (segment videos, snapshots, frame hashes) after joining")
    p.set_defaults(run=run)


def _check_args(args: argparse.Namespace) -> None:
    if (args.input is None) == (args.replay is None):
        raise LavliveError("render: give an audio file, or --replay SHOW.json (not both)")
    if args.replay is not None:
        given = [name for name, value in (("--preset", args.preset), ("--seed", args.seed), ("--segments",
                 args.segments), ("--duration", args.duration)) if value is not None]
        if given or args.start:
            raise LavliveError(f"--replay: {', '.join(given) or '--start'} cannot be given: the show's sidecar "
                               "says what was played")
    if not 0 <= args.crf <= 51:
        raise LavliveError(f"--crf {args.crf}: use 0 (lossless) to 51")
    if args.batch is not None and not 1 <= args.batch <= 256:
        raise LavliveError(f"--batch {args.batch}: use 1 to 256")
    if args.seed is not None and not 0 <= args.seed < 2**31:
        raise LavliveError(f"--seed {args.seed}: use 0 to 2147483647")
    if args.threads is not None and not 1 <= args.threads <= 1024:
        raise LavliveError(f"--threads {args.threads}: use 1 to 1024")
    if args.segments is not None and not 1 <= args.segments <= 100_000:
        raise LavliveError(f"--segments {args.segments}: use 1 to 100000")
    if args.segments is None and (args.cluster is not None or args.keep_segments):
        raise LavliveError(f"{'--cluster' if args.cluster is not None else '--keep-segments'} needs --segments N")
    if args.segments is not None and args.encoder == "h264_nvenc":
        raise LavliveError("--encoder h264_nvenc: a segmented render encodes with libx264 on every machine, so its "
                           "segments join by stream copy")
    if args.cluster is not None and not args.cluster.strip():
        raise LavliveError("--cluster is empty: give 'local' or the HOST:PORT of a Ray cluster's head")
    check_times(args)


def settings(args: argparse.Namespace) -> RenderSettings:
    video = VideoSettings(fps=args.fps, size=args.size, scale=args.scale, crf=args.crf, speed=args.speed,
                          encoder=args.encoder)
    return RenderSettings(
        input=Path(args.input or args.replay), output=Path(args.output), preset=args.preset, seed=args.seed,
        models=model_settings(args), video=video, start=args.start, duration=args.duration, threads=args.threads,
        batch=args.batch, force=args.force, segments=args.segments, cluster=args.cluster,
        keep_segments=args.keep_segments, command=tuple(args.argv))


def run(args: argparse.Namespace) -> int:
    _check_args(args)
    if args.replay is not None:
        return replay(settings(args), args.replay)
    return render(settings(args))
