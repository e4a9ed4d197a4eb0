"""Progress bars for work whose size is only a guess: headers lie, and live streams have none.

A total of None or 0 shows a running count without a bar. When the count runs past the total
(a track longer than its header says), the total follows the count, so the bar stays full instead
of breaking. `done()` sets the total to the count, so work that ended early (a track shorter than
its header says) still finishes at 100 %.
"""

from __future__ import annotations

from types import TracebackType

from tqdm import tqdm


class Progress:
    def __init__(self, total: float | None, unit: str, desc: str, scale: float = 1.0, leave: bool = True) -> None:
        """`total` and updates count in `unit` / `scale` (e.g. samples, shown as seconds with scale 1/rate)."""
        self._bar = tqdm(total=total if total and total > 0 else None, unit=unit, desc=desc, leave=leave,
                         unit_scale=scale if scale != 1.0 else False, dynamic_ncols=True)

    def update(self, n: float = 1) -> None:
        bar = self._bar
        if bar.total is not None and bar.n + n > bar.total:
            bar.total = bar.n + n
        bar.update(n)

    def done(self) -> None:
        """The work is complete: whatever the guess was, the count is the total."""
        self._bar.total = self._bar.n
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
