"""Where a show's log lines go: stderr, and a file when asked (a kiosk always keeps one)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import LavliveError


class LogFile(logging.Handler):
    """A show's log file, opened for each line: rotated (logrotate), removed or on a full disk, it costs only the
    lines it cannot take (said once on stderr, and again once lines get through), never the show."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.failing = False

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + "\n"
            with open(self.path, "a", encoding="utf-8", errors="backslashreplace") as f:
                f.write(line)
        except Exception as e:  # noqa: BLE001 - a line that cannot be written must never stop the show
            if not self.failing:
                self.failing = True
                why = (e.strerror or str(e)) if isinstance(e, OSError) else f"{type(e).__name__}: {e}"
                print(f"lavlive: {self.path}: cannot write the log ({why}); until it can, lines go to "
                      "stderr only", file=sys.stderr)
            return
        if self.failing:
            self.failing = False
            print(f"lavlive: {self.path}: the log is written again", file=sys.stderr)


@contextmanager
def logging_to(path: Path | None, kiosk: bool) -> Iterator[Path | None]:
    """Log lines go to stderr, and to a file when asked (kiosk: always), while the player runs."""
    if path is None and kiosk:
        state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
        path = state / "lavlive" / "kiosk.log"
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(logging.Formatter("lavlive: %(message)s"))
    handlers: list[logging.Handler] = [console]
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8"):
                pass
        except OSError as e:
            raise LavliveError(f"--log {path}: cannot write ({e.strerror or e})") from None
        handlers.append(LogFile(path))
        handlers[-1].setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("lavlive")
    saved = logger.level, logger.propagate
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for h in handlers:
        logger.addHandler(h)
    try:
        yield path
    finally:
        for h in handlers:
            logger.removeHandler(h)
            h.close()
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
