"""The figure of `lavlive analyze`: the control path run over a track, and what it sees drawn, to tune presets by eye.

One figure: waveform (and the song's sections, drawn across every panel), percussive onset, chromagram, the
embeddings' first principal components, the smoothed w of each layer group, and each modulation route of the
preset: its source and what it adds to its target. Series are decimated as they grow (the stride doubles when a
series is full), so a two-hour mix draws in the same memory as a song.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..audio.features import MusicFrames
from ..audio.sections import Sections, describe_sections, find_sections
from ..audio.sources import FileSource
from ..control import GROUPS, ControlPath
from ..files import atomic_output, check_writable
from ..modulation import TARGETS, Route
from ..pipeline.model import ModelSettings, load_model
from ..presets import load_preset
from ..progress import Progress

MAX_POINTS = 4000
BLOCK_SECONDS = 0.5  # offline: large blocks amortise the encoder's per-call overhead


@dataclass(frozen=True)
class AnalyzeSettings:
    """`lavlive analyze`: a track (or `start` + `duration` of it) through a preset's control path, drawn as
    the PNG `output`."""

    input: Path
    output: Path
    preset: str | None = None
    models: ModelSettings = field(default_factory=lambda: ModelSettings(device="cpu"))
    start: float = 0.0
    duration: float | None = None
    force: bool = False


def analyze(settings: AnalyzeSettings) -> Path:
    """Analyse the track and write the figure; where it went."""
    s = settings
    check_writable(s.output, s.force)
    preset = load_preset(s.preset)
    model = load_model(s.models.model, s.models.device, warm_up=None, say=print)
    path, notice = model.control_path(preset, s.models)
    if notice:
        print(notice)
    source = FileSource(s.input, path.encoder.sample_rate, path.encoder.channels,
                        block_size=int(BLOCK_SECONDS * path.encoder.sample_rate), start=s.start, duration=s.duration)
    guess = source.duration * source.sample_rate if source.duration else None  # the header's; the audio decides
    sections = find_sections(s.input, s.start, s.duration)
    path.follow_sections(preset, sections.boundaries, sections.duration)
    print(describe_sections(sections.boundaries, preset.sections.switch))
    with Progress(guess, "s", "analysing", scale=1 / source.sample_rate, leave=False) as bar:
        result = record(path, source, bar.update)
        bar.done()
    result.sections = sections
    with atomic_output(s.output, s.force) as tmp:
        plot(result, f"{s.input.name} — preset {preset.name}, encoder {preset.encoder.name}", tmp)
    print(f"wrote {s.output}")
    return s.output


class Decimated:
    """A growing series [t, ...] sampled at `rate`, holding at most `limit` rows."""

    def __init__(self, rate: float, limit: int = MAX_POINTS) -> None:
        self.rate, self.limit, self.stride, self.count = rate, limit, 1, 0
        self.rows: list[np.ndarray] = []

    def extend(self, rows: np.ndarray) -> None:
        idx = self.count + np.arange(len(rows))
        self.rows.extend(np.asarray(rows)[idx % self.stride == 0])
        self.count += len(rows)
        while len(self.rows) > self.limit:
            self.rows, self.stride = self.rows[::2], self.stride * 2

    def array(self) -> np.ndarray:
        return np.stack(self.rows) if self.rows else np.zeros((0,))

    def times(self) -> np.ndarray:
        return np.arange(len(self.rows)) * self.stride / self.rate


class Recording:
    """Wraps a streaming operator and hands each output to `sink` on its way through."""

    def __init__(self, inner: Any, sink: Callable[[Any], None]) -> None:
        self.inner, self.sink = inner, sink

    def push(self, block: Any) -> Any:
        out = self.inner.push(block)
        self.sink(out)
        return out

    def flush(self) -> Any:
        out = self.inner.flush()
        self.sink(out)
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@dataclass
class Analysis:
    sample_rate: int
    envelope: Decimated  # [t, 2] min/max per 10 ms
    onset: Decimated
    chroma: Decimated
    embeddings: Decimated
    ws: Decimated  # [t, 3, w_dim]: the first ws index of each layer group
    ws_indices: list[int]
    routes: list[Route]  # the preset's (as it starts)
    routed: Decimated  # [t, routes, 2]: each route's source and what it adds to its target
    sections: Sections | None = None
    notices: list[str] = field(default_factory=list)


def record(path: ControlPath, source: FileSource, progress: Callable[[int], None]) -> Analysis:
    """Run `path` over `source`, recording what each stage emits on its way through."""
    sr = source.sample_rate
    env_hop = sr // 100
    shown = [int(m[0]) for m in path.smoother.members if len(m)]
    routes = list(path.look.newest.matrix.routes)
    a = Analysis(sr, Decimated(100), Decimated(path.features.frame_rate), Decimated(path.features.frame_rate),
                 Decimated(path.frame_rate), Decimated(path.frame_rate), shown, routes, Decimated(path.frame_rate))

    def routed(ws: np.ndarray) -> np.ndarray:
        """ws, after noting what each route did for them (a route the look on screen lacks: nothing)."""
        last = path.look.newest.matrix.last
        none = (np.zeros(len(ws)), np.zeros(len(ws)))
        if routes:
            a.routed.extend(np.stack([np.stack(last.get(r.name, none), axis=1) for r in routes], axis=1))
        return ws

    def features(frames: MusicFrames) -> None:
        a.onset.extend(frames.onset)
        a.chroma.extend(frames.chroma)

    path.encoder = Recording(path.encoder, lambda e: a.embeddings.extend(e.cpu().numpy()))
    path.features = Recording(path.features, features)
    leftover = np.zeros(0, np.float32)
    for block in source:
        mono = np.concatenate([leftover, block.mean(axis=0)])
        n = len(mono) // env_hop * env_hop
        frames = mono[:n].reshape(-1, env_hop)
        a.envelope.extend(np.stack([frames.min(axis=1), frames.max(axis=1)], axis=1))
        leftover = mono[n:]
        a.ws.extend(routed(path.push(block))[:, shown])
        progress(block.shape[1])
    a.ws.extend(routed(path.flush())[:, shown])
    return a


def principal_components(x: np.ndarray, k: int = 3) -> np.ndarray:
    if len(x) < 2:
        return np.zeros((len(x), k))
    x = x - x.mean(axis=0)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    pcs = u[:, :k] * s[:k]
    return np.pad(pcs, ((0, 0), (0, k - pcs.shape[1])))


def plot(a: Analysis, title: str, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = 6 if a.routes else 5
    fig, axes = plt.subplots(rows, 1, figsize=(14, 2.4 * rows), sharex=True, constrained_layout=True)
    fig.suptitle(title)
    env = a.envelope.array()
    if len(env):
        axes[0].fill_between(a.envelope.times(), env[:, 0], env[:, 1], color="#333", linewidth=0)
    axes[0].set(ylabel="waveform", ylim=(-1, 1))
    axes[1].plot(a.onset.times(), a.onset.array(), color="#c0392b", linewidth=0.8)
    axes[1].set(ylabel="percussive onset", ylim=(0, 1.05))
    chroma = a.chroma.array()
    if len(chroma):
        t = a.chroma.times()
        axes[2].imshow(chroma.T, aspect="auto", origin="lower", cmap="magma", interpolation="nearest",
                       extent=(0, t[-1] + a.chroma.stride / a.chroma.rate, -0.5, 11.5))
    axes[2].set(ylabel="chroma", yticks=range(12), yticklabels="C C# D D# E F F# G G# A A# B".split())
    pcs = principal_components(a.embeddings.array().reshape(len(a.embeddings.rows), -1)) if a.embeddings.rows else None
    if pcs is not None:
        for i in range(3):
            axes[3].plot(a.embeddings.times(), pcs[:, i], linewidth=0.8, label=f"PC{i + 1}")
        axes[3].legend(loc="upper right", fontsize="small")
    axes[3].set(ylabel="EnCodec embedding")
    ws = a.ws.array()
    if len(ws):
        finest = ws[:, -1] - ws[:, -1].mean(axis=0)
        direction = np.linalg.svd(finest, full_matrices=False)[2][0]  # where the fine layers move most
        for j, (g, idx) in enumerate(zip(GROUPS, a.ws_indices)):
            axes[4].plot(a.ws.times(), ws[:, j] @ direction, linewidth=0.9, label=f"{g} (ws[{idx}])")
        axes[4].legend(loc="upper right", fontsize="small")
    axes[4].set(ylabel="smoothed w (top PC)", xlabel="time (s)")
    if a.routes:
        _plot_routes(axes[5], a)
    if a.sections is not None:
        for ax in axes:
            for b in a.sections.boundaries:
                ax.axvline(b, color="#2980b9", linestyle="--", linewidth=1)
        for k, start in enumerate((0.0, *a.sections.boundaries)):
            axes[0].text(start, 0.92, f" {k + 1}", color="#2980b9", va="top", fontsize="small")
    fig.savefig(out, dpi=100, format="png")
    plt.close(fig)


def _plot_routes(ax: Any, a: Analysis, most: int = 8) -> None:
    """Each route's source (thin) and what it adds to its target, as a share of the target's range (thick)."""
    routed = a.routed.array()
    if not len(routed):
        return
    t = a.routed.times()
    for i, route in enumerate(a.routes[:most]):
        line, = ax.plot(t, routed[:, i, 1] / TARGETS[route.target].span, linewidth=1.2,
                        label=f"{route.name}: {route.source} → {route.target}")
        ax.plot(t, routed[:, i, 0], linewidth=0.6, alpha=0.5, color=line.get_color())
    ax.legend(loc="upper right", fontsize="small")
    ax.set(ylabel="routes: source, added\n(share of target range)", xlabel="time (s)")
