"""`lavlive presets`: the built-in presets by name, with what each is for, and where they are."""

from __future__ import annotations

import argparse

from ..presets import builtin_descriptions, midi_map_example
from ..resources import data_dir


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("presets", help="list the built-in presets",
                       description="List the built-in presets (use one with --preset NAME) with a line on each, "
                                   "the folder they are in, and the MIDI map example to start a map from.")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    presets = builtin_descriptions()
    width = max(map(len, presets), default=0)
    for name, description in presets.items():
        print(f"{name:<{width}}  {description or '(no description)'}")
    print(f"\npresets folder: {data_dir('presets')} (copy one and pass --preset FILE.toml to change it)")
    print(f"MIDI map example: {midi_map_example()}")
    return 0
