"""What the control page sees, as JSON-ready dicts: the parameters with their ranges (the same table OSC
checks against), the routes of the preset on screen with their amounts, the presets, and the show's
state. The page is drawn from these messages alone, so it never knows more or less than the checks do.

Messages to the page (JSON text; the picture preview goes as binary JPEG):

    {"type": "hello", "parameters": [...], "presets": [...], "switch_modes": [...], "web": {...}}
    {"type": "state", "state": {name: value}, "switch_on": mode, "routes": [...]}
    {"type": "stats", "stats": {...}}          once a second
    {"type": "playlist", "tracks": [...], "current": i}
    {"type": "refused", "message": "..."}      to the page whose change was refused
    {"type": "thumbnail", "key": "preset:NAME" or "seed:PRESET:SEED", "image": "data:image/jpeg;base64,..."}
"""

from __future__ import annotations

import math
from typing import Any

from ..modulation import TARGETS, Route
from ..presets import builtin_presets
from ..stage import PARAMETERS, SWITCH_ON
from ..stage.parameters import FLOAT, INT, MODEL, PRESET, ROUTES, TRIGGER

GROUP_NAMES = {"y": "modulation", "c": "modulation", "silence_db": "modulation", "truncation": "synthesis",
               "seed": "look", "crossfade": "switch", "crossfade/beat": "switch", "preset": "look", "model": "look"}


def group(name: str) -> str:
    """The page's section for a parameter: its explicit group, else the part before the first '/'."""
    return GROUP_NAMES.get(name, name.split("/")[0] if "/" in name else "show")


def parameters(live: bool) -> list[dict[str, Any]]:
    """Every parameter the page may set, in PARAMETERS order: name, kind, range, doc and section. Routes come
    with a preset, and switching models is for `live` only."""
    out = []
    for p in PARAMETERS.values():
        if p.kind == ROUTES or (p.kind == MODEL and not live):
            continue
        entry: dict[str, Any] = {"name": p.name, "kind": p.kind, "doc": p.doc, "group": group(p.name)}
        if p.kind in (FLOAT, INT):
            entry["min"], entry["max"] = p.range
        out.append(entry)
    return out


def hello(live: bool, switch_modes: tuple[str, ...] = SWITCH_ON, seeds: list[int] | None = None) -> dict[str, Any]:
    """The first message: what the page draws its controls from; `seeds`: the seeds offered with thumbnails."""
    return {"type": "hello", "parameters": parameters(live), "presets": builtin_presets(), "seeds": seeds or [],
            "switch_modes": list(switch_modes), "triggers": [n for n, p in PARAMETERS.items() if p.kind == TRIGGER],
            "preset_kind": PRESET}


def route_entry(route: Route) -> dict[str, Any]:
    """A route as the page shows it: its line, and a fader for its amount over ± the target's span."""
    target = TARGETS.get(route.target)
    span = target.span if target is not None else 1.0
    return {"name": route.name, "describe": route.describe(), "amount": route.amount, "min": -span, "max": span}


def plain(value: Any) -> Any:
    """A state value JSON can carry (non-finite numbers become None)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def state(values: dict[str, Any], switch_on: str, routes: tuple[Route, ...]) -> dict[str, Any]:
    """The state message: every value (route amounts changed live override the preset's)."""
    entries = []
    for route in routes:
        entry = route_entry(route)
        entry["amount"] = values.get(f"route/{route.name}/amount", entry["amount"])
        entries.append(entry)
    shown = {k: plain(v) for k, v in values.items() if not k.startswith("route/")}
    return {"type": "state", "state": shown, "switch_on": switch_on, "routes": entries}
