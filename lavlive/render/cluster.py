"""Segments of a render as Ray tasks: Ray schedules, retries and cancels; lavlive only asks.

`--cluster local` starts a Ray instance on this machine for the render; an address joins a
cluster started with `ray start --head` (and `ray start --address HEAD:PORT` on each other
machine). Each task renders one segment (lavlive.render.segments) and hands its video back through
Ray's object store, so workers need no shared folder for the results; the input files must be
at the same path on every machine. A worker keeps the models it loaded between segments. A task
whose worker dies (a killed process, a lost machine) is run again by Ray, up to `RETRIES` times.

Ray is an optional extra: `pip install 'lavlive[cluster]'`.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any

import torch

from ..errors import LavliveError
from .segments import RenderJob, Segment, SegmentResult, render_segment

RETRIES = 3  # runs of a segment after the first, when its worker dies
POLL_SECONDS = 0.25
CONNECT_SECONDS = 5.0


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise LavliveError("--segments needs Ray, which is not installed: pip install 'lavlive[cluster]'") from None
    return ray


class Cluster:
    """A connection to a Ray cluster for one render; `close()` leaves it (and stops a local one)."""

    def __init__(self, address: str) -> None:
        ray = self.ray = _ray()
        self.address = address
        if address != "local":
            _check_answers(address)
        try:
            ray.init(address="local" if address == "local" else address, include_dashboard=False,
                     log_to_driver=False, logging_level=logging.ERROR, configure_logging=True)
        except (ConnectionError, RuntimeError, ValueError) as e:
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise LavliveError(f"--cluster {address}: cannot join a Ray cluster there ({reason})") from None
        self._task = ray.remote(max_retries=RETRIES)(_render_task)
        self._progress = ray.remote(num_cpus=0)(_Progress).remote()

    def describe(self) -> str:
        resources = self.ray.cluster_resources()
        nodes = sum(1 for n in self.ray.nodes() if n.get("Alive"))
        gpus = int(resources.get("GPU", 0))
        where = "a local Ray instance" if self.address == "local" else f"the Ray cluster at {self.address}"
        return (f"{where}: {nodes} node{'s' * (nodes != 1)}, {int(resources.get('CPU', 0))} CPUs"
                + (f", {gpus} GPUs" if gpus else ""))

    def device(self, name: str) -> torch.device:
        """What `--device NAME` means for the workers: auto is CUDA when the cluster has GPUs."""
        gpus = self.ray.cluster_resources().get("GPU", 0)
        if name == "auto":
            return torch.device("cuda" if gpus else "cpu")
        if name.startswith("cuda") and not gpus:
            raise LavliveError(f"--device {name}: the cluster has no GPU (use --device cpu)")
        return torch.device("cuda" if name.startswith("cuda") else name)

    def run(self, job: RenderJob, segments: list[Segment], finished: Callable[[SegmentResult], None],
            progress: Callable[[int], None], stopped: Callable[[], bool]) -> bool:
        """Render the segments in parallel, handing each result to `finished` as it arrives.

        `progress(n)` gets the frames drawn since its last call, across all tasks. Returns False if
        `stopped()` turned true: every task still running is then cancelled."""
        ray = self.ray
        # On the CPU a task takes as many cores as it runs threads (the job's: see render/segments.py).
        per_task = {"num_gpus": 1, "num_cpus": 1} if job.device == "cuda" else {"num_cpus": job.threads}
        job_ref = ray.put(job)
        pending = {self._task.options(**per_task).remote(job_ref, s, self._progress): s for s in segments}
        shown = 0
        try:
            while pending:
                if stopped():
                    return False
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_SECONDS)
                for ref in ready:
                    segment = pending.pop(ref)
                    finished(self._result(ref, segment))
                running = {s.index for s in pending.values()}
                drawn = ray.get(self._progress.drawn.remote(sorted(running)))
                done = sum(s.frames for s in segments if s.index not in running)
                progress(done + drawn - shown)
                shown = done + drawn
            return True
        finally:
            for ref in pending:
                try:
                    ray.cancel(ref, force=True)
                except Exception:  # noqa: BLE001 - a cluster already gone (Ctrl-C reached it too) has nothing to cancel
                    pass

    def check_fits(self, job: RenderJob) -> None:
        """A task no node can take would wait for ever: say so instead."""
        nodes = [n.get("Resources", {}) for n in self.ray.nodes() if n.get("Alive")]
        if job.device == "cuda":
            if not any(r.get("GPU", 0) >= 1 for r in nodes):
                raise LavliveError("no node of the cluster has a GPU for a CUDA render (use --device cpu)")
        elif not any(r.get("CPU", 0) >= job.threads for r in nodes):
            most = max((int(r.get("CPU", 0)) for r in nodes), default=0)
            raise LavliveError(f"each segment runs {job.threads} threads, but the largest node of the cluster has "
                               f"{most} CPUs: pass --threads {max(1, most)}")

    def _result(self, ref: Any, segment: Segment) -> SegmentResult:
        ray = self.ray
        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as e:
            cause = e.cause if isinstance(getattr(e, "cause", None), BaseException) else e
            reason = str(cause).strip().splitlines()[-1] if str(cause).strip() else type(cause).__name__
            raise LavliveError(f"segment {segment.index} (frames {segment.first}-{segment.end - 1}) failed: "
                               f"{reason}") from None
        except ray.exceptions.RayError as e:  # a worker or node that died on every try
            raise LavliveError(f"segment {segment.index}: its worker died {RETRIES + 1} times "
                               f"({type(e).__name__}); the finished segments are kept") from None

    def close(self) -> None:
        self.ray.shutdown()


def _check_answers(address: str) -> None:
    """Ray waits minutes for a head that is not there; a TCP connection tells at once."""
    host, _, port = address.rpartition(":")
    if "://" in address or not host or not port.isdigit():
        return  # ray://, auto, …: Ray's own forms, left to Ray
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as e:
        raise LavliveError(f"--cluster {address}: no Ray head answers there ({e.strerror or e}); start one with "
                           f"'ray start --head --port {port}'") from None


class _Progress:
    """A Ray actor: frames drawn so far by each segment's latest run (a retried segment starts again at 0)."""

    def __init__(self) -> None:
        self.frames: dict[int, int] = {}

    def set(self, index: int, frames: int) -> None:
        self.frames[index] = frames

    def drawn(self, indices: list[int]) -> int:
        return sum(self.frames.get(i, 0) for i in indices)


def _render_task(job: RenderJob, segment: Segment, progress: Any) -> SegmentResult:
    """Runs in a Ray worker, on the GPU Ray gave it if any."""
    import ray

    context = ray.get_runtime_context()
    count = [0]

    def drawn(n: int) -> None:
        count[0] += n
        progress.set.remote(segment.index, count[0])

    progress.set.remote(segment.index, 0)
    result = render_segment(job, segment, "cuda" if job.device == "cuda" else "cpu", drawn)
    result.node = context.get_node_id()[:8]
    return result
