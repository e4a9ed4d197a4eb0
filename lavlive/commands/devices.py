"""`lavlive devices`: the sound devices PortAudio sees, to pick --audio-device / --input-device."""

from __future__ import annotations

import argparse
import json

from ..audio.sources import list_devices


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("devices", help="list sound input and output devices",
                       description="List the sound devices with their index, name, channels and default sample "
                                   "rate; pass an index or a name to --audio-device (play) or --input-device (live).")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run=run)


def _default_indices() -> tuple[int | None, int | None]:
    """(default input, default output) device indices, where PortAudio has them."""
    import sounddevice

    try:
        pair = sounddevice.default.device
        return tuple(int(i) if i is not None and int(i) >= 0 else None for i in pair)  # type: ignore[return-value]
    except (TypeError, ValueError):
        return None, None


def run(args: argparse.Namespace) -> int:
    devices = list_devices()
    default_in, default_out = _default_indices()
    for d in devices:
        d["default_input"] = d["index"] == default_in
        d["default_output"] = d["index"] == default_out
    if args.json:
        print(json.dumps(devices, indent=2))
        return 0
    if not devices:
        print("no sound devices (is a sound server running?)")
        return 0
    width = max(len(d["name"]) for d in devices)
    print(f"{'index':>5}  {'name':<{width}}  {'in':>3}  {'out':>3}  {'rate':>6}")
    for d in devices:
        mark = " <default in" * d["default_input"] + " <default out" * d["default_output"]
        print(f"{d['index']:>5}  {d['name']:<{width}}  {d['input_channels']:>3}  {d['output_channels']:>3}  "
              f"{d['default_rate']:>6.0f}{mark}")
    return 0
