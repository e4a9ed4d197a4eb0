"""Argument types and checks shared by the commands."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import LavliveError
from ..files import check_writable


def nonempty(option: str, hint: str, convert: Callable[[str], Any] = str) -> Callable[[str], Any]:
    """An argparse type that refuses an empty value in one line naming `option`: an empty path would
    become Path('') == '.', the current folder, and an empty device name matches every device, so
    the error that followed would name neither what was typed nor the option."""

    def parse(text: str) -> Any:
        if not text.strip():
            raise LavliveError(f"{option}: the value is empty; {hint}")
        return convert(text)

    parse.__name__ = getattr(convert, "__name__", "value")  # argparse names the type in its own messages
    return parse


FILE = "give a file name"
DEVICE_HINT = "give an index or a name (lavlive devices lists them), or leave the option out for the default device"


def check_times(args: argparse.Namespace) -> None:
    """--start and --duration as finite seconds, refused here naming the option (nan passes a < test, and
    the audio file would only refuse them once the models are loaded, naming the file)."""
    if args.duration is not None and not (math.isfinite(args.duration) and args.duration > 0):
        raise LavliveError(f"--duration {args.duration:g}: use a number of seconds more than 0 "
                           "(or leave it out for the whole track)")
    if not (math.isfinite(args.start) and args.start >= 0):
        raise LavliveError(f"--start {args.start:g}: use a number of seconds, 0 or more")


def check_frame_log(path: Path | None) -> None:
    """--frame-log's folder, checked before the window and the models open rather than when the first
    frame is due; the log is rewritten on every run, so an existing file is fine."""
    if path is not None:
        try:
            check_writable(path, force=True)
        except LavliveError as e:
            raise LavliveError(f"--frame-log {e}") from None


def check_output_file(option: str, path: Path | None) -> None:
    """A file the show rewrites as it goes (state, health): a file name in a folder that exists."""
    if path is not None and path.is_dir():
        raise LavliveError(f"{option} {path} is a folder; give a file name")
    if path is not None and not path.parent.is_dir():
        raise LavliveError(f"{option} {path}: folder {path.parent} does not exist")


def exit_now(args: argparse.Namespace, code: int) -> int:
    """A show that ran from the command line ends its process at once: everything is closed (threads joined,
    the sound card and the window), and unloading torch and its libraries would take another second or two,
    which quitting on stage should not. Called from `main()` in a test, it returns the code."""
    if getattr(args, "from_command_line", False):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
