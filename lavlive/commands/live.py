"""`lavlive live`: visuals for a sound card's input (a DJ mixer, a microphone), as fast as they can be drawn."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..devices import resolve_device, serial_here
from ..engine import Engine
from ..errors import LavliveError
from ..frames import Synthesizer
from ..interrupts import signals_call
from ..presets import ENCODERS, load_preset
from .arguments import DEVICE_HINT, FILE, check_frame_log, nonempty
from .options import (add_control_options, add_stage_options, add_window_options, check_synthesis_options, load_models,
                      open_ndi, open_stage, open_window)

if TYPE_CHECKING:
    import torch

    from ..play.live import LivePlayer
    from ..presets import Preset
    from ..stage.link import StageLink
from .play import logging_to

KEYS = "keys: f fullscreen, s stats, r new seed, q / Esc quit"
MAX_BACKLOG = 0.25  # seconds of input the analysis may fall behind before it skips to the newest


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("live", help="visuals for a sound card's input, live",
                       description="Visualise what a sound card hears (line in, a mixer's output, a microphone), "
                                   "with the lowest latency the machine allows. " + KEYS + ".")
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
    add_stage_options(p)
    p.set_defaults(run=run)


def _mixed(source: Iterator[np.ndarray], channels: int) -> Iterator[np.ndarray]:
    """Input blocks [c, n] mixed to the encoder's channel count."""
    for block in source:
        if block.shape[0] == channels:
            yield block
        elif channels == 1:
            yield block.mean(axis=0, keepdims=True)
        else:
            yield np.repeat(block[:1], channels, axis=0)


def run(args: argparse.Namespace) -> int:
    if not 2 <= args.block_ms <= 500:
        raise LavliveError(f"--block-ms {args.block_ms:g}: use 2 to 500")
    check_frame_log(args.frame_log)
    preset = load_preset(args.preset)
    preset.encoder.name = args.encoder
    if args.seed is not None:
        preset.modulation.seed = args.seed
    device = resolve_device(args.device)
    check_synthesis_options(args, device)
    input_device = int(args.input_device) if args.input_device and args.input_device.isdigit() else args.input_device
    with logging_to(None, False):
        log = logging.getLogger("lavlive.live")
        stage = open_stage(args, preset)
        try:
            with serial_here() as cores:
                player, code = _live(args, preset, device, input_device, stage, cores, log)
        finally:
            stage.close()
        log.info("stopped: %d frames shown", player.shown)
    if getattr(args, "from_command_line", False):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # everything is closed; see play
    return code


def _live(args: argparse.Namespace, preset: Preset, device: torch.device, input_device: int | str | None,
          stage: StageLink, cores: int, log: logging.Logger) -> tuple[LivePlayer, int]:
    """Open the window, the models and the input, and run the live loop until it ends."""
    from ..audio.sources import DeviceSource
    from ..play.live import LivePlan, LivePlayer

    ndi = open_ndi(args)
    window = open_window(args)
    try:
        G, path = load_models(args, preset, device, low_latency=True)
        rate = path.encoder.sample_rate
        source = DeviceSource(input_device, rate, args.channels, block_size=int(args.block_ms / 1000 * rate),
                              latency="low", max_backlog=MAX_BACKLOG)
        log.info("input: %s at %d Hz, %g ms blocks; control path lookahead %.0f ms; %s", source.name, rate,
                 args.block_ms, path.lookahead * 1000, KEYS)
        # Synthesis leaves one core to the analysis: live, the control path must keep up with the input.
        plan = LivePlan(_mixed(source, path.encoder.channels), path, args.fps,
                        Synthesizer(G, noise_mode=preset.synthesis.noise_mode, to_host=False,
                                    precision=args.precision, execution=args.execution), stage)
        plan.synthesizer.warm_up()
        log.info("synthesis: %s on %s", plan.synthesizer.describe(), device)
        engine = Engine(plan, None, ahead_frames=8, synthesis_threads=max(1, cores - 1), newest=True)
        player = LivePlayer(engine, source, window, args.frame_log, args.stats, stage, preset.synthesis.noise_mode,
                            ndi)
        try:
            with signals_call(player.stop):
                return player, player.run()
        finally:
            source.close()
    finally:
        window.close()
        if ndi is not None:
            ndi.close()
