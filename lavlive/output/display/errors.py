"""The display's one error, in a module of its own: the window, its pictures and its shaders all raise it,
and the window imports the other two, so it cannot live in window.py without an import cycle."""

from __future__ import annotations

from ...errors import LavliveError


class WindowError(LavliveError):
    """The window cannot be opened or used (no display, no OpenGL 3.3, a broken shader, a bad image)."""
