"""One picture on the GPU: its texture, its pixel buffer, and the three ways a frame gets into them.

A live show pushes a new picture every frame, so the display path allocates nothing per frame: a
`PictureSlot` is made once per picture size — one RGB8 texture and one pixel-unpack buffer (PBO) —
and each frame of that size refills both in place (one buffer fill, one texture update from the
buffer). A frame of another size needs another slot; the window makes it and deletes the old one.

Frames may arrive as numpy arrays or torch tensors, [H, W, 3] uint8. A numpy array or CPU tensor
goes into the PBO from the host. A CUDA tensor goes GPU → PBO → texture through CUDA–OpenGL interop
(`cuda_gl.py`) when the runtime allows it, else through a pinned host buffer the slot keeps. The
slot's `update` says which of UPLOAD_PATHS it took.

The shape follows the texture class of NVIDIA's stylegan3 visualizer (gui_utils/gl_utils.py): one
object, made for a picture, that owns its update, is_compatible, binding for a draw, and delete.

OpenGL is imported inside the methods: a slot lives only in a Window's GL context, made after the
Window has loaded OpenGL, and importing this module must need no libGL.
"""

from __future__ import annotations

import logging

import numpy as np

from .cuda_gl import CudaGLError, CudaPixelBuffer
from .errors import WindowError
from .shaders import new_texture

log = logging.getLogger(__name__)

UPLOAD_PATHS = ("cuda-gl interop", "pinned copy", "host")


def picture_size(image) -> tuple[int, int]:
    """(width, height) of an [H, W, 3] uint8 numpy array or torch tensor; WindowError for anything else."""
    shape, dtype = tuple(image.shape), str(image.dtype)
    if len(shape) != 3 or shape[2] != 3 or dtype not in ("uint8", "torch.uint8") or 0 in shape:
        raise WindowError(f"window: need an [H, W, 3] uint8 image, got shape {list(shape)} of {dtype}")
    return shape[1], shape[0]


class CudaInterop:
    """Whether CUDA frames may go by CUDA–GL interop, one for all of a window's pictures.

    Not tried yet, working, or off for good: the first time interop is unavailable or one of its
    calls fails, that is logged once and every later CUDA frame goes through a pinned host copy,
    without trying again.
    """

    def __init__(self) -> None:
        self.state: bool | None = None  # None: not tried yet; False: failed once, never again

    def usable(self) -> bool:
        """False if interop is off (finding out, and saying so once, on the first CUDA frame)."""
        if self.state is False:
            return False
        if self.state is None and not CudaPixelBuffer.available():
            self.state = False
            log.info("window: cuda-gl interop unavailable; CUDA frames go through a pinned host copy")
            return False
        return True

    def failed(self, exc: CudaGLError) -> None:
        self.state = False
        log.warning("window: %s; CUDA frames go through a pinned host copy from now on", exc)

    def worked(self) -> None:
        self.state = True


class PictureSlot:
    """One picture's GL resources for their whole life: an RGB8 texture and a PBO sized for (width, height),
    the PBO's registration with CUDA (made by the first frame that goes by interop) and the pinned host
    buffer (made by the first CUDA frame that cannot).

    Make it with the window's GL context current. `delete()` frees everything while that context
    lives; `abandon()` is for a context that is gone (lost, or about to be destroyed with the window):
    it lets go of what CUDA and the host hold and makes no GL call.
    """

    def __init__(self, width: int, height: int, interop: CudaInterop) -> None:
        from OpenGL import GL

        self.size = (width, height)
        self.last = None  # what the last update put in: a host array, or the CUDA tensor interop copied
        self._interop = interop
        self._cuda: CudaPixelBuffer | None = None
        self._pinned = None  # a pinned torch tensor reused for CUDA frames while interop is unavailable
        self.texture = new_texture(GL.GL_LINEAR)
        GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGB8, width, height, 0, GL.GL_RGB, GL.GL_UNSIGNED_BYTE, None)
        self.pbo = int(GL.glGenBuffers(1))
        GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, self.pbo)
        GL.glBufferData(GL.GL_PIXEL_UNPACK_BUFFER, width * height * 3, None, GL.GL_STREAM_DRAW)
        GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, 0)

    def is_compatible(self, width: int, height: int) -> bool:
        """Whether a picture of this size fits the texture and PBO as they are."""
        return self.size == (width, height)

    def update(self, image) -> str:
        """Fill the texture from `image` (of this slot's size, see picture_size and is_compatible) through the
        PBO; returns the path it took, one of UPLOAD_PATHS."""
        from OpenGL import GL

        width, height = self.size
        is_tensor = type(image).__module__.split(".")[0] == "torch"
        if is_tensor and image.is_cuda:
            path, data = self._from_gpu(image)
        else:
            path, data = "host", np.ascontiguousarray(image.detach().cpu().numpy() if is_tensor else image)
        GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, self.pbo)
        if data is not None:  # else interop has already filled the PBO
            GL.glBufferSubData(GL.GL_PIXEL_UNPACK_BUFFER, 0, data.nbytes, data)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.texture)
        GL.glTexSubImage2D(GL.GL_TEXTURE_2D, 0, 0, 0, width, height, GL.GL_RGB, GL.GL_UNSIGNED_BYTE, None)  # from PBO
        GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, 0)
        self.last = image if data is None else data
        return path

    def _from_gpu(self, image) -> tuple[str, np.ndarray | None]:
        """A CUDA frame into the PBO by interop (data None), else into the pinned host buffer."""
        import torch

        from ...generator.runtime import cuda_lock

        with cuda_lock:  # never beside a graph capture in another thread
            if self._copy_on_gpu(image):
                return "cuda-gl interop", None
            if self._pinned is None:  # the slot's size is fixed, so one buffer serves every frame
                self._pinned = torch.empty(tuple(image.shape), dtype=torch.uint8, pin_memory=True)
            self._pinned.copy_(image)
        return "pinned copy", self._pinned.numpy()

    def _copy_on_gpu(self, tensor) -> bool:
        """Copy a CUDA tensor into the PBO by interop; False if interop is (or now turns) unavailable."""
        if not self._interop.usable():
            return False
        try:
            if self._cuda is None:
                width, height = self.size
                self._cuda = CudaPixelBuffer(self.pbo, width * height * 3, tensor.device.index or 0)
            self._cuda.copy_from(tensor.contiguous())
        except CudaGLError as exc:
            self._interop.failed(exc)
            return False
        self._interop.worked()
        return True

    def bind(self, unit: int) -> None:
        """Bind the texture to texture unit `unit` for a draw (0: the image, 1: the one it dissolves into)."""
        from OpenGL import GL

        GL.glActiveTexture(GL.GL_TEXTURE0 + unit)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.texture)

    def delete(self) -> None:
        """Free everything, in the live context; CUDA lets go of the PBO before GL deletes it."""
        from OpenGL import GL

        self.abandon()
        GL.glDeleteTextures([self.texture])
        GL.glDeleteBuffers(1, [self.pbo])

    def abandon(self) -> None:
        """Let go of the CUDA registration and the host buffers, with no GL call: the texture and PBO go (or
        went) with their context. Idempotent."""
        if self._cuda is not None:
            self._cuda.close()
        self._cuda = self._pinned = self.last = None
