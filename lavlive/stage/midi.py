"""MIDI in: knobs, faders and pads of a hardware controller steer the look, through a mapping file.

Controllers differ in what each knob sends, so the mapping lives in a small TOML file the VJ writes
(or pastes together from `midi_learn`'s output) rather than in code; it is checked strictly on load so
a typo is found before the set, not during it:

    port = "Launch Control"   # optional: input port name (or part of it); default: the first one found

    [[cc]]                    # a control change (knob, fader)
    channel = 1               # 1-16; optional (any channel)
    control = 21              # 0-127
    parameter = "y"           # a parameter of lavlive.stage.parameters.PARAMETERS (not an action)
    min = 0.0                 # value at CC 0   (default: the parameter's range minimum)
    max = 3.0                 # value at CC 127 (default: its maximum); min > max turns the knob round

    [[cc]]
    control = 41
    action = "next"           # next / previous / pause: fires when the CC goes to 64 or more (button press)

    [[note]]                  # a note on (pad, key); note off and velocity 0 are ignored
    note = 36                 # 0-127; channel as above
    action = "next"           # next / previous / pause, or "preset" with value = "pulse"
    # parameter = "seed"      # or set a parameter to a fixed value
    # value = 5

One message may match several entries (one knob driving two parameters); each is applied. MIDI is
optional on stage: without a MIDI backend (python-rtmidi) or device, `MidiInput` says so once in the
log and the show goes on.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import LavliveError, shown
from ..presets import read_toml
from .parameters import ACTIONS, MODEL, PARAMETERS, PRESET, ROUTES, TRIGGER, StageControls, StageError, check
from .parameters import parameter as find_parameter

log = logging.getLogger(__name__)

NO_DEVICE = "MIDI: no input device; going on without MIDI"
TRIGGERS = tuple(name for name, p in PARAMETERS.items() if p.kind == TRIGGER)
SETTABLE = tuple(name for name, p in PARAMETERS.items() if not p.action and p.kind != ROUTES)  # and route/…
PRESS = 64  # a CC at or above this is a pressed button


class MidiMapError(LavliveError):
    """A mapping file that cannot be used: the message names the file, the entry and the key."""


@dataclass(frozen=True)
class Binding:
    """One [[cc]] or [[note]] entry, checked."""
    kind: str  # "cc" or "note"
    number: int  # control or note number
    channel: int | None  # 1-16; None: any
    parameter: str | None = None  # set this parameter …
    action: str | None = None  # … or fire this action
    low: float = 0.0  # cc: the value at 0
    high: float = 0.0  # cc: the value at 127
    value: Any = None  # note: the value set (a parameter's, or the preset name)


@dataclass
class MidiMap:
    bindings: list[Binding]
    port: str | None = None
    source: str = "MIDI map"

    def handle(self, message: Any, controls: StageControls) -> list[tuple[str, Any]]:
        """A mido message → controls.set(...) for each matching entry; returns what was set, as (name, value).
        Never raises: a refused value (a preset file deleted since) is logged."""
        kind = {"control_change": "cc", "note_on": "note"}.get(getattr(message, "type", None))
        if kind is None or (kind == "note" and message.velocity == 0):
            return []
        number = message.control if kind == "cc" else message.note
        channel = message.channel + 1
        done = []
        for b in self.bindings:
            if b.kind != kind or b.number != number or b.channel not in (None, channel):
                continue
            if b.action is not None:
                if kind == "cc" and message.value < PRESS:
                    continue
                name, value = b.action, b.value
            elif kind == "cc":
                name, value = b.parameter, _scale(b, message.value)
            else:
                name, value = b.parameter, b.value
            try:
                controls.set(name, value)
            except StageError as e:
                log.warning("MIDI: %s refused: %s", message, e)
                continue
            done.append((name, value))
        return done


def _scale(b: Binding, cc: int) -> float | int:
    t = cc / 127
    value = min(max(b.low * (1 - t) + b.high * t, min(b.low, b.high)), max(b.low, b.high))
    return round(value) if find_parameter(b.parameter).kind == "int" else value


_KEYS = {"cc": ("channel", "control", "parameter", "action", "min", "max"),
         "note": ("channel", "note", "parameter", "action", "value")}


def load_midi_map(path: str | Path) -> MidiMap:
    """Read and check a mapping file; MidiMapError (one line: file, entry, key) if anything is off."""
    path = Path(path)
    data = read_toml(path, MidiMapError)
    for key in data:
        if key not in ("port", "cc", "note"):
            raise MidiMapError(f"{path}: unknown key '{key}' (known: port, cc, note)")
    port = data.get("port")
    if port is not None and (not isinstance(port, str) or not port.strip()):
        raise MidiMapError(f"{path}: port = {shown(port)} should be a port name (or part of one)")
    bindings = []
    for kind in ("cc", "note"):
        entries = data.get(kind, [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise MidiMapError(f"{path}: '{kind}' should be a list of tables, written [[{kind}]]")
        for i, entry in enumerate(entries, 1):
            bindings.append(_binding(kind, entry, f"{path}: {kind} entry {i}"))
    if not bindings:
        raise MidiMapError(f"{path}: no [[cc]] or [[note]] entries")
    return MidiMap(bindings, port.strip() if port else None, str(path))


def _int(entry: dict, key: str, lo: int, hi: int, where: str) -> int | None:
    value = entry.get(key)
    if value is None:
        return None
    if type(value) is not int or not lo <= value <= hi:
        raise MidiMapError(f"{where}: {key} = {value!r} should be an integer {lo}-{hi}")
    return value


def _binding(kind: str, entry: dict, where: str) -> Binding:
    for key in entry:
        if key not in _KEYS[kind]:
            raise MidiMapError(f"{where}: unknown key '{key}' (known: {', '.join(_KEYS[kind])})")
    number_key = "control" if kind == "cc" else "note"
    if number_key not in entry:
        raise MidiMapError(f"{where}: key '{number_key}' is missing")
    number = _int(entry, number_key, 0, 127, where)
    channel = _int(entry, "channel", 1, 16, where)
    parameter, action = entry.get("parameter"), entry.get("action")
    if (parameter is None) == (action is None):
        raise MidiMapError(f"{where}: key 'parameter' or 'action' is needed, one of them")
    if action is not None:
        allowed = TRIGGERS if kind == "cc" else ACTIONS
        if action not in allowed:
            raise MidiMapError(f"{where}: action = {shown(action)} is not one of {', '.join(allowed)}")
        value = entry.get("value")
        if PARAMETERS[action].kind in (PRESET, MODEL):
            if value is None:
                raise MidiMapError(f"{where}: key 'value' is missing (the {action} to switch to)")
            _checked(action, value, "value", where)
        elif value is not None:
            raise MidiMapError(f"{where}: value = {value!r} is not used by action '{action}'; remove it")
        return Binding(kind, number, channel, action=action, value=value)
    if parameter not in SETTABLE and not (isinstance(parameter, str) and parameter.startswith("route/")
                                          and find_parameter(parameter) is not None):
        raise MidiMapError(f"{where}: parameter = {shown(parameter)} is not one of {', '.join(SETTABLE)}, "
                           "route/<name>/amount|gain|offset")
    if kind == "note":
        if "value" not in entry:
            raise MidiMapError(f"{where}: key 'value' is missing (the value the note sets)")
        return Binding(kind, number, channel, parameter=parameter,
                       value=_checked(parameter, entry["value"], "value", where))
    lo, hi = find_parameter(parameter).range
    low = _checked(parameter, entry.get("min", lo), "min", where)
    high = _checked(parameter, entry.get("max", hi), "max", where)
    return Binding(kind, number, channel, parameter=parameter, low=low, high=high)


def _checked(name: str, value: Any, key: str, where: str) -> Any:
    try:
        checked = check(name, value)
    except StageError as e:
        raise MidiMapError(f"{where}: {key} refused ({str(e).removeprefix('stage: ')})") from None
    return value if find_parameter(name).kind in (PRESET, MODEL) else checked  # names: checked again when pressed


def _open(port: str | None, callback: Callable[[Any], None] | None = None) -> tuple[Any, str]:
    """(the open mido input port, its name) or (None, why not). Never raises."""
    try:
        import mido

        if (sys.platform.startswith("linux") and "MIDO_BACKEND" not in os.environ
                and not os.path.exists("/dev/snd/seq")):
            names: list[str] = []  # no ALSA sequencer: rtmidi would only print ALSA errors on stderr
        else:
            names = list(mido.get_input_names())
    except Exception as e:  # no backend (python-rtmidi missing), or the backend cannot start
        log.debug("MIDI backend unavailable: %s", e)
        names = []
    if not names:
        return None, NO_DEVICE
    name = names[0]
    if port is not None:
        found = [n for n in names if n == port] or [n for n in names if port.lower() in n.lower()]
        if not found:
            return None, f"MIDI: no input device named '{port}' (found: {', '.join(names)}); going on without MIDI"
        name = found[0]
    try:
        return mido.open_input(name, callback=callback), name
    except Exception as e:
        return None, f"MIDI: cannot open '{name}' ({e}); going on without MIDI"


class MidiInput:
    """The map applied to a live input port (the first one, the map's `port`, or `port`), on mido's thread.
    Without a backend or device: one notice in the log, `active` False, and nothing else."""

    def __init__(self, midi_map: MidiMap, controls: StageControls, port: str | None = None) -> None:
        self.map, self.controls = midi_map, controls
        self._port, message = _open(port or midi_map.port, callback=self._on_message)
        self.active = self._port is not None
        if self.active:
            self.name = message
            log.info("MIDI: listening on '%s'", message)
        else:
            self.name = None
            log.warning(message)

    def _on_message(self, message: Any) -> None:
        try:
            self.map.handle(message, self.controls)
        except Exception:
            log.exception("MIDI: %s failed", message)

    def close(self) -> None:
        if self._port is not None:
            port, self._port = self._port, None
            try:
                port.close()
            except Exception as e:
                log.debug("MIDI: closing failed: %s", e)

    def __enter__(self) -> MidiInput:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def learn_snippet(message: Any, seen: set) -> str | None:
    """The map entry a message suggests, the first time its control or note is seen; else None."""
    kind = getattr(message, "type", None)
    if kind == "control_change":
        key = ("cc", message.channel, message.control)
        text = (f"[[cc]]\nchannel = {message.channel + 1}\ncontrol = {message.control}\n"
                f"parameter = \"y\"    # (value {message.value} seen) or: {', '.join(SETTABLE[1:])}; "
                "or action = \"next\"\n# min = 0.0\n# max = 3.0\n")
    elif kind == "note_on" and message.velocity > 0:
        key = ("note", message.channel, message.note)
        text = (f"[[note]]\nchannel = {message.channel + 1}\nnote = {message.note}\n"
                f"action = \"next\"    # or: {', '.join(a for a in ACTIONS if a != 'next')} (preset: add value = "
                "\"NAME\"); or parameter = \"seed\" with value = 5\n")
    elif kind in ("note_off", "note_on", "clock", "active_sensing", None):
        return None
    else:
        key = ("other", kind)
        text = f"# {message}: not mappable (only control_change and note_on are)\n"
    if key in seen:
        return None
    seen.add(key)
    return text


def midi_learn(port: str | None = None, seconds: float | None = None,
               out: Callable[[str], None] = print) -> int:
    """Print a pasteable map entry for each control or note first seen on the input, for `seconds`
    (None: until Ctrl-C). Returns how many were printed; LavliveError if there is no input device."""
    midi_port, name = _open(port)
    if midi_port is None:
        raise LavliveError(name.replace("; going on without MIDI", "") + ": connect a controller and try again")
    out(f"# listening on '{name}': move each knob and hit each pad you want to map (Ctrl-C to stop)")
    stable = re.sub(r"\s+\d+:\d+$", "", name)  # ALSA's client:port numbers change from one boot to the next
    out(f"port = \"{stable}\"\n")
    seen: set = set()
    deadline = None if seconds is None else time.monotonic() + seconds
    try:
        while deadline is None or time.monotonic() < deadline:
            for message in midi_port.iter_pending():
                text = learn_snippet(message, seen)
                if text is not None:
                    out(text)
            time.sleep(0.01)
    finally:
        midi_port.close()
    return sum(1 for key in seen if key[0] != "other")
