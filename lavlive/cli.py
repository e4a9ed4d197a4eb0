"""The `lavlive` command: argument parsing, dispatch, and one-line errors instead of tracebacks.

A user error (LavliveError) is one line and exit code 1. Anything else is a bug of ours: it is
one line too, saying so, with exit code 70 (EX_SOFTWARE), and `--debug` (or LAVLIVE_DEBUG=1)
shows the traceback, also for exceptions that escape a worker thread.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import traceback

from threadpoolctl import threadpool_limits

from . import __version__
from .commands import analyze, demo_track, devices, live, midi_learn, models, play, presets, render, synth
from .errors import LavliveError

COMMANDS = (play, live, render, analyze, synth, demo_track, presets, models, devices, midi_learn)
DEBUG_ENV = "LAVLIVE_DEBUG"
INTERNAL_ERROR = 70  # sysexits.h EX_SOFTWARE
DEBUG_HELP = f"show the traceback of an internal error (or set {DEBUG_ENV}=1)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lavlive",
        description="Turn music into moving StyleGAN2 images (LAV: Latent Audio-Visual).",
        epilog="Run 'lavlive COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"lavlive {__version__}")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    _add_debug_everywhere(sub)
    return parser


def _add_debug_everywhere(sub: argparse._SubParsersAction) -> None:
    """--debug after the command too (`lavlive render … --debug`), without overriding one given before it."""
    for parser in set(sub.choices.values()):
        parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                _add_debug_everywhere(action)


def _command_name(argv: list[str]) -> str:
    """The command as the user typed it ('render', 'models convert'), for the internal-error line."""
    words = [a for a in argv if not a.startswith("-")]
    names = {c.__name__.rsplit(".", 1)[-1].replace("_", "-") for c in COMMANDS}
    if not words or words[0] not in names:
        return "lavlive"
    return " ".join(words[:2]) if words[0] == "models" and len(words) > 1 else words[0]


def _one_line(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0]}" if text else type(e).__name__


def _workers_alive() -> bool:
    return any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread())


def main(argv: list[str] | None = None) -> int:
    # numpy's work here is small matrices; a BLAS thread pool would only fight torch's threads for
    # the cores (measured 60x slower control path on 2 cores), so it gets one thread.
    threadpool_limits(1, user_api="blas")
    words = list(sys.argv[1:] if argv is None else argv)
    command = _command_name(words)
    debug = os.environ.get(DEBUG_ENV, "").strip() not in ("", "0") or "--debug" in words
    saved_hook = threading.excepthook

    def thread_failed(hook: threading.ExceptHookArgs) -> None:
        if hook.exc_type is SystemExit:
            return
        name = hook.thread.name if hook.thread else "a thread"
        if debug:
            traceback.print_exception(hook.exc_type, hook.exc_value, hook.exc_traceback)
        print(f"lavlive: internal error in {command} ({name}): {_one_line(hook.exc_value)}"
              f"{'' if debug else '; run with --debug for the traceback'}", file=sys.stderr)

    threading.excepthook = thread_failed
    try:
        args = build_parser().parse_args(words)  # inside: argument types raise LavliveError too
        args.argv = words  # recorded in render sidecars
        args.from_command_line = argv is None  # the process ends when the command does
        return int(args.run(args) or 0)
    except LavliveError as e:
        if debug:
            traceback.print_exc()
        print(f"lavlive: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("lavlive: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `lavlive presets | head`: the reader has what it wanted
        if argv is None:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return 141  # 128 + SIGPIPE, as a shell reports a command whose output was cut
    except Exception as e:  # noqa: BLE001 - a bug of ours: one line for the user, the traceback on request
        if debug:
            traceback.print_exc()
            print(f"lavlive: internal error in {command}: {_one_line(e)}", file=sys.stderr)
        else:
            print(f"lavlive: internal error in {command}: {_one_line(e)}; run with --debug for the traceback",
                  file=sys.stderr)
        if argv is None and _workers_alive():
            sys.stderr.flush()  # a worker the failure left running must not keep the process from ending
            os._exit(INTERNAL_ERROR)
        return INTERNAL_ERROR
    finally:
        threading.excepthook = saved_hook


if __name__ == "__main__":
    sys.exit(main())
