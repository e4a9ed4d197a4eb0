"""Fuzz the audio decoder and the checkpoint loaders with corrupt files derived from real ones.

    python tests/fuzz_inputs.py [--budget SECONDS] [--cases N] [--seed S] [--report FILE] [--keep DIR]

Seed files are made fresh in a temp folder: a 2 s synthesised track in six codecs (Ogg Vorbis with
FFmpeg's own encoder where this FFmpeg lacks libvorbis) and as 7.1 AAC, a small random generator in
every checkpoint format, plus the shared 16 MB reference pickle and its .npz, and random
EnCodec 24 kHz weights. From
each seed, corrupt cases are derived deterministically (from --seed): truncations, bit flips,
random overwrites, zeroed ranges, removed and duplicated chunks, placed densely in the first KB
(where parsers read headers) and the last KB (MP4 keeps its index at the end), spread elsewhere.

Every case runs in a worker subprocess under a memory limit, so a segfault, an abort, a hang or a
runaway allocation is caught, reported and the worker restarted. Outcomes:

    ok           a sane result (audio: float32 blocks, finite, in [-1, 1], right channel count,
                 bounded length; checkpoint: finite parameters and buffers, one finite frame)
    clean        a LavliveError with a one-line message that names the file and never says 'None'
    traceback    any other exception                      (failure)
    hang         no answer within the per-case timeout, or audio that never ends   (failure)
    crash        the worker died (signal or exit code)    (failure)
    memory       the worker's memory passed the limit     (failure)
    bad-message  a LavliveError that is multi-line, does not name the file or says 'None'  (failure)
    bad-result   loaded, but the result is not sane (NaN, wrong shape, ...)  (failure)

The unmutated seeds are cases too: each must load ("ok"), except the .npz, which must be refused
("clean"); anything else is reported as a failure of that case.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUTCOMES = ("ok", "clean", "traceback", "hang", "crash", "memory", "bad-message", "bad-result")
FAILURES = OUTCOMES[2:]
CASE_TIMEOUT = 20.0  # seconds one case may take before its worker is killed
MEMORY_LIMIT = 3 << 30  # resident bytes a worker may reach; a real corrupt file never needs this much
ADDRESS_LIMIT = 12 << 30  # RLIMIT_AS: a hard stop well above torch's own ~3.5 GiB of address space
AUDIO_CAP_SECONDS = 600.0  # a 2 s seed that decodes to more than this never ends, as far as we care
DENSE = 4096  # bytes at the start where headers live: mutated densely
TAIL = 2048  # bytes at the end (MP4 moov, pickle STOP): mutated more than the middle


def fixtures_dir() -> Path:
    """Where the shared fixtures are: the same search as tests/conftest.py."""
    env = Path(os.environ.get("LAVLIVE_FIXTURES", "/nonexistent"))
    for p in (env, REPO.parent / "shared" / "fixtures", REPO / "shared" / "fixtures"):
        if p.is_dir():
            return p
    return REPO.parent / "shared" / "fixtures"


# ---------------------------------------------------------------------------- seed files


@dataclass
class Seed:
    name: str
    path: Path
    kind: str  # "audio", "checkpoint" or "encodec" (EnCodec weights)
    expect: str = "ok"  # the outcome of the unmutated file
    weight: float = 1.0  # share of the cases this seed gets


AUDIO_CODECS = (("wav", "pcm_s16le", 48000), ("flac", "flac", 48000), ("ogg", "libvorbis", 48000),
                ("opus", "libopus", 48000), ("mp3", "libmp3lame", 44100), ("m4a", "aac", 44100))


def make_seeds(folder: Path) -> list[Seed]:
    """Write every seed file into `folder`; the shared fixture is referenced where it lies (read-only)."""
    sys.path[:0] = [str(HERE), str(REPO)]
    import av
    import torch
    from audio_files import encode
    from checkpoint_writers import write_ada_pickle, write_rosinality, write_sg3_pickle, write_tf_pickle

    from lavlive.audio.demo import demo_track
    from lavlive.generator import Generator, GeneratorConfig, StyleGAN3Config, StyleGAN3Generator, save_generator

    seeds: list[Seed] = []
    for ext, codec, rate in AUDIO_CODECS:
        if codec == "libvorbis" and codec not in av.codecs_available:
            codec = "vorbis"  # this FFmpeg has no libvorbis: its own (experimental) encoder writes the same format
        path = encode(folder / f"track.{ext}", demo_track(2.0, rate, seed=1), rate, codec)
        seeds.append(Seed(path.name, path, "audio"))
    surround = surround_track(2.0, 48000)  # 8 planar channels: the decoders' frames take another path
    seeds.append(Seed("track-7.1.m4a", encode(folder / "track-7.1.m4a", surround, 48000, "aac", "7.1"),
                      "audio", weight=0.5))

    torch.manual_seed(7)
    G = Generator(GeneratorConfig(z_dim=32, w_dim=32, img_resolution=32, channel_base=256, channel_max=16,
                                  mapping_layers=2)).eval().requires_grad_(False)
    with torch.no_grad():
        for name, p in G.named_parameters():
            if not name.endswith("weight"):
                p.add_(0.1 * torch.randn_like(p))
        G.mapping.w_avg.normal_()
    writers = {"small-ada.pkl": write_ada_pickle, "small-tf.pkl": write_tf_pickle,
               "small-rosinality.pt": write_rosinality, "small.safetensors": save_generator}
    for name, write in writers.items():
        write(G, folder / name)
        seeds.append(Seed(name, folder / name, "checkpoint"))

    torch.manual_seed(8)
    G3 = StyleGAN3Generator(StyleGAN3Config(z_dim=32, w_dim=32, img_resolution=16, channel_base=512, channel_max=16,
                                            num_fp16_res=0, conv_clamp=None)).eval().requires_grad_(False)
    with torch.no_grad():
        for name, p in G3.named_parameters():
            if name.endswith("bias") and "affine" not in name:
                p.normal_(0, 0.1)
    for name, write in {"small-sg3.pkl": write_sg3_pickle, "small-sg3.safetensors": save_generator}.items():
        write(G3, folder / name)
        seeds.append(Seed(name, folder / name, "checkpoint", weight=0.5))

    fixture = fixtures_dir() / "stylegan2" / "nvidia-sg2-64.pkl"
    if fixture.is_file():
        seeds.append(Seed(fixture.name, fixture, "checkpoint", weight=0.035 / 0.0965))
        npz = fixture.with_name("nvidia-sg2-64.expected.npz")
        if npz.is_file():
            seeds.append(Seed(npz.name, npz, "checkpoint", expect="clean", weight=0.007 / 0.0965))
    fixture3 = fixtures_dir() / "stylegan3" / "nvidia-sg3t-64.pkl"  # 13 MB and a 64 px picture: fewer cases
    if fixture3.is_file():
        seeds.append(Seed(fixture3.name, fixture3, "checkpoint", weight=0.2))

    from lavlive.audio.encodec_models import build_seanet, encoder_info

    seanet = build_seanet(encoder_info("24khz").spec)  # 28 MB, so fewer cases: each load takes ~0.2 s
    torch.save({f"encoder.{k}": v for k, v in seanet.state_dict().items()}, folder / "encodec_24khz.th")
    seeds.append(Seed("encodec_24khz.th", folder / "encodec_24khz.th", "encodec", weight=0.2))
    return seeds


def surround_track(seconds: float, rate: int) -> Any:
    """Eight channels [8, n] of the demo track, each channel a different mix of its two sides."""
    import numpy as np

    from lavlive.audio.demo import demo_track

    left, right = demo_track(seconds, rate, seed=2)
    return np.stack([(k * left + (7 - k) * right) / 7 for k in range(8)]).astype(np.float32)


def _position(rng: random.Random, size: int) -> int:
    """A byte offset: dense in the header, denser at the tail, spread over the rest."""
    r = rng.random()
    if r < 0.45 or size <= DENSE + TAIL:
        return rng.randrange(min(size, DENSE))
    if r < 0.60:
        return rng.randrange(size - TAIL, size)
    return rng.randrange(DENSE, size - TAIL)


def _truncation(rng: random.Random, size: int) -> int:
    r = rng.random()
    if r < 0.25:
        return rng.randrange(min(size, 64))
    return min(_position(rng, size), size - 1)


def mutations(size: int, count: int, rng: random.Random) -> list[dict[str, Any]]:
    """`count` mutation specs for a file of `size` bytes; each is plain data, so a case can be rebuilt anywhere."""
    out: list[dict[str, Any]] = []
    for _ in range(count):
        r = rng.random()
        if r < 0.18:
            out.append({"op": "truncate", "at": _truncation(rng, size)})
        elif r < 0.38:
            out.append({"op": "set", "xor": [[_position(rng, size), 1 << rng.randrange(8)]]})
        elif r < 0.52:
            near = _position(rng, size)
            spots = [min(size - 1, near + rng.randrange(64)) if rng.random() < 0.5 else _position(rng, size)
                     for _ in range(rng.randint(2, 8))]
            out.append({"op": "set", "xor": [[at, rng.randrange(1, 256)] for at in spots]})
        elif r < 0.66:
            at = _position(rng, size)
            n = rng.choice((1, 2, 4, 4, 8, 16))
            out.append({"op": "set", "edits": [[at, rng.randbytes(n).hex()]]})
        elif r < 0.74:
            # 8+ bytes of 0xff hold a float32 NaN at any alignment, of 0x7f a float32 of 3.4e38
            at = _position(rng, size)
            out.append({"op": "set", "edits": [[at, rng.choice(("ff", "7f")) * rng.choice((8, 16))]]})
        elif r < 0.83:
            at = _position(rng, size)
            out.append({"op": "zero", "at": at, "len": rng.choice((4, 16, 64, 256, 1024, 4096))})
        elif r < 0.91:
            at = _position(rng, size)
            out.append({"op": "cut", "at": at, "len": rng.choice((1, 3, 16, 100, 512, 4096))})
        else:
            src, to = _position(rng, size), _position(rng, size)
            out.append({"op": "dup", "from": src, "len": rng.choice((1, 8, 64, 512, 4096)), "to": to})
    return out


def apply(data: bytes, m: dict[str, Any]) -> bytes:
    """The bytes of one corrupt case."""
    op = m.get("op")
    if op is None:
        return data
    b = bytearray(data)
    if op == "truncate":
        return bytes(b[:m["at"]])
    if op == "set" and "xor" in m:
        for at, mask in m["xor"]:
            b[at] ^= mask
    elif op == "set":
        for at, hexed in m["edits"]:
            raw = bytes.fromhex(hexed)
            b[at:at + len(raw)] = raw[:max(0, len(b) - at)]
    elif op == "zero":
        end = min(len(b), m["at"] + m["len"])
        b[m["at"]:end] = bytes(end - m["at"])
    elif op == "cut":
        del b[m["at"]:m["at"] + m["len"]]
    elif op == "dup":
        chunk = b[m["from"]:m["from"] + m["len"]]
        b[m["to"]:m["to"]] = chunk
    return bytes(b)


def describe(m: dict[str, Any]) -> str:
    op = m.get("op")
    if op is None:
        return "original"
    if op == "truncate":
        return f"truncate to {m['at']} bytes"
    if op == "set" and "xor" in m:
        return "flip " + ", ".join(f"byte {at} ^0x{mask:02x}" for at, mask in m["xor"])
    if op == "set":
        return "overwrite " + ", ".join(f"{len(h) // 2} bytes at {at} with {h}" for at, h in m["edits"])
    if op == "zero":
        return f"zero {m['len']} bytes at {m['at']}"
    if op == "cut":
        return f"remove {m['len']} bytes at {m['at']}"
    return f"copy {m['len']} bytes from {m['from']} to {m['to']}"


@dataclass
class Case:
    id: str
    seed: Seed
    mutation: dict[str, Any]
    variants: list[tuple[int, int]] = field(default_factory=lambda: [(24000, 1)])

    def request(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.seed.kind, "seed": str(self.seed.path), "mutation": self.mutation,
                "suffix": self.seed.path.suffix, "variants": self.variants, "expect_clean": self.seed.expect == "clean"}


def plan(seeds: list[Seed], total: int, seed: int) -> list[Case]:
    """Every seed's cases, interleaved so that a budget cut leaves each seed its share."""
    weights = sum(s.weight for s in seeds)
    per_seed: list[list[Case]] = []
    for s in seeds:
        n = max(3, round(total * s.weight / weights))
        rng = random.Random(f"{seed}/{s.name}")
        size = s.path.stat().st_size
        cases = [Case(f"{s.name}#0", s, {})]
        for i, m in enumerate(mutations(size, n - 1, rng), 1):
            cases.append(Case(f"{s.name}#{i}", s, m))
        if s.kind == "audio":
            for c in cases[::4]:  # every fourth also as stereo at another rate
                c.variants = [(24000, 1), (44100, 2)]
        per_seed.append(cases)
    order = [(i / len(cases), k, c) for k, cases in enumerate(per_seed) for i, c in enumerate(cases)]
    return [c for _, _, c in sorted(order, key=lambda t: t[:2])]


# ---------------------------------------------------------------------------- the worker


def _error_outcome(e: BaseException, path: Path) -> dict[str, Any]:
    from lavlive.errors import LavliveError

    msg = str(e)
    if isinstance(e, LavliveError):
        checks = (("\n" in msg or "\r" in msg, "spans lines"), (str(path) not in msg, "does not name the file"),
                  ("None" in msg, "says None"))
        problems = [why for bad, why in checks if bad]
        if problems:
            return {"outcome": "bad-message", "message": msg, "detail": "; ".join(problems)}
        return {"outcome": "clean", "message": msg}
    frames = traceback.extract_tb(e.__traceback__)[-5:]
    detail = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))
    kind = "memory" if isinstance(e, MemoryError) else "traceback"
    return {"outcome": kind, "message": f"{type(e).__name__}: {msg}"[:500], "detail": detail}


def _run_audio(path: Path, variants: list[list[int]]) -> dict[str, Any]:
    import numpy as np

    from lavlive.audio.sources import FileSource

    notes = []
    for rate, channels in variants:
        src = FileSource(path, rate, channels=channels)
        cap = int(AUDIO_CAP_SECONDS * rate)
        total, short = 0, False
        for block in src:
            if not (isinstance(block, np.ndarray) and block.dtype == np.float32 and block.ndim == 2
                    and block.shape[0] == channels and 0 < block.shape[1] <= src.block_size):
                return {"outcome": "bad-result", "message": f"block {getattr(block, 'dtype', type(block))} "
                                                           f"{getattr(block, 'shape', '')} at {rate} Hz x{channels}"}
            if short:
                return {"outcome": "bad-result", "message": "a short block before the last one"}
            if not np.isfinite(block).all() or np.abs(block).max() > 1.0:
                return {"outcome": "bad-result", "message": f"block at sample {total} is non-finite or beyond [-1, 1]"}
            short = block.shape[1] < src.block_size
            total += block.shape[1]
            if total > cap:
                return {"outcome": "hang", "message": f"decoded more than {AUDIO_CAP_SECONDS:g} s of audio "
                                                      f"at {rate} Hz without ending (source rate {src.source_rate})"}
        notes.append(f"{total / rate:.2f} s at {rate} Hz x{channels}, {src.decode_errors} damaged")
    return {"outcome": "ok", "message": "; ".join(notes)}


def _run_checkpoint(path: Path) -> dict[str, Any]:
    import torch

    from lavlive.generator import load_generator

    G = load_generator(path, "cpu")
    for name, t in [*G.named_parameters(), *G.named_buffers()]:
        if not torch.isfinite(t).all():
            return {"outcome": "bad-result", "message": f"loaded, but tensor '{name}' holds non-finite values"}
    z = torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(0))
    c = torch.zeros(1, G.c_dim) if G.c_dim else None
    with torch.no_grad():
        img = G(z, c, noise_mode="const")
    want = (1, G.img_channels, G.img_resolution, G.img_resolution)
    if tuple(img.shape) != want or not torch.isfinite(img).all():
        return {"outcome": "bad-result", "message": f"loaded, but a frame is {list(img.shape)} "
                                                    f"(finite: {bool(torch.isfinite(img).all())})"}
    return {"outcome": "ok", "message": f"{G.source.format}, {G.img_resolution}px"}


def _run_encodec(path: Path) -> dict[str, Any]:
    import torch

    from lavlive.audio.encodec_models import resolve_seanet

    seanet, *_ = resolve_seanet("24khz", weights=path)
    for name, t in seanet.state_dict().items():
        if t.is_floating_point() and not torch.isfinite(t).all():
            return {"outcome": "bad-result", "message": f"loaded, but tensor '{name}' holds non-finite values"}
    with torch.no_grad():
        e = seanet(0.1 * torch.randn(1, 1, 2400, generator=torch.Generator().manual_seed(0)))
    if not torch.isfinite(e).all():
        return {"outcome": "bad-result", "message": "loaded, but the embedding of noise is not finite"}
    return {"outcome": "ok", "message": f"embedding {list(e.shape)}"}


RUNS = {"checkpoint": _run_checkpoint, "encodec": _run_encodec}


def worker_main(folder: str) -> None:
    """Answer one JSON line per case on the private protocol fd; stdout itself goes to stderr."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_LIMIT, ADDRESS_LIMIT))
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything a C library prints must not corrupt the protocol
    sys.path[:0] = [str(HERE), str(REPO)]
    import logging

    import torch

    torch.set_num_threads(1)
    logging.disable(logging.WARNING)  # damage warnings are expected here, by the thousand
    import lavlive.audio.sources  # noqa: F401 - import before the first case, so its time is not counted
    import lavlive.generator  # noqa: F401

    cache: dict[str, bytes] = {}
    proto.write(json.dumps({"ready": os.getpid()}) + "\n")
    for line in sys.stdin:
        req = json.loads(line)
        seed = cache.get(req["seed"])
        if seed is None:
            seed = cache[req["seed"]] = Path(req["seed"]).read_bytes()
        path = Path(folder) / f"case-{os.getpid()}{req['suffix']}"
        path.write_bytes(apply(seed, req["mutation"]))
        t0 = time.monotonic()
        try:
            if req["kind"] == "audio":
                result = _run_audio(path, req["variants"])
            else:
                result = RUNS[req["kind"]](path)
        except BaseException as e:  # noqa: BLE001 - classifying every way a case can end is the point
            result = _error_outcome(e, path)
        result["seconds"] = round(time.monotonic() - t0, 3)
        result["maxrss"] = _peak_rss()
        proto.write(json.dumps(result) + "\n")


def _peak_rss() -> int:
    """This process's peak resident bytes since its exec: VmHWM. Not ru_maxrss, which Linux carries over fork and
    exec, so a worker started by a large test process (pytest after many tests: over 3 GiB) would report its
    parent's peak as its own."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# ---------------------------------------------------------------------------- the driver


class Worker:
    """One worker subprocess; restarted after a hang, a crash or a memory blow-up."""

    def __init__(self, folder: Path, index: int) -> None:
        self.folder, self.index = folder, index
        self.proc: subprocess.Popen[str] | None = None
        self.restarts = 0

    def start(self) -> None:
        self.stderr_path = self.folder / f"worker{self.index}.stderr"
        env = dict(os.environ, LAVLIVE_CACHE=str(self.folder / "cache"), OMP_NUM_THREADS="1", PYTHONFAULTHANDLER="1")
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker", str(self.folder)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(self.stderr_path, "w"),
                                     text=True, env=env, cwd=str(REPO))
        ready = self._read(60.0)
        if not (isinstance(ready, dict) and "ready" in ready):
            raise RuntimeError(f"fuzz worker did not start: {self._stderr_tail()}")

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc = None

    def _stderr_tail(self) -> str:
        """What the worker said as it died: faulthandler's innermost frames, else its last lines."""
        try:
            lines = [ln.strip() for ln in self.stderr_path.read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            return ""
        fatal = max((i for i, ln in enumerate(lines) if ln.startswith("Fatal Python error")), default=None)
        if fatal is not None:
            frames = [ln for ln in lines[fatal:] if ln.startswith("File ")][:4]
            return " | ".join([lines[fatal], *frames])[-800:]
        return " | ".join(lines[-4:])[-600:]

    def _rss(self) -> int:
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _read(self, timeout: float) -> dict[str, Any] | str:
        """The next reply, or 'hang' / 'memory' / 'crash'."""
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "hang"
            ready, _, _ = select.select([self.proc.stdout], [], [], min(0.25, left))
            if ready:
                line = self.proc.stdout.readline()
                if not line:
                    return "crash"
                return json.loads(line)
            if self._rss() > MEMORY_LIMIT:
                return "memory"

    def run(self, case: Case) -> dict[str, Any]:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        t0 = time.monotonic()
        try:
            self.proc.stdin.write(json.dumps(case.request()) + "\n")
            self.proc.stdin.flush()
            reply = self._read(CASE_TIMEOUT)
        except (BrokenPipeError, OSError):
            reply = "crash"
        if isinstance(reply, dict):
            if reply.get("maxrss", 0) > MEMORY_LIMIT:
                was = f"{reply['outcome']}: {reply.get('message', '')}"
                reply = {**reply, "outcome": "memory", "message": f"peak memory {reply['maxrss'] >> 20} MiB ({was})"}
                self.restart()  # the peak is a high-water mark: only a fresh worker can measure the next case
            return reply
        seconds = round(time.monotonic() - t0, 3)
        if reply == "crash":
            self.proc.wait()
            code = self.proc.returncode
            how = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
            result = {"outcome": "crash", "message": f"worker {how}", "detail": self._stderr_tail()}
        elif reply == "hang":
            result = {"outcome": "hang", "message": f"no result within {CASE_TIMEOUT:g} s"}
        else:
            result = {"outcome": "memory", "message": f"worker passed {MEMORY_LIMIT >> 20} MiB resident"}
        self.restart()
        return {**result, "seconds": seconds}

    def restart(self) -> None:
        self.stop()
        self.restarts += 1


@dataclass
class FuzzResult:
    seeds: list[Seed]
    planned: int
    results: list[dict[str, Any]]
    wall_s: float
    restarts: int

    @property
    def ran(self) -> int:
        return len(self.results)

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [r for r in self.results if r["outcome"] in FAILURES]

    def counts(self) -> dict[str, dict[str, int]]:
        table = {s.name: dict.fromkeys(OUTCOMES, 0) for s in self.seeds}
        for r in self.results:
            table[r["seed_file"]][r["outcome"]] += 1
        return table

    def table(self) -> str:
        counts = self.counts()
        width = max(len(n) for n in counts) + 2
        head = "seed file".ljust(width) + "".join(f"{o:>12}" for o in OUTCOMES) + f"{'ran':>8}"
        rows = [head, "-" * len(head)]
        for name, c in counts.items():
            rows.append(name.ljust(width) + "".join(f"{c[o]:>12}" for o in OUTCOMES) + f"{sum(c.values()):>8}")
        total = {o: sum(c[o] for c in counts.values()) for o in OUTCOMES}
        rows.append("-" * len(head))
        rows.append("all".ljust(width) + "".join(f"{total[o]:>12}" for o in OUTCOMES) + f"{self.ran:>8}")
        rows.append(f"{self.ran} of {self.planned} planned cases ran in {self.wall_s:.1f} s; "
                    f"{len(self.failures)} failures; {self.restarts} worker restarts")
        return "\n".join(rows)

    def describe_failures(self, limit: int = 40) -> str:
        lines = [f"{f['case']} [{f['mutation']}]: {f['outcome']}: {f.get('message', '')}"
                 + (f" ({f['detail']})" if f.get("detail") else "") for f in self.failures[:limit]]
        if len(self.failures) > limit:
            lines.append(f"... and {len(self.failures) - limit} more")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {"planned": self.planned, "ran": self.ran, "wall_s": round(self.wall_s, 1), "restarts": self.restarts,
                "counts": self.counts(), "failures": self.failures, "cases": self.results}


def _judge(case: Case, reply: dict[str, Any]) -> dict[str, Any]:
    """A seed's unmutated file must give its expected outcome; anything else is a failure of the harness's inputs."""
    out = {"case": case.id, "seed_file": case.seed.name, "mutation": describe(case.mutation), **reply}
    out.pop("maxrss", None)
    if not case.mutation and reply["outcome"] != case.seed.expect and reply["outcome"] not in FAILURES:
        out["outcome"] = "bad-result"
        out["message"] = (f"the unmutated seed gave {reply['outcome']}, expected {case.seed.expect}: "
                          f"{reply.get('message')}")
    return out


def run_fuzz(budget: float = 600.0, cases: int = 3000, seed: int = 0, workers: int = 2,
             keep: Path | None = None, only: str | None = None, log: Any = None) -> FuzzResult:
    """Make the seeds, run the cases on `workers` subprocesses until done or `budget` seconds have passed."""
    t0 = time.monotonic()
    deadline = t0 + budget
    folder = Path(tempfile.mkdtemp(prefix="lavlive-fuzz-"))
    pool: list[Worker] = []
    try:
        seeds = make_seeds(folder)
        todo = plan(seeds, cases, seed)
        if only:
            todo = [c for c in todo if c.id == only or c.seed.name == only]
        queue: Iterator[Case] = iter(todo)
        lock = threading.Lock()
        results: list[dict[str, Any]] = []

        def drive(w: Worker) -> None:
            while time.monotonic() < deadline:
                with lock:
                    case = next(queue, None)
                if case is None:
                    return
                r = _judge(case, w.run(case))
                with lock:
                    results.append(r)
                    if r["outcome"] in FAILURES and log:
                        print(f"FAIL {r['case']} [{r['mutation']}]: {r['outcome']}: {r.get('message', '')[:300]}",
                              file=log, flush=True)
                if r["outcome"] in FAILURES and keep is not None:
                    keep.mkdir(parents=True, exist_ok=True)
                    (keep / f"{case.id.replace('#', '-')}{case.seed.path.suffix}").write_bytes(
                        apply(case.seed.path.read_bytes(), case.mutation))

        pool = [Worker(folder, i) for i in range(workers)]
        threads = [threading.Thread(target=drive, args=(w,), daemon=True) for w in pool]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        order = {c.id: i for i, c in enumerate(todo)}
        results.sort(key=lambda r: order[r["case"]])
        return FuzzResult(seeds, len(todo), results, time.monotonic() - t0, sum(w.restarts for w in pool))
    finally:
        for w in pool:
            w.stop()
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=600.0, help="seconds for the whole run (default 600)")
    ap.add_argument("--cases", type=int, default=3000, help="cases to derive in all (default 3000)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the mutations (default 0)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--report", type=Path, help="write a JSON report here")
    ap.add_argument("--keep", type=Path, help="save the file of every failing case in this folder")
    ap.add_argument("--only", help="run one case id (e.g. 'track.wav#17') or one seed file's cases")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker_main(args.worker)
        return 0
    result = run_fuzz(args.budget, args.cases, args.seed, args.workers, args.keep, args.only, log=sys.stderr)
    print(result.table())
    if result.failures:
        print("\nfailures:\n" + result.describe_failures(limit=200))
    if args.report:
        args.report.write_text(json.dumps(result.to_json(), indent=1))
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
