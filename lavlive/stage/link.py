"""The stage inputs of a show (the player's keys, and the OSC in and out and MIDI a command asked
for), feeding one StageControls, and the bridge from them to the control paths that are running.

Input threads only queue changes; the analysis thread calls `apply_to(paths)` before it pushes
audio, so a change takes effect on the next block (a new seed or preset fading in over the
crossfade). Every value set so far is remembered, so a path that starts later (the next track of
a playlist) gets the same look at once (`catch_up`). What the show does goes back out over OSC.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ..errors import LavliveError, given
from ..lav.control import ControlPath
from ..presets import Preset
from .parameters import Action, StageControls, apply, preset_values

log = logging.getLogger(__name__)


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


class StageLink:
    """Keys, OSC and MIDI inputs (any or none), their controls, and what has been set through them."""

    def __init__(self, preset: Preset, osc: str | None = None, osc_send: str | None = None,
                 midi_map: str | None = None, midi_port: str | None = None, crossfade: float = 0.0,
                 on_beat: bool = False) -> None:
        from . import MidiInput, OscServer, OscState, load_midi_map  # python-osc and mido: only once a show starts

        self.controls = StageControls(preset, crossfade, on_beat)
        self.values: dict[str, Any] = {}  # every parameter set so far, for paths that start later
        self._lock = threading.Lock()
        self._beats = 0  # beats counted up to the frame last shown
        self.osc = self.state_out = self.midi = None
        try:
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

    def apply_to(self, paths: list[ControlPath]) -> None:
        """Analysis thread: pending changes to every running path (a seed or preset switch fades over the
        current crossfade)."""
        changes = self.controls.take()
        with self._lock:
            self.values.update(changes)
        if changes:
            state = self.controls.state()
            for path in paths:
                apply(changes, path, state["crossfade"], bool(state["crossfade/beat"]))

    def catch_up(self, path: ControlPath) -> None:
        """Analysis thread: everything set so far, at once, to a path that starts now (the next track)."""
        with self._lock:
            values = dict(self.values)
        if values:
            apply(values, path)

    def actions(self) -> list[Action]:
        """Main thread: triggers to carry out (a preset switch is turned into its values here)."""
        out = []
        for action in self.controls.actions():
            if action.name == "preset":
                values = preset_values(action.value)
                self.controls.reset(action.value)
                with self._lock:
                    self.values.update(values)
                self.controls.set_many(values)
                log.info("preset: %s", action.value.name)
            out.append(action)
        return out

    def shown(self, onset: float, beats: int) -> None:
        """Main thread, per frame on screen: /lavlive/onset, and /lavlive/beat when a beat came on screen."""
        if self.state_out is not None:
            self.state_out.onset(onset)
            if beats > self._beats:
                self.state_out.beat()
        self._beats = beats  # a new show counts from 0 again

    def send_state(self, fps: float) -> None:
        if self.state_out is not None:
            self.state_out.send(self.controls.state())
            self.state_out.fps(fps)

    def close(self) -> None:
        for part in (self.osc, self.state_out, self.midi):
            if part is not None:
                part.close()
