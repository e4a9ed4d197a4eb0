"""The LAV mapping from audio to W, streaming and causal (after Jung & Jeong, arXiv 2505.10101).

Per control frame t (the encoder's frame rate), with EnCodec embedding e_t ∈ R^128, percussive
onset strength o_t and chroma χ_t ∈ R^12:

    o_t   = clip(onset_strength · onset_t, 0, 1)
    u_t   = (1 − o_t) · P_a e_t + o_t · P_b e_t            P_a, P_b ∈ R^{512×128}, seeded N(0, 1/128)
    û_t   = (u_t − μ_t) / sqrt(σ²_t + ε)                   causal running mean/variance per dimension
    a_t   = clip((level_t − silence_db) / 20 dB, 0, 1)       silence gate from the frame's RMS level
    g(x)  = tanh(x) + c · x                                 leaky tanh: bounded, but outliers still move
    χ̃_t   = χ_t / Σ_k χ_tk   (uniform when Σ = 0)
    m_t   = (1 − s) · Z_mean + s · Σ_k χ̃_tk M_k             s = chroma_strength
    w_t   = m_t + y · Z_std ⊙ a_t · g(û_t)
    w'_t  = w_avg + ψ · (w_t − w_avg)                       truncation (the control path's looks keep ψ = 1
                                                           here and truncate the smoothed ws: look.py)

Choices the paper leaves open:
- Standardisation is causal so live input works: an exponential running mean and variance with
  time constant τ = standardise_seconds, α_t = max(1 − exp(−1/(τ·rate)), 1/t), so the first
  frames use the plain mean of what has been heard (no warm-up bias). The first frame maps to
  û = 0. ε = 1e-6.
- Silence: standardisation would blow the encoder's tiny start-up transients on silent input up
  to full-scale motion, so a gate a_t on the audio level fades the motion out below silence_db
  (with a 20 dB ramp) and the running statistics are not updated while it is closed: silence
  gives a calm, steady picture at m_t.
- Z_mean, Z_std and the pitch means M_k come from `statistics.py` (10,000 mapping samples).
- A new seed on stage: u_t = P x_t with x_t = [(1 − o_t) e_t ; o_t e_t] and P = [P_a P_b], so the
  mapper also keeps the running mean and covariance C of x (same recursion), and new projections
  start from μ = P x̄ and σ² = diag(P C Pᵀ): exactly the statistics they would have had all along,
  so a reseed needs no warm-up.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from ..presets import ModulationSettings
from ..snapshot import array_of, reading, same_settings, scalar_of
from .statistics import PITCH_CLASSES, WStatistics

EPS = 1e-6


def projections(seed: int, w_dim: int, emb_dim: int) -> tuple[np.ndarray, np.ndarray]:
    """The two fixed random projections: randomly initialised, never trained."""
    rng = np.random.default_rng(seed)
    scale = 1 / math.sqrt(emb_dim)
    return rng.normal(0, scale, (w_dim, emb_dim)), rng.normal(0, scale, (w_dim, emb_dim))


class LavMapper:
    """Streaming: `push` any number of aligned control frames, get their w; state carries over."""

    def __init__(self, stats: WStatistics, settings: ModulationSettings, frame_rate: float,
                 truncation_psi: float = 1.0, emb_dim: int = 128) -> None:
        self.stats, self.settings, self.frame_rate = stats, settings, frame_rate
        self.truncation_psi = truncation_psi
        self.w_dim = stats.z_mean.shape[0]
        self.emb_dim = emb_dim
        self.projection = np.concatenate(projections(settings.seed, self.w_dim, emb_dim), axis=1)  # P = [P_a P_b]
        self._new_projection: np.ndarray | None = None
        self.alpha = 1 - math.exp(-1 / (settings.standardise_seconds * frame_rate))
        self.reset()

    def reseed(self, seed: int) -> None:
        """New random projections from the next push on, with the statistics they would have had
        (see the module docstring). Thread-safe: the pair is swapped in as one by the thread that pushes."""
        self._new_projection = np.concatenate(projections(seed, self.w_dim, self.emb_dim), axis=1)

    def update(self, **changes: Any) -> None:
        """Change modulation settings live (stage control), from the next push on. The mapper gets its own
        new settings object, swapped in as one (a push sees the old or the new, never a mix; the object it
        was built with is left as it was). A given seed always reseeds (see `reseed`)."""
        settings = dataclasses.replace(self.settings, **changes)
        if "seed" in changes:
            self.reseed(settings.seed)
        if settings.standardise_seconds != self.settings.standardise_seconds:
            self.alpha = 1 - math.exp(-1 / (settings.standardise_seconds * self.frame_rate))
        self.settings = settings

    def adopt_statistics(self, other: LavMapper) -> None:
        """Carry on from `other`'s running statistics (another model's mapper, same encoder): a model
        switched in mid-set moves as if it had listened all along."""
        self.count, self.x_mean, self.x_cov = other.count, other.x_mean.copy(), other.x_cov.copy()
        self._standardise_from_x()

    def reset(self) -> None:
        self.count = 0
        self.mean = np.zeros(self.w_dim)
        self.var = np.zeros(self.w_dim)
        self.x_mean = np.zeros(2 * self.emb_dim)
        self.x_cov = np.zeros((2 * self.emb_dim, 2 * self.emb_dim))

    def state(self) -> dict:
        """The running statistics (and a reseed not yet applied), as plain data (see lavlive/snapshot.py)."""
        return {"settings": self._settings(), "count": self.count, "mean": self.mean.copy(), "var": self.var.copy(),
                "x_mean": self.x_mean.copy(), "x_cov": self.x_cov.copy(),
                "new_projection": None if self._new_projection is None else self._new_projection.copy()}

    def load_state(self, state: dict) -> None:
        """Go on from `state`, taken from a mapper with the same settings and W statistics' size."""
        with reading("the LAV mapping"):
            same_settings(state["settings"], self._settings(), "a LAV mapping")
            w, x = self.w_dim, 2 * self.emb_dim
            new = {key: array_of(state[key], f"the mapping's {key}", shape, np.float64)
                   for key, shape in (("mean", (w,)), ("var", (w,)), ("x_mean", (x,)), ("x_cov", (x, x)))}
            count = int(scalar_of(state["count"], "the mapping's count", (int, np.integer)))
            pending = state["new_projection"]
            if pending is not None:
                pending = array_of(pending, "the mapping's new projection", self.projection.shape, np.float64)
        self.count, self._new_projection = count, pending
        self.mean, self.var, self.x_mean, self.x_cov = new["mean"], new["var"], new["x_mean"], new["x_cov"]

    def _settings(self) -> dict:
        return {**dataclasses.asdict(self.settings), "truncation_psi": self.truncation_psi,
                "frame_rate": self.frame_rate, "w_dim": self.w_dim, "emb_dim": self.emb_dim}

    def _standardise_from_x(self) -> None:
        """The running mean and variance of u = P x, from those of x. Both are kept, as the u recursion is
        cheap per frame while diag(P C Pᵀ) is not; this runs only when P changes."""
        p = self.projection
        self.mean = p @ self.x_mean
        self.var = np.maximum(((p @ self.x_cov) * p).sum(axis=1), 0.0)  # diag(P C Pᵀ)

    def push(self, emb: np.ndarray, onset: np.ndarray, chroma: np.ndarray,
             level_db: np.ndarray | None = None, coefficients: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """emb [T, 128], onset [T], chroma [T, 12], level_db [T] (RMS dBFS; None: loud) → w [T, w_dim].
        `coefficients`: y, c, onset_strength, chroma_strength or truncation_psi per frame [T] (routes moving
        them), in place of the settings' one value."""
        if self._new_projection is not None:
            self.projection, self._new_projection = self._new_projection, None
            self._standardise_from_x()
        emb = np.asarray(emb, np.float64)
        s, moved = self.settings, coefficients or {}

        def coefficient(key: str) -> np.ndarray | float:
            value = moved.get(key)
            base = self.truncation_psi if key == "truncation_psi" else getattr(s, key)
            return base if value is None else np.asarray(value, np.float64)[:, None]

        o = np.clip(coefficient("onset_strength") * np.asarray(onset, np.float64)[:, None], 0.0, 1.0)
        x = np.concatenate([(1 - o) * emb, o * emb], axis=1)
        u = x @ self.projection.T
        gate = np.ones(len(u)) if level_db is None else np.clip((np.asarray(level_db) - s.silence_db) / 20, 0, 1)
        u_hat = np.zeros_like(u)
        for t in range(len(u)):
            if gate[t] == 0:
                continue
            self.count += 1
            a = max(self.alpha, 1 / self.count)
            delta = u[t] - self.mean
            self.mean += a * delta
            self.var = (1 - a) * (self.var + a * delta * delta)
            delta_x = x[t] - self.x_mean
            self.x_mean += a * delta_x
            self.x_cov += a * np.outer(delta_x, delta_x)  # in place: this runs per frame on the live thread
            self.x_cov *= 1 - a
            u_hat[t] = (u[t] - self.mean) / np.sqrt(self.var + EPS)
        g = (np.tanh(u_hat) + coefficient("c") * u_hat) * gate[:, None]
        chroma = np.maximum(np.asarray(chroma, np.float64), 0.0)
        total = chroma.sum(axis=1, keepdims=True)
        weights = np.where(total > 1e-8, chroma / np.maximum(total, 1e-8), 1.0 / PITCH_CLASSES)
        strength = coefficient("chroma_strength")
        m = (1 - strength) * self.stats.z_mean + strength * (weights @ self.stats.pitch_means)
        w = m + coefficient("y") * self.stats.z_std * g
        w = self.stats.w_avg + coefficient("truncation_psi") * (w - self.stats.w_avg)
        return w.astype(np.float32)
