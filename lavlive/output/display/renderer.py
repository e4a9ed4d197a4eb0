"""What the window shows, drawn in its OpenGL context: the pictures, their dissolve, and the stats overlay.

Each of the two pictures (the image, and the image it dissolves into) has its own slot
(`picture.py`: a texture and a pixel buffer made once per picture size, refilled in place). Scaling
(fit or fill) and the dissolve happen in the built-in shaders (`shaders.py`), on a single quad, so
a frame costs one buffer fill, one texture update and one draw call; the stats text box
(`overlay.py`) adds one more while it is shown.

This is the GL half of the window; the SDL half (the window itself, its mode and its events) is
`window.py`, which makes the context current before it makes a Renderer.

OpenGL is imported inside the methods: a Renderer is made only after the Window has loaded OpenGL,
and importing this module must need no libGL.
"""

from __future__ import annotations

import logging

import numpy as np

from .errors import WindowError
from .overlay import Overlay
from .picture import CudaInterop, PictureSlot, picture_size
from .shaders import load_program

log = logging.getLogger(__name__)

UNIFORMS = ("quad", "picture0", "picture1", "image0", "image1", "alpha")


class Renderer:
    """Shader programs, the quad and fixed GL state, the two picture slots and the overlay, in the current context.

    GL objects: two shader programs, one VAO with its VBO, and per picture slot (image, blend) one
    RGB8 texture and one PBO — at most 2 textures and 2 PBOs for pictures, made once per slot and
    picture size — plus one RGBA texture for the overlay text while it is shown.
    """

    def __init__(self, scale: str) -> None:
        self.scale = scale
        self.upload_path: str | None = None  # which of UPLOAD_PATHS the last frame took
        self.context_rebuilds = 0  # how often set_mode gave a new GL context and everything was rebuilt
        self._pictures: list[PictureSlot | None] = [None, None]  # the image, and the one it dissolves into
        self._interop = CudaInterop()
        self._blend_active, self._alpha, self._has_image = False, 0.0, False
        self._overlay = Overlay()
        self._logged_paths: set[str] = set()
        self._create_gl()

    def _create_gl(self) -> None:
        """Shaders, the quad and fixed state, in the current context."""
        from OpenGL import GL

        version = (GL.glGetIntegerv(GL.GL_MAJOR_VERSION), GL.glGetIntegerv(GL.GL_MINOR_VERSION))
        if tuple(int(v) for v in version) < (3, 3):
            found = GL.glGetString(GL.GL_VERSION).decode(errors="replace")
            raise WindowError(f"cannot open an OpenGL window (OpenGL 3.3 needed, {found} found)")
        self._frame_program = load_program("frame.vert", "frame.frag")
        self._text_program = load_program("frame.vert", "text.frag")
        self._uniforms = {program: {name: GL.glGetUniformLocation(program, name) for name in UNIFORMS}
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

    def after_mode_change(self, size: tuple[int, int]) -> None:
        """After set_mode: the viewport for the new size, and if set_mode made a new GL context, everything
        rebuilt and the last pictures uploaded again."""
        from OpenGL import GL

        GL.glViewport(0, 0, *size)
        if GL.glIsProgram(self._frame_program):
            return
        self.context_rebuilds += 1
        log.info("window: the OpenGL context was re-created; rebuilding shaders and textures")
        lasts = [None if picture is None else picture.last for picture in self._pictures]
        self.release()
        self._pictures = [None, None]
        self._overlay.abandon()
        self._create_gl()
        path = self.upload_path
        for index, image in enumerate(lasts):
            if image is not None:
                self._upload(index, image)
        self.upload_path = path
        self._overlay.rebuild()

    def _upload(self, index: int, image) -> None:
        """Fill picture slot `index` from a numpy array or torch tensor [H, W, 3] uint8; a new slot for a new size
        (made before the old one is deleted, so the texture id visibly changes)."""
        width, height = picture_size(image)
        picture = self._pictures[index]
        if picture is None or not picture.is_compatible(width, height):
            self._pictures[index] = PictureSlot(width, height, self._interop)
            if picture is not None:
                picture.delete()
            picture = self._pictures[index]
        path = picture.update(image)
        if path not in self._logged_paths:
            self._logged_paths.add(path)
            log.info("window: frames reach the texture by %s", path)
        self.upload_path = path

    def show(self, image, blend=None, alpha: float = 0.0) -> None:
        """Upload the image (and the one it dissolves into, alpha of the way) for the following draws."""
        self._upload(0, image)
        if blend is not None:
            self._upload(1, blend)
        self._blend_active, self._alpha, self._has_image = blend is not None, min(max(float(alpha), 0.0), 1.0), True

    def set_overlay(self, text: str | None) -> None:
        self._overlay.set(text)

    def _rect(self, picture: tuple[int, int], window: tuple[int, int]) -> tuple[float, float, float, float]:
        """Where a picture of this size lies in NDC: fit inside the window, or fill it (and overflow)."""
        (pw, ph), (ww, wh) = picture, window
        zoom = (min if self.scale == "fit" else max)(ww / pw, wh / ph)
        hx, hy = zoom * pw / ww, zoom * ph / wh
        return -hx, -hy, hx, hy

    def draw(self, size: tuple[int, int]) -> None:
        """Clear the back buffer of a window of this size and draw the pictures and the overlay on it."""
        from OpenGL import GL

        width, height = size
        GL.glViewport(0, 0, width, height)
        GL.glClear(GL.GL_COLOR_BUFFER_BIT)
        GL.glBindVertexArray(self._vao)
        first = self._pictures[0]
        if self._has_image and first is not None:
            second = self._pictures[1] if self._blend_active else first
            names = self._uniforms[self._frame_program]
            GL.glUseProgram(self._frame_program)
            GL.glUniform4f(names["quad"], -1.0, -1.0, 1.0, 1.0)
            GL.glUniform4f(names["picture0"], *self._rect(first.size, (width, height)))
            GL.glUniform4f(names["picture1"], *self._rect(second.size, (width, height)))
            GL.glUniform1f(names["alpha"], self._alpha if self._blend_active else 0.0)
            second.bind(1)
            first.bind(0)
            GL.glDrawArrays(GL.GL_TRIANGLE_STRIP, 0, 4)
        self._overlay.draw(self._text_program, self._uniforms[self._text_program], (width, height))
        GL.glUseProgram(0)
        GL.glBindVertexArray(0)

    def read_pixels(self, size: tuple[int, int]) -> np.ndarray:
        """The back buffer of a window of this size, [h, w, 3] uint8, top row first."""
        from OpenGL import GL

        width, height = size
        GL.glFinish()
        GL.glReadBuffer(GL.GL_BACK)
        data = GL.glReadPixels(0, 0, width, height, GL.GL_RGB, GL.GL_UNSIGNED_BYTE)
        pixels = np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes) else np.asarray(data, np.uint8)
        return pixels.reshape(height, width, 3)[::-1].copy()

    @property
    def texture_ids(self) -> tuple[int | None, int | None]:
        """The picture textures of the image and blend slots (None until used)."""
        return tuple(None if picture is None else picture.texture for picture in self._pictures)

    @property
    def buffer_ids(self) -> tuple[int | None, int | None]:
        """The pixel-unpack buffers of the image and blend slots (None until used)."""
        return tuple(None if picture is None else picture.pbo for picture in self._pictures)

    def release(self) -> None:
        """Let go of what CUDA and the host hold for the pictures; the GL objects go with their context."""
        for picture in self._pictures:
            if picture is not None:
                picture.abandon()
