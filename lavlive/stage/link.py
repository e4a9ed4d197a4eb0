"""The stage inputs of a show (the player's keys, and the OSC in and out, MIDI and Ableton Link a
command asked for), feeding one StageControls, and the bridge from them to the control paths that
are running.

Input threads only queue changes; the analysis thread calls `apply_to(paths)` before it pushes
audio, so a change takes effect on the next block (a new seed or preset fading in over the
crossfade). Every value set so far is remembered, so a path that starts later (the next track of
a playlist) gets the same look at once (`catch_up`). What the show does goes back out over OSC.

Where switches start (`switch_on`): at once; on the next detected beat; or on the next beat or bar
line of the Link session (`link-beat`, `link-bar`). A Link line is an instant on the host clock; the
player's `clock` (seconds of the show seen now) turns it into a time in each path's audio, and the
line chosen is the first one the paths have not yet analysed past (the analysis runs ahead of what
is shown, by about half a second in play: a switch asked for later than that before a line takes
the one after).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import LavliveError, given, shown
from ..control import ControlPath
from ..presets import Preset
from .parameters import Action, StageControls, StageError, apply, check, preset_values

log = logging.getLogger(__name__)

SWITCH_ON = ("now", "beat", "link-beat", "link-bar")


def parse_endpoint(text: str, option: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """'9000' or 'HOST:9000' → (host, port), or a one-line error naming the option."""
    host, _, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise LavliveError(f"{option} {given(text)}: use PORT or HOST:PORT (port 0 to 65535)")
    return host or default_host, number


@dataclass(frozen=True)
class StageSettings:
    """What steers a show besides the keys, as the command line gives it: OSC in ([HOST:]PORT) and out, a MIDI
    map and port, how long switches fade (`crossfade`, seconds) and where they start, Ableton Link, the web page."""

    osc: str | None = None
    osc_send: str | None = None
    midi_map: str | None = None
    midi_port: str | None = None
    crossfade: float = 0.0
    switch_on: str = "now"
    link: bool = False
    link_quantum: int = 4
    web: str | None = None  # the control page's [HOST:]PORT: opened by the show beside these (lavlive.web)

    def open(self, preset: Preset) -> StageLink:
        """The inputs these settings ask for, feeding controls that start from `preset`."""
        if not 0 <= self.crossfade <= 60:
            raise LavliveError(f"--switch-fade {self.crossfade:g}: use 0 to 60 seconds")
        return StageLink(preset, self.osc, self.osc_send, self.midi_map, self.midi_port, self.crossfade,
                         self.switch_on, self.link, self.link_quantum)


class StageLink:
    """Keys, OSC, MIDI and Link inputs (any or none), their controls, and what has been set through them."""

    def __init__(self, preset: Preset, osc: str | None = None, osc_send: str | None = None,
                 midi_map: str | None = None, midi_port: str | None = None, crossfade: float = 0.0,
                 switch_on: str = "now", link: bool = False, link_quantum: int = 4) -> None:
        from .midi import MidiInput, load_midi_map  # mido and python-osc: imported once a show starts
        from .osc import OscServer, OscState

        if switch_on not in SWITCH_ON:
            raise LavliveError(f"--switch-on {given(switch_on)}: use one of {', '.join(SWITCH_ON)}")
        if switch_on.startswith("link") and not link:
            raise LavliveError(f"--switch-on {switch_on}: needs --link (to join an Ableton Link session)")
        self.controls = StageControls(preset, crossfade, switch_on == "beat")
        self.switch_on = switch_on
        self.base_preset = preset  # the look the show started from
        # Told of every change applied to a path (path, values, crossfade, on_beat, at): a recording's sidecar.
        self.journal: Callable[..., None] | None = None
        self.clock: Callable[[], float] | None = None  # seconds of the show seen now (-inf: not started); the player's
        self.values: dict[str, Any] = {}  # every parameter set so far, for paths that start later
        self.preset: Preset | None = None  # the preset last switched to on stage, if any
        self._lock = threading.Lock()
        self._beats = 0  # beats counted up to the frame last shown
        self._link_beat = math.inf  # the Link beat last reported over OSC
        self.osc = self.state_out = self.midi = self.link = None
        try:
            if link:
                from .ableton import AbletonLink  # the optional binding: only with --link

                self.link = AbletonLink(link_quantum)
            if osc is not None:
                host, port = parse_endpoint(osc, "--osc")
                self.osc = OscServer(self.controls, host, port).start()
                log.info("OSC: listening on %s:%d (/lavlive/...)", host, self.osc.port)
            if osc_send is not None:
                self.state_out = OscState(*parse_endpoint(osc_send, "--osc-send"))
            if midi_map is not None:
                self.midi = MidiInput(load_midi_map(midi_map), self.controls, midi_port)
        except BaseException:
            self.close()
            raise

    def set_switch_on(self, mode: object) -> None:
        """Where switches start from now on (one of SWITCH_ON; the Link ones need --link); StageError if refused."""
        if mode not in SWITCH_ON:
            raise StageError(f"stage: switch on {shown(mode)}: use one of {', '.join(SWITCH_ON)}")
        if str(mode).startswith("link") and self.link is None:
            raise StageError(f"stage: switch on {mode}: this show has no Ableton Link session (--link)")
        self.switch_on = str(mode)
        self.controls.set("crossfade/beat", int(mode == "beat"))

    @property
    def switch_mode(self) -> str:
        """Where the next switch starts, as the controls say now ('crossfade/beat' may have been set over OSC)."""
        if self.switch_on.startswith("link"):
            return self.switch_on
        return "beat" if self.controls.state()["crossfade/beat"] else "now"

    @property
    def switch_modes(self) -> tuple[str, ...]:
        return SWITCH_ON if self.link is not None else SWITCH_ON[:2]

    def apply_to(self, paths: list[tuple[ControlPath, float]]) -> None:
        """Analysis thread: pending changes to every running path, given with the show time its audio
        starts at (a seed or preset switch fades over the current crossfade, from where `switch_on` says)."""
        self._follow_link(paths)
        changes = self.controls.take()
        with self._lock:
            self.values.update(changes)
        if changes:
            state = self.controls.state()
            at = self._line(paths) if "seed" in changes else None
            for path, origin in paths:
                how = (state["crossfade"], bool(state["crossfade/beat"]), None if at is None else at - origin)
                if self.journal is not None:
                    self.journal(path, changes, *how)
                apply(changes, path, *how)

    def _follow_link(self, paths: list[tuple[ControlPath, float]]) -> None:
        """The session's timeline against each path's audio time, for the 'link/beat' and 'link/bar' sources: a
        path's second t reaches the screen at show time origin + t, the screen shows `seen` now."""
        if self.link is None or self.clock is None or not paths:
            return
        seen = self.clock()
        if not math.isfinite(seen):
            return
        now = self.link.now()
        rate = now.tempo / 60
        for path, origin in paths:
            path.sources.set_link(now.beat + (origin - seen) * rate, rate, now.quantum)

    def _line(self, paths: list[tuple[ControlPath, float]]) -> float | None:
        """The show time of the Link line a switch starts on, if it waits for one."""
        if self.link is None or not self.switch_on.startswith("link") or self.clock is None or not paths:
            return None
        seen, now = self.clock(), time.monotonic()
        if not math.isfinite(seen):
            log.info("switch: the show has not started; switching at once")
            return None
        earliest = max(origin + path.next_time for path, origin in paths)  # not yet analysed: still changeable
        unit = self.switch_on.removeprefix("link-")
        instant, beat = self.link.next_line(now + max(0.0, earliest - seen), unit)
        log.info("switch: on Link %s line %g, in %.2f s (the analysis is %.2f s ahead of the screen)", unit, beat,
                 instant - now, earliest - seen)
        return seen + instant - now

    def catch_up(self, path: ControlPath) -> None:
        """Analysis thread: everything set so far, at once, to a path that starts now (the next track)."""
        with self._lock:
            values = dict(self.values)
        if values:
            if self.journal is not None:
                self.journal(path, values)
            apply(values, path)

    def look(self) -> tuple[Preset | None, dict[str, Any]]:
        """What was set on stage so far, for a show to come back to (playback/resume.py): the preset switched to
        (None: none) and every value (routes aside: they are the preset's)."""
        with self._lock:
            return self.preset, {k: v for k, v in self.values.items() if k != "routes"}

    def restore(self, preset: Preset | None, values: dict[str, Any]) -> None:
        """Before a show starts: the look a show had on stage (`look()`), so its tracks start with it. A value
        that is no longer accepted is left out with a log line."""
        restored = preset_values(preset, routes=True) if preset is not None else {}
        for name, value in values.items():
            try:
                restored[name] = check(name, value)
            except LavliveError as e:
                log.warning("resume: %s left out (%s)", name, e)
        if preset is not None:
            self.preset = preset
            self.controls.reset(preset)
        with self._lock:
            self.values.update(restored)
        self.controls.set_many(restored)

    def actions(self) -> list[Action]:
        """Main thread: triggers to carry out (a preset switch is turned into its values here)."""
        out = []
        for action in self.controls.actions():
            if action.name == "preset":
                values = preset_values(action.value, routes=True)
                self.controls.reset(action.value)
                self.preset = action.value
                with self._lock:
                    self.values.update(values)
                self.controls.set_many(values)
                log.info("preset: %s", action.value.name)
            out.append(action)
        return out

    def shown(self, onset: float, beats: int) -> None:
        """Main thread, per frame on screen: /lavlive/onset, and /lavlive/beat when a beat came on screen;
        with Link, /lavlive/link/phase, and /lavlive/link/beat when a beat of the session has passed."""
        if self.state_out is not None:
            self.state_out.onset(onset)
            if beats > self._beats:
                self.state_out.beat()
            if self.link is not None:
                now = self.link.now()
                self.state_out.link_phase(now.phase)
                if math.floor(now.beat) > self._link_beat:
                    self.state_out.link_beat(math.floor(now.phase))
                self._link_beat = math.floor(now.beat)
        self._beats = beats  # a new show counts from 0 again

    def link_status(self) -> str | None:
        """Tempo, beat of the bar and peers, for the stats line; None without Link."""
        return None if self.link is None else self.link.now().describe()

    def link_figures(self) -> dict[str, Any]:
        """Tempo and peers for the control page; empty without Link."""
        if self.link is None:
            return {}
        now = self.link.now()
        return {"tempo": round(float(now.tempo), 1), "peers": int(now.peers)}

    def send_state(self, fps: float) -> None:
        if self.state_out is not None:
            self.state_out.send(self.controls.state())
            self.state_out.fps(fps)
            if self.link is not None:
                self.state_out.link(self.link.now())

    def close(self) -> None:
        for part in (self.osc, self.state_out, self.midi, self.link):
            if part is not None:
                part.close()
