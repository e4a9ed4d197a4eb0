"""Writing files safely: never overwrite a user's file without --force, never leave one half-written.

Every file lavlive writes (a video, a partial video, a segment and its snapshot, a cached statistics
or network file, an analysis plot, a sidecar) is made under a hidden temporary name beside its
target, `.NAME.WORD-PID.EXT`, and moved into place in one rename once it is complete: a reader sees
the old file or the new one, never a part of one. `AtomicFile` is that rename; this module is the
only place lavlive moves a file into place.
"""

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


class AtomicFile:
    """`path`, written under the hidden temporary name `tmp` beside it until `commit()` moves it into place.

    `word` says in the temporary name what is going on (`.video.rendering-123.mp4`); the extension is
    kept, so libraries that go by it (numpy's .npz, video containers) write the right kind of file."""

    def __init__(self, path: str | Path, word: str = "partial") -> None:
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.stem}.{word}-{os.getpid()}{self.path.suffix}")

    def commit(self, to: Path | None = None) -> Path:
        """Move the finished file into place (at `to` instead of `path` if given) and return where it is."""
        target = self.path if to is None else to
        os.replace(self.tmp, target)
        return target

    def keep_partial(self) -> Path:
        """Move an unfinished file to NAME.partial.EXT (a free name, so nothing is replaced); `path` is never
        touched: an interrupted render keeps what it made, and the user's file stays as it was."""
        return self.commit(free_name(self.path.with_name(f"{self.path.stem}.partial{self.path.suffix}")))

    def discard(self) -> None:
        """Remove what is left at the temporary name (nothing, after a commit)."""
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> Path:
        return self.tmp

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        """Commit if the block succeeded; always leave nothing behind at the temporary name."""
        try:
            if kind is None:
                self.commit()
        finally:
            self.discard()


@contextmanager
def atomic_output(path: str | Path, force: bool = False) -> Iterator[Path]:
    """A user's output file: checked first (`check_writable`), written at the yielded temporary path, moved into
    place only if the block succeeds; a failure to write is a one-line error naming the file."""
    path = Path(path)
    check_writable(path, force)
    try:
        with AtomicFile(path) as tmp:
            yield tmp
    except OSError as e:
        raise LavliveError(f"{path}: cannot write ({e.strerror or e})") from None


def write_bytes(path: Path, data: bytes) -> None:
    """`data` as the file `path`, complete or not at all (work folders, where a re-run trusts what it finds)."""
    with AtomicFile(path) as tmp:
        tmp.write_bytes(data)
