"""Fuzz the audio decoder and the model loaders with corrupt files.

Seed files of every format lavlive reads (audio: wav, flac, ogg vorbis, opus, mp3, m4a; models:
stylegan2-ada and TensorFlow pickles, rosinality .pt, lavlive .safetensors, the shared reference
fixture; EnCodec weights) are cut short, have bytes flipped, overwritten, zeroed, repeated or
removed, deterministically from a seed. Every case must end in a sane result (audio: finite
float32 blocks in [-1, 1] of the right shape; a model: finite weights that draw a finite frame)
or in a clean error (a LavliveError whose message is one line naming the file, without 'None').
Anything else is a failure: another exception (a traceback for the user), a hang, a crash of the
process, or running out of the memory allowed.

Cases run in a worker process, so a crash or a hang only costs a restart:

    python tests/corrupt_files.py [--budget 240] [--seed 0] [--report report.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import select
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASE_SECONDS = 20.0  # a case taking longer is a hang
WORKER_MEMORY = 8 << 30  # address space a worker may use (torch alone maps about 3 GiB)
MAX_AUDIO_SECONDS = 1200  # a header may claim any length; past this much decoded audio a case stops, as ok


@dataclass
class Seed:
    path: Path
    kind: str  # "audio", "model" or "encodec"
    cases: int  # how many corrupt variants to make of it


@dataclass
class Result:
    seed: str
    mutation: str
    outcome: str  # ok | clean | traceback | unclean-message | hang | crash | memory
    detail: str = ""
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.outcome not in ("ok", "clean")


# ---------------------------------------------------------------------------------------- seed files

def write_seeds(folder: Path, audio_cases: int = 300, model_cases: int = 250) -> list[Seed]:
    """A 2 s music-like track in every audio format, and small models in every checkpoint format."""
    import torch
    from audio_files import encode
    from checkpoint_writers import write_ada_pickle, write_rosinality, write_tf_pickle
    from conftest import FIXTURES

    from lavlive.audio.demo import demo_track
    from lavlive.audio.encodec_models import build_seanet, encoder_info
    from lavlive.generator import Generator, GeneratorConfig, save_generator

    seeds = []
    music = demo_track(2.0, 48000)
    for ext, codec, rate in (("wav", "pcm_s16le", 48000), ("flac", "flac", 48000), ("ogg", "vorbis", 48000),
                             ("opus", "libopus", 48000), ("mp3", "libmp3lame", 44100), ("m4a", "aac", 44100)):
        seeds.append(Seed(encode(folder / f"music.{ext}", music, rate, codec), "audio", audio_cases))

    torch.manual_seed(0)
    G = Generator(GeneratorConfig(z_dim=32, w_dim=32, img_resolution=16, channel_base=128, channel_max=16,
                                  mapping_layers=2)).eval()
    writers = {"ada.pkl": write_ada_pickle, "tf.pkl": write_tf_pickle, "rosinality.pt": write_rosinality,
               "lavlive.safetensors": save_generator}
    for name, write in writers.items():
        write(G, folder / name)
        seeds.append(Seed(folder / name, "model", model_cases))
    for name in ("nvidia-sg2-64.pkl", "nvidia-sg2-64.expected.npz"):
        if (FIXTURES / "stylegan2" / name).is_file():
            seeds.append(Seed(FIXTURES / "stylegan2" / name, "model", 60))
    seanet = build_seanet(encoder_info("24khz").spec)
    torch.save({f"encoder.{k}": v for k, v in seanet.state_dict().items()}, folder / "encodec_24khz.th")
    seeds.append(Seed(folder / "encodec_24khz.th", "encodec", 60))
    return seeds


# ---------------------------------------------------------------------------------------- mutations

def mutations(data: bytes, count: int, rng: random.Random) -> list[tuple[str, bytes]]:
    """`count` corrupt variants of `data`: a third truncations, the rest damage inside the file.

    Positions favour the first 4 KiB, where containers and pickles keep what parsers read first."""
    n = len(data)

    def position() -> int:
        return rng.randrange(min(n, 4096)) if rng.random() < 0.6 else rng.randrange(n)

    out: list[tuple[str, bytes]] = []
    cuts = sorted({*range(0, min(n, 64), 4), *(position() for _ in range(max(0, count // 3 - 16)))})
    out += [(f"truncated to {c} bytes", data[:c]) for c in cuts]
    while len(out) < count:
        at = position()
        how = rng.choice(("flip", "flip", "flips", "overwrite", "zero", "repeat", "remove"))
        b = bytearray(data)
        if how == "flip":
            bit = rng.randrange(8)
            b[at] ^= 1 << bit
            label = f"bit {bit} flipped at {at}"
        elif how == "flips":
            spots = [position() for _ in range(rng.randint(2, 16))]
            for s in spots:
                b[s] ^= rng.randrange(1, 256)
            label = f"{len(spots)} bytes flipped from {min(spots)}"
        elif how == "overwrite":
            length = rng.randint(1, 64)
            b[at:at + length] = bytes(rng.randrange(256) for _ in range(len(b[at:at + length])))
            label = f"{length} random bytes at {at}"
        elif how == "zero":
            length = rng.choice((4, 64, 1024, 16384))
            b[at:at + length] = bytes(len(b[at:at + length]))
            label = f"{length} bytes zeroed at {at}"
        elif how == "repeat":
            length = rng.choice((16, 512, 8192))
            b[at:at] = data[at:at + length]
            label = f"{length} bytes repeated at {at}"
        else:
            length = rng.choice((1, 16, 512, 8192))
            del b[at:at + length]
            label = f"{length} bytes removed at {at}"
        out.append((label, bytes(b)))
    return out[:count]


# ---------------------------------------------------------------------------------------- the worker

def _audio_case(path: Path, variant: int) -> str:
    """Decode it all, as mono at 24 kHz or (every other case) stereo at 32 kHz."""
    import numpy as np

    from lavlive.audio.sources import FileSource

    rate, channels = ((24000, 1), (32000, 2))[variant % 2]
    source = FileSource(path, rate, channels=channels, block_size=rate // 4)
    if source.duration is not None and not (source.duration >= 0 and source.duration < float("inf")):
        return f"insane: duration {source.duration}"
    samples = 0
    for block in source:
        if block.dtype != np.float32 or block.ndim != 2 or block.shape[0] != source.channels:
            return f"insane: block {block.dtype} {block.shape}"
        if not np.isfinite(block).all() or np.abs(block).max(initial=0) > 1.0:
            return "insane: samples not finite or beyond [-1, 1]"
        samples += block.shape[1]
        if samples > MAX_AUDIO_SECONDS * rate:
            break
    return ""


def _model_case(path: Path, variant: int) -> str:
    import torch

    from lavlive.generator import load_generator

    G = load_generator(path, "cpu")
    tensors = [*G.parameters(), *G.buffers()]
    if not all(torch.isfinite(t).all() for t in tensors if t.is_floating_point()):
        return "insane: weights not finite"
    with torch.no_grad():
        img = G.synthesis(G.mapping(torch.randn(1, G.z_dim), truncation_psi=0.7), noise_mode="const")
    return "" if torch.isfinite(img).all() else "insane: the frame is not finite"


def _encodec_case(path: Path, variant: int) -> str:
    import torch

    from lavlive.audio.encodec_models import resolve_seanet

    seanet, *_ = resolve_seanet("24khz", weights=path)
    if not all(torch.isfinite(t).all() for t in seanet.state_dict().values()):
        return "insane: weights not finite"
    with torch.no_grad():
        e = seanet(0.1 * torch.randn(1, 1, 2400, generator=torch.Generator().manual_seed(variant)))
    return "" if torch.isfinite(e).all() else "insane: the embedding is not finite"


CASES = {"audio": _audio_case, "model": _model_case, "encodec": _encodec_case}


def worker() -> None:
    """Read `kind variant path` lines, answer one JSON line per case: the outcome and what was wrong."""
    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY, WORKER_MEMORY))
    import logging
    import traceback

    import torch

    from lavlive.errors import LavliveError

    torch.set_num_threads(1)
    logging.disable(logging.CRITICAL)  # damaged packets are logged as warnings; the outcome is what counts
    for line in sys.stdin:
        kind, variant, path = line.rstrip("\n").split(" ", 2)
        try:
            insane = CASES[kind](Path(path), int(variant))
            answer = {"outcome": "unclean-message" if insane else "ok", "detail": insane}
        except LavliveError as e:
            message = str(e)
            bad = "\n" in message.strip() or path not in message or "None" in message
            answer = {"outcome": "unclean-message" if bad else "clean", "detail": message[:300]}
        except MemoryError:
            answer = {"outcome": "memory", "detail": traceback.format_exc(limit=-3)[-800:]}
        except Exception as e:  # noqa: BLE001 - what would reach the user as a traceback
            answer = {"outcome": "traceback", "detail": f"{type(e).__name__}: {str(e)[:200]}\n"
                                                        f"{traceback.format_exc(limit=-4)[-1200:]}"}
        print(json.dumps(answer), flush=True)


class Worker:
    """A worker process with a per-case deadline; restarted after a crash or a hang."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None

    def run(self, kind: str, variant: int, path: Path) -> tuple[str, str]:
        if self.proc is None:
            env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parent)])}
            self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker"],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                         text=True, env=env)
        proc = self.proc
        proc.stdin.write(f"{kind} {variant} {path}\n")
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], CASE_SECONDS + (30 if self.first else 0))
        self.first = False
        line = proc.stdout.readline() if ready else ""
        if line:
            answer = json.loads(line)
            return answer["outcome"], answer["detail"]
        self.close()
        if not ready:
            return "hang", f"no answer within {CASE_SECONDS:g} s"
        return "crash", f"the process died (exit code {proc.returncode})"

    first = True  # the first case also waits for the worker's imports

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            self.first = True


def fuzz(budget: float, seed: int = 0, scale: float = 1.0) -> tuple[list[Result], int]:
    """Run the cases of every seed file, interleaved, until done or `budget` seconds have passed.

    Returns the results and how many cases there were in all."""
    deadline = time.monotonic() + budget
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="lavlive-fuzz-") as tmp:
        folder = Path(tmp)
        seeds = write_seeds(folder, audio_cases=round(300 * scale), model_cases=round(250 * scale))
        plans = []
        for s in seeds:
            data = s.path.read_bytes()
            plans.append([(s, label, variant) for label, variant in mutations(data, max(1, round(s.cases * (
                scale if s.cases < 100 else 1))), rng)])
            rng.shuffle(plans[-1])  # a budget that runs out still leaves a sample of every kind of damage
        queue = [case for round_ in zip(*_padded(plans)) for case in round_ if case is not None]
        results: list[Result] = []
        worker = Worker()
        try:
            for i, (s, label, data) in enumerate(queue):
                if time.monotonic() > deadline:
                    break
                case = folder / f"case{s.path.suffix}"
                case.write_bytes(data)
                start = time.monotonic()
                outcome, detail = worker.run(s.kind, i, case)
                detail = detail.replace(str(case), f"<{s.path.name}>")
                results.append(Result(s.path.name, label, outcome, detail, time.monotonic() - start))
        finally:
            worker.close()
    return results, len(queue)


def _padded(plans: list[list]) -> list[list]:
    longest = max(map(len, plans))
    return [p + [None] * (longest - len(p)) for p in plans]


def summary(results: list[Result], total: int, seconds: float) -> str:
    rows = Counter((r.seed, r.outcome) for r in results)
    seeds = list(dict.fromkeys(r.seed for r in results))
    outcomes = ["ok", "clean", "traceback", "unclean-message", "hang", "crash", "memory"]
    lines = [f"{'seed file':<28}" + "".join(f"{o:>16}" for o in outcomes)]
    lines += [f"{s:<28}" + "".join(f"{rows[s, o]:>16}" for o in outcomes) for s in seeds]
    slowest = max(results, key=lambda r: r.seconds, default=None)
    lines.append(f"{len(results)} of {total} cases in {seconds:.0f} s; "
                 f"{sum(r.failed for r in results)} failures" +
                 (f"; slowest case {slowest.seconds:.2f} s ({slowest.seed}, {slowest.mutation})" if slowest else ""))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=240, help="seconds to run cases for (default: 240)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", type=float, default=1.0, help="cases per seed file, relative (default: 1)")
    parser.add_argument("--report", type=Path, help="write every result as JSON here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker()
        return 0
    sys.path[:0] = [str(HERE), str(HERE.parent)]
    start = time.monotonic()
    results, total = fuzz(args.budget, args.seed, args.scale)
    print(summary(results, total, time.monotonic() - start))
    for r in results:
        if r.failed:
            print(f"\n{r.outcome}: {r.seed}, {r.mutation} ({r.seconds:.2f} s)\n{r.detail}")
    if args.report:
        args.report.write_text(json.dumps([asdict(r) for r in results], indent=1))
    return 1 if any(r.failed for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
