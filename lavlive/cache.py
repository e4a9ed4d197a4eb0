"""Where data computed once is kept: $LAVLIVE_CACHE, else $XDG_CACHE_HOME/lavlive (~/.cache/lavlive)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    root = os.environ.get("LAVLIVE_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lavlive"
    return Path(root)
