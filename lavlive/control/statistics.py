"""Statistics of a generator's W space that LAV normalises into: Z_mean, Z_std and 12 pitch means; and the
principal directions of W that modulation routes move along (GANSpace, Härkönen et al. 2020: PCA of mapped samples).

Sampled once per model from `mapping(z)` and cached on disk by the model file's sha256, so the
second start is instant.

Pitch means (the paper leaves their choice open). For pitch class k we draw a seeded unit
direction v_k in Z and take the mean w of the samples whose z lies furthest along v_k (the top
1/12 of <z, v_k>). Each M_k is thus the centre of a real, distinct region of W: a held note pulls
the picture towards "its" region, and a chord towards a blend, while staying in-distribution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..cache import cache_dir
from ..files import AtomicFile
from ..generator import Generator
from ..modulation import DIRECTIONS

W_SAMPLES = 10_000
PITCH_CLASSES = 12
STATS_VERSION = 2  # 2: principal directions


@dataclass
class WStatistics:
    z_mean: np.ndarray  # [w_dim]
    z_std: np.ndarray  # [w_dim]
    pitch_means: np.ndarray  # [12, w_dim]
    w_avg: np.ndarray  # [w_dim], the generator's own truncation centre
    directions: np.ndarray | None = None  # [DIRECTIONS, w_dim]: W's principal directions, each as long as its std

    def direction_vectors(self) -> np.ndarray:
        """The principal directions a route moves along ('direction/k'); none known (an old cache): zeros."""
        if self.directions is None:
            return np.zeros((DIRECTIONS, len(self.z_mean)), np.float32)
        return self.directions


@torch.no_grad()
def sample_statistics(G: Generator, samples: int = W_SAMPLES, seed: int = 0) -> WStatistics:
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(samples, G.z_dim, generator=gen)
    device = G.mapping.w_avg.device
    w = torch.cat([G.mapping(chunk.to(device))[:, 0].cpu() for chunk in z.split(2000)]).double()
    directions = torch.nn.functional.normalize(torch.randn(PITCH_CLASSES, G.z_dim, generator=gen), dim=1)
    top = max(1, samples // PITCH_CLASSES)
    picks = (z @ directions.T).topk(top, dim=0).indices.T  # [12, top]
    return WStatistics(
        z_mean=w.mean(0).float().numpy(),
        z_std=w.std(0).float().numpy(),
        pitch_means=torch.stack([w[idx].mean(0) for idx in picks]).float().numpy(),
        w_avg=G.mapping.w_avg.float().cpu().numpy(),
        directions=principal_directions(w),
    )


def principal_directions(w: torch.Tensor, count: int = DIRECTIONS) -> np.ndarray:
    """The top `count` principal directions of samples w [S, w_dim] (GANSpace's, in W), each scaled to the
    standard deviation of w along it, and signed so that its largest component is positive (reproducible)."""
    centred = w - w.mean(0)
    _, singular, vt = torch.linalg.svd(centred, full_matrices=False)
    top = vt[:count] * (singular[:count, None] / math.sqrt(len(w) - 1))
    signs = torch.sign(top.gather(1, top.abs().argmax(1, keepdim=True)))
    return (top * signs).float().numpy()


def w_statistics(G: Generator, samples: int = W_SAMPLES) -> WStatistics:
    """Cached per model file (sha256) or per embedded default; computed on first use."""
    source = getattr(G, "source", None)
    key = source.sha256 if source is not None and source.path is not None else None
    if key is None and source is not None and source.format == "embedded-random":
        from ..generator.default import DEFAULT_SEED

        key = f"embedded-seed{DEFAULT_SEED}"
    path = cache_dir() / "wstats" / f"{key}-{samples}-v{STATS_VERSION}.npz" if key else None
    if path is not None and path.exists():
        try:
            with np.load(path) as data:
                cached = WStatistics(**{k: data[k] for k in ("z_mean", "z_std", "pitch_means", "w_avg", "directions")})
            if cached.pitch_means.shape == (PITCH_CLASSES, G.w_dim) and cached.z_mean.shape == (G.w_dim,):
                return cached
        except Exception:  # noqa: BLE001 - a damaged cache entry is simply recomputed below
            pass
    stats = sample_statistics(G, samples)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with AtomicFile(path) as tmp:
                np.savez(tmp, **vars(stats))
        except OSError:
            pass  # a read-only cache only costs time
    return stats
