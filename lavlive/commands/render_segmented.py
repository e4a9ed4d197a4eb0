"""`lavlive render --segments N`: the driver of a render split by time (lavlive.segments) on Ray.

It joins the cluster, runs the analysis pass (or takes its layout from the work folder of an
earlier run of the same render), lets Ray render the segments that are not finished yet, keeps
each one in OUT.segments/ as it arrives, and joins them into OUT with the sidecar as a whole
render writes. Ctrl-C cancels every task and keeps the frames finished from the start as
NAME.partial.EXT (like a whole render), and the work folder for a re-run to resume from.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from fractions import Fraction
from pathlib import Path

import av

from ..audio.sources import FileSource
from ..errors import LavliveError
from ..frames import Size
from ..generator import load_generator
from ..generator.runtime import resolve_execution
from ..interrupts import signals_call
from ..presets import Preset
from ..progress import Progress
from ..video import container_format
from .render import batch_size, fps_text, manifest, partial_name, reason, write_sidecar


def render_segmented(args: argparse.Namespace, output: Path, sidecar: Path, preset: Preset, cores: int) -> int:
    from ..cluster import Cluster
    from ..segments import WorkFolder, join, make_job, plan_segments

    # Bad inputs fail here, before a cluster is started or joined.
    seconds = FileSource(args.input, 48000, start=args.start, duration=args.duration).duration
    G = load_generator(args.model, "cpu")
    print(f"model: {G.source.describe()}")
    cluster = Cluster(args.cluster or "local")
    try:
        print(f"cluster: {cluster.describe()}")
        device = cluster.device(args.device)
        resolve_execution(args.execution, device)  # the workers' kind of device (their bf16 they check themselves)
        batch = batch_size(args, device)
        job, notice = make_job(args, preset, device, batch, G, cores)
        if notice:
            print(notice)
        cluster.check_fits(job)
        folder = WorkFolder(output, job.key(args.segments))
        layout = folder.load()
        started = time.monotonic()
        if layout is None:
            with Progress(seconds, "s", "analysing") as bar:
                segments, frames = plan_segments(job, args.segments, bar.update)
                bar.done()
            folder.save(segments, frames)
        else:
            segments, frames = layout
        finished = {s.index for s in segments if folder.finished(s) is not None}
        todo = [s for s in segments if s.index not in finished]
        if finished:
            print(f"resuming: {len(finished)} of {len(segments)} segments were already rendered in {folder.path}")
        print(f"rendering {Size(*job.size)} at {fps_text(args.fps)} fps, {frames} frames in {len(segments)} "
              f"segments, batch {batch} on {device} workers")
        analysed = time.monotonic()
        stopped: list[int] = []
        with signals_call(lambda signum: stopped.append(signum)):
            with Progress(frames, "frame", "rendering") as bar:
                bar.update(sum(s.frames for s in segments if s.index in finished))
                complete = cluster.run(job, todo, folder.keep, bar.update, lambda: bool(stopped))
                if complete:
                    bar.done()
        rendered = time.monotonic()
    finally:
        cluster.close()
    fmt = container_format(output)
    if not complete:
        print(f"lavlive: interrupted; {_keep_partial(job, folder, segments, output, fmt)}; the finished segments "
              f"stay in {folder.path} for a re-run to resume", file=sys.stderr)
        return 128 + stopped[0]
    tmp = output.with_name(f".{output.stem}.joining-{os.getpid()}{output.suffix}")
    try:
        writer = join(job, [folder.video(s) for s in segments], tmp, fmt)
        if writer.frames_written != frames:
            raise LavliveError(f"{output}: the segments hold {writer.frames_written} frames, not {frames}")
        os.replace(tmp, output)
        joined = time.monotonic()
    except (av.FFmpegError, OSError) as e:
        raise LavliveError(f"{output}: cannot write the video ({reason(e)})") from None
    finally:
        tmp.unlink(missing_ok=True)
    duration = float(Fraction(frames) / args.fps)
    meta = manifest(args, preset, G, job.encoder_source, Size(*job.size), job.scale,
                    preset.modulation.seed, batch, job.threads, device, duration, frames,
                    writer.audio.description if writer.audio else None)
    meta["segments"] = {"count": len(segments), "cluster": args.cluster or "local",
                        "first_frames": [s.first for s in segments], "control_device": "cpu"}
    write_sidecar(sidecar, meta)
    if not args.keep_segments:
        folder.remove()
    print(f"times: analysis pass {analysed - started:.1f} s, segments {rendered - analysed:.1f} s, "
          f"join {joined - rendered:.1f} s")
    print(f"wrote {output} ({frames} frames, {duration:.2f} s, {len(segments)} segments joined) and {sidecar.name}")
    return 0


def _keep_partial(job, folder, segments, output: Path, fmt: str) -> str:  # noqa: ANN001 - lazily imported types
    """Join the segments finished from the start, as a playable NAME.partial.EXT; never touch OUT."""
    from ..segments import join

    done = []
    for s in segments:
        if folder.finished(s) is None:
            break
        done.append(s)
    if not done:
        return "no segment from the start was finished, so no partial video was written"
    kept = partial_name(output)
    tmp = kept.with_name(f".{kept.name}.tmp{os.getpid()}")
    try:
        writer = join(job, [folder.video(s) for s in done], tmp, fmt, complete=False)
        os.replace(tmp, kept)
    finally:
        tmp.unlink(missing_ok=True)
    return f"kept the {writer.frames_written} frames of the first {len(done)} segments in {kept}"
