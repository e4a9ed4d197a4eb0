"""The one way lavlive loads a generator: a checkpoint (or the embedded default) made ready to draw.

Every command, a playlist's track preparation, the live model switch and a Ray worker get their
model from `load_model`, so a new network family is taught to lavlive in the generator package
and here, nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..control import ControlPath, WStatistics, w_statistics
from ..devices import resolve_device
from ..generator import Generator, ModelSource, load_generator, seeded_z
from ..generator.canvas import CanvasShape
from ..images import to_uint8
from ..presets import Preset
from .synthesizer import SynthesisOptions, Synthesizer


@dataclass(frozen=True)
class ModelSettings:
    """The networks a command uses and where: the generator checkpoint (None: the embedded default), the
    EnCodec weights (None: the preset's, else the cache's) and whether they may be downloaded, the device
    as the user named it (auto, cpu, cuda), how synthesis runs there (generator/runtime.py), and the canvas
    the network draws (None: its square picture; generator/canvas.py)."""

    model: str | None = None
    encoder_weights: str | None = None
    download: bool = False
    device: str = "auto"
    precision: str = "auto"
    execution: str = "auto"
    canvas: CanvasShape | None = None


class Model:
    """A generator ready to draw: the network, the synthesizer that draws its frames, and its W statistics
    (read from the cache, or sampled, on first use: a contact sheet never needs them)."""

    def __init__(self, G: Generator, synthesizer: Synthesizer) -> None:
        self.G, self.synthesizer = G, synthesizer

    @property
    def source(self) -> ModelSource:
        return self.G.source

    @property
    def device(self) -> torch.device:
        return self.synthesizer.device

    @cached_property
    def stats(self) -> WStatistics:
        return w_statistics(self.G)

    def describe(self) -> str:
        """What was loaded, in the words of the start-up line: a file and its format, or the embedded network."""
        return self.G.source.describe()

    @torch.no_grad()
    def pictures(self, seeds: list[int], truncation: float) -> np.ndarray:
        """The network's own pictures for seeded z at truncation ψ (no audio): [N, H, W, 3] uint8, drawn in eights."""
        G, images = self.G, []
        for chunk in torch.split(torch.tensor(seeds), 8):
            z = seeded_z(chunk.tolist(), G.z_dim).to(G.mapping.w_avg.device)
            images.append(G(z, truncation_psi=truncation, noise_mode="const"))
        return to_uint8(torch.cat(images))

    def control_path(self, preset: Preset, settings: ModelSettings = ModelSettings(),
                     low_latency: bool = False) -> tuple[ControlPath, str | None]:
        """The control path `preset` describes for this model, EnCodec on the model's device; plus a notice
        when the encoder is random."""
        return ControlPath.for_generator(self.G, preset, settings.encoder_weights, settings.download,
                                         str(self.device), low_latency, stats=self.stats)


    def still(self, preset: Preset, settings: ModelSettings = ModelSettings(), seconds: float = 2.0) -> Any:
        """What `preset` looks like with this model: the frame its control path gives after `seconds` of the demo
        music (a thumbnail on the control page), as the synthesizer returns frames. Any thread may call it."""
        from ..audio.demo import demo_track

        path, _ = self.control_path(preset, settings)
        rate = path.encoder.sample_rate
        audio = demo_track(seconds, rate, bpm=120.0, seed=1)[: path.encoder.channels]
        ws, cues = path.push(audio.astype(np.float32)), path.cues
        if len(ws) == 0:
            ws, cues = path.flush(), path.cues
        return self.synthesizer(np.ascontiguousarray(ws[-1:]), 0, np.asarray(cues[-1:, 3:], np.float64))[0]


def load_model(path: str | Path | None, device: str | torch.device, options: SynthesisOptions = SynthesisOptions(),
               warm_up: int | None = 1, say: Callable[[str], None] | None = None) -> Model:
    """The checkpoint at `path` (None: the embedded default) on `device` (a name: auto, cpu, cuda), drawing as
    `options` say, warmed up for batches of `warm_up` frames (a CUDA graph captured or compiled; nothing to do
    on the CPU; None: not at all, for a model that never draws); `say` gets the line that tells what was
    loaded. A bad file is a one-line error naming it; no checkpoint ever runs code."""
    G = load_generator(path, resolve_device(device) if isinstance(device, str) else device)
    if say is not None:
        say(f"model: {G.source.describe()}")
    synthesizer = Synthesizer(G, **vars(options))
    if warm_up is not None:
        synthesizer.warm_up(warm_up)
    return Model(G, synthesizer)
