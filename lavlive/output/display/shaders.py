"""The window's GL building blocks: shader programs read from the built-in files, compiled and linked (errors in
one line), and textures made ready for a picture or the text box.

The shaders are the repository's `shaders/` folder (found by lavlive/resources.py, in a checkout or
inside a wheel), or the folder SHADERS names instead (tests point it at a broken shader). Scaling
(fit or fill) and the cross-dissolve happen in them, on the window's single quad.

OpenGL is imported inside the functions: they run only in a Window's GL context, made after the
Window has loaded OpenGL, and importing this module must need no libGL.
"""

from __future__ import annotations

from pathlib import Path

from ...resources import data_dir
from .errors import WindowError

SHADERS: Path | None = None  # the folder shaders are read from; None: the built-in ones


def load_program(vertex: str, fragment: str) -> int:
    """Compile and link two shader files from SHADERS; WindowError with the log's first line if that fails."""
    from OpenGL import GL

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


def new_texture(filtering: int) -> int:
    """A new 2-D texture, bound (with no pixel buffer bound), filtered by `filtering` (GL_LINEAR, GL_NEAREST) and
    clamped at its edges; its storage is the caller's to give."""
    from OpenGL import GL

    texture = int(GL.glGenTextures(1))
    GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, 0)
    GL.glBindTexture(GL.GL_TEXTURE_2D, texture)
    for name, value in ((GL.GL_TEXTURE_MIN_FILTER, filtering), (GL.GL_TEXTURE_MAG_FILTER, filtering),
                        (GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE), (GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE)):
        GL.glTexParameteri(GL.GL_TEXTURE_2D, name, value)
    return texture


def _first_line(log_text) -> str:
    text = log_text.decode(errors="replace") if isinstance(log_text, bytes) else str(log_text)
    return next((line.strip() for line in text.splitlines() if line.strip()), "failed, with an empty log")
