"""Choosing the torch device: CUDA when asked for or available, else the CPU."""

from __future__ import annotations

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
