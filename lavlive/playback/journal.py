"""The sidecar of a recorded show (FILE.json): what was played, from when, and every change made on stage,
in the terms the control path took it, so `lavlive render --replay FILE.json` can draw the same ws again.

A change is kept with the control frame it took effect from (`next_time`: the path's next control frame,
in seconds of its track) and the crossfade it was applied with: the replay applies it to a path at the
same point, between the same two blocks (the show's analysis blocks, ANALYSIS_BLOCK_SECONDS), so the ws
come out equal, frame by frame. Values are plain JSON; a preset's routes as their [[route]] tables.
"""

from __future__ import annotations

import itertools
import json
import threading
import weakref
from typing import Any

from .. import __version__
from ..control import ControlPath
from ..modulation import Route

VERSION = 1


def plain_values(values: dict[str, Any]) -> dict[str, Any]:
    """Stage values as JSON can hold them (routes as tables)."""
    return {name: [r.to_dict() for r in value] if isinstance(value, tuple) and all(isinstance(r, Route) for r in value)
            else value for name, value in values.items()}


class ShowJournal:
    """Tracks started and changes applied, by control path; `to_dict()` is the sidecar. Thread-safe: changes come
    from the analysis thread, tracks from the player's."""

    def __init__(self, kind: str, settings: dict[str, Any]) -> None:
        self.kind, self.settings = kind, settings
        self._lock = threading.Lock()
        self._keys: weakref.WeakKeyDictionary[ControlPath, int] = weakref.WeakKeyDictionary()  # a path's number:
        # not its id (reused once it is gone), and not the path itself (a show of months would keep every one)
        self._numbers = itertools.count()
        self._changes: dict[int, list[dict[str, Any]]] = {}
        self._tracks: dict[int, dict[str, Any]] = {}

    def _key(self, path: ControlPath) -> int:
        if path not in self._keys:
            self._keys[path] = next(self._numbers)
        return self._keys[path]

    def changed(self, path: ControlPath, values: dict[str, Any], crossfade: float = 0.0, on_beat: bool = False,
                at: float | None = None) -> None:
        """`values` were applied to `path` (stage.apply), from its next control frame on."""
        change = {"next_time": path.next_time, "values": plain_values(values), "crossfade": crossfade,
                  "on_beat": on_beat, "at": at}
        with self._lock:
            self._changes.setdefault(self._key(path), []).append(change)

    def track(self, path: ControlPath, info: dict[str, Any]) -> None:
        """A track began sounding; `info` says what it is (entry, preset, model, where in the file it starts)."""
        with self._lock:
            self._tracks.setdefault(self._key(path), info)

    def to_dict(self, recorded: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            tracks = [{**info, "changes": self._changes.get(key, [])} for key, info in self._tracks.items()]
        tracks.sort(key=lambda t: t["from"])
        for track in tracks:
            for change in track["changes"]:
                change["time"] = round(track["from"] + change["next_time"], 3)  # path time 0: the track's start
        return {"lavlive": __version__, "show": VERSION, "kind": self.kind, **self.settings, "recorded": recorded,
                "tracks": tracks}

    def dumps(self, recorded: dict[str, Any]) -> str:
        return json.dumps(self.to_dict(recorded), indent=1)
