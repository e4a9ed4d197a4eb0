"""`lavlive render`: a track to a video file, offline, frame by frame, with its audio.

The engine draws frame i at exactly i/fps; this thread is the sink, encoding and muxing while
synthesis runs ahead in its own thread. The video is written under a hidden temporary name and
moved into place only when complete. Ctrl-C (or SIGTERM) finishes the file written so far and
keeps it as NAME.partial.EXT, so an interrupted hour-long render is not lost; OUT itself is
never touched.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import torch

from .. import __version__
from ..devices import DEVICE_CHOICES, resolve_device, serial_here
from ..generator.runtime import describe_precision, resolve_execution
from ..engine import RENDER_BLOCK_SECONDS, Engine
from ..errors import LavliveError
from ..frames import SCALE_MODES, Size, Synthesizer, parse_size
from ..generator import DEFAULT_SEED, Generator, sha256_of
from ..interrupts import signals_call
from ..lav.timeline import parse_fps
from ..outputs import atomic_output, check_writable, free_name
from ..presets import Preset, load_preset
from ..progress import Progress
from .arguments import FILE, check_times, nonempty
from .options import add_control_options, add_synthesis_options, check_synthesis_options, load_models, open_track
from ..video import ENCODERS, X264_SPEEDS, VideoWriter, choose_encoder, container_format, encoder_options



def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="render a track to a video file (H.264 + the track's audio)",
                       description="Render the visuals of a track offline into a video file with its audio, "
                                   "plus OUT.json with everything needed to reproduce it.")
    p.add_argument("input", type=nonempty("INPUT", "give an audio file"),
                   help="audio file (wav, flac, ogg, opus, mp3, m4a, …)")
    p.add_argument("-o", "--output", required=True, type=nonempty("--output", FILE),
                   help="video to write (.mp4, .mov, .mkv)")
    add_control_options(p)
    p.add_argument("--fps", type=parse_fps, default=Fraction(30), help="frame rate: 24, 29.97, 30000/1001, 60, … "
                   "(default: 30)")
    p.add_argument("--size", type=parse_size, default=None, help="WIDTHxHEIGHT (default: the model's resolution)")
    p.add_argument("--scale", choices=SCALE_MODES, default="fit",
                   help="when --size has another aspect: fit (whole picture, black bars) or fill (crop) "
                        "(default: fit)")
    p.add_argument("--start", type=float, default=0.0, help="start at this many seconds into the track")
    p.add_argument("--duration", type=float, default=None, help="render this many seconds (default: to the end)")
    p.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="CPU threads for synthesis and the control path (default: all cores); the frames depend "
                        "on it in their last bits, and a segmented render uses it on every machine")
    add_synthesis_options(p)
    p.add_argument("--batch", type=int, default=None, help="frames per synthesis batch (default: 1 on CPU, 8 on CUDA)")
    p.add_argument("--crf", type=int, default=18, help="H.264 quality, 0 (lossless) to 51 (worst) (default: 18)")
    p.add_argument("--speed", choices=X264_SPEEDS, default="medium",
                   help="x264 preset (NVENC: the matching p1-p7): slower gives smaller files at the same --crf "
                        "(default: medium)")
    p.add_argument("--encoder", choices=ENCODERS, default="auto",
                   help="H.264 encoder: auto takes NVENC when synthesis runs on an NVIDIA GPU that has it, else x264; "
                        "a segmented render always uses x264 (default: auto)")
    p.add_argument("--seed", type=int, default=None, help="projection seed (overrides the preset's modulation.seed)")
    p.add_argument("--force", action="store_true", help="overwrite OUT and OUT.json if they exist")
    p.add_argument("--segments", type=int, default=None, metavar="N",
                   help="split the render by time into N segments rendered in parallel on Ray (pip install "
                        "'lavlive[cluster]'), joined into the same video; finished segments are kept in "
                        "OUT.segments/ so a re-run resumes")
    p.add_argument("--cluster", default=None, metavar="local|ADDRESS",
                   help="with --segments: 'local' starts Ray on this machine (default); HOST:PORT joins a cluster "
                        "started with 'ray start --head'")
    p.add_argument("--keep-segments", action="store_true",
                   help="with --segments: keep OUT.segments/ (segment videos, snapshots, frame hashes) after joining")
    p.set_defaults(run=run)


def _check_args(args: argparse.Namespace) -> None:
    if not 0 <= args.crf <= 51:
        raise LavliveError(f"--crf {args.crf}: use 0 (lossless) to 51")
    if args.batch is not None and not 1 <= args.batch <= 256:
        raise LavliveError(f"--batch {args.batch}: use 1 to 256")
    if args.seed is not None and not 0 <= args.seed < 2**31:
        raise LavliveError(f"--seed {args.seed}: use 0 to 2147483647")
    if args.threads is not None and not 1 <= args.threads <= 1024:
        raise LavliveError(f"--threads {args.threads}: use 1 to 1024")
    if args.segments is not None and not 1 <= args.segments <= 100_000:
        raise LavliveError(f"--segments {args.segments}: use 1 to 100000")
    if args.segments is None and (args.cluster is not None or args.keep_segments):
        raise LavliveError(f"{'--cluster' if args.cluster is not None else '--keep-segments'} needs --segments N")
    if args.segments is not None and args.encoder == "h264_nvenc":
        raise LavliveError("--encoder h264_nvenc: a segmented render encodes with libx264 on every machine, so its "
                           "segments join by stream copy")
    if args.cluster is not None and not args.cluster.strip():
        raise LavliveError("--cluster is empty: give 'local' or the HOST:PORT of a Ray cluster's head")
    check_times(args)


def sidecar_path(output: Path) -> Path:
    return output.with_name(output.name + ".json")


def run(args: argparse.Namespace) -> int:
    _check_args(args)
    output = Path(args.output)
    container_format(output)
    sidecar = sidecar_path(output)
    check_writable(output, args.force)
    check_writable(sidecar, args.force)
    preset = load_preset(args.preset)
    if args.seed is not None:
        preset.modulation.seed = args.seed
    with serial_here() as cores:
        cores = args.threads or cores
        if args.segments is not None:  # the device is the workers': the cluster's, not this machine's
            from .render_segmented import render_segmented
            return render_segmented(args, output, sidecar, preset, cores)
        device = resolve_device(args.device)
        check_synthesis_options(args, device)
        choose_encoder(args.encoder, device.type == "cuda")
        return _render(args, output, sidecar, preset, device, cores)


def batch_size(args: argparse.Namespace, device: torch.device) -> int:
    return args.batch or (8 if device.type == "cuda" else 1)


def _render(args: argparse.Namespace, output: Path, sidecar: Path, preset: Preset, device: torch.device,
            cores: int) -> int:
    batch = batch_size(args, device)
    G, path = load_models(args, preset, device)
    source = open_track(args, path, RENDER_BLOCK_SECONDS)
    size = args.size or Size(G.img_resolution, G.img_resolution)
    synthesizer = Synthesizer(G, size, args.scale, preset.synthesis.noise_mode, preset.modulation.seed,
                              precision=args.precision, execution=args.execution)
    guess = round(Fraction(source.duration) * args.fps) if source.duration else None  # the header's length

    codec = choose_encoder(args.encoder, device.type == "cuda")
    tmp = output.with_name(f".{output.stem}.rendering-{os.getpid()}{output.suffix}")
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
            writer = VideoWriter(tmp, args.fps, size, args.crf, args.speed, audio_from=args.input,
                                 start=args.start, duration=args.duration, container=container_format(output),
                                 codec=codec)
            print(f"rendering {size} at {fps_text(args.fps)} fps, batch {batch} on {device} ({synthesizer.describe()}), "
                  f"{codec}; "
                  f"audio: {writer.audio.description if writer.audio else 'none'}")
            # The control path gets as many threads as synthesis: EnCodec's float32 results depend on the
            # thread count, and torch's count is per process in effect (a segmented render uses the same).
            engine = Engine.for_track(source, path, synthesizer, args.fps, batch=batch, analysis_threads=cores,
                                      synthesis_threads=cores)
            if stopped:
                engine.stop()
            with engine, Progress(guess, "frame", "rendering") as bar:
                for frame in engine.frames():
                    writer.write(frame.image)
                    bar.update(1)
                if not stopped:
                    bar.done()
            if stopped:
                print(f"lavlive: interrupted; {_keep_partial(writer, tmp, output)}", file=sys.stderr)
                return 128 + stopped[0]
            writer.close()
            os.replace(tmp, output)
        except torch.cuda.OutOfMemoryError:
            raise LavliveError(f"out of GPU memory at batch {batch}, {size}: try a smaller --batch or --size, "
                               "or --device cpu") from None
        except (av.FFmpegError, OSError) as e:
            raise LavliveError(f"{output}: cannot write the video ({reason(e)})") from None
        finally:
            _discard(writer, tmp)
    meta = manifest(args, preset, G, path.encoder.source, synthesizer.size, synthesizer.scale, synthesizer.seed,
                    batch, cores, device, engine.plan.duration or 0.0, writer.frames_written,
                    writer.audio.description if writer.audio else None, codec)
    write_sidecar(sidecar, meta)
    print(f"wrote {output} ({writer.frames_written} frames, {engine.plan.duration or 0:.2f} s) and {sidecar.name}")
    return 0


def _discard(writer: VideoWriter | None, tmp: Path) -> None:
    """Close the writer (a no-op after a successful close) and remove what is left at the temporary name."""
    try:
        if writer is not None:
            writer.close(complete=False)
    except (av.FFmpegError, OSError):
        pass  # already failing: the error that brought us here is the one to report
    tmp.unlink(missing_ok=True)


def write_sidecar(sidecar: Path, meta: dict[str, Any]) -> None:
    with atomic_output(sidecar, force=True) as tmp_json:  # checked before rendering; the video is in place now
        tmp_json.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def partial_name(output: Path) -> Path:
    return free_name(output.with_name(f"{output.stem}.partial{output.suffix}"))


def _keep_partial(writer: VideoWriter | None, tmp: Path, output: Path) -> str:
    """Finish what was written so far as a playable file named NAME.partial.EXT; never touch OUT."""
    if writer is None or writer.frames_written == 0:
        return "no frames were rendered"
    writer.close(complete=False)
    kept = partial_name(output)
    os.replace(tmp, kept)
    return f"kept the {writer.frames_written} frames rendered so far in {kept}"


def reason(e: BaseException) -> str:
    return str(getattr(e, "strerror", None) or e).splitlines()[0]


def fps_text(fps: Fraction) -> str:
    return str(fps.numerator) if fps.denominator == 1 else f"{float(fps):.3f} ({fps})"


def manifest(args: argparse.Namespace, preset: Preset, G: Generator, encoder_source: str, size: Size, scale: str,
             noise_seed: int, batch: int, threads: int, device: torch.device, duration: float, frames: int,
             audio: str | None, codec: str = "libx264") -> dict[str, Any]:
    """Everything needed to render the same video again."""
    model = G.source
    return {
        "lavlive": __version__,
        "torch": torch.__version__,
        "av": av.__version__,
        "command": ["lavlive", *args.argv],
        "cwd": os.getcwd(),
        "input": {"path": str(Path(args.input).resolve()), "sha256": sha256_of(Path(args.input)),
                  "start": args.start, "duration": args.duration},
        "video": {"frames": frames, "fps": str(args.fps), "duration": duration,
                  "size": str(size), "scale": scale, "codec": f"h264 yuv420p bt709 ({codec})",
                  "encoder_options": encoder_options(codec, args.crf, args.speed),
                  "crf": args.crf, "speed": args.speed, "audio": audio},
        "model": {"path": str(model.path.resolve()) if model.path else None, "format": model.format,
                  "sha256": model.sha256, "resolution": G.img_resolution,
                  "seed": DEFAULT_SEED if model.path is None else None},
        "encoder": {"name": preset.encoder.name, "weights": encoder_source,
                    "sha256": sha256_of(Path(encoder_source)) if Path(encoder_source).is_file() else None},
        "seeds": {"projection": preset.modulation.seed, "noise": noise_seed},
        "device": str(device), "dtype": describe_precision(args.precision, device, G.config.num_fp16_res),
        "execution": resolve_execution(args.execution, device, preset.synthesis.noise_mode), "batch": batch,
        "threads": threads,
        "preset": preset.to_dict(),
    }
