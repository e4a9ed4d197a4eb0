"""The `lavlive` command: argument parsing, dispatch, and one-line errors instead of tracebacks."""

from __future__ import annotations

import argparse
import sys

from threadpoolctl import threadpool_limits

from . import __version__
from .commands import analyze, demo_track, devices, live, midi_learn, models, play, render, synth
from .errors import LavliveError

COMMANDS = (play, live, render, analyze, synth, demo_track, models, devices, midi_learn)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lavlive",
        description="Turn music into moving StyleGAN2 images (LAV: Latent Audio-Visual).",
        epilog="Run 'lavlive COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"lavlive {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    # numpy's work here is small matrices; a BLAS thread pool would only fight torch's threads for
    # the cores (measured 60x slower control path on 2 cores), so it gets one thread.
    threadpool_limits(1, user_api="blas")
    try:
        args = build_parser().parse_args(argv)  # inside: argument types raise LavliveError too
        args.argv = list(sys.argv[1:] if argv is None else argv)  # recorded in render sidecars
        args.from_command_line = argv is None  # the process ends when the command does
        return int(args.run(args) or 0)
    except LavliveError as e:
        print(f"lavlive: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("lavlive: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
