"""`lavlive live`: visuals for a sound card's input (a DJ mixer, a microphone), as fast as they can be drawn."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import LavliveError
from ..playback import LIVE_KEYS, LiveSettings, live
from ..playback.recorder import check_record_file
from ..presets import ENCODERS
from .arguments import DEVICE_HINT, FILE, check_frame_log, check_output_file, exit_now, nonempty
from .options import (add_control_options, add_health_option, add_record_option, add_stage_options, add_window_options,
                      device_name, display_settings, model_settings, stage_settings)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("live", help="visuals for a sound card's input, live",
                       description="Visualise what a sound card hears (line in, a mixer's output, a microphone), "
                                   "with the lowest latency the machine allows. " + LIVE_KEYS + ".")
    p.add_argument("--input-device", default=None, type=nonempty("--input-device", DEVICE_HINT),
                   help="sound input: index or name (default: the system's; see lavlive devices)")
    p.add_argument("--channels", type=int, choices=(1, 2), default=1,
                   help="input channels to capture and mix (default: 1)")
    p.add_argument("--encoder", choices=ENCODERS, default="24khz",
                   help="EnCodec model: 24khz is causal (no lookahead); the others add theirs (default: 24khz)")
    add_control_options(p)
    add_window_options(p)
    p.add_argument("--block-ms", type=float, default=40.0,
                   help="input block length in ms: shorter is less latency but more work per second (default: 40)")
    p.add_argument("--seed", type=int, default=None, help="projection seed (overrides the preset's modulation.seed)")
    p.add_argument("--stats", action="store_true", help="show the stats line from the start (s toggles)")
    p.add_argument("--frame-log", default=None, metavar="CSV", type=nonempty("--frame-log", FILE, Path),
                   help="one line per shown frame: its audio time and when it was captured, planned, drawn, shown; "
                        "its beat count and when the newest beat was captured; a model switch's dissolve weight")
    add_health_option(p)
    add_record_option(p)
    add_stage_options(p)
    p.set_defaults(run=run)


def settings(args: argparse.Namespace) -> LiveSettings:
    return LiveSettings(
        input_device=device_name(args.input_device), channels=args.channels, encoder=args.encoder,
        block_ms=args.block_ms, preset=args.preset, seed=args.seed, models=model_settings(args),
        display=display_settings(args), stage=stage_settings(args), fps=args.fps, stats=args.stats,
        frame_log=args.frame_log, health_file=args.health_file, record=args.record)


def run(args: argparse.Namespace) -> int:
    if not 2 <= args.block_ms <= 500:
        raise LavliveError(f"--block-ms {args.block_ms:g}: use 2 to 500")
    check_frame_log(args.frame_log)
    check_output_file("--health-file", args.health_file)
    if args.record is not None:
        check_record_file(args.record)
    return exit_now(args, live(settings(args)))
