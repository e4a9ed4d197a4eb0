"""Ctrl-C and SIGTERM as requests: long-running commands stop at a safe point instead of mid-write."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def signals_call(callback: Callable[[int], None]) -> Iterator[None]:
    """SIGINT and SIGTERM call `callback(signum)` instead of raising; SIGXFSZ (a file size limit) is
    ignored so writing fails with an error instead of killing the process. Signals the caller had
    ignored (nohup, background jobs) stay ignored; everything is restored on exit."""
    def handler(signum: int, frame: object) -> None:
        callback(signum)

    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) is not signal.SIG_IGN:
            previous[sig] = signal.signal(sig, handler)
    if hasattr(signal, "SIGXFSZ"):
        previous[signal.SIGXFSZ] = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
