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
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from itertools import takewhile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import __version__
from .audio.encodec_stream import load_encoder
from .audio.sources import FileSource
from .engine import RENDER_BLOCK_SECONDS, Engine, Frame, TrackPlan
from .devices import torch_threads
from .errors import LavliveError
from .frames import Size, Synthesizer
from .generator import load_generator, sha256_of
from .lav.control import ControlPath
from .lav.statistics import WStatistics, w_statistics
from .presets import Preset, preset_from_dict
from .snapshot import from_bytes, to_bytes
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
    resolution: int  # the generator's
    threads: int  # torch threads for the control path and CPU synthesis, in every process
    sha256: dict[str, str | None] = field(default_factory=dict)  # of the input, model and encoder weights
    encoder_source: str = ""  # where the encoder's weights came from, for the sidecar
    precision: str = "auto"  # generator/runtime.py
    execution: str = "auto"

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
    return {k: np.asarray(v) for k, v in asdict(stats).items()}


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
    synthesizer: Synthesizer
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
    G = load_generator(job.model, device)
    if G.source.sha256 != job.sha256.get("model"):
        raise LavliveError(f"{job.model}: this machine's copy differs from the driver's (sha256)")
    synthesizer = Synthesizer(G, Size(*job.size), job.scale, preset.synthesis.noise_mode, preset.modulation.seed,
                              precision=job.precision, execution=job.execution)
    encoder = _encoder(job, preset)
    if _where(encoder.source) != job.encoder_source:
        raise LavliveError(f"EnCodec weights: this machine has {encoder.source}, the driver used {job.encoder_source}")
    return _Models(synthesizer, encoder, preset)


def _encoder(job: RenderJob, preset: Preset) -> Any:
    encoder, _ = load_encoder(preset.encoder.name, job.encoder_weights, device=CONTROL_DEVICE)
    return encoder


def _control_path(job: RenderJob, encoder: Any, preset: Preset) -> ControlPath:
    encoder.reset()
    return ControlPath(encoder, WStatistics(**job.stats), preset, job.num_ws, job.resolution)


def _source(job: RenderJob, path: ControlPath, resume_at: int = 0) -> FileSource:
    rate = path.encoder.sample_rate
    return FileSource(job.input, rate, path.encoder.channels, block_size=int(RENDER_BLOCK_SECONDS * rate), start=job.start,
                      duration=job.duration, resume_at=resume_at)


# -- the analysis pass ---------------------------------------------------------------------------

def make_job(args: Any, preset: Preset, device: torch.device, batch: int, G: Any,
             threads: int) -> tuple[RenderJob, str | None]:
    """The job for `lavlive render` options and generator G (on the CPU: the statistics are computed
    here, once for all workers); plus the encoder's notice if it is random."""
    weights = args.encoder_weights or preset.encoder.weights or None  # a folder is a Hugging Face checkpoint
    size = args.size or Size(G.img_resolution, G.img_resolution)
    encoder, notice = load_encoder(preset.encoder.name, weights, device=CONTROL_DEVICE)
    if Path(encoder.source).exists():
        weights = _where(encoder.source)  # also when found in a cache: the workers load the same file
    job = RenderJob(
        input=str(Path(args.input).resolve()), start=args.start, duration=args.duration,
        model=str(Path(args.model).resolve()) if args.model else None,
        encoder_weights=str(Path(weights).resolve()) if weights else None, preset=preset.to_dict(),
        fps=str(args.fps), size=(size.width, size.height), scale=args.scale, device=device.type, batch=batch,
        crf=args.crf, speed=args.speed, stats=stats_plain(w_statistics(G)), num_ws=G.num_ws,
        resolution=G.img_resolution, threads=threads, precision=args.precision, execution=args.execution,
        sha256={"input": sha256_of(Path(args.input)), "model": G.source.sha256,
                "encoder": sha256_of(Path(weights)) if weights and Path(weights).is_file() else None},
        encoder_source=_where(encoder.source))
    return job, notice


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
        if pending and pending[0] - plan.next <= near:
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


def segment_frames(job: RenderJob, segment: Segment, path: ControlPath) -> Iterator[Frame]:
    """The planned frames of a segment: resumed from its snapshot, those before `first` passed over."""
    state = from_bytes(segment.snapshot, f"segment {segment.index}'s snapshot") if segment.snapshot else None
    source = _source(job, path, resume_at=int(state["samples"]) if state else 0)
    plan = TrackPlan(source, path, job.frame_rate, state=state)
    return (f for f in takewhile(lambda f: f.index < segment.end, plan) if f.index >= segment.first)


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
            engine = Engine(segment_frames(job, segment, path), models.synthesizer, batch=job.batch,
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


# -- the work folder -----------------------------------------------------------------------------

class WorkFolder:
    """OUT.segments/: the layout (job.json), each segment's snapshot, and the segments finished so far.

    Every file is written under a temporary name and moved into place, so a crash never leaves a
    half-written segment that a re-run would take for finished."""

    def __init__(self, output: Path, key: str) -> None:
        self.path = output.with_name(output.name + ".segments")
        self.key = key

    def _file(self, index: int, ext: str) -> Path:
        return self.path / f"segment-{index:04d}.{ext}"

    def _write(self, path: Path, data: bytes) -> None:
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def load(self) -> tuple[list[Segment], int] | None:
        """The layout of an earlier run of the same job, or None (a folder of another job is cleared)."""
        meta = self.path / "job.json"
        if not meta.is_file():
            return None
        try:
            job = json.loads(meta.read_text(encoding="utf-8"))
            if job.get("key") != self.key:
                raise ValueError("another render")
            segments = [Segment(i, a, b, self._file(i, "snapshot").read_bytes() if has else None)
                        for i, (a, b, has) in enumerate(job["segments"])]
            return segments, int(job["frames"])
        except (OSError, ValueError, KeyError, TypeError):
            print(f"{self.path}: holds segments of another render (or is damaged); starting over")
            shutil.rmtree(self.path, ignore_errors=True)
            return None

    def save(self, segments: list[Segment], frames: int) -> None:
        self.path.mkdir(exist_ok=True)
        for s in segments:
            if s.snapshot is not None:
                self._write(self._file(s.index, "snapshot"), s.snapshot)
        table = [[s.first, s.end, s.snapshot is not None] for s in segments]
        self._write(self.path / "job.json", json.dumps({"key": self.key, "frames": frames, "segments": table},
                                                       indent=1).encode())

    def finished(self, segment: Segment) -> list[str] | None:
        """The frame hashes of a finished segment, or None if it is still to render."""
        try:
            hashes = json.loads(self._file(segment.index, "json").read_text(encoding="utf-8"))["hashes"]
        except (OSError, ValueError, KeyError):
            return None
        return hashes if len(hashes) == segment.frames and self.video(segment).is_file() else None

    def video(self, segment: Segment) -> Path:
        return self._file(segment.index, "mp4")

    def keep(self, result: SegmentResult) -> None:
        self._write(self._file(result.index, "mp4"), result.video)
        self._write(self._file(result.index, "json"), json.dumps({"hashes": result.hashes, "node": result.node}).encode())

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


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
