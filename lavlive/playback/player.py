"""The player: the window's loop on the main thread, with the audio clock as master.

Each pass of the loop handles input, then shows the newest finished frame whose presentation
time has come on the clock of what is heard (the audio output's DAC time, plus the display's
latency when the user gives it), and sleeps until the next frame is due. It never waits for
synthesis: when synthesis is slow the engine skips frames and the window keeps the last one.

A `Show` is one run of the setlist from some track: its feeder, plan and engine. Pausing
freezes the audio clock and with it everything downstream; next / previous start a new show
from another track while the window keeps the last picture.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import LavliveError
from ..output.audio import AudioOutput
from ..output.display import Display
from ..output.display.ndi import NdiOutput
from ..pipeline.engine import Engine
from ..pipeline.frame import Frame
from ..pipeline.setlist import SetlistPlan, Slot
from ..presets import Preset
from ..stage import StageLink
from .feeder import Feeder, Upcoming
from .keeper import ShowKeeper
from .order import PlayOrder
from .playlist import Entry, Playlist
from .preparer import Preparer
from .presenter import FrameLog, Presenter, ws_fingerprint
from .recording import Recording, track_info

if TYPE_CHECKING:
    from ..web.server import WebServer

log = logging.getLogger(__name__)

RESTART_SECONDS = 3.0  # 'previous' later than this into a track restarts it, as music players do
MAX_SLEEP = 0.01  # the loop wakes at least this often for input


@dataclass
class PlayOptions:
    fps: Fraction
    display_latency: float = 0.0  # seconds the screen takes to show a swapped frame
    stats: bool = False
    frame_log: Path | None = None
    kiosk: bool = False
    synthesis_threads: int = 1
    stage: StageLink = field(default_factory=lambda: StageLink(Preset()))  # keys, OSC and MIDI steer the look
    ndi: NdiOutput | None = None  # every shown frame also goes out over NDI
    web: WebServer | None = None  # the control page: the playlist, stats and preview go to it
    inputs: tuple[str, ...] = ()  # the command's inputs, named in the state file
    state_file: Path | None = None  # where to keep the show's state (playback/resume.py) every few seconds
    health_file: Path | None = None  # where to write a health line every second (playback/health.py)
    start: tuple[int, float] = (0, 0.0)  # (position in the play order, seconds into its file) to start at
    record: Path | None = None  # record what is shown and heard (playback/recording.py)
    settings: dict[str, Any] = field(default_factory=dict)  # the show's settings, for a recording's sidecar


class Show:
    """The setlist from one position in the play order: feeder → plan → engine, on the audio clock."""

    def __init__(self, position: int, upcoming: Upcoming, audio: AudioOutput, options: PlayOptions, base: int,
                 on_skip, backoff_after: int) -> None:
        self.position = position  # where in the play order this show started
        self.audio, self.base, self.latency = audio, base, options.display_latency
        self.rate = audio.sample_rate
        self.running = False  # audio for this show is playing (after the pre-roll)
        # Uploading, drawing and swapping take time too (on a software renderer, milliseconds): frames
        # are taken that much early so they reach the screen on time. Measured by the player.
        self.present_seconds = 0.0
        self.feeder = Feeder(upcoming, audio, on_skip, backoff_after)
        self.plan = SetlistPlan(self.feeder, options.fps, options.stage)
        self.engine = Engine(self.plan, None, batch=1, clock=self.due, ahead_frames=math.ceil(options.fps / 2),
                             synthesis_threads=options.synthesis_threads)
        self.feeder.start()
        self.engine.start()

    def clock(self) -> float:
        """Seconds into the show of what is heard now; -inf before its audio starts."""
        return self.audio.clock() - self.base / self.rate if self.running else -math.inf

    def due(self) -> float:
        """The presentation time to hand to the display now: what is heard, plus the display's latency
        and the time it takes to put a frame on screen."""
        return self.clock() + self.latency + self.present_seconds

    def now_playing(self) -> tuple[int, float]:
        """(position in the play order, seconds into that track) of what is heard; the start before it plays."""
        now = self.sounding()
        if now is None:
            return self.position, 0.0
        return now[1].track.position, self.clock() - now[1].start / self.rate

    def sounding(self) -> tuple[int, Slot] | None:
        """The slot heard now (the later one in a crossfade)."""
        t = self.clock() * self.rate
        for k, slot in self.feeder.slots.newest_first():  # the latest few: the ones heard are among them
            if slot.start <= t:
                return k, slot
        return None

    @property
    def end(self) -> float | None:
        """Seconds to the end of the last track, once the feeder has written everything."""
        slots = self.feeder.slots
        if not self.feeder.finished or not slots or slots[-1].end is None:
            return None
        return slots[-1].end / self.rate

    def close(self, timeout: float = 0.3) -> bool:
        """Stop every thread, then wait up to `timeout` for them; False if one is still busy (a long draw)."""
        self.plan.stop()
        self.feeder.stop()
        self.engine.stop()
        done = self.engine.close(timeout)
        self.feeder.join(0.05)
        return done and not self.feeder.alive


class Player:
    """Plays a playlist in a window with sound until it ends or the user quits."""

    def __init__(self, playlist: Playlist | PlayOrder, window: Display, audio: AudioOutput, preparer: Preparer,
                 options: PlayOptions) -> None:
        self.order = playlist if isinstance(playlist, PlayOrder) else PlayOrder(playlist)
        self.window, self.audio, self.preparer = window, audio, preparer
        self.options = options
        self.presenter = Presenter(window, options.stage, options.ndi, options.stats, options.web)
        self.show: Show | None = None
        self.stopped_by: int | None = None  # the signal that ended the show, if any
        self.paused = False
        self.played = 0  # tracks announced
        self.skipped = 0
        self._last_skip = ""
        self._announced = -1
        self.offsets: deque[float] = deque(maxlen=256)  # the latest frames' A/V offsets (s)
        self._frame_log: FrameLog | None = None
        self._resume: tuple[int, float] | None = options.start if options.start[1] > 0 else None
        self.earlier_losses = (0, 0)  # frames skipped and dropped by the shows before this one
        self.last_frame: float | None = None  # Unix time the last frame reached the screen
        self._keeper: ShowKeeper | None = None  # while running: the state and health files, systemd
        self._recording: Recording | None = None

    # -- the play order ----------------------------------------------------------------------

    @property
    def playlist(self) -> Playlist:
        """The playlist as last read (a looping show reads it again each pass)."""
        return self.order.playlist

    def entry_at(self, position: int) -> Entry | None:
        place = self.order.at(position)
        return None if place is None else place.entry

    def upcoming(self, position: int) -> Iterator:
        """(entry, crossfade, preparation) from `position` on; preparation starts when the feeder asks. A resumed
        show's first track starts where the state file says."""
        while (entry := self.entry_at(position)) is not None:
            if self._resume is not None and self._resume[0] == position:
                entry = dataclasses.replace(entry, start=self._resume[1])
                self._resume = None
            yield entry, self.order.crossfade_before(entry), self.preparer.submit(entry, position)
            position += 1

    def on_skip(self, entry: Entry, error: BaseException) -> None:
        """A track that cannot be played is skipped with a log line (called in the feeder's thread)."""
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        self.skipped += 1
        self._last_skip = reason if reason.startswith(str(entry.path)) else f"{entry.path}: {reason}"
        log.warning("skipped %s", self._last_skip)

    # -- the loop ----------------------------------------------------------------------------

    def stop(self, signum: int) -> None:
        """Called from a signal handler: end the loop at its next pass."""
        self.stopped_by = signum

    def run(self) -> int:
        if self.options.frame_log is not None:
            self._frame_log = FrameLog(self.options.frame_log, "index,time,clock,offset,track,shown,switch,ws")
        o = self.options
        if o.record is not None:
            self._recording = Recording(o.record, o.fps, self.audio.sample_rate, self.audio.channels, o.stage, "play",
                                        o.settings)
            self.audio.tap = self._recording.audio
        self._keeper = ShowKeeper(self)
        complete = False
        try:
            code = self._loop()
            complete = self.stopped_by is None
            return code
        finally:
            self._keeper.close(self.show)
            if self.show is not None:
                self.show.close()
            if self._frame_log is not None:
                self._frame_log.close()
            if self._recording is not None:
                self.audio.tap = None
                self._recording.close(complete)

    def _start(self, position: int) -> None:
        """A new show from `position`: audio already queued is dropped, the window keeps its picture."""
        if self.entry_at(position) is None and self.playlist.loop:
            position = self.order.oldest  # forgotten (the show went far past it): the oldest track still known
        if self.show is not None:
            stats, (skipped, dropped) = self.show.engine.stats, self.earlier_losses
            self.earlier_losses = (skipped + stats.frames_skipped, dropped + stats.frames_dropped)
            self.audio.pause(True)
            if not self.show.close():
                log.info("the previous track's threads are still finishing a frame")
        delivered = self.audio.delivered
        base = self.audio.flush()
        if self._recording is not None:
            self._recording.cut(delivered, base)  # queued for the old show, never heard
        self._announced = -1
        backoff = len(self.playlist.entries) if self.playlist.loop else 0  # every track failed: wait between tries
        self.show = Show(position, self.upcoming(position), self.audio, self.options, base, self.on_skip, backoff)
        self.options.stage.clock = self.show.clock  # what is heard is what is seen: Link lines land on both

    def _loop(self) -> int:
        self._start(self.options.start[0])
        while self.stopped_by is None:
            show = self.show
            for action in self.presenter.events():
                if action == "quit":
                    return 0
                self._act(action)
                if self.show is not show:
                    break
            for action in self.options.stage.actions():
                if action.name in ("next", "previous", "pause"):
                    self._act(action.name)
                elif action.name == "model":
                    log.info("model switching on stage is for lavlive live; in play, give tracks a model in a "
                             "TOML playlist")
            if self.show is not show:
                continue
            if not show.running and (show.engine.next_time is not None or show.feeder.finished):
                self._go(show)
            frame = self._take(show)
            if frame is not None:
                started = time.perf_counter()
                self.presenter.present(frame)
                show.present_seconds += 0.2 * (time.perf_counter() - started - show.present_seconds)
                self._shown(frame, show)
            self._announce(show)
            if show.engine.ended and show.feeder.finished:
                if not len(show.feeder.slots):
                    raise LavliveError(self._nothing_played())
                if show.end is None or show.clock() >= show.end or self.audio.silent:
                    return 0
            if show.running:
                self.presenter.report(lambda: self.stats_line(show), lambda: self.figures(show))
            self._keeper.tick(show)
            self._sleep(show)
        return 128 + self.stopped_by

    def _take(self, show: Show) -> Frame | None:
        """The frame to show now, if any. A failure inside the show (out of GPU memory, a broken
        model) ends the player with one line, or in kiosk mode is logged and the next track starts."""
        try:
            return show.engine.take(show.due())
        except LavliveError:
            raise
        except Exception as e:  # noqa: BLE001 - reported in one line, or survived in kiosk mode
            reason = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            if not self.options.kiosk:
                raise LavliveError(f"playback failed ({reason})") from None
            log.error("playback failed (%s); going on with the next track", reason)
            self._start(show.now_playing()[0] + 1)
            return None

    def _go(self, show: Show) -> None:
        """The pre-roll is done (the first frame is drawn): let the audio play (unless paused meanwhile)."""
        show.running = True
        self.audio.pause(self.paused)
        if not self.audio.started:
            self.audio.start()

    def _sleep(self, show: Show) -> None:
        wait = MAX_SLEEP
        nxt = show.engine.next_time
        if nxt is not None and show.running and not self.paused:
            wait = min(wait, max(0.0, nxt - show.due()))
        time.sleep(wait)

    def _act(self, action: str) -> None:
        show = self.show
        if action == "pause":
            self.paused = not self.paused
            if show.running:
                self.audio.pause(self.paused)
            log.info("paused" if self.paused else "playing")
        elif action in ("next", "previous"):
            position, into = show.now_playing()
            target = position + 1 if action == "next" else position - (into < RESTART_SECONDS)
            if self.entry_at(target) is None:
                target = position if action == "previous" else None
            if target is None:
                log.info("no next track")
                return
            self._start(max(0, target))

    # -- reporting ---------------------------------------------------------------------------

    def _shown(self, frame: Frame, show: Show) -> None:
        heard = show.clock()
        offset = heard + show.latency - frame.time  # > 0: the picture came late (after the swap: on screen)
        self.presenter.count(frame, time.monotonic())
        self.last_frame = time.time()
        self.offsets.append(offset)
        if self._recording is not None:
            self._recording.frame(show.base / show.rate + frame.time, frame)
        if self._frame_log is not None:
            now = show.sounding()
            self._frame_log.write(f"{frame.index},{frame.time:.6f},{heard:.6f},{offset:.6f},"
                                  f"{now[1].track.position if now else -1},{time.monotonic():.6f},{frame.switch:.6f},"
                                  f"{ws_fingerprint(frame.ws)}")

    def _announce(self, show: Show) -> None:
        now = show.sounding()
        if now is None or now[0] <= self._announced:
            return
        self._announced = now[0]
        self.played += 1
        track = now[1].track
        place = self.order.at(track.position)
        n = place.size if place is not None else len(self.playlist.entries)
        index = place.index if place is not None else track.position % n
        log.info("track %d/%d: %s", index + 1, n, track.describe())
        if self._recording is not None:
            self._recording.track(track.path, (show.base + now[1].start) / show.rate, track_info(track))
        self.presenter.publish("playlist", {"tracks": [e.name for e in self.playlist.entries], "current": index})

    def _nothing_played(self) -> str:
        return f"no track could be played (last: {self._last_skip})" if self.skipped else "no track could be played"

    @property
    def shown(self) -> int:
        """Frames shown so far."""
        return self.presenter.shown

    def figures(self, show: Show) -> dict[str, Any]:
        """How the show runs now: for the stats line and the control page."""
        s = show.engine.stats
        offsets = np.abs(np.array(self.offsets)) * 1000 if self.offsets else np.zeros(1)
        ws_q, frame_q = show.engine.queue_depths()
        ahead = (self.audio.written - self.audio.clock() * self.audio.sample_rate) / self.audio.sample_rate
        now = show.sounding()
        return {"fps": round(self.presenter.fps, 1), "skipped": s.frames_skipped, "dropped": s.frames_dropped,
                "queue_ws": ws_q, "queue_frames": frame_q,
                "audio_queued": None if self.audio.silent else round(ahead, 2),
                "av_mean_ms": round(float(np.mean(offsets)), 1),
                "av_p95_ms": round(float(np.percentile(offsets, 95)), 1),
                "draw_ms": round(s.draw_seconds * 1000, 1), "track": None if now is None else now[1].track.describe()}

    def stats_line(self, show: Show) -> str:
        f = self.figures(show)
        audio = "silent clock" if f["audio_queued"] is None else f"audio {f['audio_queued']:.1f} s queued"
        link = self.options.stage.link_status()
        return (f"{f['fps']:.1f} fps | skipped {f['skipped']} dropped {f['dropped']} | queues ws {f['queue_ws']} "
                f"frames {f['queue_frames']}, {audio} | A/V offset {f['av_mean_ms']:.0f} ms mean, "
                f"{f['av_p95_ms']:.0f} ms p95 | draw {f['draw_ms']:.0f} ms" + ("" if link is None else f" | {link}"))
