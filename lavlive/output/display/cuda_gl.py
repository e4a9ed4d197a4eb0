"""CUDA → OpenGL interop: copy a frame that lives on the GPU into the window's pixel buffer without a host round trip.

On a live show synthesis runs on the same GPU that drives the display, so the finished uint8
frame can go from the tensor to the texture by a device-to-device copy: the window's pixel-unpack
buffer (PBO) is registered with CUDA once, mapped for each frame, filled with cudaMemcpyAsync on
torch's current stream, and unmapped (which orders the copy before OpenGL reads the buffer).

It talks to the CUDA runtime through ctypes, using the libcudart that torch already loaded, so
it needs no extra package. Everything here degrades to "not available": importing this module
never fails and never initialises CUDA on a CPU-only machine.

UNTESTED ON A GPU: it was written without one. The window falls back to a pinned host copy if
`available()` is false or if any call here fails.
"""

from __future__ import annotations

import ctypes
import glob
import os
import re
from pathlib import Path

from ...errors import LavliveError

_REGISTER_WRITE_DISCARD = 2  # cudaGraphicsRegisterFlagsWriteDiscard: CUDA only writes, GL only reads
_MEMCPY_DEVICE_TO_DEVICE = 3  # cudaMemcpyDeviceToDevice

_runtime: ctypes.CDLL | None = None
_runtime_searched = False


class CudaGLError(LavliveError):
    """A CUDA runtime call of the interop failed."""


def _candidates() -> list[str]:
    """Paths of libcudart to try, best first: the one already mapped into this process, then torch's wheels."""
    paths: list[str] = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1]
                if re.search(r"/libcudart\.so[.\d]*$", path) and path not in paths:
                    paths.append(path)
    except OSError:
        pass
    try:
        import torch

        root = Path(torch.__file__).resolve().parent
        for folder in (root / "lib", root.parent / "nvidia"):
            paths += sorted(glob.glob(str(folder / "**" / "libcudart.so*"), recursive=True), reverse=True)
    except Exception:  # noqa: BLE001 - any import problem means "no torch CUDA"
        pass
    return list(dict.fromkeys(p for p in paths if os.path.isfile(p))) + ["libcudart.so"]


def _load_runtime() -> ctypes.CDLL | None:
    """The CUDA runtime library with the interop functions typed, or None."""
    global _runtime, _runtime_searched
    if _runtime_searched:
        return _runtime
    _runtime_searched = True
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        try:
            p, c_int, c_uint, size_t = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint, ctypes.c_size_t
            signatures = {
                "cudaGraphicsGLRegisterBuffer": [ctypes.POINTER(p), c_uint, c_uint],
                "cudaGraphicsUnregisterResource": [p],
                "cudaGraphicsMapResources": [c_int, ctypes.POINTER(p), p],
                "cudaGraphicsUnmapResources": [c_int, ctypes.POINTER(p), p],
                "cudaGraphicsResourceGetMappedPointer": [ctypes.POINTER(p), ctypes.POINTER(size_t), p],
                "cudaMemcpyAsync": [p, p, size_t, c_int, p],
            }
            for name, argtypes in signatures.items():
                fn = getattr(lib, name)
                fn.argtypes, fn.restype = argtypes, c_int
            lib.cudaGetErrorString.argtypes, lib.cudaGetErrorString.restype = [c_int], ctypes.c_char_p
        except AttributeError:
            continue
        _runtime = lib
        break
    return _runtime


class CudaPixelBuffer:
    """An OpenGL pixel-unpack buffer registered with CUDA, filled from contiguous uint8 CUDA tensors.

    Create it with the GL context current and the buffer already sized (glBufferData); after
    `copy_from(tensor)` the buffer holds the tensor's bytes and glTexSubImage2D can read it.
    UNTESTED ON A GPU.
    """

    def __init__(self, pbo: int, nbytes: int, device: int = 0) -> None:
        lib = _load_runtime()
        if lib is None:
            raise CudaGLError("cuda-gl interop: no CUDA runtime library found")
        import torch

        self._lib, self.nbytes, self.device = lib, nbytes, device
        self._resource = ctypes.c_void_p()
        with torch.cuda.device(device):
            self._check(lib.cudaGraphicsGLRegisterBuffer(ctypes.byref(self._resource), pbo, _REGISTER_WRITE_DISCARD),
                        "register the pixel buffer")

    @classmethod
    def available(cls) -> bool:
        """True if torch sees a CUDA device and the runtime library has the GL interop functions."""
        try:
            import torch

            return torch.cuda.is_available() and _load_runtime() is not None
        except Exception:  # noqa: BLE001 - a broken CUDA install means "not available"
            return False

    def _check(self, status: int, what: str) -> None:
        if status != 0:
            message = self._lib.cudaGetErrorString(status)
            raise CudaGLError(f"cuda-gl interop: cannot {what} ({message.decode() if message else status})")

    def copy_from(self, tensor) -> None:
        """Copy `tensor` (contiguous uint8 on CUDA, exactly nbytes long) into the buffer, ordered on torch's stream."""
        import torch

        if tensor.numel() != self.nbytes or not tensor.is_contiguous():
            raise CudaGLError(f"cuda-gl interop: need a contiguous tensor of {self.nbytes} bytes")
        stream = ctypes.c_void_p(torch.cuda.current_stream(tensor.device).cuda_stream)
        resources = (ctypes.c_void_p * 1)(self._resource.value)
        self._check(self._lib.cudaGraphicsMapResources(1, resources, stream), "map the pixel buffer")
        try:
            pointer, size = ctypes.c_void_p(), ctypes.c_size_t()
            self._check(self._lib.cudaGraphicsResourceGetMappedPointer(ctypes.byref(pointer), ctypes.byref(size),
                                                                       self._resource), "get the buffer's address")
            if size.value < self.nbytes:
                raise CudaGLError(f"cuda-gl interop: mapped buffer has {size.value} bytes, need {self.nbytes}")
            self._check(self._lib.cudaMemcpyAsync(pointer, ctypes.c_void_p(tensor.data_ptr()), self.nbytes,
                                                  _MEMCPY_DEVICE_TO_DEVICE, stream), "copy the frame")
        finally:
            self._check(self._lib.cudaGraphicsUnmapResources(1, resources, stream), "unmap the pixel buffer")

    def close(self) -> None:
        """Unregister the buffer (before the GL buffer is deleted); idempotent, never raises."""
        if self._resource:
            try:
                self._lib.cudaGraphicsUnregisterResource(self._resource)
            except Exception:  # noqa: BLE001 - the context may already be gone
                pass
            self._resource = ctypes.c_void_p()
