"""`lavlive render --segments N`: the driver of a render split by time (render/segments.py) on Ray.

It joins the cluster, runs the analysis pass (or takes its layout from the work folder of an
earlier run of the same render), lets Ray render the segments that are not finished yet, keeps
each one in OUT.segments/ as it arrives, and joins them into OUT with the sidecar as a whole
render writes. Ctrl-C cancels every task and keeps the frames finished from the start as
NAME.partial.EXT (like a whole render), and the work folder for a re-run to resume from.
"""

from __future__ import annotations

import sys
import time
from fractions import Fraction

import av

from ..audio.sources import FileSource
from ..control import fps_text
from ..errors import LavliveError, reason
from ..files import AtomicFile
from ..generator.runtime import resolve_execution
from ..interrupts import signals_call
from ..pipeline.model import load_model
from ..pipeline.synthesizer import Size, SynthesisOptions
from ..presets import Preset
from ..progress import Progress
from .cluster import Cluster
from .segments import RenderJob, Segment, join, make_job, plan_segments
from .settings import RenderSettings
from .sidecar import Rendered, write_sidecar
from .video import container_format
from .work_folder import WorkFolder


def render_segmented(s: RenderSettings, preset: Preset, threads: int) -> int:
    """Render in `s.segments` segments on the cluster and join them; the exit code (128 + signal if interrupted)."""
    # Bad inputs fail here, before a cluster is started or joined.
    seconds = FileSource(s.input, 48000, start=s.start, duration=s.duration).duration
    # for its statistics, once for all workers, and the frame size (--size, else the canvas)
    model = load_model(s.models.model, "cpu", SynthesisOptions(s.video.size, canvas=s.models.canvas), warm_up=None,
                       say=print)
    cluster = Cluster(s.cluster or "local")
    try:
        print(f"cluster: {cluster.describe()}")
        device = cluster.device(s.models.device)
        resolve_execution(s.models.execution, device)  # the workers' kind of device (their bf16 they check themselves)
        batch = s.batch_for(device)
        job, notice = make_job(s, preset, device, batch, model, threads)
        if notice:
            print(notice)
        cluster.check_fits(job)
        folder = WorkFolder(s.output, job.key(s.segments))
        layout = folder.load()
        started = time.monotonic()
        if layout is None:
            with Progress(seconds, "s", "analysing") as bar:
                segments, frames = plan_segments(job, s.segments, bar.update)
                bar.done()
            folder.save(segments, frames)
        else:
            segments, frames = layout
        finished = {g.index for g in segments if folder.finished(g) is not None}
        todo = [g for g in segments if g.index not in finished]
        if finished:
            print(f"resuming: {len(finished)} of {len(segments)} segments were already rendered in {folder.path}")
        print(f"rendering {Size(*job.size)} at {fps_text(s.video.fps)} fps, {frames} frames in {len(segments)} "
              f"segments, batch {batch} on {device} workers")
        analysed = time.monotonic()
        stopped: list[int] = []
        with signals_call(lambda signum: stopped.append(signum)):
            with Progress(frames, "frame", "rendering") as bar:
                bar.update(sum(g.frames for g in segments if g.index in finished))
                complete = cluster.run(job, todo, folder.keep, bar.update, lambda: bool(stopped))
                if complete:
                    bar.done()
        rendered = time.monotonic()
    finally:
        cluster.close()
    fmt = container_format(s.output)
    if not complete:
        print(f"lavlive: interrupted; {_keep_partial(job, folder, segments, AtomicFile(s.output, 'joining'), fmt)}; "
              f"the finished segments stay in {folder.path} for a re-run to resume", file=sys.stderr)
        return 128 + stopped[0]
    file = AtomicFile(s.output, "joining")
    try:
        writer = join(job, [folder.video(g) for g in segments], file.tmp, fmt)
        if writer.frames_written != frames:
            raise LavliveError(f"{s.output}: the segments hold {writer.frames_written} frames, not {frames}")
        file.commit()
        joined = time.monotonic()
    except (av.FFmpegError, OSError) as e:
        raise LavliveError(f"{s.output}: cannot write the video ({reason(e)})") from None
    finally:
        file.discard()
    duration = float(Fraction(frames) / s.video.fps)
    made = Rendered(device, batch, job.threads, Size(*job.size), job.encoder_source, frames, duration,
                    writer.audio.description if writer.audio else None,
                    segments={"count": len(segments), "cluster": s.cluster or "local",
                              "first_frames": [g.first for g in segments], "control_device": "cpu"})
    sidecar = write_sidecar(s, preset, model.G, made)
    if not s.keep_segments:
        folder.remove()
    print(f"times: analysis pass {analysed - started:.1f} s, segments {rendered - analysed:.1f} s, "
          f"join {joined - rendered:.1f} s")
    print(f"wrote {s.output} ({frames} frames, {duration:.2f} s, {len(segments)} segments joined) and {sidecar.name}")
    return 0


def _keep_partial(job: RenderJob, folder: WorkFolder, segments: list[Segment], file: AtomicFile, fmt: str) -> str:
    """Join the segments finished from the start, as a playable NAME.partial.EXT; never touch OUT."""
    done = []
    for g in segments:
        if folder.finished(g) is None:
            break
        done.append(g)
    if not done:
        return "no segment from the start was finished, so no partial video was written"
    try:
        writer = join(job, [folder.video(g) for g in done], file.tmp, fmt, complete=False)
        kept = file.keep_partial()
    finally:
        file.discard()
    return f"kept the {writer.frames_written} frames of the first {len(done)} segments in {kept}"
