"""The player's display: a pygame window with an OpenGL context that shows RGB frames and cross-dissolves.

A live show pushes a new picture every frame, so the display path allocates nothing per frame:
each of the two picture slots (the image, and the image it dissolves into) owns one texture and
one pixel-unpack buffer (PBO), made once per picture size and refilled in place. Scaling (fit or
fill) and the dissolve happen in the built-in shaders (the repository's `shaders/`), on a single
quad, so a frame costs one buffer fill, one texture update and one draw call.

Frames may arrive as numpy arrays or torch tensors. A CUDA tensor goes GPU → PBO → texture
through CUDA–OpenGL interop (`cuda_gl.py`) when the runtime allows it, else through a pinned
host buffer; `Window.upload_path` says which path was used last.

Use it from the main thread only (SDL and the GL context belong to the thread that made them).
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import LavliveError
from ..resources import data_dir
from .cuda_gl import CudaGLError, CudaPixelBuffer

log = logging.getLogger(__name__)

ACTIONS = ("quit", "pause", "next", "previous", "fullscreen", "stats", "seed")
SCALE_MODES = ("fit", "fill")
UPLOAD_PATHS = ("cuda-gl interop", "pinned copy", "host")
SHADERS: Path | None = None  # the folder shaders are read from; None: the built-in ones
OVERLAY_FONT_SIZE = 18  # pygame's default font at this size has glyphs about 13 px tall
OVERLAY_MARGIN, OVERLAY_PADDING = 8, 6

# Imported by the first Window, so that importing this module needs neither SDL nor libGL.
pygame = None
GL = None


class WindowError(LavliveError):
    """The window cannot be opened or used (no display, no OpenGL 3.3, a broken shader, a bad image)."""


def _import_backends() -> None:
    global pygame, GL
    if GL is not None:
        return
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    try:
        # torch imports its compiler (and with it triton's own LLVM) lazily, on first use of some
        # functions. Loaded after Mesa's software renderer (another LLVM) it segfaults the process,
        # so it is loaded first.
        import torch._dynamo
        del torch
    except ImportError:
        pass
    try:
        import pygame as pygame_module
        from OpenGL import GL as gl_module
    except Exception as exc:  # noqa: BLE001 - ImportError, or PyOpenGL failing to find libGL
        raise WindowError(f"cannot open an OpenGL window ({exc})") from None
    pygame, GL = pygame_module, gl_module


@dataclass
class _Slot:
    """One picture: its texture and PBO (both sized for `size`), and what to re-upload if the context is lost."""

    texture: int | None = None
    pbo: int | None = None
    size: tuple[int, int] | None = None  # (width, height)
    cuda: CudaPixelBuffer | None = None
    pinned: object | None = None  # a pinned torch tensor reused for CUDA frames while interop is unavailable
    last: object | None = None


class Window:
    """A pygame + OpenGL window that shows RGB frames as a textured quad, aspect kept (fit: black bars; fill: crop).

    GL objects: two shader programs, one VAO with its VBO, and per picture slot (image, blend) one
    RGB8 texture and one PBO — at most 2 textures and 2 PBOs for pictures, made once per slot and
    picture size — plus one RGBA texture for the overlay text while it is shown.
    """

    def __init__(self, size: tuple[int, int] = (960, 540), *, fullscreen: bool = False, display: int = 0,
                 scale: str = "fit", title: str = "lavlive", vsync: bool = True, hide_cursor: bool = False) -> None:
        if scale not in SCALE_MODES:
            raise WindowError(f"scale mode {scale!r}: use one of {', '.join(SCALE_MODES)}")
        if len(size) != 2 or min(size) < 1:
            raise WindowError(f"window size {size}: need two positive numbers")
        if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                                                     or os.environ.get("SDL_VIDEODRIVER")):
            raise WindowError("no display to open a window on: DISPLAY is not set (on a headless machine, "
                              "run under Xvfb)")
        _import_backends()
        self.scale = scale
        self.upload_path: str | None = None
        self.context_rebuilds = 0  # how often set_mode gave a new GL context and everything was rebuilt
        self._windowed_size = (int(size[0]), int(size[1]))
        self._fullscreen, self._display, self._vsync, self._hide_cursor = fullscreen, display, vsync, hide_cursor
        self._slots = [_Slot(), _Slot()]
        self._blend_active, self._alpha, self._has_image = False, 0.0, False
        self._overlay_text: str | None = None
        self._overlay_texture: int | None = None
        self._overlay_size = (0, 0)
        self._font = None
        self._interop: bool | None = None  # None: not tried yet; False: failed once, never again
        self._logged_paths: set[str] = set()
        self._closed = True
        try:
            pygame.display.init()
        except pygame.error as exc:
            raise WindowError(f"cannot open an OpenGL window ({exc})") from None
        self._closed = False
        try:
            count = pygame.display.get_num_displays()
            if not 0 <= display < count:
                raise WindowError(f"display {display}: no such display ({count} found)")
            self._set_mode()
            try:
                self._create_gl()
            except Exception as exc:  # noqa: BLE001 - PyOpenGL's errors: no usable context on this display
                if isinstance(exc, WindowError):
                    raise
                raise WindowError(f"cannot open an OpenGL window ({exc})") from None
            pygame.display.set_caption(title)
            pygame.mouse.set_visible(not hide_cursor)
            self._draw()
        except BaseException:
            self.close()
            raise

    # -- the mode and the GL context --------------------------------------------------------------------------

    def _set_mode(self) -> None:
        """Open or change the window; fullscreen takes the chosen display's desktop size."""
        if self._fullscreen:
            size, flags = pygame.display.get_desktop_sizes()[self._display], pygame.FULLSCREEN
        else:
            size, flags = self._windowed_size, pygame.RESIZABLE
        flags |= pygame.OPENGL | pygame.DOUBLEBUF
        self._open(size, flags)
        if not self._fullscreen and pygame.display.get_window_size() != tuple(size):
            self._open(size, flags)  # X11 without a window manager keeps the fullscreen size on the first call

    def _open(self, size: tuple[int, int], flags: int) -> None:
        """set_mode asking for a 3.3 core context (else the default one), with vsync if the driver has it."""
        error: Exception | None = None
        for profile in (pygame.GL_CONTEXT_PROFILE_CORE, 0):
            pygame.display.gl_set_attribute(pygame.GL_CONTEXT_MAJOR_VERSION, 3 if profile else 0)
            pygame.display.gl_set_attribute(pygame.GL_CONTEXT_MINOR_VERSION, 3 if profile else 0)
            pygame.display.gl_set_attribute(pygame.GL_CONTEXT_PROFILE_MASK, profile)
            for vsync in ((1, 0) if self._vsync else (0,)):
                try:
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        pygame.display.set_mode(size, flags, display=self._display, vsync=vsync)
                except pygame.error as exc:
                    error = exc
                    continue
                if vsync and caught and "vsync" not in self._logged_paths:
                    self._logged_paths.add("vsync")
                    log.info("window: no vsync (%s)", caught[0].message)
                return
        raise WindowError(f"cannot open an OpenGL window ({error})")

    def _create_gl(self) -> None:
        """Shaders, the quad and fixed state, in the current context."""
        version = (GL.glGetIntegerv(GL.GL_MAJOR_VERSION), GL.glGetIntegerv(GL.GL_MINOR_VERSION))
        if tuple(int(v) for v in version) < (3, 3):
            found = GL.glGetString(GL.GL_VERSION).decode(errors="replace")
            raise WindowError(f"cannot open an OpenGL window (OpenGL 3.3 needed, {found} found)")
        self._frame_program = _program("frame.vert", "frame.frag")
        self._text_program = _program("frame.vert", "text.frag")
        self._uniforms = {program: {name: GL.glGetUniformLocation(program, name)
                                    for name in ("quad", "picture0", "picture1", "image0", "image1", "alpha")}
                          for program in (self._frame_program, self._text_program)}
        for program, names in self._uniforms.items():
            GL.glUseProgram(program)
            GL.glUniform1i(names["image0"], 0)
            GL.glUniform1i(names["image1"], 1)
        GL.glUseProgram(0)
        self._vao = int(GL.glGenVertexArrays(1))
        self._vbo = int(GL.glGenBuffers(1))
        GL.glBindVertexArray(self._vao)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self._vbo)
        corners = np.array([0, 0, 1, 0, 0, 1, 1, 1], dtype=np.float32)  # a triangle strip over the unit square
        GL.glBufferData(GL.GL_ARRAY_BUFFER, corners.nbytes, corners, GL.GL_STATIC_DRAW)
        GL.glEnableVertexAttribArray(0)
        GL.glVertexAttribPointer(0, 2, GL.GL_FLOAT, GL.GL_FALSE, 0, None)
        GL.glBindVertexArray(0)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)  # rows of 3·width bytes are not 4-aligned in general
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
        GL.glBlendFunc(GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA)
        GL.glClearColor(0.0, 0.0, 0.0, 1.0)

    def _after_mode_change(self) -> None:
        """If set_mode made a new GL context, rebuild everything and re-upload the last pictures."""
        GL.glViewport(0, 0, *self.size)
        if GL.glIsProgram(self._frame_program):
            return
        self.context_rebuilds += 1
        log.info("window: the OpenGL context was re-created; rebuilding shaders and textures")
        for slot in self._slots:
            if slot.cuda is not None:
                slot.cuda.close()
            slot.texture = slot.pbo = slot.size = slot.cuda = None
        self._overlay_texture = None
        self._create_gl()
        path = self.upload_path
        for index, slot in enumerate(self._slots):
            if slot.last is not None:
                self._upload(index, slot.last)
        self.upload_path = path
        text, self._overlay_text = self._overlay_text, None
        self.set_overlay(text)

    # -- uploads ------------------------------------------------------------------------------------------------

    def _storage(self, slot: _Slot, width: int, height: int) -> None:
        """Make the slot's texture and PBO for this size, once; the old ones go only when the size changes."""
        if slot.size == (width, height):
            return
        texture = int(GL.glGenTextures(1))  # made before the old one is deleted, so the id visibly changes
        GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, 0)
        GL.glBindTexture(GL.GL_TEXTURE_2D, texture)
        for name, value in ((GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR), (GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR),
                            (GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE), (GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE)):
            GL.glTexParameteri(GL.GL_TEXTURE_2D, name, value)
        GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGB8, width, height, 0, GL.GL_RGB, GL.GL_UNSIGNED_BYTE, None)
        pbo = int(GL.glGenBuffers(1))
        GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, pbo)
        GL.glBufferData(GL.GL_PIXEL_UNPACK_BUFFER, width * height * 3, None, GL.GL_STREAM_DRAW)
        GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, 0)
        if slot.cuda is not None:
            slot.cuda.close()
            slot.cuda = None
        if slot.texture is not None:
            GL.glDeleteTextures([slot.texture])
            GL.glDeleteBuffers(1, [slot.pbo])
        slot.texture, slot.pbo, slot.size = texture, pbo, (width, height)

    def _upload(self, index: int, image) -> None:
        """Fill slot `index` from a numpy array or torch tensor [H, W, 3] uint8, through its PBO."""
        slot = self._slots[index]
        shape, dtype = tuple(image.shape), str(image.dtype)
        if len(shape) != 3 or shape[2] != 3 or dtype not in ("uint8", "torch.uint8") or 0 in shape:
            raise WindowError(f"window: need an [H, W, 3] uint8 image, got shape {list(shape)} of {dtype}")
        height, width = shape[:2]
        self._storage(slot, width, height)
        is_tensor = type(image).__module__.split(".")[0] == "torch"
        if is_tensor and image.is_cuda:
            path, data = self._from_gpu(slot, image)
        else:
            path, data = "host", np.ascontiguousarray(image.detach().cpu().numpy() if is_tensor else image)
        if data is not None:
            GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, slot.pbo)
            GL.glBufferSubData(GL.GL_PIXEL_UNPACK_BUFFER, 0, data.nbytes, data)
        else:
            GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, slot.pbo)
        GL.glBindTexture(GL.GL_TEXTURE_2D, slot.texture)
        GL.glTexSubImage2D(GL.GL_TEXTURE_2D, 0, 0, 0, width, height, GL.GL_RGB, GL.GL_UNSIGNED_BYTE, None)  # from PBO
        GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, 0)
        slot.last = image if data is None else data
        if path not in self._logged_paths:
            self._logged_paths.add(path)
            log.info("window: frames reach the texture by %s", path)
        self.upload_path = path

    def _from_gpu(self, slot: _Slot, image) -> tuple[str, np.ndarray | None]:
        """A CUDA frame into the slot's PBO by interop (data None), else into its pinned host buffer."""
        import torch

        from ..generator.runtime import cuda_lock

        with cuda_lock:  # never beside a graph capture in another thread
            if self._copy_on_gpu(slot, image):
                return "cuda-gl interop", None
            if slot.pinned is None or tuple(slot.pinned.shape) != tuple(image.shape):
                slot.pinned = torch.empty(tuple(image.shape), dtype=torch.uint8, pin_memory=True)
            slot.pinned.copy_(image)
        return "pinned copy", slot.pinned.numpy()

    def _copy_on_gpu(self, slot: _Slot, tensor) -> bool:
        """Copy a CUDA tensor into the slot's PBO by interop; False (after one warning) if interop is unavailable."""
        if self._interop is False:
            return False
        if self._interop is None and not CudaPixelBuffer.available():
            self._interop = False
            log.info("window: cuda-gl interop unavailable; CUDA frames go through a pinned host copy")
            return False
        try:
            if slot.cuda is None:
                width, height = slot.size
                slot.cuda = CudaPixelBuffer(slot.pbo, width * height * 3, tensor.device.index or 0)
            slot.cuda.copy_from(tensor.contiguous())
        except CudaGLError as exc:
            self._interop = False
            log.warning("window: %s; CUDA frames go through a pinned host copy from now on", exc)
            return False
        self._interop = True
        return True

    # -- drawing -------------------------------------------------------------------------------------------------

    def _rect(self, picture: tuple[int, int], window: tuple[int, int]) -> tuple[float, float, float, float]:
        """Where a picture of this size lies in NDC: fit inside the window, or fill it (and overflow)."""
        (pw, ph), (ww, wh) = picture, window
        zoom = (min if self.scale == "fit" else max)(ww / pw, wh / ph)
        hx, hy = zoom * pw / ww, zoom * ph / wh
        return -hx, -hy, hx, hy

    def _draw(self) -> None:
        width, height = self.size
        GL.glViewport(0, 0, width, height)
        GL.glClear(GL.GL_COLOR_BUFFER_BIT)
        GL.glBindVertexArray(self._vao)
        first = self._slots[0]
        if self._has_image and first.texture is not None:
            second = self._slots[1] if self._blend_active else first
            names = self._uniforms[self._frame_program]
            GL.glUseProgram(self._frame_program)
            GL.glUniform4f(names["quad"], -1.0, -1.0, 1.0, 1.0)
            GL.glUniform4f(names["picture0"], *self._rect(first.size, (width, height)))
            GL.glUniform4f(names["picture1"], *self._rect(second.size, (width, height)))
            GL.glUniform1f(names["alpha"], self._alpha if self._blend_active else 0.0)
            GL.glActiveTexture(GL.GL_TEXTURE1)
            GL.glBindTexture(GL.GL_TEXTURE_2D, second.texture)
            GL.glActiveTexture(GL.GL_TEXTURE0)
            GL.glBindTexture(GL.GL_TEXTURE_2D, first.texture)
            GL.glDrawArrays(GL.GL_TRIANGLE_STRIP, 0, 4)
        if self._overlay_texture is not None:
            tw, th = self._overlay_size
            x0, y1 = -1.0 + 2.0 * OVERLAY_MARGIN / width, 1.0 - 2.0 * OVERLAY_MARGIN / height
            box = (x0, y1 - 2.0 * th / height, x0 + 2.0 * tw / width, y1)
            names = self._uniforms[self._text_program]
            GL.glUseProgram(self._text_program)
            GL.glUniform4f(names["quad"], *box)
            GL.glUniform4f(names["picture0"], *box)
            GL.glActiveTexture(GL.GL_TEXTURE0)
            GL.glBindTexture(GL.GL_TEXTURE_2D, self._overlay_texture)
            GL.glEnable(GL.GL_BLEND)
            GL.glDrawArrays(GL.GL_TRIANGLE_STRIP, 0, 4)
            GL.glDisable(GL.GL_BLEND)
        GL.glUseProgram(0)
        GL.glBindVertexArray(0)

    # -- the interface -------------------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise WindowError("window: it is closed")

    def show(self, image, blend=None, alpha: float = 0.0) -> None:
        """Upload `image` ([H, W, 3] uint8 numpy array, or a torch uint8 tensor on CUDA or CPU) and draw it;
        with `blend` (another image, any size) draw a cross-dissolve: (1-alpha)·image + alpha·blend, each fitted on
        its own. Does not swap."""
        self._check_open()
        self._upload(0, image)
        if blend is not None:
            self._upload(1, blend)
        self._blend_active, self._alpha, self._has_image = blend is not None, min(max(float(alpha), 0.0), 1.0), True
        self._draw()

    def redraw(self) -> None:
        """Draw the current textures (and overlay) again into the back buffer, uploading nothing. Does not swap."""
        self._check_open()
        self._draw()

    def swap(self) -> None:
        """Present the back buffer (pygame.display.flip; waits for the vertical blank when vsync is on)."""
        self._check_open()
        pygame.display.flip()

    def events(self) -> list[str]:
        """Pending input as ACTIONS, in order. A resize or expose is handled here: redraw and present at once."""
        self._check_open()
        actions: list[str] = []
        repaint = False
        keys = {pygame.K_SPACE: "pause", pygame.K_n: "next", pygame.K_p: "previous", pygame.K_f: "fullscreen",
                pygame.K_s: "stats", pygame.K_r: "seed", pygame.K_q: "quit", pygame.K_ESCAPE: "quit"}
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                actions.append("quit")
            elif event.type == pygame.KEYDOWN and event.key in keys:
                actions.append(keys[event.key])
            elif event.type in (pygame.VIDEORESIZE, pygame.WINDOWSIZECHANGED, pygame.VIDEOEXPOSE,
                                pygame.WINDOWEXPOSED):
                repaint = True
        if repaint:
            self._draw()
            pygame.display.flip()
        return actions

    def toggle_fullscreen(self) -> None:
        """Switch between the window and fullscreen on its display; the picture survives and is drawn again.

        With pygame 2 on X11 (Mesa) set_mode keeps the GL context, so nothing is re-uploaded; if a
        platform gives a new context, the shaders and textures are rebuilt from the last pictures.
        Draws, does not swap."""
        self._check_open()
        if not self._fullscreen:
            self._windowed_size = self.size
        self._fullscreen = not self._fullscreen
        self._set_mode()
        pygame.mouse.set_visible(not self._hide_cursor)
        self._after_mode_change()
        self._draw()

    @property
    def fullscreen(self) -> bool:
        return self._fullscreen

    def set_overlay(self, text: str | None) -> None:
        """A small stats text box at the top left, drawn on every draw until None; rendered only when it changes."""
        self._check_open()
        if text == self._overlay_text:
            return
        self._overlay_text = text
        if not text:
            if self._overlay_texture is not None:
                GL.glDeleteTextures([self._overlay_texture])
            self._overlay_texture = None
            return
        if self._font is None:
            pygame.font.init()
            self._font = pygame.font.Font(None, OVERLAY_FONT_SIZE)
        lines = [self._font.render(line or " ", True, (255, 255, 255)) for line in text.splitlines()]
        width = max(line.get_width() for line in lines) + 2 * OVERLAY_PADDING
        height = sum(line.get_height() for line in lines) + 2 * OVERLAY_PADDING
        box = pygame.Surface((width, height), pygame.SRCALPHA)
        box.fill((0, 0, 0, 160))
        y = OVERLAY_PADDING
        for line in lines:
            box.blit(line, (OVERLAY_PADDING, y))
            y += line.get_height()
        if self._overlay_texture is None:
            self._overlay_texture = int(GL.glGenTextures(1))
        GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, 0)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self._overlay_texture)
        for name, value in ((GL.GL_TEXTURE_MIN_FILTER, GL.GL_NEAREST), (GL.GL_TEXTURE_MAG_FILTER, GL.GL_NEAREST),
                            (GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE), (GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE)):
            GL.glTexParameteri(GL.GL_TEXTURE_2D, name, value)
        GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGBA8, width, height, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE,
                        pygame.image.tobytes(box, "RGBA"))
        self._overlay_size = (width, height)

    def set_caption(self, text: str) -> None:
        self._check_open()
        pygame.display.set_caption(text)

    def read_pixels(self) -> np.ndarray:
        """What was last drawn, [h, w, 3] uint8, top row first.

        Reads the back buffer, so call it right after show() or redraw() and before swap() (after a
        swap, or after events() repainted, the back buffer's content is undefined)."""
        self._check_open()
        width, height = self.size
        GL.glFinish()
        GL.glReadBuffer(GL.GL_BACK)
        data = GL.glReadPixels(0, 0, width, height, GL.GL_RGB, GL.GL_UNSIGNED_BYTE)
        pixels = np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes) else np.asarray(data, np.uint8)
        return pixels.reshape(height, width, 3)[::-1].copy()

    @property
    def size(self) -> tuple[int, int]:
        """The drawable size in pixels now (the window size: SDL on X11 has no separate high-DPI drawable)."""
        return tuple(pygame.display.get_window_size())

    @property
    def texture_ids(self) -> tuple[int | None, int | None]:
        """The picture textures of the image and blend slots (None until used)."""
        return self._slots[0].texture, self._slots[1].texture

    @property
    def buffer_ids(self) -> tuple[int | None, int | None]:
        """The pixel-unpack buffers of the image and blend slots (None until used)."""
        return self._slots[0].pbo, self._slots[1].pbo

    @property
    def refresh_rate(self) -> float | None:
        """The display's refresh rate in Hz if SDL knows it."""
        rates = getattr(pygame.display, "get_desktop_refresh_rates", None)
        if rates is not None:
            rate = rates()[self._display]
            return float(rate) if rate > 0 else None
        return _sdl_refresh_rate(self._display)

    def close(self) -> None:
        """Release the GL objects and the display; idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            for slot in self._slots:
                if slot.cuda is not None:
                    slot.cuda.close()
                slot.cuda = slot.pinned = slot.last = None
        finally:
            pygame.display.quit()  # destroys the context with every GL object in it

    def __enter__(self) -> Window:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _program(vertex: str, fragment: str) -> int:
    """Compile and link two shader files from SHADERS; WindowError with the log's first line if that fails."""
    shaders = []
    folder = SHADERS or data_dir("shaders")
    for name, kind in ((vertex, GL.GL_VERTEX_SHADER), (fragment, GL.GL_FRAGMENT_SHADER)):
        path = folder / name
        try:
            source = path.read_text()
        except OSError as exc:
            raise WindowError(f"shader {path}: cannot read it ({exc.strerror})") from None
        shader = GL.glCreateShader(kind)
        GL.glShaderSource(shader, source)
        GL.glCompileShader(shader)
        if not GL.glGetShaderiv(shader, GL.GL_COMPILE_STATUS):
            raise WindowError(f"shader {path}: {_first_line(GL.glGetShaderInfoLog(shader))}")
        shaders.append(shader)
    program = GL.glCreateProgram()
    for shader in shaders:
        GL.glAttachShader(program, shader)
    GL.glLinkProgram(program)
    for shader in shaders:
        GL.glDeleteShader(shader)  # freed with the program
    if not GL.glGetProgramiv(program, GL.GL_LINK_STATUS):
        raise WindowError(f"shaders {vertex} + {fragment}: {_first_line(GL.glGetProgramInfoLog(program))}")
    return int(program)


def _first_line(log_text) -> str:
    text = log_text.decode(errors="replace") if isinstance(log_text, bytes) else str(log_text)
    return next((line.strip() for line in text.splitlines() if line.strip()), "failed, with an empty log")


def _sdl_refresh_rate(display: int) -> float | None:
    """SDL_GetCurrentDisplayMode's refresh rate, through the SDL2 library pygame loaded (Linux only)."""

    class DisplayMode(ctypes.Structure):
        _fields_ = [("format", ctypes.c_uint32), ("w", ctypes.c_int), ("h", ctypes.c_int),
                    ("refresh_rate", ctypes.c_int), ("driverdata", ctypes.c_void_p)]

    try:
        with open("/proc/self/maps") as maps:
            paths = [line.split()[-1] for line in maps]
        path = next(p for p in paths if os.path.basename(p).startswith(("libSDL2-2.0.so", "libSDL2-2-")))
        mode = DisplayMode()
        if ctypes.CDLL(path).SDL_GetCurrentDisplayMode(display, ctypes.byref(mode)) != 0:
            return None
    except (OSError, StopIteration, AttributeError):
        return None
    return float(mode.refresh_rate) if mode.refresh_rate > 0 else None
