"""A render split by time into segments that render anywhere and join into the same video.

    analysis pass (driver): the whole track through the control path, no synthesis; a snapshot
        of the plan (lavlive.snapshot: plain data) where each segment's first frame is near
    segment k (any process): resume the plan from its snapshot, draw frames [first, end),
        encode them as one H.264 stream that starts with a key frame
    join (driver): stream-copy the segments in order, mux the audio once

Why it is exact: a segment reads the very audio blocks the whole render reads (the same block size,
the file decoded from its start), resumes every stage of the control path to the bit, and starts
on a multiple of the batch size, so synthesis sees the same batches with the same noise seeds.
The control path runs on the CPU in every process, with the W statistics the driver computed and
the driver's thread count (EnCodec's float32 results depend on it), so no machine's device, cache
or core count changes the ws; synthesis uses that thread count too, as a whole render does.

Finished segments are kept in a work folder beside the output (OUT.segments/), so a render that
was interrupted, or lost a machine, resumes where it stopped when run again with the same inputs.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import __version__
from ..audio.encodec_stream import load_encoder
from ..audio.sections import find_sections
from ..audio.sources import FileSource
from ..control import ControlPath, WStatistics
from ..devices import torch_threads
from ..errors import LavliveError
from ..generator import sha256_of
from ..generator.canvas import parse_canvas
from ..pipeline.engine import Engine
from ..pipeline.model import Model, load_model
from ..pipeline.segment import SegmentPlan
from ..pipeline.synthesizer import Size, SynthesisOptions
from ..pipeline.track import RENDER_BLOCK_SECONDS, TrackPlan
from ..presets import Preset, preset_from_dict
from ..snapshot import from_bytes, to_bytes
from .settings import RenderSettings
from .video import VideoWriter

CONTROL_DEVICE = "cpu"  # the control path's device in every process of a segmented render


@dataclass(frozen=True)
class RenderJob:
    """Everything a worker needs to render any segment of one render, as plain data."""

    input: str
    start: float
    duration: float | None
    model: str | None
    encoder_weights: str | None
    preset: dict[str, Any]
    fps: str
    size: tuple[int, int]
    scale: str
    device: str  # 'cpu' or 'cuda': what each worker synthesises on
    batch: int
    crf: int
    speed: str
    stats: dict[str, np.ndarray]  # the model's W statistics, computed once by the driver
    num_ws: int
    ws_resolutions: tuple[float, ...]  # the resolution each ws index works at, for the smoothing groups
    resolution: int  # the generator's
    threads: int  # torch threads for the control path and CPU synthesis, in every process
    sha256: dict[str, str | None] = field(default_factory=dict)  # of the input, model and encoder weights
    encoder_source: str = ""  # where the encoder's weights came from, for the sidecar
    precision: str = "auto"  # generator/runtime.py
    execution: str = "auto"
    canvas: str | None = None  # as typed (generator/canvas.py); None: the network's square picture
    sections: tuple[float, ...] = ()  # the song's section boundaries (s), found once by the driver, when followed
    song_seconds: float | None = None  # and the length of the audio they were found in

    def key(self, segments: int) -> str:
        """Names the result: a work folder with another key holds some other render's segments."""
        plain = {k: v for k, v in asdict(self).items() if k not in ("stats", "input", "model", "encoder_weights")}
        plain.update(segments=segments, lavlive=__version__, torch=torch.__version__)
        return hashlib.sha256(json.dumps(plain, sort_keys=True, default=str).encode()).hexdigest()[:16]

    @property
    def frame_rate(self) -> Fraction:
        return Fraction(self.fps)

    def preset_object(self) -> Preset:
        return preset_from_dict(self.preset, "render job")


def stats_plain(stats: WStatistics) -> dict[str, np.ndarray]:
    return {k: np.asarray(v) for k, v in asdict(stats).items() if v is not None}


@dataclass
class Segment:
    """Frames [first, end) of the render, and the plan's snapshot to start them from (None: from the top)."""

    index: int
    first: int
    end: int
    snapshot: bytes | None = None

    @property
    def frames(self) -> int:
        return self.end - self.first


@dataclass
class SegmentResult:
    index: int
    video: bytes  # an MP4 holding one H.264 stream
    hashes: list[str]  # per frame, of the RGB picture handed to the encoder
    node: str = ""


# -- the models, once per process ----------------------------------------------------------------

@dataclass
class _Models:
    model: Model
    encoder: Any
    preset: Preset


_loaded: dict[str, _Models] = {}  # by job and device: a worker keeps its models between segments


def _models(job: RenderJob, device: str) -> _Models:
    key = job.key(0) + device
    if key not in _loaded:
        _loaded.clear()  # one render's models at a time
        with torch_threads(1):  # loaded single-threaded, as the driver and a whole render load them
            _loaded[key] = _load_models(job, device)
    return _loaded[key]


def _load_models(job: RenderJob, device: str) -> _Models:
    preset = job.preset_object()
    options = SynthesisOptions(Size(*job.size), job.scale, preset.synthesis.noise_mode, preset.modulation.seed,
                               precision=job.precision, execution=job.execution,
                               canvas=parse_canvas(job.canvas) if job.canvas else None)
    model = load_model(job.model, device, options, job.batch)
    if model.source.sha256 != job.sha256.get("model"):
        raise LavliveError(f"{job.model}: this machine's copy differs from the driver's (sha256)")
    encoder = _encoder(job, preset)
    if _where(encoder.source) != job.encoder_source:
        raise LavliveError(f"EnCodec weights: this machine has {encoder.source}, the driver used {job.encoder_source}")
    return _Models(model, encoder, preset)


def _encoder(job: RenderJob, preset: Preset) -> Any:
    encoder, _ = load_encoder(preset.encoder.name, job.encoder_weights, device=CONTROL_DEVICE)
    return encoder


def _control_path(job: RenderJob, encoder: Any, preset: Preset) -> ControlPath:
    encoder.reset()
    path = ControlPath(encoder, WStatistics(**job.stats), preset, job.num_ws, job.resolution,
                       resolutions=job.ws_resolutions)
    if preset.follows_sections:
        path.follow_sections(preset, job.sections, job.song_seconds)
    return path


def _source(job: RenderJob, path: ControlPath, resume_at: int = 0) -> FileSource:
    rate = path.encoder.sample_rate
    return FileSource(job.input, rate, path.encoder.channels, block_size=int(RENDER_BLOCK_SECONDS * rate), start=job.start,
                      duration=job.duration, resume_at=resume_at)


# -- the analysis pass ---------------------------------------------------------------------------

def make_job(s: RenderSettings, preset: Preset, device: torch.device, batch: int, model: Model,
             threads: int) -> tuple[RenderJob, str | None]:
    """The job for a render's settings and its model (on the CPU: the statistics are computed here, once
    for all workers); plus the encoder's notice if it is random."""
    weights = s.models.encoder_weights or preset.encoder.weights or None  # a folder is a Hugging Face checkpoint
    G = model.G
    size = model.synthesizer.size  # --size, else the canvas the network draws
    encoder, notice = load_encoder(preset.encoder.name, weights, device=CONTROL_DEVICE)
    if Path(encoder.source).exists():
        weights = _where(encoder.source)  # also when found in a cache: the workers load the same file
    job = RenderJob(
        input=str(s.input.resolve()), start=s.start, duration=s.duration,
        model=str(Path(s.models.model).resolve()) if s.models.model else None,
        encoder_weights=str(Path(weights).resolve()) if weights else None, preset=preset.to_dict(),
        fps=str(s.video.fps), size=(size.width, size.height), scale=s.video.scale, device=device.type, batch=batch,
        crf=s.video.crf, speed=s.video.speed, stats=stats_plain(model.stats), num_ws=G.num_ws,
        ws_resolutions=tuple(G.config.ws_resolutions),
        resolution=G.img_resolution, threads=threads, precision=s.models.precision, execution=s.models.execution,
        canvas=str(s.models.canvas) if s.models.canvas else None,
        **_sections(s, preset),
        sha256={"input": sha256_of(s.input), "model": model.source.sha256,
                "encoder": sha256_of(Path(weights)) if weights and Path(weights).is_file() else None},
        encoder_source=_where(encoder.source))
    return job, notice


def _sections(s: RenderSettings, preset: Preset) -> dict[str, Any]:
    """The song's sections for the job, when the preset follows them: found once, here."""
    if not preset.follows_sections:
        return {}
    found = find_sections(s.input, s.start, s.duration)
    return {"sections": found.boundaries, "song_seconds": found.duration}


def _where(source: str) -> str:
    """An encoder's source as the same string on every machine: a file's absolute path, else as it is."""
    return str(Path(source).resolve()) if source and Path(source).exists() else source


def boundaries(frames: int, segments: int, batch: int) -> list[int]:
    """First frames of segments 1..n-1 for about `frames` in all: evenly spaced, on multiples of the batch."""
    firsts = {(k * frames // segments) // batch * batch for k in range(1, segments)}
    return sorted(f for f in firsts if 0 < f < frames)


def plan_segments(job: RenderJob, count: int, progress: Callable[[float], None] = lambda seconds: None
                  ) -> tuple[list[Segment], int]:
    """The analysis pass: segments with their snapshots, and the render's real frame count;
    `progress` gets the seconds of audio read.

    Segments are laid out on the header's length (or, without one, on a pass that only counts the
    decoded samples); the audio actually decoded decides the last frame, so a header that is wrong
    only makes the segments uneven (or fewer)."""
    preset = job.preset_object()
    path = _control_path(job, _encoder(job, preset), preset)
    source = _source(job, path)
    fps = job.frame_rate
    if source.duration:
        guess = round(Fraction(source.duration) * fps)
    else:
        guess = round(Fraction(sum(b.shape[1] for b in source), source.sample_rate) * fps)
    pending = boundaries(guess, count, job.batch)
    near = int(RENDER_BLOCK_SECONDS * fps) * 2 + 2  # frames: a block never plans more than about half of this
    held: list[bytes | None] = [None]  # the latest snapshot before the next boundary (None: the top)
    snapshots: dict[int, bytes | None] = {}

    def between_blocks(_: ControlPath) -> None:
        while pending and plan.next > pending[0]:
            snapshots[pending.pop(0)] = held[0]
        if pending and pending[0] - plan.next <= near and path.snapshottable:  # not in a section's crossfade
            held[0] = to_bytes(plan.state())

    plan = TrackPlan(source, path, fps, before_block=between_blocks)
    seen = 0
    with torch_threads(job.threads):
        for _ in plan:
            if plan.samples > seen:
                progress((plan.samples - seen) / source.sample_rate)
                seen = plan.samples
    total = plan.next
    for first in pending:
        snapshots[first] = held[0]
    firsts = [0] + [f for f in sorted(snapshots) if f < total]
    ends = firsts[1:] + [total]
    return [Segment(i, a, b, snapshots.get(a)) for i, (a, b) in enumerate(zip(firsts, ends)) if b > a], total


# -- one segment ---------------------------------------------------------------------------------

def frame_hash(image: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(image).data, digest_size=12).hexdigest()


def segment_plan(job: RenderJob, segment: Segment, path: ControlPath) -> SegmentPlan:
    """The plan of a segment's frames: resumed from its snapshot, those before `first` passed over."""
    state = from_bytes(segment.snapshot, f"segment {segment.index}'s snapshot") if segment.snapshot else None
    source = _source(job, path, resume_at=int(state["samples"]) if state else 0)
    return SegmentPlan(source, path, job.frame_rate, segment.first, segment.end, state)


def render_segment(job: RenderJob, segment: Segment, device: str | None = None,
                   progress: Callable[[int], None] = lambda n: None) -> SegmentResult:
    """Draw and encode one segment; the same frames, to the bit, as the whole render draws there."""
    models = _models(job, device or job.device)
    path = _control_path(job, models.encoder, models.preset)
    hashes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="lavlive-segment-") as tmp:
        out = Path(tmp) / "segment.mp4"
        writer = VideoWriter(out, job.frame_rate, Size(*job.size), job.crf, job.speed)
        try:
            engine = Engine(segment_plan(job, segment, path), models.model.synthesizer, batch=job.batch,
                            analysis_threads=job.threads, synthesis_threads=job.threads)
            with engine:
                for frame in engine.frames():
                    writer.write(frame.image)
                    hashes.append(frame_hash(frame.image))
                    progress(1)
        finally:
            writer.close()
        if len(hashes) != segment.frames:
            raise LavliveError(f"segment {segment.index}: drew {len(hashes)} frames, not {segment.frames} "
                               "(the input decoded differently here than for the analysis pass)")
        return SegmentResult(segment.index, out.read_bytes(), hashes)


def join(job: RenderJob, videos: list[Path], out: Path, container: str, complete: bool = True) -> VideoWriter:
    """Stream-copy the segment videos in order into `out`, with the track's audio muxed once."""
    writer = VideoWriter(out, job.frame_rate, Size(*job.size), audio_from=job.input, start=job.start,
                         duration=job.duration, container=container, copy_from=videos[0])
    try:
        for video in videos:
            writer.append(video)
    finally:
        writer.close(complete=complete)
    return writer
