"""The one exception users see: its message is a complete, single-line explanation."""

from __future__ import annotations

from typing import Any


class LavliveError(Exception):
    """A problem with the user's input or environment; the CLI prints it without a traceback."""


def shown(value: Any, limit: int = 60) -> str:
    """A value as a message shows it: a missing or empty one in words, never `None` or `''`; other text
    quoted, anything else as str() gives it (numpy scalars too); cut to `limit` characters, as a damaged
    file may hold anything."""
    if value is None:
        return "(no value)"
    if isinstance(value, str) and not value.strip():
        return "(empty)"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def reason(e: BaseException) -> str:
    """An OS or FFmpeg error's reason in one line (its strerror where it has one)."""
    return str(getattr(e, "strerror", None) or e).splitlines()[0]


def given(text: str) -> str:
    """What the user typed for an option, as a message shows it: as typed, but an empty one in words."""
    return text if text.strip() else "(empty)"

