"""`lavlive demo-track`: write the built-in demo track (drums + chords), to try lavlive with no music at hand."""

from __future__ import annotations

import argparse

from ..audio.demo import demo_track, write_wav
from ..errors import LavliveError
from ..files import atomic_output
from .arguments import FILE, nonempty


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo-track", help="write a short synthesised demo track (drums + chords) as WAV",
                       description="Synthesise a demo track: kick, snare, hi-hats, bass and a C-G-Am-F pad.")
    p.add_argument("-o", "--output", default="demo.wav", type=nonempty("--output", FILE),
                   help="WAV file to write (default: %(default)s)")
    p.add_argument("--seconds", type=float, default=8.0, help="length (default: %(default)s)")
    p.add_argument("--bpm", type=float, default=120.0, help="tempo (default: %(default)s)")
    p.add_argument("--force", action="store_true", help="overwrite the output if it exists")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not 0 < args.seconds <= 600:
        raise LavliveError(f"--seconds {args.seconds}: use more than 0 and at most 600")
    if not 30 <= args.bpm <= 300:
        raise LavliveError(f"--bpm {args.bpm}: use 30 to 300")
    rate = 44100
    audio = demo_track(args.seconds, rate, args.bpm)
    with atomic_output(args.output, args.force) as tmp:
        write_wav(tmp, audio, rate)
    print(f"wrote {args.output} ({args.seconds:g} s at {args.bpm:g} bpm)")
    return 0
