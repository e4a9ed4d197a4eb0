"""`lavlive play`: tracks, folders or playlists in a window, with sound, the picture following what is heard."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from ..devices import resolve_device, serial_here
from ..errors import LavliveError
from ..interrupts import signals_call
from ..play.playlist import Playlist, load_playlist
from ..presets import load_preset
from .arguments import DEVICE_HINT, FILE, check_frame_log, nonempty
from .options import (add_control_options, add_stage_options, add_window_options, check_synthesis_options, open_ndi,
                      open_stage, open_window)

KEYS = "keys: space pause, n / p next / previous, f fullscreen, s stats, r new seed, q / Esc quit"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("play", help="play tracks or playlists in a window with sound",
                       description="Play audio files, folders, M3U or TOML playlists with their visuals in a "
                                   "window, in sync with what is heard. " + KEYS + ".",
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
    p.add_argument("--seed", type=int, default=None, help="projection seed (overrides the presets' modulation.seed)")
    p.add_argument("--display-latency", type=float, default=0.0, metavar="MS",
                   help="how long the screen or projector takes to show a frame; pictures are sent this much "
                        "earlier (default: 0)")
    p.add_argument("--stats", action="store_true", help="show the stats line from the start (s toggles)")
    p.add_argument("--frame-log", type=nonempty("--frame-log", FILE, Path), default=None, metavar="CSV",
                   help="write one line per shown frame: index, presentation time, audio clock at the swap, offset, "
                        "track, time.monotonic() at the swap, a seed or preset switch's weight (0 → 1 as it fades in)")
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


@contextmanager
def logging_to(path: Path | None, kiosk: bool) -> Iterator[Path | None]:
    """Log lines go to stderr, and to a file when asked (kiosk: always), while the player runs."""
    if path is None and kiosk:
        state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
        path = state / "lavlive" / "kiosk.log"
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(logging.Formatter("lavlive: %(message)s"))
    handlers: list[logging.Handler] = [console]
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handlers.append(logging.FileHandler(path, encoding="utf-8"))
        except OSError as e:
            raise LavliveError(f"--log {path}: cannot write ({e.strerror or e})") from None
        handlers[-1].setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("lavlive")
    saved = logger.level, logger.propagate
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for h in handlers:
        logger.addHandler(h)
    try:
        yield path
    finally:
        for h in handlers:
            logger.removeHandler(h)
            h.close()
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def run(args: argparse.Namespace) -> int:
    _check_args(args)
    kiosk = args.kiosk
    playlist = load_playlist(args.inputs, crossfade=args.crossfade, loop=True if (args.loop or kiosk) else None,
                             shuffle=True if args.shuffle else None, missing="skip" if kiosk else "error")
    preset = load_preset(args.preset)  # a bad --preset fails now, in one line, not on stage
    synthesis_device = resolve_device(args.device)
    check_synthesis_options(args, synthesis_device)
    with logging_to(args.log, kiosk) as log_path:
        stage = open_stage(args, preset)
        try:
            code = _play(args, playlist, synthesis_device, log_path, stage)
        finally:
            stage.close()
    if getattr(args, "from_command_line", False):
        # Everything is closed (threads joined, audio stream and window closed); unloading torch and
        # its libraries would take another second or two, which quitting on stage should not.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _play(args: argparse.Namespace, playlist: Playlist, synthesis_device: torch.device, log_path: Path | None,
          stage) -> int:
    from ..play.audio_out import AudioOutput
    from ..play.player import Player, PlayOptions
    from ..play.setlist import Preparer, Settings

    kiosk = args.kiosk
    log = logging.getLogger("lavlive.play")
    if log_path:
        log.info("logging to %s", log_path)
    log.info("%d track%s%s; %s", len(playlist.entries), "" if len(playlist.entries) == 1 else "s",
             ", looping" if playlist.loop else "", KEYS)
    with serial_here() as cores:
        device = args.audio_device
        audio = AudioOutput(int(device) if device is not None and device.isdigit() else device)
        window = None
        ndi = open_ndi(args)
        try:
            window = open_window(args, fullscreen=kiosk, vsync=not args.no_vsync, hide_cursor=kiosk)
            settings = Settings(preset=args.preset, model=args.model, encoder_weights=args.encoder_weights,
                                download=args.download, device=synthesis_device, seed=args.seed,
                                precision=args.precision, execution=args.execution)
            preparer = Preparer(settings, audio.sample_rate, audio.channels)
            options = PlayOptions(fps=args.fps, display_latency=args.display_latency / 1000, stats=args.stats,
                                  frame_log=args.frame_log, kiosk=kiosk, synthesis_threads=cores, stage=stage,
                                  ndi=ndi)
            player = Player(playlist, window, audio, preparer, options)
            with signals_call(player.stop):
                code = player.run()
        finally:
            if ndi is not None:
                ndi.close()
            audio.close()
            if window is not None:
                window.close()
    log.info("stopped: %d frames shown, %d tracks played, %d skipped", player.shown, player.played, player.skipped)
    return code
