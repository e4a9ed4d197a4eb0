"""Options shared by the commands that run the control path (analyze, render, and the players)."""

from __future__ import annotations

import argparse

import torch

from ..audio.sources import FileSource
from ..generator import Generator, load_generator
from ..lav.control import ControlPath
from ..presets import Preset


def add_control_options(p: argparse.ArgumentParser) -> None:
    """--preset, --model, --encoder-weights, --download."""
    p.add_argument("--preset", default=None, help="preset name or .toml path (default: default)")
    p.add_argument("--model", help="StyleGAN2 checkpoint (.pkl, .pt, .safetensors); default: embedded random network")
    p.add_argument("--encoder-weights", help="EnCodec weights file or folder (default: the preset's, else cache)")
    p.add_argument("--download", action="store_true", help="allow downloading EnCodec weights if none are found")


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
