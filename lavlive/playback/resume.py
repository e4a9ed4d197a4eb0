"""Coming back after a crash or a reboot: a show's state file, and where a resumed show starts.

Every few seconds the player writes what it needs to go on (`ShowState`, one small JSON file replaced
atomically, so a crash or a power cut leaves the last whole one): the track heard and the second it is at,
the beat clock's bar grid there, the pass through the play order and the shuffle's seed, and the look set
on stage (a preset switched to, the seed, every live value). `lavlive play --resume` reads it and starts at
that track on the first bar line at or after that second (at the very second when the beat clock had found
no beat), with the same look. A state file that is missing, damaged or of other inputs starts the show from
the top with a log line: an installation must come back up whatever it finds.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import LavliveError
from ..presets import Preset, preset_from_dict
from .order import PlayOrder

log = logging.getLogger(__name__)

STATE_VERSION = 1
SAVE_EVERY = 2.0  # seconds between state files
MIN_BAR, MAX_BAR = 0.1, 60.0  # seconds: a bar outside these is not one the beat clock makes


def default_state_file() -> Path:
    """Where a kiosk keeps its state unless told: beside its log, in the user's state folder."""
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return state / "lavlive" / "show.json"


def inputs_key(inputs: tuple[str, ...] | list[str]) -> list[str]:
    """The command's inputs as absolute paths: a state file is of one set of inputs."""
    return [str(Path(i).expanduser().resolve()) for i in inputs]


@dataclass
class ShowState:
    """What a show needs to go on where it was (see the module docstring)."""

    inputs: list[str]  # inputs_key of the command's inputs
    pass_index: int  # the pass through the play order
    index: int  # the track's index in that pass's order
    path: str  # its file, to find it again in an edited playlist
    seconds: float  # how far into the file what is heard was
    bar: tuple[float, float] | None  # a bar line of the beat clock (seconds into the file) and a bar's length
    shuffle_seed: int
    preset: dict[str, Any] | None = None  # a preset switched to on stage (Preset.to_dict), else None
    values: dict[str, Any] = field(default_factory=dict)  # every live value set so far (no routes: the preset's)
    saved: float = field(default_factory=time.time)  # Unix time

    def to_json(self) -> str:
        return json.dumps({"version": STATE_VERSION, **asdict(self)}, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ShowState:
        """The state a file holds; ValueError if it is not one this version wrote."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.pop("version", None) != STATE_VERSION:
                raise ValueError(f"not a version {STATE_VERSION} show state")
            state = cls(**data)
            state.pass_index, state.index = int(state.pass_index), int(state.index)
            state.seconds, state.shuffle_seed = float(state.seconds), int(state.shuffle_seed)
            if state.bar is not None:
                at, length = (float(x) for x in state.bar)
                state.bar = (at, length) if MIN_BAR <= length <= MAX_BAR and math.isfinite(at) else None
            fine = (0 <= state.pass_index < 2**53 and 0 <= state.index < 2**31 and 0 <= state.seconds < 1e7
                    and isinstance(state.values, dict) and isinstance(state.path, str)
                    and isinstance(state.inputs, list) and all(isinstance(i, str) for i in state.inputs)
                    and (state.preset is None or isinstance(state.preset, dict))
                    and math.isfinite(state.resume_seconds))
        except (TypeError, ValueError, OverflowError, RecursionError) as e:
            raise ValueError(f"not a show state ({e})") from None
        if not fine:
            raise ValueError("not a show state (values out of range)")
        return state

    @property
    def resume_seconds(self) -> float:
        """Where in the file to start again: the first bar line at or after `seconds` (a bar at most later)."""
        if self.bar is None:
            return self.seconds
        at, length = self.bar
        return max(0.0, at + math.ceil((self.seconds - at) / length - 1e-9) * length)

    def stage_preset(self) -> Preset | None:
        """The preset switched to on stage, if any (one that no longer reads is left out, with a log line)."""
        if self.preset is None:
            return None
        try:
            return preset_from_dict(dict(self.preset), "the state file's preset")
        except (LavliveError, TypeError, ValueError) as e:
            log.warning("resume: the stage's preset is left out (%s)", str(e).splitlines()[0])
            return None


def read_state(path: Path, inputs: tuple[str, ...] | list[str]) -> ShowState | None:
    """The state to resume from, or None (with a log line saying why) to start from the top."""
    try:
        state = ShowState.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        log.info("resume: no state file %s yet; starting from the top", path)
        return None
    except (OSError, ValueError) as e:  # UnicodeDecodeError is a ValueError
        log.warning("resume: %s cannot be read (%s); starting from the top", path, str(e).splitlines()[0])
        return None
    if state.inputs != inputs_key(inputs):
        log.warning("resume: %s is of other inputs (%s); starting from the top", path, ", ".join(state.inputs))
        return None
    return state


def resume_place(state: ShowState, order: PlayOrder) -> tuple[int, float]:
    """(position in `order`, seconds into its file) to start a resumed show at: the saved track of the saved
    pass, found by its file when the playlist was edited since (from the top of the pass if it is gone)."""
    place = order.at(0)
    size = place.size if place is not None else 0
    entries = [order.at(k).entry for k in range(size)]
    if state.index < size and str(entries[state.index].path.resolve()) == state.path:
        return state.index, state.resume_seconds
    for k, entry in enumerate(entries):
        if str(entry.path.resolve()) == state.path:
            return k, state.resume_seconds
    log.warning("resume: %s is no longer in the playlist; starting its pass from the top", state.path)
    return 0, 0.0
