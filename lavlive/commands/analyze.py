"""`lavlive analyze`: one PNG showing what the control path hears and how w moves."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..analysis import BLOCK_SECONDS, analyse, plot
from ..devices import DEVICE_CHOICES, resolve_device
from .arguments import check_times, nonempty
from .options import add_control_options, load_models, open_track
from ..outputs import atomic_output, check_writable
from ..presets import load_preset
from ..progress import Progress


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
    output = Path(args.output or f"{args.input}.analysis.png")
    check_writable(output, args.force)
    preset = load_preset(args.preset)
    device = resolve_device(args.device)
    _, path = load_models(args, preset, device)
    source = open_track(args, path, BLOCK_SECONDS)
    guess = source.duration * source.sample_rate if source.duration else None  # the header's; the audio decides
    with Progress(guess, "s", "analysing", scale=1 / source.sample_rate, leave=False) as bar:
        result = analyse(path, source, bar.update)
        bar.done()
    with atomic_output(output, args.force) as tmp:
        plot(result, f"{Path(args.input).name} — preset {preset.name}, encoder {preset.encoder.name}", tmp)
    print(f"wrote {output}")
    return 0
