"""How synthesis runs on a device: its precision, and eager, CUDA-graph or compiled execution.

    precision  auto   fp16 in the blocks the checkpoint marks (num_fp16_res) on CUDA, fp32 on the CPU
               fp32   fp32 everywhere
               bf16   every block in bfloat16 (the image skip path and output fp32): CPUs with native
                      bf16 (AVX512-BF16, AMX) and CUDA. On 2 EPYC cores at batch 1: 0.73x the fp32 time
                      (embedded 256), 0.55x (config-F 256), 0.41x (config-F 1024); max abs error 0.01-0.09
                      in the network's [-1, 1] range, 2-4 8-bit levels on the embedded network
    execution  auto   CUDA: a CUDA graph per batch shape, captured at warm-up and replayed per frame
                      (batch-1 eager fp16 is bound by kernel launches); CPU: eager
               eager  one op at a time
               graph  CUDA only
               compile  torch.compile (inductor), its artefacts kept in lavlive's cache so a second start
                      only loads them. Not the CPU default: measured 5-15 % faster per frame, but the first
                      frame comes 20-30 s late on a first start and 2.2-3.9 s later than eager's with a
                      warm cache, more than the 2 s start-up budget.

The choice is per device (`resolve_execution`), made the same way every run, so a render stays
reproducible on one machine.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from ..cache import cache_dir
from ..errors import LavliveError

PRECISIONS = ("auto", "fp32", "bf16")
EXECUTIONS = ("auto", "eager", "graph", "compile")
GRAPH_WARMUP_CALLS = 3  # eager calls on a side stream before capture (cuDNN/cuBLAS pick their kernels)

# Held by every CUDA draw (until its frame is ready), GPU upload and graph capture: a synchronize
# or copy from another thread while a graph is being captured would invalidate the capture (or fail
# the draw), even in thread_local capture mode. A capture during a show (a model being prepared)
# therefore pauses drawing for its duration, a few draws' time.
cuda_lock = threading.RLock()


def bf16_supported(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def check_precision(name: str, device: torch.device) -> str:
    if name not in PRECISIONS:
        raise LavliveError(f"--precision {name}: use one of {', '.join(PRECISIONS)}")
    if name == "bf16" and not bf16_supported(device):
        raise LavliveError(f"--precision bf16: this {device.type.upper()} has no native bfloat16 "
                           "(AVX512-BF16 or AMX on a CPU); use --precision fp32")
    return name


def check_options(precision: str, execution: str, device: torch.device) -> None:
    """Refuse, before anything starts, a precision or execution the device cannot run."""
    check_precision(precision, device)
    resolve_execution(execution, device)


def describe_precision(precision: str, device: torch.device, fp16_blocks: int) -> str:
    """What the frames were computed in, for a render's sidecar."""
    if precision == "bf16":
        return "bfloat16 (every block)"
    fp16 = precision == "auto" and device.type == "cuda" and fp16_blocks > 0
    return f"float16 (top {fp16_blocks} blocks)" if fp16 else "float32"


def resolve_execution(name: str, device: torch.device, noise_mode: str = "const") -> str:
    """'auto' → what is fastest on this kind of device; a mode the device cannot run is an error.
    Noise mode 'random' draws from a generator seeded per batch, which a graph or a compiled
    function would freeze, so it always runs eagerly."""
    if name not in EXECUTIONS:
        raise LavliveError(f"--execution {name}: use one of {', '.join(EXECUTIONS)}")
    if name == "graph" and device.type != "cuda":
        raise LavliveError("--execution graph: CUDA graphs need a CUDA device (use eager or compile)")
    if name == "auto":
        name = "graph" if device.type == "cuda" else "eager"
    return "eager" if noise_mode == "random" else name


def compiled(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """torch.compile of fn with its compiled artefacts in lavlive's cache (unless the user chose a folder)."""
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir

    # torch fills the variable in with its /tmp default on first use (loading a checkpoint can do it)
    if os.environ.get("TORCHINDUCTOR_CACHE_DIR", default_cache_dir()) == default_cache_dir():
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(cache_dir() / "torch-compile")
    return torch.compile(fn, dynamic=False)


class CudaGraphCall:
    """fn(*xs) captured once as a CUDA graph on static copies of its inputs, then replayed for each new xs.

    Why: at batch 1 a 1024² synthesis is a few hundred small kernels; replaying them as one graph
    removes the per-launch CPU cost that bounds eager fp16. fn must be shape-static and free of
    host synchronisation. The output is copied out of the graph's pool on each call, so a frame
    still waiting in a queue is not overwritten by the next replay.
    """

    def __init__(self, fn: Callable[..., Tensor], example: Tensor | tuple[Tensor, ...], pool: Any = None) -> None:
        """example: the input, or the inputs, of the shapes to capture for; pool: a `torch.cuda.graph_pool_handle()`
        shared by the graphs of one network (one memory pool)."""
        examples = example if isinstance(example, tuple) else (example,)
        if any(x.device.type != "cuda" for x in examples):
            raise ValueError("CudaGraphCall needs CUDA tensors")
        self.shapes = [tuple(x.shape) for x in examples]
        device = examples[0].device
        with cuda_lock:
            self._inputs = [x.detach().clone() for x in examples]
            side = torch.cuda.Stream(device)
            side.wait_stream(torch.cuda.current_stream(device))
            with torch.cuda.stream(side):
                for _ in range(GRAPH_WARMUP_CALLS):
                    fn(*self._inputs)
            torch.cuda.current_stream(device).wait_stream(side)
            self._graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self._graph, pool=pool, capture_error_mode="thread_local"):
                self._output = fn(*self._inputs)

    def __call__(self, *xs: Tensor) -> Tensor:
        if [tuple(x.shape) for x in xs] != self.shapes:
            raise ValueError(f"CUDA graph captured for {self.shapes}, got {[list(x.shape) for x in xs]}")
        for static, x in zip(self._inputs, xs):
            static.copy_(x, non_blocking=True)
        self._graph.replay()
        return self._output.clone()
