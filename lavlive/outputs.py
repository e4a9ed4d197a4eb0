"""Writing user files safely: never overwrite without --force, never leave half-written files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import LavliveError


def check_writable(path: Path, force: bool) -> None:
    """One line naming what stops `path` being written; a folder first, as --force could never help there."""
    if path.is_dir():
        raise LavliveError(f"{path} is a folder; give a file name")
    if path.exists() and not force:
        raise LavliveError(f"{path} already exists; pass --force to overwrite it")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise LavliveError(f"{path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise LavliveError(f"{path}: folder {folder} is not writable")


def free_name(path: Path) -> Path:
    """`path`, or NAME-2.EXT, NAME-3.EXT, … if it exists: for files that must not replace anything."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


@contextmanager
def atomic_output(path: str | Path, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path`; move it into place only if the block succeeds."""
    path = Path(path)
    check_writable(path, force)
    tmp = path.with_name(f".{path.stem}.partial-{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise LavliveError(f"{path}: cannot write ({e.strerror or e})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
