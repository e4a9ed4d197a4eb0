"""`lavlive analyze`: one PNG showing what the control path hears and how w moves."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..devices import DEVICE_CHOICES
from ..render import AnalyzeSettings, analyze
from .arguments import check_times, nonempty
from .options import add_control_options, model_settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="plot waveform, onsets, chroma, embeddings and smoothed w of a track",
                       description="Run the LAV control path over a track and draw one figure to tune presets by.")
    p.add_argument("input", type=nonempty("INPUT", "give an audio file"),
                   help="audio file (wav, flac, ogg, opus, mp3, m4a, …)")
    p.add_argument("-o", "--output", default=None, help="PNG to write (default: INPUT.analysis.png)")
    add_control_options(p)
    p.add_argument("--start", type=float, default=0.0, help="start at this many seconds")
    p.add_argument("--duration", type=float, default=None, help="analyse this many seconds")
    p.add_argument("--device", choices=DEVICE_CHOICES, default="cpu")
    p.add_argument("--force", action="store_true", help="overwrite the output if it exists")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_times(args)
    analyze(AnalyzeSettings(input=Path(args.input), output=Path(args.output or f"{args.input}.analysis.png"),
                            preset=args.preset, models=model_settings(args), start=args.start,
                            duration=args.duration, force=args.force))
    return 0
