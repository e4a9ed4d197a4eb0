"""Routes: a source, shaped, added to a target. Presets hold them as `[[route]]` tables:

    [[route]]
    name = "kick-zoom"        # unique in the preset; how OSC, MIDI and the sidecar name it
    source = "onset"          # sources.SOURCES, or "lfo" with shape and hz or beats
    target = "transform/x"    # targets.TARGETS
    amount = 0.1              # added to the target at a shaped source of 1 (negative: the other way)
    gain = 1.0                # then: x → gain·x + offset → sign(x)·|x|^curve
    offset = 0.0
    curve = 1.0
    attack = 0.0              # seconds to rise to a higher value, and to fall back (one-pole, 0: at once)
    release = 0.2
    quantise = "none"         # "beat" or "bar": the value changes only on beat (bar) lines, held between
    shape = "sine"            # for source = "lfo": sine, triangle, saw, square, random
    hz = 0.5                  # for source = "lfo": cycles per second of audio, or
    beats = 4                 # the length of a cycle in beats of the beat clock

Every field is checked at load, and a bad one is a one-line error naming the route and the field.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from ..errors import LavliveError, shown
from .lfo import SHAPES
from .sources import LFO, SOURCES
from .targets import TARGETS

QUANTISE = ("none", "beat", "bar")
MAX_ROUTES = 64


@dataclass(frozen=True)
class Route:
    name: str
    source: str
    target: str
    amount: float = 1.0
    gain: float = 1.0
    offset: float = 0.0
    curve: float = 1.0
    attack: float = 0.0
    release: float = 0.0
    quantise: str = "none"
    shape: str = "sine"
    hz: float = 0.0  # 0: not set
    beats: float = 0.0  # 0: not set

    def to_dict(self) -> dict[str, Any]:
        """As a `[[route]]` table: the fields that differ from the defaults, and always name, source and target."""
        defaults = Route("", "", "")
        return {k: v for k, v in asdict(self).items()
                if k in ("name", "source", "target", "amount") or v != getattr(defaults, k)}

    def describe(self) -> str:
        """One line, for `lavlive presets` and logs: 'kick-zoom: onset → transform/x × 0.1 (release 0.2 s)'."""
        source = self.source
        if source == LFO:
            source = f"{self.shape} LFO " + (f"at {self.hz:g} Hz" if self.hz else f"every {self.beats:g} beats")
        plain = {"gain": 1.0, "offset": 0.0, "curve": 1.0}
        shaping = [f"{k} {getattr(self, k):g}" for k, v in plain.items() if getattr(self, k) != v]
        shaping += [f"{k} {getattr(self, k):g} s" for k in ("attack", "release") if getattr(self, k)]
        if self.quantise != "none":
            shaping.append(f"on each {self.quantise}")
        line = f"{self.name}: {source} → {self.target} × {self.amount:g}"
        return line + (f" ({', '.join(shaping)})" if shaping else "")


LIMITS: dict[str, tuple[float, float]] = {
    "gain": (-100.0, 100.0), "offset": (-10.0, 10.0), "curve": (0.1, 10.0), "attack": (0.0, 60.0),
    "release": (0.0, 60.0), "hz": (0.0, 50.0), "beats": (0.0, 1024.0)}


def parse_routes(tables: Any, where: str) -> tuple[Route, ...]:
    """`[[route]]` tables → routes; a one-line LavliveError names the route, the field and what is wrong."""
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise LavliveError(f"{where}: 'route' must be a list of [[route]] tables")
    if len(tables) > MAX_ROUTES:
        raise LavliveError(f"{where}: {len(tables)} routes; at most {MAX_ROUTES}")
    routes, names = [], set()
    for i, table in enumerate(tables, 1):
        route = route_from_dict(table, f"{where}: route {shown(table.get('name', i))}")
        if route.name in names:
            raise LavliveError(f"{where}: two routes are named {shown(route.name)}")
        names.add(route.name)
        routes.append(route)
    return tuple(routes)


def route_from_dict(table: dict[str, Any], where: str) -> Route:
    """One route from its table (see the module docstring), checked."""
    known = {f.name: f for f in fields(Route)}
    for key in table:
        if key not in known:
            raise LavliveError(f"{where}: unknown field '{key}' (known: {', '.join(known)})")
    for key in ("name", "source", "target"):
        if not isinstance(table.get(key), str) or not table[key].strip():
            raise LavliveError(f"{where}: '{key}' must be a non-empty string, got {shown(table.get(key))}")
    values = {k: table[k].strip() if isinstance(table[k], str) else table[k] for k in table}
    for key in ("amount", *LIMITS):
        if key in values:
            values[key] = _number(values[key], key, where)
    route = Route(**values)
    if route.source not in SOURCES:
        raise LavliveError(f"{where}: unknown source '{route.source}' (known: {', '.join(SOURCES)})")
    target = TARGETS.get(route.target)
    if target is None:
        raise LavliveError(f"{where}: unknown target '{route.target}' (known: {', '.join(TARGETS)})")
    if not abs(route.amount) <= target.span:
        raise LavliveError(f"{where}: amount = {route.amount:g} is out of range for {route.target} "
                           f"(at most ±{target.span:g}, its whole range)")
    for key, (lo, hi) in LIMITS.items():
        if not lo <= getattr(route, key) <= hi:
            raise LavliveError(f"{where}: {key} = {getattr(route, key):g} is out of range [{lo:g}, {hi:g}]")
    if route.quantise not in QUANTISE:
        raise LavliveError(f"{where}: quantise = {shown(route.quantise)} is not one of {', '.join(QUANTISE)}")
    _check_lfo(route, table, where)
    return route


def _check_lfo(route: Route, table: dict[str, Any], where: str) -> None:
    if route.source != LFO:
        extra = [k for k in ("shape", "hz", "beats") if k in table]
        if extra:
            raise LavliveError(f"{where}: '{extra[0]}' is for source = \"lfo\" only")
        return
    if route.shape not in SHAPES:
        raise LavliveError(f"{where}: shape = {shown(route.shape)} is not one of {', '.join(SHAPES)}")
    if (route.hz > 0) == (route.beats > 0):
        raise LavliveError(f"{where}: an LFO needs either hz (cycles per second) or beats (per cycle), not "
                           f"{'both' if route.hz else 'neither'}")


def _number(value: Any, key: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise LavliveError(f"{where}: {key} = {shown(value)} should be a finite number")
    return float(value)
