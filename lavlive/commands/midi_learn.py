"""`lavlive midi-learn`: print a MIDI map entry for every knob and pad touched, to paste into a map file."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("midi-learn", help="print MIDI map entries for the controls you touch",
                       description="Listen to a MIDI controller and print, for each knob, fader or pad you touch, a "
                                   "[[cc]] or [[note]] entry for a map file (example: see lavlive presets); fill in "
                                   "its parameter and pass the file to --midi-map. Ctrl-C stops.")
    p.add_argument("--port", default=None, help="MIDI input port name or part of it (default: the first)")
    p.add_argument("--seconds", type=float, default=None, help="stop after this long (default: at Ctrl-C)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..stage import midi_learn

    try:
        count = midi_learn(args.port, args.seconds)
    except KeyboardInterrupt:
        return 0
    print(f"# {count} control(s) seen")
    return 0
