"""Where a show's log lines go: stderr, and a file when asked (a kiosk always keeps one)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import LavliveError


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
            handlers.append(logging.FileHandler(path, encoding="utf-8"))
        except OSError as e:
            raise LavliveError(f"--log {path}: cannot write ({e.strerror or e})") from None
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
