"""Where the built-in data lives: presets (with the MIDI map example) and the window's shaders.

The repository's top-level `presets/` and `shaders/` folders are the source. A wheel carries them
inside the package as `lavlive/data/`; an editable install (a checkout) reads them in place.
"""

from __future__ import annotations

from pathlib import Path

from .errors import LavliveError

_PACKAGE = Path(__file__).resolve().parent
KINDS = ("presets", "shaders")


def data_dir(kind: str) -> Path:
    """The folder of built-in `kind` ('presets' or 'shaders'); an error if the installation lacks it."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of built-in data: {kind!r}")
    installed, checkout = _PACKAGE / "data" / kind, _PACKAGE.parent / kind
    if installed.is_dir():
        return installed
    if (_PACKAGE.parent / "pyproject.toml").is_file() and checkout.is_dir():
        return checkout
    raise LavliveError(f"this lavlive installation has no built-in {kind} (looked in {_PACKAGE / 'data' / kind}); "
                       "reinstall lavlive")
