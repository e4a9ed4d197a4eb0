"""`--no-window`: the players on a machine without a display (a kiosk server, a GPU box in the rack).

It stands in for the window with the same interface and does nothing: no display is opened, pygame and
OpenGL are never imported, and there are no keys (quit with Ctrl-C or SIGTERM; steer over OSC, MIDI and
Link). The pictures go out over NDI (`--ndi NAME`); the player's loop still paces frames on the audio
clock (play) or shows each as soon as it is drawn (live), as it does with a window.
"""

from __future__ import annotations


class NoWindow:
    """The players' window, for when there is none: the calls they make on it, doing nothing."""

    def show(self, image, blend=None, alpha: float = 0.0) -> None:
        """Nothing to draw: NDI sends the frame as the window would have composed it."""

    def swap(self) -> None:
        pass

    def events(self) -> list[str]:
        return []

    def toggle_fullscreen(self) -> None:
        pass

    def set_overlay(self, text: str | None) -> None:
        pass

    def close(self) -> None:
        pass
