"""What a VJ may change during a set, checked at the door, and how a change reaches a running control path.

Stage input (OSC, MIDI, later a web page) arrives on its own threads at any rate; the analysis thread
must never see a half-checked or malformed value, and must not be slowed by a fader sending 100 messages
a second. So every input goes through `StageControls.set`, which checks the value against `PARAMETERS`
(the ranges of `lavlive.presets.RANGES`, so a live value is always one a preset file could hold) and
only then queues it; the analysis thread takes the latest value of each parameter between two blocks
(`take`) and applies them with `apply`. Actions (next track, pause, another preset) are events, not
values: two presses of "next" are two skips, so they are queued in order (`actions`) and also handed to
subscribers at once (`subscribe`) so the player can react without polling.

    inputs ──set()──▶ StageControls ──take()──▶ apply(changes, path)     analysis thread, between blocks
                                    ──actions() / subscribe()──▶ player  preset, next, previous, pause
"""

from __future__ import annotations

import logging
import math
import numbers
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import LavliveError, shown
from ..modulation import Route
from ..modulation.routes import LIMITS
from ..modulation.sources import FADERS
from ..modulation import PICTURE, TARGETS
from ..presets import RANGES, Preset, load_preset

if TYPE_CHECKING:
    from ..control import ControlPath

log = logging.getLogger(__name__)

FLOAT, INT, TRIGGER, PRESET, MODEL, ROUTES = "float", "int", "trigger", "preset", "model", "routes"
CHECKPOINT_SUFFIXES = (".pkl", ".pt", ".pth", ".safetensors")
PICTURE_SECTIONS = ("transform", "noise", "bend", "effect")  # preset sections whose values frames carry (PICTURE)


class StageError(LavliveError):
    """A live value that was refused: unknown name, wrong type, not finite or out of range."""


@dataclass(frozen=True)
class Parameter:
    name: str  # OSC-style: the part after /lavlive/
    field: str | None  # the preset field it sets ("modulation.y"); None: no preset field
    kind: str  # FLOAT, INT, TRIGGER (fires, no value), PRESET (a preset name or .toml path), MODEL (a checkpoint),
    # ROUTES (a preset's routes, set by a preset switch)
    range: tuple[float, float] | None  # inclusive; None for triggers and presets
    doc: str
    action: bool = False  # an event for the player (actions()), not a value for take()


def _p(name: str, field: str | None, kind: str, doc: str, range: tuple[float, float] | None = None,
       action: bool = False) -> Parameter:
    if range is None and field in RANGES:
        range = RANGES[field]
    return Parameter(name, field, kind, range, doc, action)


PARAMETERS: dict[str, Parameter] = {p.name: p for p in [
    _p("y", "modulation.y", FLOAT, "how far the audio moves w from the centre m_t (units of Z_std)"),
    _p("c", "modulation.c", FLOAT, "leaky-tanh slope: above 0 loud outliers keep pushing past the tanh bound"),
    _p("onset/strength", "modulation.onset_strength", FLOAT, "how much onsets switch from projection P_a to P_b"),
    _p("chroma/strength", "modulation.chroma_strength", FLOAT, "blend of the pitch means into the centre m_t"),
    _p("silence_db", "modulation.silence_db", FLOAT, "level (dBFS) below which the audio-driven motion fades out"),
    _p("smoothing/coarse", "smoothing.coarse", FLOAT, "seconds averaged for the coarse layers (pose, layout)"),
    _p("smoothing/middle", "smoothing.middle", FLOAT, "seconds averaged for the middle layers"),
    _p("smoothing/fine", "smoothing.fine", FLOAT, "seconds averaged for the fine layers (texture, colour)"),
    _p("truncation", "synthesis.truncation_psi", FLOAT, "truncation psi: 0 the average image, 1 untruncated"),
    *(_p(name, name.replace("/", "."), FLOAT, TARGETS[name].doc) for name in PICTURE if name in TARGETS),
    _p("bend/block", "bend.block", INT, "the resolution whose feature maps bend/x, y, rotate and zoom move"),
    _p("seed", "modulation.seed", INT, "seed of the two random projections: another seed, another look"),
    *(_p(f"fader/{i}", None, FLOAT, f"manual fader {i} (0-1): a source for the preset's routes", range=(0.0, 1.0))
      for i in range(1, FADERS + 1)),
    _p("routes", None, ROUTES, "the modulation routes: a preset switch sets its preset's (not in the state sent out)"),
    _p("crossfade", None, FLOAT, "seconds a preset or seed switch fades over in W (0: cut)", range=(0.0, 60.0)),
    _p("crossfade/beat", None, INT, "1: preset and seed switches start fading on the next beat (waiting at most "
       "2 s); 0: at once", range=(0, 1)),
    _p("preset", None, PRESET, "switch to a preset: built-in name or .toml path (loaded and checked here)",
       action=True),
    _p("model", None, MODEL, "switch to another StyleGAN2 checkpoint (.pkl, .pt, .safetensors; 'default': the "
       "embedded network): loaded in the background, then dissolved in over the crossfade (live)", action=True),
    _p("next", None, TRIGGER, "next track", action=True),
    _p("previous", None, TRIGGER, "previous track (restarts the track after its first seconds)", action=True),
    _p("pause", None, TRIGGER, "pause or resume", action=True),
]}
ACTIONS = tuple(name for name, p in PARAMETERS.items() if p.action)
ROUTE_FIELDS = {"amount": (-720.0, 720.0), "gain": LIMITS["gain"], "offset": LIMITS["offset"]}  # amount: checked
# again against the route's target when applied (the widest target, rotate, spans 720 degrees)


def parameter(name: str) -> Parameter | None:
    """The parameter `name` sets: one of PARAMETERS, or `route/<route>/<field>` (a field of ROUTE_FIELDS of the
    named route of the preset on screen); None if it is neither."""
    p = PARAMETERS.get(name)
    if p is not None:
        return p
    parts = name.split("/") if isinstance(name, str) else []
    if len(parts) == 3 and parts[0] == "route" and parts[1] and parts[2] in ROUTE_FIELDS:
        return Parameter(name, None, FLOAT, ROUTE_FIELDS[parts[2]],
                         f"the {parts[2]} of route '{parts[1]}' of the preset on screen")
    return None


@dataclass(frozen=True)
class Action:
    """An event for the player. value: the loaded `Preset` for 'preset', the checkpoint path for 'model'
    (None: the embedded network), None for the triggers."""
    name: str
    value: Any = None


def _number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check(name: str, value: Any = None) -> Any:
    """The value as it will be used (int for seed, float for the rest, a `Preset` for 'preset', the resolved
    checkpoint path for 'model' (None for 'default'), for triggers True to fire and False for a button's
    release), or StageError with a one-line reason.

    Numbers may be ints or floats (OSC faders send float32 even for the seed, so an integral float is
    taken as the int); bools are refused for numbers. Triggers fire on no value, True or a non-zero number."""
    p = parameter(name)
    if p is None:
        raise StageError(f"stage: unknown parameter '{name}' (known: {', '.join(PARAMETERS)}, "
                         f"route/<name>/{'|'.join(ROUTE_FIELDS)})")
    if p.kind == TRIGGER:
        if value is None:
            return True
        if isinstance(value, bool) or (_number(value) and math.isfinite(value)):
            return bool(value)
        raise StageError(f"stage: {name} = {shown(value)} should be nothing, a bool or a number (0 is ignored)")
    if p.kind == MODEL:
        if not isinstance(value, str) or not value.strip():
            raise StageError(f"stage: model = {shown(value)} should be a checkpoint path or 'default'")
        path = Path(value.strip()).expanduser()
        if value.strip() == "default":
            return None
        if path.suffix.lower() not in CHECKPOINT_SUFFIXES:
            raise StageError(f"stage: model = {value!r}: not a checkpoint ({', '.join(CHECKPOINT_SUFFIXES)})")
        if not path.is_file():
            raise StageError(f"stage: model = {value!r}: no such file")
        return str(path.resolve())
    if p.kind == ROUTES:
        if not isinstance(value, tuple) or not all(isinstance(r, Route) for r in value):
            raise StageError(f"stage: routes = {shown(value)}: routes come with a preset (/lavlive/preset)")
        return value
    if p.kind == PRESET:
        if not isinstance(value, str) or not value.strip():
            raise StageError(f"stage: preset = {shown(value)} should be a preset name or a .toml path")
        try:
            return load_preset(value.strip())
        except LavliveError as e:
            raise StageError(f"stage: preset = {value!r} refused: {e}") from None
    lo, hi = p.range
    allowed = f"a number in [{lo}, {hi}]" if p.kind == FLOAT else f"an integer in [{lo}, {hi}]"
    if not _number(value):
        raise StageError(f"stage: {name} = {shown(value)} should be {allowed}")
    if not math.isfinite(value):
        raise StageError(f"stage: {name} = {value} is not finite; allowed: {allowed}")
    if p.kind == INT:
        if value != int(value):
            raise StageError(f"stage: {name} = {value} should be {allowed}")
        value = int(value)
    else:
        value = float(value)
    if not lo <= value <= hi:
        raise StageError(f"stage: {name} = {value} is out of range [{lo}, {hi}]")
    return value


def preset_values(preset: Preset, routes: bool = False) -> dict[str, Any]:
    """The live-settable values a preset holds, by parameter name (for `apply` on a preset switch), and with
    `routes` its routes too (which the state does not show)."""
    values: dict[str, Any] = {"routes": preset.routes} if routes else {}
    for name, p in PARAMETERS.items():
        if p.field is not None:
            section, key = p.field.split(".")
            values[name] = getattr(getattr(preset, section), key)
    return values


class StageControls:
    """Thread-safe inbox between stage inputs (any thread) and the player / analysis thread.

    - `set(name, value)`: check, then queue (a parameter) or queue and announce (an action).
    - `take()`: the pending parameter values, latest per name, and clears them: for `apply`. 'crossfade'
      comes with them too (it has no preset field, so `apply` leaves it to the player).
    - `actions()`: the pending `Action`s in arrival order, and clears them.
    - `subscribe(callback)`: callback(name, value) on the setter's thread for every accepted change,
      parameters and actions (value as in `Action`); it must be quick, and what it raises is logged.
    - `state()`: the current value of every parameter (last accepted, else the preset's) and the preset name.
    """

    def __init__(self, preset: Preset | None = None, crossfade: float = 0.0, on_beat: bool = False) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, Any] = {}
        self._actions: list[Action] = []
        self._subscribers: list[Callable[[str, Any], None]] = []
        self._state: dict[str, Any] = {}
        self.reset(preset or Preset(), keep_pending=True)
        self._state["crossfade"] = check("crossfade", crossfade)
        self._state["crossfade/beat"] = int(on_beat)

    def reset(self, preset: Preset, keep_pending: bool = False) -> None:
        """The player now shows `preset`: state() follows it, and changes still pending (meant for the
        previous preset) are dropped unless keep_pending."""
        with self._lock:
            self._state = {k: v for k, v in self._state.items() if not k.startswith("route/")}  # the old routes'
            self._state.update(preset_values(preset))
            self._state["preset"] = preset.name
            if not keep_pending:
                self._pending = {k: v for k, v in self._pending.items()
                                 if PARAMETERS.get(k) is not None and PARAMETERS[k].field is None}

    def set(self, name: str, value: Any = None) -> None:
        """Check and queue one change; StageError if refused. A trigger's 0 or False (a button's release)
        is accepted and ignored."""
        self.set_many({name: value})

    def set_many(self, values: dict[str, Any]) -> None:
        """Check every change, then queue them together (a preset switch: one `take` gets all of them);
        StageError, and nothing queued, if one is refused."""
        checked = {name: check(name, value) for name, value in values.items()}
        accepted = []
        with self._lock:
            for name, value in checked.items():
                p = parameter(name)
                if p.kind == TRIGGER:
                    if not value:
                        continue
                    value = None
                if p.action:
                    self._actions.append(Action(name, value))
                    if p.kind == PRESET:
                        self._state["preset"] = value.name
                    elif p.kind == MODEL:
                        self._state["model"] = value or "default"
                else:
                    self._pending[name] = value
                    if p.kind != ROUTES:
                        self._state[name] = value
                accepted.append((name, value))
            subscribers = list(self._subscribers)
        for callback in subscribers:
            for name, value in accepted:
                try:
                    callback(name, value)
                except Exception:
                    log.exception("stage: subscriber %r failed on %s", callback, name)

    def take(self) -> dict[str, Any]:
        with self._lock:
            pending, self._pending = self._pending, {}
        return pending

    def actions(self) -> list[Action]:
        with self._lock:
            actions, self._actions = self._actions, []
        return actions

    def state(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._state)

    def subscribe(self, callback: Callable[[str, Any], None]) -> None:
        with self._lock:
            self._subscribers.append(callback)

    def unsubscribe(self, callback: Callable[[str, Any], None]) -> None:
        with self._lock:
            if callback in self._subscribers:
                self._subscribers.remove(callback)


def apply(changes: dict[str, Any], path: ControlPath, crossfade: float = 0.0, on_beat: bool = False,
          at: float | None = None) -> None:
    """Apply parameter changes (as `take` gives them) to a running control path, from the next block on.

    Call it from the thread that pushes blocks into `path`, between two pushes. Changes that set the seed
    (a new seed, or a preset switch, which sets every value and its routes) fade from the look on screen to the new one
    over `crossfade` seconds, from the next beat if `on_beat` or from `at` seconds into the path's audio (a
    line of the Link timeline); the rest take effect at once, like a fader.
    The mapper gets a new settings object (the preset the path was built from is left as it was), and new
    smoothing windows keep the history the smoother already holds. Actions, 'crossfade' and
    'crossfade/beat' are ignored here: they are the player's.
    """
    checked = {name: check(name, value) for name, value in changes.items()}
    if "seed" in checked:
        path.crossfade(crossfade, on_beat, at)
    sections: dict[str, dict[str, Any]] = {section: {} for section in ("modulation", "smoothing", "synthesis",
                                                                        *PICTURE_SECTIONS)}
    for name, value in checked.items():
        field = parameter(name).field
        if field is not None:
            section, key = field.split(".")
            sections[section][key] = value
    for look in path.changeable():  # a model dissolving in beside gets the same changes
        if "truncation_psi" in sections["synthesis"]:
            look.truncation = sections["synthesis"]["truncation_psi"]
        if sections["modulation"]:
            look.mapper.update(**sections["modulation"])
        if sections["smoothing"]:
            look.smoother.set_seconds(**sections["smoothing"])
        if "routes" in checked:
            look.set_routes(checked["routes"])
        for section in PICTURE_SECTIONS:
            for key, value in sections[section].items():
                look.picture[PICTURE.index(f"{section}/{key}")] = value
    for name, value in checked.items():
        if name.startswith("fader/"):
            path.sources.set_fader(int(name.removeprefix("fader/")), value)
        elif name.startswith("route/"):
            _, route, key = name.split("/")
            for look in path.changeable():
                try:
                    look.matrix.change(route, key, value)
                except LavliveError as e:
                    log.warning("stage: %s refused: %s", name, e)
                    break


__all__ = ["ACTIONS", "PARAMETERS", "ROUTE_FIELDS", "Action", "Parameter", "StageControls", "StageError", "apply",
           "check", "parameter",
           "preset_values"]
