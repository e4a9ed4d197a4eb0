"""`lavlive presets`: the built-in presets by name, with what each is for and the routes each has, and where
they are; `lavlive presets NAME|FILE` shows one preset's routes."""

from __future__ import annotations

import argparse

from ..presets import builtin_presets, load_preset, midi_map_example
from ..resources import data_dir


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("presets", help="list the built-in presets and their routes",
                       description="List the built-in presets (use one with --preset NAME) with a line on each and "
                                   "their modulation routes, the folder they are in, and the MIDI map example to "
                                   "start a map from; or show one preset (a name or a .toml file).")
    p.add_argument("preset", nargs="?", default=None, metavar="NAME|FILE", help="show this preset only")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    names = [args.preset] if args.preset else builtin_presets()
    presets = {name: load_preset(name) for name in names}
    width = max(map(len, presets), default=0)
    for name, preset in presets.items():
        print(f"{name:<{width}}  {preset.description or '(no description)'}")
        for route in preset.routes:
            print(f"{'':<{width}}    route {route.describe()}")
        sections = preset.sections
        if sections.switch != "none":
            turns = sections.seeds if sections.switch == "seed" else sections.presets
            listed = ", ".join(map(str, turns)) if turns else "seed + 1, + 2, …"
            print(f"{'':<{width}}    at each section: next {sections.switch} ({listed}), on the bar line, "
                  f"{sections.crossfade:g} s fade")
    if args.preset:
        return 0
    print(f"\npresets folder: {data_dir('presets')} (copy one and pass --preset FILE.toml to change it)")
    print(f"MIDI map example: {midi_map_example()}")
    return 0
