"""Playlists for `lavlive play INPUT...`: any mix of audio files, folders, M3U/M3U8 and TOML playlists.

A show is usually a folder of tracks or a set list someone already has, so every common form is read
into one flat list of `Entry`s, checked for existence up front (nothing is decoded here) so a typo stops
the show before it starts, not at track 7:

- an audio file given explicitly is taken whatever its extension;
- a folder is scanned recursively for `AUDIO_EXTENSIONS` (case-insensitive), hidden files and folders
  skipped, in natural order ("track2" before "track10");
- `.m3u` / `.m3u8`: one path per line, `#` lines ignored, relative to the playlist's folder; `file://`
  URIs are accepted, streams and other URLs refused; nested playlists and folders are expanded;
- `.toml`: a `[playlist]` table (crossfade, loop, shuffle, preset, model) and `[[track]]`s (path, preset,
  model, start, end, crossfade), validated like presets: unknown keys and bad values are errors naming the
  file, the track and the key. Relative paths (and preset values ending in .toml) are relative to the file.

Precedence, most specific first: a track's own value; then its TOML file's `[playlist]` preset/model; then
the command's --preset/--model (an entry's None). For crossfade/loop/shuffle: the arguments of
`load_playlist` (the command line) when not None; then the `[playlist]` table of the first TOML file
reached in input order (later TOML files' crossfade/loop/shuffle are ignored with a warning); then the
defaults (gapless, once, in order). A track's own crossfade beats the playlist-wide one.

`missing="error"` refuses a missing file or folder; `missing="skip"` (kiosk mode) logs a warning and leaves
it out, as it does a folder without audio. An empty result is always an error.
"""

from __future__ import annotations

import logging
import math
import os
import random
import re
import sys
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import LavliveError, shown

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".aif", ".aiff", ".wma",
                    ".webm", ".mka")
M3U_EXTENSIONS = (".m3u", ".m3u8")
MAX_CROSSFADE = 60.0  # seconds
PLAYLIST_KEYS = ("crossfade", "loop", "shuffle", "preset", "model")
TRACK_KEYS = ("path", "preset", "model", "start", "end", "crossfade")


class PlaylistError(LavliveError):
    """A playlist input that cannot be played; the message names the file (and line or key)."""


@dataclass(frozen=True)
class Entry:
    """One track to play: a file, with optional per-track preset, model, excerpt and crossfade."""

    path: Path
    preset: str | None = None  # preset name or .toml path; None: the command's --preset
    model: str | None = None  # checkpoint path; None: the command's --model
    start: float = 0.0  # seconds into the file
    end: float | None = None  # seconds into the file; None: to the end
    crossfade: float | None = None  # seconds of overlap with the previous track; None: the playlist's default

    def __post_init__(self) -> None:
        if not isinstance(self.path, Path):
            object.__setattr__(self, "path", Path(self.path))

    @property
    def duration(self) -> float | None:
        """Seconds to play, when an end is set."""
        return None if self.end is None else self.end - self.start

    @property
    def name(self) -> str:
        """The file name, for log lines."""
        return self.path.name


@dataclass
class Playlist:
    """The entries and how to go through them."""

    entries: list[Entry]
    crossfade: float = 0.0  # default overlap between consecutive tracks, seconds (0: gapless)
    loop: bool = False
    shuffle: bool = False
    shuffle_seed: int = field(repr=False, compare=False,  # the shuffles' seed: drawn once, kept by a resume
                              default_factory=lambda: random.SystemRandom().randrange(2**63))

    def order(self, pass_index: int, seed: int | None = None) -> list[Entry]:
        """The entries in play order for pass `pass_index` (0, 1, … when looping).

        As listed, or when shuffling a different permutation per pass, reproducible from seed and
        pass_index (seed None: `shuffle_seed`, drawn once per Playlist). A pass never starts with the track that
        ended the previous one (when there are two or more).
        """
        if pass_index < 0:
            raise ValueError(f"pass_index must be >= 0, got {pass_index}")
        if not self.shuffle or len(self.entries) < 2:
            return list(self.entries)
        seed = self.shuffle_seed if seed is None else seed
        n = len(self.entries)
        if n == 2:  # only one order avoids a repeat at every boundary: keep pass 0's
            pass_index = 0
        idx, rng = _permutation(n, seed, pass_index)
        # The fix-up below never moves the last track, so the previous pass's last is its raw last.
        if pass_index > 0 and idx[0] == _permutation(n, seed, pass_index - 1)[0][-1]:
            j = rng.randrange(1, n - 1)
            idx[0], idx[j] = idx[j], idx[0]
        return [self.entries[i] for i in idx]

    def crossfade_before(self, entry: Entry) -> float:
        """Seconds of overlap between `entry` and the track before it."""
        return self.crossfade if entry.crossfade is None else entry.crossfade


def _permutation(n: int, seed: int, pass_index: int) -> tuple[list[int], random.Random]:
    rng = random.Random(f"lavlive.playlist:{seed}:{pass_index}")  # str seeds are stable across runs
    idx = list(range(n))
    rng.shuffle(idx)
    return idx, rng


def load_playlist(inputs: list[str | Path], *, crossfade: float | None = None, loop: bool | None = None,
                  shuffle: bool | None = None, missing: str = "error") -> Playlist:
    """One playlist from the command's inputs (files, folders, .m3u/.m3u8, .toml), in the order given.

    crossfade/loop/shuffle, when not None, override the first TOML playlist's `[playlist]` values.
    missing: "error" refuses missing files, "skip" warns and leaves them out.
    """
    if missing not in ("error", "skip"):
        raise ValueError(f"missing must be 'error' or 'skip', got {missing!r}")
    if crossfade is not None:
        crossfade = _number(crossfade, "crossfade", 0.0, MAX_CROSSFADE, prefix="")
    loader = _Loader(skip_missing=missing == "skip")
    entries: list[Entry] = []
    for item in inputs:
        entries += loader.expand(Path(item), "", None)
    if not entries:
        raise PlaylistError(f"no audio files in: {', '.join(str(i) for i in inputs) or '(no inputs)'}")
    defaults = loader.defaults
    return Playlist(entries=entries,
                    crossfade=crossfade if crossfade is not None else defaults.get("crossfade", 0.0),
                    loop=loop if loop is not None else defaults.get("loop", False),
                    shuffle=shuffle if shuffle is not None else defaults.get("shuffle", False))


class _Loader:
    """Expands inputs into entries, remembering the first TOML's defaults and guarding against playlist loops."""

    def __init__(self, skip_missing: bool) -> None:
        self.skip_missing = skip_missing
        self.defaults: dict[str, Any] = {}
        self.defaults_from: str | None = None
        self.open: list[Path] = []  # playlists being read, to refuse one that includes itself

    def expand(self, path: Path, where: str, track: dict[str, Any] | None) -> list[Entry]:
        """Entries for one path; `where` prefixes messages ("list.m3u: line 3: "), `track` holds TOML settings."""
        if not path.exists():
            what = "no such file" if path.suffix else "no such file or folder"
            return self._skip_or_fail(f"{where}{path}: {what}")
        if path.is_dir():
            files = _scan(path)
            if not files:
                return self._skip_or_fail(f"{where}{path}: folder has no audio files "
                                          f"({' '.join(AUDIO_EXTENSIONS)})")
            return [Entry(f, **(track or {})) for f in files]
        suffix = path.suffix.lower()
        if suffix in M3U_EXTENSIONS or suffix == ".toml":
            if track is not None:
                raise PlaylistError(f"{where}path '{path}' is a playlist; a [[track]] must be an audio file or folder")
            return self._playlist(path, where, suffix)
        return [Entry(path, **(track or {}))]

    def _skip_or_fail(self, message: str) -> list[Entry]:
        if not self.skip_missing:
            raise PlaylistError(message)
        log.warning("%s (skipped)", message)
        return []

    def _playlist(self, path: Path, where: str, suffix: str) -> list[Entry]:
        key = path.resolve()
        if key in self.open:
            raise PlaylistError(f"{where}{path}: playlist includes itself")
        self.open.append(key)
        try:
            return self._m3u(path, where) if suffix in M3U_EXTENSIONS else self._toml(path, where)
        finally:
            self.open.pop()

    def _read(self, path: Path, where: str) -> bytes:
        try:
            return path.read_bytes()
        except OSError as e:
            raise PlaylistError(f"{where}{path}: cannot be read ({e.strerror or e})") from None

    def _m3u(self, path: Path, where: str) -> list[Entry]:
        raw = self._read(path, where)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            if path.suffix.lower() == ".m3u8":
                raise PlaylistError(f"{where}{path}: not valid UTF-8 ({e.reason} at byte {e.start})") from None
            text = raw.removeprefix(b"\xef\xbb\xbf").decode("latin-1")
        entries: list[Entry] = []
        for number, line in enumerate(text.split("\n"), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            prefix = f"{where}{path}: line {number}: "
            entries += self.expand(_m3u_target(line, path.parent, prefix), prefix, None)
        return entries

    def _toml(self, path: Path, where: str) -> list[Entry]:
        src = f"{where}{path}"
        try:
            data = tomllib.loads(self._read(path, where).decode("utf-8-sig"))
        except UnicodeDecodeError as e:
            raise PlaylistError(f"{src}: not valid UTF-8 ({e.reason} at byte {e.start})") from None
        except tomllib.TOMLDecodeError as e:
            raise PlaylistError(f"{src}: not valid TOML ({_one_line(e)})") from None
        if "playlist" not in data and "track" not in data:
            raise PlaylistError(f"{src}: not a playlist (no [playlist] table or [[track]] entries)")
        for key in data:
            if key not in ("playlist", "track"):
                raise PlaylistError(f"{src}: unknown key or table '{key}' (known: [playlist], [[track]])")
        base = path.parent
        settings = data.get("playlist", {})
        if not isinstance(settings, dict):
            raise PlaylistError(f"{src}: 'playlist' must be a table ([playlist])")
        defaults = _settings(settings, f"{src}: [playlist]: ", PLAYLIST_KEYS, base)
        shared = {k: v for k, v in defaults.items() if k in ("crossfade", "loop", "shuffle")}
        if self.defaults_from is None:
            self.defaults, self.defaults_from = shared, src
        elif shared:
            log.warning("%s: [playlist] %s ignored: %s sets them for the whole show",
                        src, ", ".join(sorted(shared)), self.defaults_from)
        tracks = data.get("track", [])
        if not isinstance(tracks, list):
            raise PlaylistError(f"{src}: 'track' must be an array of tables: write [[track]], not [track]")
        entries: list[Entry] = []
        for number, table in enumerate(tracks, 1):
            prefix = f"{src}: [[track]] {number}: "
            if not isinstance(table, dict):
                raise PlaylistError(f"{prefix}must be a table, got {table!r}")
            if "path" not in table:
                raise PlaylistError(f"{prefix}missing key 'path'")
            values = _settings(table, prefix, TRACK_KEYS, base)
            start, end = values.get("start", 0.0), values.get("end")
            if end is not None and end <= start:
                raise PlaylistError(f"{prefix}end = {end} must be after start = {start}")
            track = {"preset": values.get("preset", defaults.get("preset")),
                     "model": values.get("model", defaults.get("model")),
                     "start": start, "end": end, "crossfade": values.get("crossfade")}
            entries += self.expand(base / values["path"], prefix, track)
        return entries


def _settings(table: dict[str, Any], prefix: str, known: tuple[str, ...], base: Path) -> dict[str, Any]:
    """Validated values of a [playlist] or [[track]] table, paths resolved against `base`."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key not in known:
            raise PlaylistError(f"{prefix}unknown key '{key}' (known: {', '.join(known)})")
        if key in ("loop", "shuffle"):
            if type(value) is not bool:
                raise PlaylistError(f"{prefix}{key} = {value!r} should be true or false")
            out[key] = value
        elif key in ("start", "end", "crossfade"):
            out[key] = _number(value, key, 0.0, MAX_CROSSFADE if key == "crossfade" else math.inf, prefix)
        else:  # path, preset, model: text
            if not isinstance(value, str) or not value.strip():
                raise PlaylistError(f"{prefix}{key} = {shown(value)} should be a non-empty string")
            if key == "model" or (key == "preset" and value.lower().endswith(".toml")):
                value = str(base / value)  # an absolute value stays as it is
            out[key] = value
    return out


def _number(value: Any, key: str, lo: float, hi: float, prefix: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise PlaylistError(f"{prefix}{key} = {value!r} should be a number of seconds")
    if not lo <= value <= hi:
        limit = f"between {lo:g} and {hi:g}" if math.isfinite(hi) else f"at least {lo:g}"
        raise PlaylistError(f"{prefix}{key} = {value!r} should be {limit} seconds")
    return float(value)


def _m3u_target(line: str, base: Path, prefix: str) -> Path:
    """The path an M3U line names: a file:// URI or a path relative to the playlist's folder."""
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.\-]+)://", line)
    if scheme:
        name = scheme.group(1).lower()
        shown = line if len(line) <= 60 else line[:59] + "…"
        if name != "file":
            kind = "streams" if name in ("http", "https") else "URLs"
            raise PlaylistError(f"{prefix}{kind} ({shown}) are not supported")
        uri = urllib.parse.urlsplit(line)
        if uri.netloc not in ("", "localhost"):
            raise PlaylistError(f"{prefix}file URIs on another host ({shown}) are not supported")
        return Path(urllib.request.url2pathname(uri.path))
    target = base / line
    if os.sep == "/" and "\\" in line and not target.exists():  # written on Windows
        target = base / line.replace("\\", "/")
    return target


def _scan(folder: Path) -> list[Path]:
    """Audio files under `folder`, recursively, hidden ones skipped, in natural order."""
    found: list[tuple[tuple[str, ...], Path]] = []
    seen: set[str] = set()

    def walk(directory: str, rel: tuple[str, ...]) -> None:
        real = os.path.realpath(directory)
        if real in seen:  # a symlink loop
            return
        seen.add(real)
        try:
            children = list(os.scandir(directory))
        except OSError as e:
            log.warning("%s: cannot be read (%s), skipped", directory, e.strerror or e)
            return
        for child in children:
            if child.name.startswith("."):
                continue
            if child.is_dir():
                walk(child.path, rel + (child.name,))
            elif child.is_file() and os.path.splitext(child.name)[1].lower() in AUDIO_EXTENSIONS:
                found.append((rel + (child.name,), Path(child.path)))

    walk(str(folder), ())
    found.sort(key=lambda item: tuple(_natural(part) for part in item[0]))
    return [path for _, path in found]


def _natural(name: str) -> tuple[list[Any], str]:
    """Sort key: digit runs compare as numbers, text case-insensitively; the name itself breaks ties."""
    parts: list[Any] = re.split(r"(\d+)", name)
    return [int(p) if i % 2 else p.casefold() for i, p in enumerate(parts)], name


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())
