"""What `lavlive render` was asked to do, as typed values (the command fills them in)."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import torch

from ..pipeline.model import ModelSettings
from ..pipeline.synthesizer import Size


@dataclass(frozen=True)
class VideoSettings:
    """The video file: frame rate, size (None: the model's) and how another aspect is met (fit, fill), and
    H.264's quality (CRF), speed (x264 preset) and encoder (auto, libx264, h264_nvenc)."""

    fps: Fraction = Fraction(30)
    size: Size | None = None
    scale: str = "fit"
    crf: int = 18
    speed: str = "medium"
    encoder: str = "auto"


@dataclass(frozen=True)
class RenderSettings:
    """`lavlive render`: a track (or `start` + `duration` of it) to `output`, with its audio, and a sidecar
    that says how to make it again. `segments` splits it by time into that many Ray tasks (`cluster`:
    'local' or a head's address), whose work folder `keep_segments` keeps."""

    input: Path
    output: Path
    preset: str | None = None  # name or .toml path
    seed: int | None = None  # overrides the preset's projection seed
    models: ModelSettings = field(default_factory=ModelSettings)
    video: VideoSettings = field(default_factory=VideoSettings)
    start: float = 0.0
    duration: float | None = None
    threads: int | None = None  # CPU threads for synthesis and the control path; None: every core
    batch: int | None = None  # frames per synthesis batch; None: 1 on the CPU, 8 on CUDA
    force: bool = False  # overwrite the output and its sidecar
    segments: int | None = None
    cluster: str | None = None
    keep_segments: bool = False
    command: tuple[str, ...] = ()  # the command line as typed, for the sidecar

    def batch_for(self, device: torch.device) -> int:
        """Frames per synthesis batch on `device`: as asked, else 1 on the CPU (where batching does not pay:
        a batch's activations fall out of the cache) and 8 on CUDA."""
        return self.batch or (8 if device.type == "cuda" else 1)
