"""The player's window: a pygame (SDL) window with an OpenGL context that shows RGB frames and cross-dissolves.

This is the SDL half: the window, its mode (windowed or fullscreen, on which display, with vsync if
the driver has it), the GL context set_mode gives, the keys that become ACTIONS, and presenting a
drawn frame. What is drawn in the context (pictures, dissolve, overlay) is `renderer.py`.
`Window.upload_path` says which way the last frame reached its texture (one of UPLOAD_PATHS).

Use it from the main thread only (SDL and the GL context belong to the thread that made them).
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import warnings

import numpy as np

from ...images import SCALE_MODES
from .errors import WindowError
from .picture import UPLOAD_PATHS
from .renderer import Renderer

__all__ = ["ACTIONS", "UPLOAD_PATHS", "Window", "WindowError"]

log = logging.getLogger(__name__)

ACTIONS = ("quit", "pause", "next", "previous", "fullscreen", "stats", "seed")

# Imported by the first Window, so that importing this module needs neither SDL nor libGL. OpenGL is not used
# here: it is imported so that a missing libGL is a WindowError before any window opens, and so that it comes
# after torch's compiler; the renderer and the modules below it import it again where they use it.
pygame = None
GL = None


def _import_backends() -> None:
    """pygame and PyOpenGL, once, in the order that keeps the process alive; WindowError if they cannot load."""
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


class Window:
    """A pygame + OpenGL window that shows RGB frames as a textured quad, aspect kept (fit: black bars; fill: crop).

    It owns the SDL window and its GL context; a Renderer, made in that context, owns every GL object
    in it (their count is in renderer.py).
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
        self._windowed_size = (int(size[0]), int(size[1]))
        self._fullscreen, self._display, self._vsync, self._hide_cursor = fullscreen, display, vsync, hide_cursor
        self._renderer: Renderer | None = None  # made once the mode gives a GL context
        self._warned_vsync = False
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
                self._renderer = Renderer(scale)
            except Exception as exc:  # noqa: BLE001 - PyOpenGL's errors: no usable context on this display
                if isinstance(exc, WindowError):
                    raise
                raise WindowError(f"cannot open an OpenGL window ({exc})") from None
            pygame.display.set_caption(title)
            pygame.mouse.set_visible(not hide_cursor)
            self._renderer.draw(self.size)
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
                if vsync and caught and not self._warned_vsync:
                    self._warned_vsync = True
                    log.info("window: no vsync (%s)", caught[0].message)
                return
        raise WindowError(f"cannot open an OpenGL window ({error})")

    # -- the interface -------------------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise WindowError("window: it is closed")

    def show(self, image, blend=None, alpha: float = 0.0) -> None:
        """Upload `image` ([H, W, 3] uint8 numpy array, or a torch uint8 tensor on CUDA or CPU) and draw it;
        with `blend` (another image, any size) draw a cross-dissolve: (1-alpha)·image + alpha·blend, each fitted on
        its own. Does not swap."""
        self._check_open()
        self._renderer.show(image, blend, alpha)
        self._renderer.draw(self.size)

    def redraw(self) -> None:
        """Draw the current textures (and overlay) again into the back buffer, uploading nothing. Does not swap."""
        self._check_open()
        self._renderer.draw(self.size)

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
            self._renderer.draw(self.size)
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
        self._renderer.after_mode_change(self.size)  # a new GL context: everything rebuilt from the last pictures
        self._renderer.draw(self.size)

    @property
    def fullscreen(self) -> bool:
        return self._fullscreen

    def set_overlay(self, text: str | None) -> None:
        """A small stats text box at the top left, drawn on every draw until None; rendered only when it changes."""
        self._check_open()
        self._renderer.set_overlay(text)

    def set_caption(self, text: str) -> None:
        self._check_open()
        pygame.display.set_caption(text)

    def read_pixels(self) -> np.ndarray:
        """What was last drawn, [h, w, 3] uint8, top row first.

        Reads the back buffer, so call it right after show() or redraw() and before swap() (after a
        swap, or after events() repainted, the back buffer's content is undefined)."""
        self._check_open()
        return self._renderer.read_pixels(self.size)

    @property
    def size(self) -> tuple[int, int]:
        """The drawable size in pixels now (the window size: SDL on X11 has no separate high-DPI drawable)."""
        return tuple(pygame.display.get_window_size())

    @property
    def scale(self) -> str:
        """fit or fill (SCALE_MODES)."""
        return self._renderer.scale

    @property
    def upload_path(self) -> str | None:
        """How the last frame reached its texture, one of UPLOAD_PATHS (None before the first)."""
        return self._renderer.upload_path

    @property
    def context_rebuilds(self) -> int:
        """How often set_mode gave a new GL context and everything was rebuilt."""
        return self._renderer.context_rebuilds

    @property
    def texture_ids(self) -> tuple[int | None, int | None]:
        """The picture textures of the image and blend slots (None until used)."""
        return self._renderer.texture_ids

    @property
    def buffer_ids(self) -> tuple[int | None, int | None]:
        """The pixel-unpack buffers of the image and blend slots (None until used)."""
        return self._renderer.buffer_ids

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
            if self._renderer is not None:
                self._renderer.release()
        finally:
            pygame.display.quit()  # destroys the context with every GL object in it

    def __enter__(self) -> Window:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


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
