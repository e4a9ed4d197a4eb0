"""Snapshots of streaming state as bytes: plain data, versioned, and safe to read.

A long render splits into time segments that may run on other machines; each resumes from the
state the previous one reached, and must then produce the very same ws as one pass from the start.
The stages give their state as plain data (`state()`: nested dicts and lists of numpy arrays and
Python scalars); this module turns that into bytes and back.

Format: one .npz (a zip of .npy files, no compression): every array is its own entry `a0`, `a1`, …,
and entry `json` holds the UTF-8 JSON of `{"format": FORMAT, "version": SNAPSHOT_VERSION, "state":
tree}`, where each array in the tree is replaced by `{"$array": "a0"}` and each numpy scalar by
`{"$scalar": "a1"}` (a 0-d entry, so float32 stays float32 and float64 stays float64). Python
scalars stay inline; Python floats round-trip exactly, inf and nan included. Reading uses
`np.load(allow_pickle=False)`: no pickle, so no code in a file ever runs, and object arrays are
refused when writing. A damaged or foreign file, or another version, is a one-line LavliveError.
"""

from __future__ import annotations

import io
import json
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np

from .errors import LavliveError, shown

__all__ = ["SNAPSHOT_VERSION", "to_bytes", "from_bytes", "fits", "array_of", "scalar_of", "reading", "same_settings"]

SNAPSHOT_VERSION = 5  # 3: cues carry the input transform; a look holds its transform. 4: routes, sources.
# 5: cues and looks carry every picture control (modulation.PICTURE); a seed-mix partner
FORMAT = "lavlive snapshot"
_ARRAY, _SCALAR = "$array", "$scalar"


def to_bytes(state: dict) -> bytes:
    """The snapshot of `state` (plain data, see the module docstring) as .npz bytes."""
    arrays: dict[str, np.ndarray] = {}

    def plain(value: Any, where: str) -> Any:
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if not isinstance(key, str) or key.startswith("$"):
                    raise ValueError(f"snapshot key {key!r} at {where} is not a plain string")
                out[key] = plain(item, f"{where}.{key}")
            return out
        if isinstance(value, (list, tuple)):
            return [plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
        if isinstance(value, (np.ndarray, np.generic)):
            array = np.asarray(value)
            if array.dtype.hasobject:
                raise ValueError(f"snapshot value at {where} is an object array, which needs pickle")
            name = f"a{len(arrays)}"
            arrays[name] = array
            return {_ARRAY if isinstance(value, np.ndarray) else _SCALAR: name}
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise ValueError(f"snapshot value at {where} is a {type(value).__name__}, not plain data")

    tree = plain(state, "state")
    header = json.dumps({"format": FORMAT, "version": SNAPSHOT_VERSION, "state": tree}, allow_nan=True)
    buffer = io.BytesIO()
    np.savez(buffer, json=np.frombuffer(header.encode("utf-8"), np.uint8), **arrays)
    return buffer.getvalue()


def from_bytes(data: bytes, what: str = "snapshot") -> dict:
    """The state `to_bytes` wrote; anything else is a one-line LavliveError naming `what`."""
    try:
        npz = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception:  # noqa: BLE001 - pickles, .npy files, text: all foreign to us
        raise LavliveError(f"{what}: not a lavlive snapshot (damaged, or not a .npz file)") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise LavliveError(f"{what}: not a lavlive snapshot (a single array, not a .npz file)")
    with npz:
        try:
            header = json.loads(npz["json"].tobytes().decode("utf-8"))
        except Exception:  # noqa: BLE001
            raise LavliveError(f"{what}: not a lavlive snapshot (damaged, or no snapshot header)") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise LavliveError(f"{what}: not a lavlive snapshot (its header is not a snapshot's)")
        version = header.get("version")
        if version != SNAPSHOT_VERSION:
            raise LavliveError(f"{what}: snapshot version {shown(version)}, this lavlive reads version "
                               f"{SNAPSHOT_VERSION}; make it again with this version")

        def restore(value: Any) -> Any:
            if isinstance(value, dict):
                if len(value) == 1 and _ARRAY in value:
                    return npz[value[_ARRAY]]
                if len(value) == 1 and _SCALAR in value:
                    return npz[value[_SCALAR]][()]
                return {key: restore(item) for key, item in value.items()}
            if isinstance(value, list):
                return [restore(item) for item in value]
            return value

        try:
            state = restore(header.get("state"))
        except Exception as e:  # noqa: BLE001 - a bad CRC, a missing or truncated entry
            reason = str(e).strip().splitlines()[0][:80] if str(e).strip() else type(e).__name__
            raise LavliveError(f"{what}: damaged lavlive snapshot ({reason})") from None
    if not isinstance(state, dict):
        raise LavliveError(f"{what}: not a readable lavlive snapshot (its state is not a table)")
    return state


# --- for the stages' load_state: checks with one-line messages ---------------------------------

def fits(condition: bool, message: str) -> None:
    """Raise the one-line LavliveError `snapshot does not fit: <message>` unless `condition`."""
    if not condition:
        raise LavliveError(f"snapshot does not fit: {message}")


def array_of(value: Any, what: str, shape: tuple[int | None, ...] | None = None,
             dtype: Any = None) -> np.ndarray:
    """A copy of snapshot array `value` (never a view into the file), checked: its number of axes and
    the lengths given in `shape` (None: any), and its dtype when given."""
    fits(isinstance(value, np.ndarray), f"{what} is missing or not an array")
    if shape is not None:
        fits(value.ndim == len(shape) and all(s is None or s == n for s, n in zip(shape, value.shape)),
             f"{what} has shape {list(value.shape)}, expected "
             f"{['any' if s is None else s for s in shape]} (a snapshot of another model or preset?)")
    if dtype is not None:
        fits(value.dtype == np.dtype(dtype), f"{what} is {value.dtype}, expected {np.dtype(dtype)}")
    return np.array(value, copy=True)



def scalar_of(value: Any, what: str, kinds: tuple[type, ...]) -> Any:
    """Snapshot scalar `value` as it is (a numpy scalar stays one: it promotes differently from a Python
    one), checked to be one of `kinds`; bool is never taken for an int."""
    fits(isinstance(value, kinds) and not (isinstance(value, (bool, np.bool_)) and bool not in kinds),
         f"{what} is {shown(value)}, expected {' or '.join(k.__name__ for k in kinds)}")
    return value


@contextmanager
def reading(what: str) -> Iterator[None]:
    """While loading `what` from a snapshot: a missing entry or one of the wrong kind is a one-line error."""
    try:
        yield
    except (KeyError, TypeError, IndexError, AttributeError) as e:
        entry = shown(e.args[0]) if isinstance(e, KeyError) and e.args else "an entry"
        raise LavliveError(f"snapshot does not fit {what}: {entry} is missing or malformed "
                           "(a damaged snapshot, or one of another lavlive?)") from None


def same_settings(theirs: Any, mine: dict, what: str) -> None:
    """Refuse a snapshot whose recorded settings of `what` differ from this object's, naming the first few."""
    fits(isinstance(theirs, dict), f"no settings of {what} in it")
    keys = sorted(set(theirs) | set(mine))
    diff = [k for k in keys if k not in theirs or k not in mine or theirs[k] != mine[k]]
    fits(not diff, f"it is of {what} with " + ", ".join(
        f"{k} {shown(theirs.get(k))} (here {shown(mine.get(k))})" for k in diff[:3]))
