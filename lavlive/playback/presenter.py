"""What both players do with a finished frame: show it, send it out, count it, and say how the show runs.

The display (a window, or none) shows the frame as composed, a picture dissolved into another
while models cross; NDI sends the same composition. Once a second the state goes out over OSC
and, when the stats are on (s), the stats line goes to the screen and the log. The keys both
players handle alike are handled here too (f fullscreen, s stats, r a new seed).
"""

from __future__ import annotations

import functools
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from ..errors import LavliveError
from ..output.display import Display
from ..output.display.ndi import NdiOutput
from ..pipeline.frame import Frame
from ..stage import StageLink

if TYPE_CHECKING:
    from ..web.server import WebServer

log = logging.getLogger(__name__)

STATS_EVERY = 1.0  # seconds between stats lines


class FrameLog:
    """The --frame-log file, line-buffered, from its header line to `close`. One that cannot be opened is a user
    error in one line; one that cannot be written later (a full disk) stops with one error line, never the show."""

    def __init__(self, path: Path, header: str) -> None:
        self.path = path
        try:
            self._file: TextIO | None = open(path, "w", encoding="utf-8", buffering=1)
            self._file.write(header + "\n")
        except OSError as e:
            raise LavliveError(f"--frame-log {path}: cannot write ({e.strerror or e})") from None

    def write(self, line: str) -> None:
        if self._file is None:
            return
        try:
            self._file.write(line + "\n")
        except OSError as e:
            log.error("--frame-log %s: cannot write (%s); no more frame lines", self.path, e.strerror or e)
            self.close()

    def close(self) -> None:
        file, self._file = self._file, None
        try:
            if file is not None:
                file.close()
        except OSError:
            pass


def ws_fingerprint(ws: np.ndarray) -> str:
    """A frame's ws as one number, for a frame log to be compared with a replay's: their projection on a fixed
    random unit vector. Equal ws give equal numbers; float noise (the thread count of a reduction: ~1e-5) moves it
    by about as much, and a real change (another seed, a change a block later) by far more."""
    flat = np.ascontiguousarray(ws, np.float64).ravel()
    return f"{float(flat @ _direction(len(flat))):.7f}"


@functools.lru_cache(maxsize=4)
def _direction(size: int) -> np.ndarray:
    return np.random.default_rng(size).standard_normal(size) / np.sqrt(size)


def recent_rate(times: deque[float], seconds: float = 2.0) -> float:
    """Events per second over the last `seconds` of monotonic `times` (frames shown, for the stats line)."""
    now = time.monotonic()
    return sum(1 for t in times if now - t <= seconds) / seconds


class ViewKeys:
    """The keys both players handle alike: f fullscreen, s the stats overlay, r a new seed (set through the
    stage controls as OSC would set it, so it fades, and tracks to come get it too)."""

    def __init__(self, window: Display | None, stage: StageLink, stats: bool) -> None:
        self.window, self.stage, self.stats_on = window, stage, stats
        self._seed_rng = np.random.default_rng()

    def handle(self, action: str) -> bool:
        """Carry out `action` if it is one of these keys; False if it is not."""
        if action == "fullscreen":
            self.window.toggle_fullscreen()
        elif action == "stats":
            self.stats_on = not self.stats_on
            if not self.stats_on:
                self.window.set_overlay(None)
        elif action == "seed":
            seed = int(self._seed_rng.integers(2**31))
            self.stage.controls.set("seed", seed)
            log.info("new seed %d", seed)
        else:
            return False
        return True


class Presenter:
    """Shows finished frames on a display, over NDI and in the control page's preview, counts them, and reports
    the stats once a second."""

    def __init__(self, display: Display, stage: StageLink, ndi: NdiOutput | None = None, stats: bool = False,
                 web: WebServer | None = None) -> None:
        self.display, self.stage, self.ndi, self.web = display, stage, ndi, web
        self.keys = ViewKeys(display, stage, stats)
        self.shown = 0
        self._shown_times: deque[float] = deque(maxlen=512)
        self._next_stats = 0.0

    def events(self) -> Iterator[str]:
        """The display's input that the player handles itself ('quit', 'pause', 'next', …): the shared keys are
        carried out here."""
        for action in self.display.events():
            if action == "quit" or not self.keys.handle(action):
                yield action

    def present(self, frame: Frame) -> None:
        """Put `frame` on the display (its picture, dissolved into its blend by its alpha) and out over NDI."""
        self.display.show(frame.image, None if frame.blend is None else frame.blend.image, frame.alpha)
        self.display.swap()
        if self.ndi is not None:
            self.ndi.send_frame(frame)
        if self.web is not None:
            self.web.offer(frame.image, None if frame.blend is None else frame.blend.image, frame.alpha)

    def count(self, frame: Frame, shown_at: float) -> None:
        """`frame` reached the screen at monotonic time `shown_at`: counted, and its onset and beat go out."""
        self.shown += 1
        self._shown_times.append(shown_at)
        self.stage.shown(frame.onset, frame.beats)

    @property
    def fps(self) -> float:
        """Frames shown per second, lately."""
        return recent_rate(self._shown_times)

    def publish(self, kind: str, message: dict[str, Any]) -> None:
        """To the control pages, if any (a playlist, stats)."""
        if self.web is not None:
            self.web.publish(kind, message)

    def report(self, line: Callable[[], str], figures: Callable[[], dict[str, Any]] | None = None) -> bool:
        """Once a second (True then): the state out over OSC, `figures()` to the control pages, and `line()` on
        screen and in the log if the stats are on."""
        now = time.monotonic()
        if now < self._next_stats:
            return False
        self._next_stats = now + STATS_EVERY
        self.stage.send_state(self.fps)
        if self.web is not None and self.web.pages and figures is not None:
            self.web.publish("stats", {"stats": {**figures(), **self.stage.link_figures(), "pages": self.web.pages}})
        if self.keys.stats_on:
            text = line()
            self.display.set_overlay(text)
            log.info("%s", text)
        return True
