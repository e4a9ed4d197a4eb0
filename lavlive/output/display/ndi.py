"""NDI video output: each shown frame as an NDI source, for Resolume, TouchDesigner, OBS or a mapper.

Optional (`pip install 'lavlive[ndi]'`): cyndilib, whose wheel carries the NDI runtime. Frames go
out as BGRA at the picture's own size (receivers scale), composed as the window composes them
(a cross-dissolve is (1-alpha)·image + alpha·blend), with the frame's index and presentation time
in the frame's metadata. Sending is asynchronous (NDI compresses in its own threads) from two
preallocated buffers used in turn, so nothing is allocated per frame and the display never waits:
NDI reads a buffer until the next send, by which time the other one is being filled.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from typing import Any

import numpy as np

from ...errors import LavliveError

log = logging.getLogger("lavlive.ndi")
INSTALL_HINT = "NDI output needs cyndilib: pip install 'lavlive[ndi]'"


def _cyndilib() -> Any:
    try:
        import cyndilib
    except ImportError:
        raise LavliveError(f"--ndi: {INSTALL_HINT}") from None
    return cyndilib


class NdiOutput:
    """An NDI video source named `name`; `send` one [H, W, 3] uint8 frame (numpy or torch) per shown frame."""

    def __init__(self, name: str, fps: Fraction) -> None:
        if not name.strip():
            raise LavliveError("--ndi needs a source name, e.g. --ndi lavlive")
        self.name, self.fps = name, Fraction(fps)
        self._ndi = _cyndilib()
        self._sender: Any = None
        self._frame: Any = None
        self._buffers: list[np.ndarray] = []
        self._mix: np.ndarray | None = None  # float32 scratch for cross-dissolves
        self._scaled: np.ndarray | None = None
        self._pinned: dict[str, Any] = {}  # host copies of CUDA frames: one per role (picture, blend)
        self._turn = 0
        self.sent = 0

    def _open(self, height: int, width: int) -> None:
        """(Re)create the sender for this picture size: at start, and when a model of another size comes on."""
        self.close()
        ndi = self._ndi
        self._frame = ndi.VideoSendFrame()
        self._frame.set_resolution(width, height)
        self._frame.set_frame_rate(self.fps)
        self._frame.set_fourcc(ndi.FourCC.BGRA)
        self._sender = ndi.Sender(self.name)
        self._sender.set_video_frame(self._frame)
        self._sender.open()
        self._buffers = [np.full((height, width, 4), 255, np.uint8) for _ in range(2)]
        self._mix = np.empty((height, width, 3), np.float32)
        self._scaled = np.empty((height, width, 3), np.float32)
        log.info("ndi: sending %dx%d as %r", width, height, self.name)

    def send(self, image: Any, blend: Any = None, alpha: float = 0.0, index: int = 0, time: float = 0.0) -> None:
        """Send what the window shows for this frame (its picture, dissolved into `blend` by `alpha`)."""
        picture = self._host(image, "picture")
        height, width = picture.shape[:2]
        if not self._buffers or self._buffers[0].shape[:2] != (height, width):
            self._open(height, width)
        out = self._buffers[self._turn]
        self._turn ^= 1
        if blend is not None and alpha > 0 and tuple(blend.shape) == picture.shape:
            mix = self._mix
            np.multiply(picture, 1.0 - alpha, out=mix)
            np.multiply(self._host(blend, "blend"), alpha, out=self._scaled)
            mix += self._scaled
            mix += 0.5  # rounded when stored as uint8 below
            picture = mix
        out[..., 0] = picture[..., 2]  # BGRA, alpha left at 255
        out[..., 1] = picture[..., 1]
        out[..., 2] = picture[..., 0]
        self._frame.set_metadata(f'<lavlive frame="{index}" time="{time:.6f}"/>'.encode())
        self._sender.write_video_async(out.reshape(-1))
        self.sent += 1

    def send_frame(self, frame: Any) -> None:
        """Send an engine Frame as the window showed it."""
        blend = None if frame.blend is None else frame.blend.image
        self.send(frame.image, blend, frame.alpha, frame.index, frame.time)

    def _host(self, image: Any, role: str) -> np.ndarray:
        """A frame as a host array: a CUDA frame is copied into the pinned buffer kept for its `role`, so a
        dissolve's two pictures never share one (the window has its own)."""
        if type(image).__module__.split(".")[0] != "torch":
            return np.asarray(image)
        if not image.is_cuda:
            return image.numpy()
        import torch

        pinned = self._pinned.get(role)
        if pinned is None or tuple(pinned.shape) != tuple(image.shape):
            pinned = self._pinned[role] = torch.empty(tuple(image.shape), dtype=torch.uint8, pin_memory=True)
        pinned.copy_(image)
        return pinned.numpy()

    def connections(self) -> int:
        return self._sender.get_num_connections(0) if self._sender is not None else 0

    def close(self) -> None:
        if self._sender is not None:
            try:
                self._sender.close()
            finally:
                self._sender = None


def open_ndi(name: str | None, fps: Fraction) -> NdiOutput | None:
    """The NDI output --ndi NAME asks for (a missing cyndilib is a one-line error), else None."""
    return None if name is None else NdiOutput(name, fps)
