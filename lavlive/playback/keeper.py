"""What a player does for whoever looks after a long show: every few seconds the state a restarted show
resumes from (`--state-file`, playback/resume.py), and every second a health line (`--health-file`) and
systemd's watchdog (playback/health.py). Files are written in the background (files.FileKeeper)."""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from typing import Any, Protocol

import numpy as np

from ..files import FileKeeper
from .health import Health, HealthReporter, process_usage
from .resume import SAVE_EVERY, ShowState, inputs_key

log = logging.getLogger(__name__)

Show = Any  # player.Show: what is playing now (sounding(), clock(), rate, running, engine)


class Player(Protocol):
    """What the keeper reads of the player (player.Player)."""

    options: Any  # PlayOptions
    order: Any  # PlayOrder
    playlist: Any
    presenter: Any
    shown: int
    played: int
    skipped: int
    paused: bool
    offsets: deque[float]
    last_frame: float | None
    earlier_losses: tuple[int, int]


class ShowKeeper:
    """Opened for a player's run (`tick` once per pass of its loop, `close` as it ends)."""

    def __init__(self, player: Player) -> None:
        self.player = player
        options = player.options
        self.state_file = options.state_file
        keep = options.state_file is not None or options.health_file is not None
        self.files = FileKeeper(log.warning) if keep else None
        self.health_line = HealthReporter(options.health_file, self.files)
        self._next_save = 0.0  # monotonic

    def tick(self, show: Show) -> None:
        if show.running:
            self._keep_state(show)
        if self.health_line.due():
            self.health_line.report(self.health(show))

    def close(self, show: Show | None) -> None:
        """The last state (a clean stop resumes exactly there), then every file written."""
        self.health_line.close()
        if show is not None:
            try:
                self._keep_state(show, force=True)
            except Exception:  # noqa: BLE001 - the last state is a courtesy; closing the show is not
                log.exception("the show's last state was not kept")
        if self.files is not None:
            self.files.close()

    def state(self, show: Show) -> ShowState | None:
        """What a show started again with --resume needs to go on from what is heard now; None before a track
        sounds."""
        p = self.player
        now = show.sounding()
        place = None if now is None else p.order.at(now[1].track.position)
        if place is None:
            return None
        slot = now[1]
        entry, path = slot.track.entry, slot.track.path
        grid = None if path is None else path.sources.bar_grid()
        preset, values = p.options.stage.look()
        into = max(0.0, show.clock() - slot.start / show.rate)
        return ShowState(inputs=inputs_key(p.options.inputs), pass_index=place.pass_index, index=place.index,
                         path=str(entry.path.resolve()), seconds=entry.start + into,
                         bar=None if grid is None else (entry.start + grid[0], grid[1]),
                         shuffle_seed=p.playlist.shuffle_seed, preset=None if preset is None else preset.to_dict(),
                         values=values)

    def _keep_state(self, show: Show, force: bool = False) -> None:
        """Every SAVE_EVERY seconds (or now, with `force`), the show's state to the state file."""
        if self.state_file is None or self.files is None or (time.monotonic() < self._next_save and not force):
            return
        self._next_save = time.monotonic() + SAVE_EVERY
        state = self.state(show)
        if state is not None:
            self.files.put(self.state_file, state.to_json(), durable=True)

    def health(self, show: Show) -> Health:
        p, tally = self.player, self.health_line.tally
        stats = show.engine.stats
        skipped, dropped = p.earlier_losses
        offsets = np.abs(np.array(p.offsets)) * 1000 if p.offsets else None
        now = show.sounding()
        return Health(time=time.time(), state="starting" if not show.running else "paused" if p.paused else "playing",
                      last_frame=p.last_frame, fps=round(p.presenter.fps, 2), frames_shown=p.shown,
                      frames_skipped=skipped + stats.frames_skipped, frames_dropped=dropped + stats.frames_dropped,
                      av_offset_ms_mean=None if offsets is None else round(float(np.mean(offsets)), 2),
                      av_offset_ms_p95=None if offsets is None else round(float(np.percentile(offsets, 95)), 2),
                      track=None if now is None else now[1].track.entry.name,
                      track_seconds=None if now is None else
                      round(now[1].track.entry.start + show.clock() - now[1].start / show.rate, 2),
                      tracks_played=p.played, tracks_skipped=p.skipped, warnings=tally.warnings, errors=tally.errors,
                      last_problem=tally.last, pid=os.getpid(), **process_usage())
