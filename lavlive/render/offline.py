"""`lavlive render`, from its settings: a track to a video file, offline, frame by frame, with its audio.

The engine draws frame i at exactly i/fps; this thread is the sink, encoding and muxing while
synthesis runs ahead in its own thread. The video is written under a hidden temporary name and
moved into place only when complete. Ctrl-C (or SIGTERM) finishes the file written so far and
keeps it as NAME.partial.EXT, so an interrupted hour-long render is not lost; OUT itself is
never touched. With `segments` the render is split by time and drawn on Ray (render/segmented.py).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import av
import torch

from ..audio.sections import describe_sections
from ..audio.sources import FileSource
from ..control import follow_song, fps_text
from ..devices import resolve_device, serial_here
from ..errors import LavliveError, reason
from ..files import AtomicFile, check_writable
from ..generator.runtime import check_options
from ..interrupts import signals_call
from ..pipeline.engine import Engine
from ..pipeline.model import load_model
from ..pipeline.synthesizer import Size, SynthesisOptions
from ..pipeline.track import RENDER_BLOCK_SECONDS
from ..presets import Preset, load_preset
from ..progress import Progress
from .segmented import render_segmented
from .settings import RenderSettings
from .sidecar import Rendered, sidecar_path, write_sidecar
from .video import VideoWriter, choose_encoder, container_format


def render(settings: RenderSettings) -> int:
    """Render as `settings` say, whole or in segments; the exit code (128 + the signal that interrupted it)."""
    s = settings
    container_format(s.output)
    check_writable(s.output, s.force)
    check_writable(sidecar_path(s.output), s.force)
    preset = load_preset(s.preset)
    if s.seed is not None:
        preset.modulation.seed = s.seed
    with serial_here() as cores:
        threads = s.threads or cores
        if s.segments is not None:  # the device is the workers': the cluster's, not this machine's
            return render_segmented(s, preset, threads)
        device = resolve_device(s.models.device)
        check_options(s.models.precision, s.models.execution, device)
        choose_encoder(s.video.encoder, device.type == "cuda")
        return _render(s, preset, device, threads)


def _render(s: RenderSettings, preset: Preset, device: torch.device, cores: int) -> int:
    batch = s.batch_for(device)
    options = SynthesisOptions(s.video.size, s.video.scale, preset.synthesis.noise_mode, preset.modulation.seed,
                               precision=s.models.precision, execution=s.models.execution, canvas=s.models.canvas)
    model = load_model(s.models.model, device, options, batch, say=print)
    path, notice = model.control_path(preset, s.models)
    if notice:
        print(notice)
    sections = follow_song(path, preset, s.input, s.start, s.duration)
    if sections is not None:
        print(describe_sections(sections.boundaries, preset.sections.switch))
    rate = path.encoder.sample_rate
    source = FileSource(s.input, rate, path.encoder.channels, block_size=int(RENDER_BLOCK_SECONDS * rate),
                        start=s.start, duration=s.duration)
    synthesizer, size, fps = model.synthesizer, model.synthesizer.size, s.video.fps
    guess = round(Fraction(source.duration) * fps) if source.duration else None  # the header's length

    codec = choose_encoder(s.video.encoder, device.type == "cuda")

    def describe(writer: VideoWriter) -> str:
        return (f"rendering {size} at {fps_text(fps)} fps, batch {batch} on {device} ({synthesizer.describe()}), "
                f"{codec}; audio: {writer.audio.description if writer.audio else 'none'}")

    # The control path gets as many threads as synthesis: EnCodec's float32 results depend on the
    # thread count, and torch's count is per process in effect (a segmented render uses the same).
    code, writer, engine = write_frames(
        s, lambda: Engine.for_track(source, path, synthesizer, fps, batch=batch, analysis_threads=cores,
                                    synthesis_threads=cores),
        size, fps, codec, guess, describe, batch, audio_from=s.input, start=s.start, duration=s.duration)
    if code is not None:
        return code
    duration = engine.plan.duration or 0.0
    made = Rendered(device, batch, cores, size, path.encoder.source, writer.frames_written, duration,
                    writer.audio.description if writer.audio else None, codec)
    sidecar = write_sidecar(s, preset, model.G, made)
    print(f"wrote {s.output} ({writer.frames_written} frames, {duration:.2f} s) and {sidecar.name}")
    return 0


def write_frames(s: RenderSettings, make_engine: Callable[[], Engine], size: Size, fps: Fraction, codec: str,
                 guess: int | None, describe: Callable[[VideoWriter], str], batch: int,
                 **audio: Any) -> tuple[int | None, VideoWriter, Engine]:
    """The engine's frames into s.output, under a temporary name moved into place when complete; Ctrl-C keeps
    what was written as OUT.partial.EXT. Returns (128 + the signal if one stopped it, else None), the writer
    and the engine. `audio`: VideoWriter's audio arguments."""
    file = AtomicFile(s.output, "rendering")
    stopped: list[int] = []  # the signal that asked us to stop, if any
    engine: Engine | None = None
    writer: VideoWriter | None = None

    def stop(signum: int) -> None:
        stopped.append(signum)
        if engine is not None:
            engine.stop()

    # From here on, Ctrl-C/SIGTERM only ask to stop at the next frame boundary: an exception between
    # encoding a frame and muxing it would drop the frame, and one while finishing would lose the file.
    with signals_call(stop):
        try:
            writer = VideoWriter(file.tmp, fps, size, s.video.crf, s.video.speed, container=container_format(s.output),
                                 codec=codec, **audio)
            print(describe(writer))
            engine = make_engine()
            if stopped:
                engine.stop()
            with engine, Progress(guess, "frame", "rendering") as bar:
                for frame in engine.frames():
                    writer.write(frame.image)
                    bar.update(1)
                if not stopped:
                    bar.done()
            writer.close(complete=not stopped)
            if stopped:
                kept = (f"kept the {writer.frames_written} frames rendered so far in {file.keep_partial()}"
                        if writer.frames_written else "no frames were rendered")
                print(f"lavlive: interrupted; {kept}", file=sys.stderr)
                return 128 + stopped[0], writer, engine
            file.commit()
        except torch.cuda.OutOfMemoryError:
            raise LavliveError(f"out of GPU memory at batch {batch}, {size}: try a smaller --batch or --size, "
                               "or --device cpu") from None
        except (av.FFmpegError, OSError) as e:
            raise LavliveError(f"{s.output}: cannot write the video ({reason(e)})") from None
        finally:
            _close(writer)
            file.discard()
    return None, writer, engine


def _close(writer: VideoWriter | None) -> None:
    """Close the writer if something went wrong before it was closed (a no-op after a successful close)."""
    try:
        if writer is not None:
            writer.close(complete=False)
    except (av.FFmpegError, OSError):
        pass  # already failing: the error that brought us here is the one to report
