"""How a long-running show is doing, for whatever watches it: a health file, and systemd's watchdog.

Once a second the player writes one small JSON object to `--health-file`: when the last frame reached
the screen (`last_frame`, Unix time), frames/s, frames shown, skipped and dropped so far, the A/V offset,
the track and where in it, the warnings and errors logged so far with the last one, and the process's
memory, threads and open files. A watchdog restarts a show whose `last_frame` is older than it tolerates.

Under systemd (`Type=notify`, docs/installations.md) the player also tells the service manager READY=1
once the first frame is on screen and WATCHDOG=1 once a second while frames keep coming (or the show is
paused), so `WatchdogSec=` restarts a show that stalls without a script of one's own.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from ..files import FileKeeper

log = logging.getLogger(__name__)

STALLED_SECONDS = 5.0  # no frame for this long while playing: no WATCHDOG=1
STARTING_SECONDS = 120.0  # a show (re)starting for longer than this after READY=1: no WATCHDOG=1 either
HEALTH_EVERY = 1.0  # seconds between health lines


def process_usage() -> dict[str, float | int | None]:
    """This process's resident memory (MiB), threads (native ones too), open file descriptors and CUDA memory
    (MiB); None where the system does not say (no /proc, no CUDA in use)."""
    gpu = torch.cuda.memory_allocated() / 2**20 if torch.cuda.is_available() and torch.cuda.is_initialized() else None
    usage: dict[str, float | int | None] = {"rss_mib": None, "threads": None, "fds": None, "gpu_mib": gpu}
    try:
        with open("/proc/self/statm") as f:
            usage["rss_mib"] = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        usage["threads"] = len(os.listdir("/proc/self/task"))
        usage["fds"] = len(os.listdir("/proc/self/fd"))
    except OSError:
        pass
    return usage


class Tally(logging.Handler):
    """Counts the warnings and errors logged while a show runs, and keeps the last one."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.warnings = self.errors = 0
        self.last = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.errors += 1
        else:
            self.warnings += 1
        try:
            self.last = (record.getMessage().splitlines() or [""])[0][:300]
        except Exception:  # noqa: BLE001 - a malformed record is counted, not fatal
            self.last = str(record.msg)[:300]


@dataclass
class Health:
    """One health line (see the module docstring); `time` and `last_frame` are Unix times."""

    time: float
    state: str  # "starting" (no frame yet), "playing" or "paused"
    last_frame: float | None
    fps: float
    frames_shown: int
    frames_skipped: int
    frames_dropped: int
    av_offset_ms_mean: float | None  # live: from the input's capture to the screen
    av_offset_ms_p95: float | None
    track: str | None
    track_seconds: float | None
    tracks_played: int
    tracks_skipped: int
    warnings: int
    errors: int
    last_problem: str
    rss_mib: float | None
    threads: int | None
    fds: int | None
    gpu_mib: float | None  # CUDA memory allocated by torch, once CUDA is in use
    pid: int

    def json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":")) + "\n"

    @property
    def healthy(self) -> bool:
        """Frames are coming (or the show is paused or still starting)."""
        return self.state in ("starting", "paused") or (self.last_frame is not None and
                                                        self.time - self.last_frame < STALLED_SECONDS)


def read_health(path: Path) -> dict[str, Any]:
    """A health file as written (for watchdogs and benchmarks)."""
    return json.loads(path.read_text(encoding="utf-8"))


class Systemd:
    """sd_notify without libsystemd: datagrams to $NOTIFY_SOCKET, when the service manager set one."""

    def __init__(self) -> None:
        address = os.environ.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):  # the abstract namespace
            address = "\0" + address[1:]
        self.address = address or None
        self.ready = False
        self._starting_since: float | None = None  # when the show began (re)starting after READY=1
        self._socket: socket.socket | None = None
        if self.address is not None:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    def notify(self, health: Health) -> None:
        """READY=1 at the first frame, then WATCHDOG=1 while healthy, with a STATUS line."""
        if self._socket is None:
            return
        lines = []
        if not self.ready and health.last_frame is not None:
            self.ready = True
            lines.append("READY=1")
        if health.state != "starting":
            self._starting_since = None
        elif self._starting_since is None:
            self._starting_since = health.time
        stuck = self._starting_since is not None and health.time - self._starting_since > STARTING_SECONDS
        if self.ready and health.healthy and not stuck:  # a pre-roll that hangs is a stall too
            lines.append("WATCHDOG=1")
        track = " ".join((health.track or "no track").split())  # one line, whatever the file is called
        lines.append(f"STATUS={health.state}, {health.fps:.0f} fps, {track}")
        try:
            self._socket.sendto("\n".join(lines).encode(errors="replace"), self.address)
        except OSError as e:
            log.debug("systemd notify failed: %s", e)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()


class HealthReporter:
    """What a player does for whoever watches it, once a second: a health line to `path` (written by `files` in
    the background; no file if None) and systemd's watchdog fed (under systemd). Counts the warnings and errors
    logged while it is open."""

    def __init__(self, path: Path | None, files: FileKeeper | None) -> None:
        self.path, self.files = path, files
        self.tally = Tally()
        self.systemd = Systemd()
        self._next = 0.0  # monotonic
        logging.getLogger("lavlive").addHandler(self.tally)

    def due(self) -> bool:
        """Time for a health line (and someone to tell)."""
        if time.monotonic() < self._next or (self.path is None and self.systemd.address is None):
            return False
        self._next = time.monotonic() + HEALTH_EVERY
        return True

    def report(self, health: Health) -> None:
        if self.path is not None and self.files is not None:
            self.files.put(self.path, health.json())
        self.systemd.notify(health)

    def close(self) -> None:
        logging.getLogger("lavlive").removeHandler(self.tally)
        self.systemd.close()
