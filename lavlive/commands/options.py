"""Options shared by the commands, and the settings they become (nothing below commands/ sees argparse)."""

from __future__ import annotations

import argparse
from fractions import Fraction
from pathlib import Path

from ..control import parse_fps
from ..devices import DEVICE_CHOICES
from ..generator.canvas import parse_canvas
from ..generator.runtime import EXECUTIONS, PRECISIONS
from ..images import SCALE_MODES
from ..output.display import DisplaySettings
from ..pipeline.model import ModelSettings
from ..pipeline.synthesizer import parse_size
from ..stage import SWITCH_ON, StageSettings
from .arguments import FILE, nonempty

MODEL_HINT = "give a checkpoint file, or leave --model out for the embedded network"
WINDOW_SIZE = "960x540"


def add_control_options(p: argparse.ArgumentParser) -> None:
    """--preset, --model, --encoder-weights, --download."""
    p.add_argument("--preset", default=None, help="preset name or .toml path (default: default)")
    p.add_argument("--model", type=nonempty("--model", MODEL_HINT),
                   help="StyleGAN2 checkpoint (.pkl, .pt, .safetensors); default: embedded random network")
    p.add_argument("--encoder-weights", help="EnCodec weights file or folder (default: the preset's, else cache)")
    p.add_argument("--download", action="store_true", help="allow downloading EnCodec weights if none are found")


def add_synthesis_options(p: argparse.ArgumentParser) -> None:
    """--canvas, --precision, --execution: what the network draws and how synthesis runs on its device."""
    p.add_argument("--canvas", type=parse_canvas, default=None, metavar="W:H|WxH",
                   help="the shape the network draws, not scaled: an aspect (16:9, 9:16, 32:9: the model's resolution "
                        "on the short side) or a size in its own pixels (1920x1080); StyleGAN3 widens its input's "
                        "grid, StyleGAN2 mirrors its 4x4 constant and noise outward; the result is then scaled as "
                        "before (render: to --size; play, live: into the window) "
                        "(default: the model's square picture)")
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="auto: fp16 blocks on CUDA as the checkpoint marks, fp32 on the CPU; bf16: bfloat16 on "
                        "CPUs and GPUs that have it (about half the time on such a CPU, a few 8-bit levels off) "
                        "(default: auto)")
    p.add_argument("--execution", choices=EXECUTIONS, default="auto",
                   help="auto: a CUDA graph replayed per frame on CUDA, eager on the CPU; compile: torch.compile, "
                        "slow first start, cached after (default: auto)")


def model_settings(args: argparse.Namespace) -> ModelSettings:
    """The networks the options name, the device and how synthesis runs (options a command lacks: defaults)."""
    return ModelSettings(model=args.model, encoder_weights=args.encoder_weights, download=args.download,
                         device=args.device, precision=getattr(args, "precision", "auto"),
                         execution=getattr(args, "execution", "auto"), canvas=getattr(args, "canvas", None))


def add_window_options(p: argparse.ArgumentParser) -> None:
    """--fullscreen, --display, --size, --scale, --fps, --device, --precision, --execution, --ndi, --no-window: the
    players' display and synthesis."""
    p.add_argument("--fullscreen", action="store_true", help="start fullscreen (f toggles)")
    p.add_argument("--display", type=int, default=0, metavar="N", help="screen to use (default: 0)")
    p.add_argument("--size", type=parse_size, default=None, help=f"window size WIDTHxHEIGHT (default: {WINDOW_SIZE})")
    p.add_argument("--scale", choices=SCALE_MODES, default="fit",
                   help="fit (whole picture, black bars) or fill (cover the window, cropping) (default: fit)")
    p.add_argument("--fps", type=parse_fps, default=Fraction(30), help="frame rate of the visuals (default: 30)")
    p.add_argument("--device", choices=DEVICE_CHOICES, default="auto", help="synthesis device (default: auto)")
    add_synthesis_options(p)
    p.add_argument("--ndi", metavar="NAME", default=None, type=nonempty("--ndi", "give the NDI source name"),
                   help="also send every shown frame as the NDI video source NAME, for Resolume, TouchDesigner, "
                        "OBS, … (pip install 'lavlive[ndi]')")
    p.add_argument("--no-window", action="store_true",
                   help="open no window (a machine without a display): the pictures go out over --ndi only; "
                        "quit with Ctrl-C or SIGTERM")


def display_settings(args: argparse.Namespace, kiosk: bool = False) -> DisplaySettings:
    """Where the options send the pictures; a kiosk is fullscreen without a cursor."""
    size = args.size or parse_size(WINDOW_SIZE)
    return DisplaySettings(size=(size.width, size.height), fullscreen=args.fullscreen or kiosk, display=args.display,
                           scale=args.scale, vsync=not getattr(args, "no_vsync", False), hide_cursor=kiosk,
                           window=not args.no_window, ndi=args.ndi)


def add_stage_options(p: argparse.ArgumentParser) -> None:
    """--osc, --osc-send, --midi-map, --midi-port, --switch-*, --link, --web: steering the look during a set."""
    p.add_argument("--osc", metavar="[HOST:]PORT", default=None,
                   help="listen for OSC control (/lavlive/y 1.5, /lavlive/preset pulse, /lavlive/next, ...) on this "
                        "UDP port, on 127.0.0.1 unless a HOST is given (e.g. 0.0.0.0:9000)")
    p.add_argument("--osc-send", metavar="[HOST:]PORT", default=None,
                   help="send the state (/lavlive/state/..., /lavlive/fps) to this OSC target once a second, "
                        "/lavlive/onset with every frame shown and /lavlive/beat when a beat reaches the screen")
    p.add_argument("--midi-map", metavar="TOML", default=None, type=nonempty("--midi-map", FILE),
                   help="map MIDI controls to parameters (example: lavlive presets shows where); no device: a notice")
    p.add_argument("--midi-port", default=None, help="MIDI input port name (default: the map's, else the first)")
    p.add_argument("--switch-fade", type=float, default=2.0, metavar="SECONDS",
                   help="a preset or seed switch (r key, OSC, MIDI) fades over this long in W; 0 cuts (default: 2)")
    p.add_argument("--switch-on", choices=SWITCH_ON, default="now",
                   help="start those fades at once (now), on the next detected beat (beat, waiting at most 2 s), or "
                        "on the next beat or bar line of the Ableton Link session (link-beat, link-bar; needs --link) "
                        "(default: now)")
    p.add_argument("--switch-on-beat", dest="switch_on", action="store_const", const="beat",
                   help="the same as --switch-on beat")
    p.add_argument("--link", action="store_true",
                   help="join the Ableton Link session on the network: its tempo and phase in the stats line and "
                        "over --osc-send (pip install 'lavlive[link]')")
    p.add_argument("--web", metavar="[HOST:]PORT", default=None,
                   help="serve a control page for phones and tablets (parameters, routes, presets, playlist, stats, "
                        "preview) on this port, on 127.0.0.1 unless a HOST is given; on any other address a token is "
                        "needed (printed once; LAVLIVE_WEB_TOKEN sets it)")
    p.add_argument("--link-quantum", type=int, default=4, metavar="BEATS",
                   help="beats per bar on the Link timeline, for --switch-on link-bar (default: 4)")


def add_health_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--health-file", type=nonempty("--health-file", FILE, Path), default=None, metavar="JSON",
                   help="write a health line every second for a watchdog: last frame time, fps, skipped and dropped "
                        "frames, A/V offset (live: input to screen), errors, memory, threads, open files; under "
                        "systemd the watchdog is fed too (docs/installations.md)")


def add_record_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--record", type=nonempty("--record", FILE, Path), default=None, metavar="VIDEO",
                   help="record what the screen shows, with what is heard, into VIDEO (.mp4, .mov, .mkv), plus "
                        "VIDEO.json with every change made during the show (lavlive render --replay VIDEO.json "
                        "draws it again at full quality); never overwrites; Ctrl-C leaves VIDEO.partial.EXT")


def stage_settings(args: argparse.Namespace) -> StageSettings:
    """The stage inputs the options ask for (keys alone when no OSC, MIDI or Link is); checked when opened."""
    return StageSettings(osc=args.osc, osc_send=args.osc_send, midi_map=args.midi_map, midi_port=args.midi_port,
                         crossfade=args.switch_fade, switch_on=args.switch_on, link=args.link,
                         link_quantum=args.link_quantum, web=args.web)


def device_name(text: str | None) -> int | str | None:
    """A sound device as given: an index (digits) or a name, or None for the system's default."""
    return int(text) if text is not None and text.isdigit() else text
