"""Choosing the torch device: CUDA when asked for or available, else the CPU."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from .errors import LavliveError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise LavliveError(f"--device {name}: CUDA is not available here (install a CUDA build of torch, "
                           "or use --device cpu)")
    try:
        return torch.device(name)
    except RuntimeError:
        raise LavliveError(f"--device {name}: not a device name (use auto, cpu or cuda)") from None



@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch with `n` threads inside the block (the control path of a segmented render's analysis pass)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def serial_here() -> Iterator[int]:
    """Run torch single-threaded on this (coordinating) thread; yields the cores for worker threads.

    Why: once a thread has run a parallel torch op, its OpenMP team stays, and with a second team in
    the synthesis thread libgomp counts more threads than cores and throttles its spin-waits.
    Measured on 2 cores: synthesis in a worker thread took 150 ms/frame when the main thread had a
    team, 88 ms when it had none. So the main thread coordinates and the engine's threads compute.
    """
    cores = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield cores
    finally:
        torch.set_num_threads(cores)
