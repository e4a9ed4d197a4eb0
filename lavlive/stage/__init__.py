"""Stage control: a VJ steers the look during a set over OSC, MIDI and Ableton Link.

`parameters` says what may change live and carries it safely from input threads to the analysis
thread; `osc` and `midi` are the inputs (and OSC the state output), `ableton` the Link session;
`link` opens the ones a command asks for (`StageSettings.open`) as one `StageLink` and applies
what they set to the running control paths. By hand:

    controls = StageControls(preset)
    osc = OscServer(controls, port=9000).start()
    midi = MidiInput(load_midi_map("presets/midi/example.toml"), controls)   # no device: one notice
    controls.subscribe(on_change)          # on_change(name, value): wake the player for actions
    ...                                    # analysis thread, between two blocks:
    apply(controls.take(), path)
    for action in controls.actions(): ...  # player thread: preset, next, previous, pause

The OSC and MIDI modules are imported on first use, so `lavlive.stage` imports without them.
"""

from __future__ import annotations

from typing import Any

from .link import SWITCH_ON, StageLink, StageSettings
from .parameters import ACTIONS, PARAMETERS, Action, Parameter, StageControls, StageError, apply, check, preset_values

_LAZY = {"OscServer": "osc", "OscState": "osc", "MidiInput": "midi", "MidiMap": "midi", "MidiMapError": "midi",
         "load_midi_map": "midi", "midi_learn": "midi"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ACTIONS", "PARAMETERS", "SWITCH_ON", "Action", "Parameter", "StageControls", "StageError", "StageLink",
           "StageSettings", "apply", "check", "preset_values", *_LAZY]
