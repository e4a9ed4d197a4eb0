"""The generators: StyleGAN2 and StyleGAN3 networks, their safe checkpoint loaders, and the embedded default.

    network     StyleGAN2 (configs E/F), from the paper's maths
    stylegan3   StyleGAN3 (configs T/R), from the paper's maths
    resample    StyleGAN3's filtered nonlinearity on the CPU: separable strided resampling
    canvas      pictures at the screen's shape: the canvas asked for, the grid a network draws for it
    families    the families by config: build, validate, read a file's header
    checkpoints every common checkpoint format → (config, state dict); lavlive's .safetensors
    safe_pickle a pickle reader that never runs code
    default     the embedded seeded random StyleGAN2
    runtime     how synthesis runs on a device: precision, CUDA graphs, torch.compile
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import torch

from .checkpoints import Checkpoint, CheckpointError, read_checkpoint, sha256_of, write_safetensors
from ..cache import cache_dir
from ..files import AtomicFile
from .default import CALIBRATION_SAMPLES, DEFAULT_CONFIG, DEFAULT_SEED, FINE_DECAY, default_generator
from .families import FAMILY_NAMES, NetworkConfig, build_network
from .network import Generator, GeneratorConfig, seeded_z
from .stylegan3 import StyleGAN3Config, StyleGAN3Generator

W_AVG_SAMPLES = 10_000

__all__ = ["CheckpointError", "FAMILY_NAMES", "Generator", "GeneratorConfig", "ModelSource", "NetworkConfig",
           "StyleGAN3Config", "StyleGAN3Generator", "build_generator", "build_network", "default_generator",
           "load_generator",
           "read_checkpoint", "save_generator", "seeded_z", "sha256_of"]


@dataclass
class ModelSource:
    """Where a generator came from, for logs and render sidecars."""

    path: Path | None
    format: str

    @cached_property
    def sha256(self) -> str | None:
        return sha256_of(self.path) if self.path else None

    def describe(self) -> str:
        if self.path is None:
            return f"embedded random StyleGAN2 (seed {DEFAULT_SEED}); pass --model PATH for a trained one"
        return f"{self.path} ({self.format})"


def build_generator(ckpt: Checkpoint) -> Generator | StyleGAN3Generator:
    G = build_network(ckpt.config)
    G.load_state_dict(ckpt.state_dict)
    if not ckpt.has_w_avg:
        G.mapping.w_avg.copy_(estimate_w_avg(G))
    return G.eval().requires_grad_(False)


@torch.no_grad()
def estimate_w_avg(G: Generator, samples: int = W_AVG_SAMPLES, seed: int = 0) -> torch.Tensor:
    """Mean of mapping(z) over seeded z, for checkpoints that do not store w_avg."""
    z = torch.randn(samples, G.z_dim, generator=torch.Generator().manual_seed(seed))
    return torch.cat([G.mapping(chunk)[:, 0] for chunk in z.split(1000)]).mean(dim=0)


def load_generator(path: str | Path | None = None, device: str | torch.device = "cpu") -> Generator:
    """Any supported checkpoint → eval-mode Generator with `.config` and `.source` attached.

    With no path, the embedded seeded random network. Raises CheckpointError (one line) on bad files.
    """
    if path is None:
        G, source = _cached_default(), ModelSource(None, "embedded-random")
    else:
        ckpt = read_checkpoint(path)
        G, source = build_generator(ckpt), ModelSource(Path(path), ckpt.format)
    G.source = source
    return G.to(device)


def _cached_default() -> Generator:
    """The embedded default, built once and then read from the cache: building it takes about 5 s on
    a CPU (its calibration draws 16 pictures), which every command would otherwise wait for. The
    file name carries everything that shapes the network, so a change builds a new one."""
    shape = repr((DEFAULT_SEED, DEFAULT_CONFIG, FINE_DECAY, CALIBRATION_SAMPLES, torch.__version__))
    path = cache_dir() / f"default-generator-{hashlib.sha256(shape.encode()).hexdigest()[:16]}.safetensors"
    if path.is_file():
        try:
            return build_generator(read_checkpoint(path))
        except (CheckpointError, OSError):
            pass  # damaged or unreadable: build it again
    G = default_generator()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with AtomicFile(path) as tmp:
            save_generator(G, tmp)
    except OSError:
        pass  # a read-only cache only costs time
    return G


def save_generator(G: Generator, path: str | Path, extra: dict[str, str] | None = None) -> None:
    """Write lavlive's own format: .safetensors with the config as JSON in its header."""
    write_safetensors(G.config, G.state_dict(), Path(path), extra or {})
