"""Writing files safely: never overwrite a user's file without --force, never leave one half-written.

Every file lavlive writes (a video, a partial video, a segment and its snapshot, a cached statistics
or network file, an analysis plot, a sidecar) is made under a hidden temporary name beside its
target, `.NAME.WORD-PID.EXT`, and moved into place in one rename once it is complete: a reader sees
the old file or the new one, never a part of one. `AtomicFile` is that rename; this module is the
only place lavlive moves a file into place. Files a long show rewrites every few seconds go through
`FileKeeper`, a background writer, so the disk never holds up a frame.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
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


def replace_text(path: Path, text: str, durable: bool = False) -> None:
    """`text` as the file `path`: a reader (or a restart after a crash) finds the old text or the new, never a
    part. `durable` also waits until it is on the disk, so a power cut right after keeps it."""
    with AtomicFile(path, "writing") as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            if durable:
                f.flush()
                os.fsync(f.fileno())
    if durable:  # the rename too
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def remove_leftovers(path: Path, word: str) -> None:
    """Temporary files of `path` (`AtomicFile(path, word)`) that other processes left behind when they were killed
    mid-write: a kiosk restarted by a watchdog every night must not fill its folder with them."""
    mine = AtomicFile(path, word).tmp.name
    for leftover in path.parent.glob(f".{path.stem}.{word}-*{path.suffix}"):
        if leftover.name != mine:
            leftover.unlink(missing_ok=True)


class FileKeeper:
    """Small files a long show rewrites every few seconds (its state, its health), written by one background
    thread so a slow or full disk never holds up a frame. Only the newest text of each file is written; a
    failure is said once per file (and again once it works again), and the show goes on."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say
        self._latest: dict[Path, tuple[str, bool]] = {}
        self._failing: set[Path] = set()
        self._seen: set[Path] = set()
        self._wake = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="lavlive-files", daemon=True)
        self._thread.start()

    def put(self, path: Path, text: str, durable: bool = False) -> None:
        """Have `path` hold `text` soon (replacing a text not yet written)."""
        with self._wake:
            self._latest[path] = (text, durable)
            self._wake.notify()

    def close(self, timeout: float = 5.0) -> None:
        """Write what is waiting (for up to `timeout` seconds), then stop."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._latest and not self._closed:
                    self._wake.wait()
                if not self._latest:
                    return
                path, (text, durable) = self._latest.popitem()
            self._write(path, text, durable)

    def _write(self, path: Path, text: str, durable: bool) -> None:
        try:
            if path not in self._seen:
                self._seen.add(path)
                remove_leftovers(path, "writing")
            replace_text(path, text, durable)
        except OSError as e:
            if path not in self._failing:
                self._failing.add(path)
                self.say(f"{path}: cannot write ({e.strerror or e}); trying again with each update")
            return
        if path in self._failing:
            self._failing.discard(path)
            self.say(f"{path}: written again")
