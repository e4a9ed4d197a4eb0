"""The sidecar beside each render, OUT.json: everything needed to render the same video again."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import torch

from .. import __version__
from ..files import atomic_output
from ..generator import DEFAULT_SEED, Generator, sha256_of
from ..generator.runtime import describe_precision, resolve_execution
from ..pipeline.synthesizer import Size
from ..presets import Preset
from .settings import RenderSettings
from .video import encoder_options


def sidecar_path(output: Path) -> Path:
    return output.with_name(output.name + ".json")


@dataclass
class Rendered:
    """What a render resolved and made, beside its settings."""

    device: torch.device  # where synthesis ran
    batch: int
    threads: int
    size: Size
    encoder_source: str  # where the EnCodec weights came from (or that they were random)
    frames: int
    duration: float  # seconds of audio rendered
    audio: str | None  # how the audio went in, or None
    codec: str = "libx264"
    segments: dict[str, Any] | None = None  # how a segmented render was split


def sidecar(settings: RenderSettings, preset: Preset, G: Generator, made: Rendered) -> dict[str, Any]:
    """The sidecar's content: the settings, the preset with every value resolved, and what the render made."""
    s, video, model = settings, settings.video, G.source
    meta = {
        "lavlive": __version__,
        "torch": torch.__version__,
        "av": av.__version__,
        "command": ["lavlive", *s.command],
        "cwd": os.getcwd(),
        "input": {"path": str(s.input.resolve()), "sha256": sha256_of(s.input), "start": s.start,
                  "duration": s.duration},
        "video": {"frames": made.frames, "fps": str(video.fps), "duration": made.duration,
                  "size": str(made.size), "scale": video.scale, "canvas": _canvas(s, G),
                  "codec": f"h264 yuv420p bt709 ({made.codec})",
                  "encoder_options": encoder_options(made.codec, video.crf, video.speed),
                  "crf": video.crf, "speed": video.speed, "audio": made.audio},
        "model": {"path": str(model.path.resolve()) if model.path else None, "format": model.format,
                  "family": G.config.family, "sha256": model.sha256, "resolution": G.img_resolution,
                  "seed": DEFAULT_SEED if model.path is None else None},
        "encoder": {"name": preset.encoder.name, "weights": made.encoder_source,
                    "sha256": sha256_of(Path(made.encoder_source)) if Path(made.encoder_source).is_file() else None},
        "seeds": {"projection": preset.modulation.seed, "noise": preset.modulation.seed},
        "device": str(made.device),
        "dtype": describe_precision(s.models.precision, made.device, G.config.num_fp16_res),
        "execution": resolve_execution(s.models.execution, made.device, preset.synthesis.noise_mode),
        "batch": made.batch,
        "threads": made.threads,
        "preset": preset.to_dict(),
    }
    if made.segments is not None:
        meta["segments"] = made.segments
    return meta


def _canvas(s: RenderSettings, G: Generator) -> dict[str, str] | None:
    """The canvas the network drew: as asked and in its pixels (None: its square picture)."""
    canvas = s.models.canvas
    if canvas is None:
        return None
    return {"shape": str(canvas), "drawn": "x".join(map(str, canvas.pixels(G.img_resolution)))}


def write_sidecar(settings: RenderSettings, preset: Preset, G: Generator, made: Rendered) -> Path:
    """OUT.json beside the video (checked before rendering; the video is in place now)."""
    path = sidecar_path(settings.output)
    with atomic_output(path, force=True) as tmp:
        tmp.write_text(json.dumps(sidecar(settings, preset, G, made), indent=2) + "\n", encoding="utf-8")
    return path
