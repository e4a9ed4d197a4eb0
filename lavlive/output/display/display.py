"""What the players need of a display, where the pictures go on this machine, and opening it.

The players draw through the six calls of `Display`, whatever is behind them: a `Window` on a screen,
or a `NoWindow` on a machine with none (--no-window; the pictures then leave only over NDI, which is
opened elsewhere). `DisplaySettings` says which, and how; `open_display` makes it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from .no_window import NoWindow
from .window import Window

log = logging.getLogger("lavlive")


@runtime_checkable
class Display(Protocol):
    """The calls the players make on a display (Window and NoWindow both have them)."""

    def show(self, image, blend=None, alpha: float = 0.0) -> None:
        """Upload and draw `image` ([H, W, 3] uint8), dissolving alpha of the way into `blend`; does not swap."""

    def swap(self) -> None:
        """Present what show drew."""

    def events(self) -> list[str]:
        """Pending input as actions (window.ACTIONS), in order."""

    def toggle_fullscreen(self) -> None:
        """Between the window and fullscreen; the picture survives."""

    def set_overlay(self, text: str | None) -> None:
        """The stats text box, until None."""

    def close(self) -> None:
        """Release the display; idempotent."""


@dataclass(frozen=True)
class DisplaySettings:
    """Where the pictures go on this machine: a window (its size, screen, fit or fill, …) or none."""

    size: tuple[int, int] = (960, 540)  # the window's size
    fullscreen: bool = False
    display: int = 0  # which screen
    scale: str = "fit"  # fit or fill
    vsync: bool = True
    hide_cursor: bool = False
    window: bool = True  # False: --no-window (no display at all; pygame/OpenGL never imported)
    ndi: str | None = None  # an NDI source name, also sent (opened elsewhere)


def open_display(settings: DisplaySettings) -> Display:
    """The window the settings ask for, or the stand-in that draws nothing (--no-window, which needs no display)."""
    if not settings.window:
        if settings.ndi is None:
            log.warning("--no-window without --ndi: nothing will show the pictures")
        return NoWindow()
    return Window(settings.size, fullscreen=settings.fullscreen, display=settings.display, scale=settings.scale,
                  vsync=settings.vsync, hide_cursor=settings.hide_cursor)
