"""Options shared by the commands that run the control path (analyze, render, and the players)."""

from __future__ import annotations

import argparse
import logging
from fractions import Fraction

import torch

from ..audio.sources import FileSource
from ..devices import DEVICE_CHOICES
from ..frames import SCALE_MODES, parse_size
from ..generator import Generator, load_generator
from ..generator.runtime import EXECUTIONS, PRECISIONS, check_precision, resolve_execution
from ..lav.control import ControlPath
from ..play.ndi_out import NdiOutput
from ..lav.timeline import parse_fps
from ..errors import LavliveError
from ..presets import Preset
from ..stage.link import SWITCH_ON, StageLink
from .arguments import FILE, nonempty

log = logging.getLogger("lavlive")
MODEL_HINT = "give a checkpoint file, or leave --model out for the embedded network"


def add_control_options(p: argparse.ArgumentParser) -> None:
    """--preset, --model, --encoder-weights, --download."""
    p.add_argument("--preset", default=None, help="preset name or .toml path (default: default)")
    p.add_argument("--model", type=nonempty("--model", MODEL_HINT),
                   help="StyleGAN2 checkpoint (.pkl, .pt, .safetensors); default: embedded random network")
    p.add_argument("--encoder-weights", help="EnCodec weights file or folder (default: the preset's, else cache)")
    p.add_argument("--download", action="store_true", help="allow downloading EnCodec weights if none are found")


def add_window_options(p: argparse.ArgumentParser) -> None:
    """--fullscreen, --display, --size, --scale, --fps, --device, --precision, --execution: the players' window and synthesis."""
    p.add_argument("--fullscreen", action="store_true", help="start fullscreen (f toggles)")
    p.add_argument("--display", type=int, default=0, metavar="N", help="screen to use (default: 0)")
    p.add_argument("--size", type=parse_size, default=None, help="window size WIDTHxHEIGHT (default: 960x540)")
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


def open_window(args: argparse.Namespace, *, fullscreen: bool = False, **options):
    """The window the options ask for (fullscreen also when the caller says so: kiosk), or the stand-in that
    draws nothing (--no-window, which needs no display)."""
    if args.no_window:
        from ..play.no_window import NoWindow

        if args.ndi is None:
            log.warning("--no-window without --ndi: nothing will show the pictures")
        return NoWindow()
    from ..play.window import Window  # imported here: it loads pygame and OpenGL

    size = args.size or parse_size("960x540")
    return Window((size.width, size.height), fullscreen=args.fullscreen or fullscreen, display=args.display,
                  scale=args.scale, **options)


def open_ndi(args: argparse.Namespace) -> NdiOutput | None:
    """The NDI output --ndi asks for (a missing cyndilib is a one-line error), else None."""
    return None if args.ndi is None else NdiOutput(args.ndi, args.fps)


def add_synthesis_options(p: argparse.ArgumentParser) -> None:
    """--precision, --execution: how synthesis runs on its device (generator/runtime.py)."""
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="auto: fp16 blocks on CUDA as the checkpoint marks, fp32 on the CPU; bf16: bfloat16 on "
                        "CPUs and GPUs that have it (about half the time on such a CPU, a few 8-bit levels off) "
                        "(default: auto)")
    p.add_argument("--execution", choices=EXECUTIONS, default="auto",
                   help="auto: a CUDA graph replayed per frame on CUDA, eager on the CPU; compile: torch.compile, "
                        "slow first start, cached after (default: auto)")


def check_synthesis_options(args: argparse.Namespace, device: torch.device) -> None:
    """Refuse, before anything starts, what the device cannot run."""
    check_precision(args.precision, device)
    resolve_execution(args.execution, device)


def load_models(args: argparse.Namespace, preset: Preset, device: torch.device,
                low_latency: bool = False) -> tuple[Generator, ControlPath]:
    """The generator and control path the options name; says in one line each what was loaded or is random."""
    G = load_generator(args.model, device)
    print(f"model: {G.source.describe()}")
    path, notice = ControlPath.for_generator(G, preset, args.encoder_weights, args.download, str(device),
                                             low_latency=low_latency)
    if notice:
        print(notice)
    return G, path


def open_track(args: argparse.Namespace, path: ControlPath, block_seconds: float) -> FileSource:
    """args.input (trimmed by args.start, args.duration) as blocks at the control path's rate."""
    return FileSource(args.input, path.encoder.sample_rate, path.encoder.channels,
                      block_size=int(block_seconds * path.encoder.sample_rate), start=args.start,
                      duration=args.duration)


def add_stage_options(p: argparse.ArgumentParser) -> None:
    """--osc, --osc-send, --midi-map, --midi-port, --switch-*, --link: steering the look during a set."""
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
    p.add_argument("--link-quantum", type=int, default=4, metavar="BEATS",
                   help="beats per bar on the Link timeline, for --switch-on link-bar (default: 4)")


def open_stage(args: argparse.Namespace, preset: Preset) -> StageLink:
    """The stage control the options ask for (keys alone when no OSC or MIDI is)."""
    if not 0 <= args.switch_fade <= 60:
        raise LavliveError(f"--switch-fade {args.switch_fade:g}: use 0 to 60 seconds")
    return StageLink(preset, args.osc, args.osc_send, args.midi_map, args.midi_port, args.switch_fade,
                     args.switch_on, args.link, args.link_quantum)
