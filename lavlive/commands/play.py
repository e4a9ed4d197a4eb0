"""`lavlive play`: tracks, folders or playlists in a window, with sound, the picture following what is heard."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import LavliveError
from ..playback import PLAY_KEYS, PlaySettings, play
from ..playback.recorder import check_record_file
from .arguments import DEVICE_HINT, FILE, check_frame_log, check_output_file, exit_now, nonempty
from .options import (add_control_options, add_health_option, add_record_option, add_stage_options, add_window_options,
                      device_name, display_settings, model_settings, stage_settings)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("play", help="play tracks or playlists in a window with sound",
                       description="Play audio files, folders, M3U or TOML playlists with their visuals in a "
                                   "window, in sync with what is heard. " + PLAY_KEYS + ".",
                       epilog="TOML playlists set per-track preset, model, start, end and crossfade; "
                              "see README.md.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", type=nonempty("INPUT", "give a file, folder or playlist"),
                   help="audio files, folders, .m3u or .toml playlists")
    add_control_options(p)
    add_window_options(p)
    p.add_argument("--audio-device", default=None, type=nonempty("--audio-device", DEVICE_HINT),
                   help="sound output: index or name (default: the system's)")
    p.add_argument("--shuffle", action="store_true", help="play in random order (a new order on every loop)")
    p.add_argument("--loop", action="store_true", help="start over after the last track")
    p.add_argument("--crossfade", type=float, default=None, metavar="SECONDS",
                   help="overlap between tracks, crossfaded in sound and picture (default: the playlist's, else 0: "
                        "gapless)")
    p.add_argument("--kiosk", action="store_true",
                   help="for installations: fullscreen, loop forever, hidden cursor, skip broken files, survive "
                        "the sound card going away, log to --log")
    p.add_argument("--log", type=nonempty("--log", FILE, Path), default=None,
                   help="append one line per track and per fault to this file (kiosk default: "
                        "~/.local/state/lavlive/kiosk.log)")
    p.add_argument("--resume", action="store_true",
                   help="start where the show was when it stopped (a crash, a reboot): the track and place in it, on "
                        "the next bar line, with the look set on stage, from the state file")
    p.add_argument("--state-file", type=nonempty("--state-file", FILE, Path), default=None, metavar="JSON",
                   help="where the show keeps its state every few seconds, for --resume (default with --kiosk or "
                        "--resume: ~/.local/state/lavlive/show.json)")
    p.add_argument("--seed", type=int, default=None, help="projection seed (overrides the presets' modulation.seed)")
    p.add_argument("--display-latency", type=float, default=0.0, metavar="MS",
                   help="how long the screen or projector takes to show a frame; pictures are sent this much "
                        "earlier (default: 0)")
    p.add_argument("--stats", action="store_true", help="show the stats line from the start (s toggles)")
    p.add_argument("--frame-log", type=nonempty("--frame-log", FILE, Path), default=None, metavar="CSV",
                   help="write one line per shown frame: index, presentation time, audio clock at the swap, offset, "
                        "track, time.monotonic() at the swap, a seed or preset switch's weight (0 → 1 as it fades "
                        "in), a fingerprint of its ws")
    add_health_option(p)
    add_record_option(p)
    add_stage_options(p)
    p.add_argument("--no-vsync", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(run=run)


def _check_args(args: argparse.Namespace) -> None:
    if args.crossfade is not None and not 0 <= args.crossfade <= 60:
        raise LavliveError(f"--crossfade {args.crossfade:g}: use 0 to 60 seconds")
    if not 0 <= args.display_latency <= 1000:
        raise LavliveError(f"--display-latency {args.display_latency:g}: use 0 to 1000 ms")
    if args.seed is not None and not 0 <= args.seed < 2**31:
        raise LavliveError(f"--seed {args.seed}: use 0 to 2147483647")
    if args.display < 0:
        raise LavliveError(f"--display {args.display}: use 0 or more")
    check_frame_log(args.frame_log)
    check_output_file("--state-file", args.state_file)
    check_output_file("--health-file", args.health_file)
    if args.record is not None:
        check_record_file(args.record)


def settings(args: argparse.Namespace) -> PlaySettings:
    return PlaySettings(
        inputs=tuple(args.inputs), preset=args.preset, seed=args.seed, models=model_settings(args),
        display=display_settings(args, kiosk=args.kiosk), stage=stage_settings(args), fps=args.fps,
        audio_device=device_name(args.audio_device), shuffle=args.shuffle, loop=args.loop, crossfade=args.crossfade,
        kiosk=args.kiosk, log=args.log, display_latency=args.display_latency / 1000, stats=args.stats,
        frame_log=args.frame_log, resume=args.resume, state_file=args.state_file,
        health_file=args.health_file, record=args.record)


def run(args: argparse.Namespace) -> int:
    _check_args(args)
    return exit_now(args, play(settings(args)))
