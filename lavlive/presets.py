"""Presets: every coefficient of the LAV control path, in TOML, validated on load.

A preset file may set any subset of the keys below; the rest keep their defaults. Unknown keys and
out-of-range values are errors naming the key, the value and the file, so a typo never silently
changes the look. Built-in presets (the repository's `presets/`, carried in the wheel) are found by name.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from .audio.encodec_models import ENCODERS as ENCODER_INFO
from .errors import LavliveError, shown
from .modulation import PICTURE, TARGETS, Route, parse_routes
from .resources import data_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ENCODERS = tuple(ENCODER_INFO)
NOISE_MODES = ("const", "random", "none")


@dataclass
class EncoderSettings:
    name: str = "24khz"
    weights: str = ""  # path to weights (relative to the working folder); empty: torch hub cache, else random


@dataclass
class ModulationSettings:
    seed: int = 0  # seeds the two projections P_a, P_b
    seed_b: int = -1  # the second look a 'seed/mix' route fades towards (-1: seed + 1)
    y: float = 1.0  # scale of the audio-driven deviation from m_t, in units of Z_std
    c: float = 0.1  # leaky tanh slope: g(x) = tanh(x) + c·x
    onset_strength: float = 1.0  # o_t = clip(onset_strength · onset, 0, 1)
    chroma_strength: float = 0.5  # blend of pitch means M_k into m_t (0: Z_mean only)
    standardise_seconds: float = 8.0  # time constant of the causal running mean/std of u_t
    silence_db: float = -60.0  # below this level (dBFS) the audio-driven motion fades out


@dataclass
class SmoothingSettings:
    coarse: float = 0.8  # causal box window in seconds for ws feeding 4..coarse_max px
    middle: float = 0.3
    fine: float = 0.08
    coarse_max_resolution: int = 8
    middle_max_resolution: int = 32


@dataclass
class SynthesisSettings:
    truncation_psi: float = 0.8
    noise_mode: str = "const"


@dataclass
class TransformSettings:
    """StyleGAN3's input transform: how far the picture is moved right (x) and down (y), in units of the
    network's own square picture, and turned counter-clockwise (degrees). StyleGAN2 has no such input."""

    x: float = 0.0
    y: float = 0.0
    rotate: float = 0.0

    def vector(self) -> list[float]:
        return [getattr(self, key) for key in TRANSFORM_KEYS]


TRANSFORM_KEYS = ("x", "y", "rotate")  # a transform's values, in the order they travel with every frame


@dataclass
class NoiseSettings:
    """StyleGAN2's noise, scaled per layer group (coarse: layers up to 8², middle: up to 32², fine: above; 1 is the
    strength the network was trained with, 0 none)."""

    coarse: float = 1.0
    middle: float = 1.0
    fine: float = 1.0


@dataclass
class BendSettings:
    """Network bending: the feature maps leaving the block at `block`² (StyleGAN3: the last layer at that
    sampling rate or below) moved by x, y (in units of their size), turned (degrees) and zoomed (2^zoom)."""

    block: int = 16
    x: float = 0.0
    y: float = 0.0
    rotate: float = 0.0
    zoom: float = 0.0


@dataclass
class EffectSettings:
    """Effects on the finished picture, drawn on the synthesis device (see lavlive/picture)."""

    flash: float = 0.0
    hue: float = 0.0
    mirror: float = 0.0
    kaleidoscope: float = 0.0
    zoom: float = 0.0
    feedback: float = 0.0


SECTION_SWITCHES = ("none", "seed", "preset")


@dataclass
class SectionSettings:
    """What happens at each of a song's sections (files only: found before the first frame, audio/sections.py),
    from the first bar line at or after its start: nothing, the next seed of `seeds` (empty: the preset's seed
    + 1, + 2, …), or the next preset of `presets` (built-in names or .toml paths), faded over `crossfade` s."""

    switch: str = "none"
    seeds: list[int] = field(default_factory=list)
    presets: list[str] = field(default_factory=list)
    crossfade: float = 2.0


@dataclass
class Preset:
    name: str = "default"
    description: str = ""
    encoder: EncoderSettings = field(default_factory=EncoderSettings)
    modulation: ModulationSettings = field(default_factory=ModulationSettings)
    smoothing: SmoothingSettings = field(default_factory=SmoothingSettings)
    synthesis: SynthesisSettings = field(default_factory=SynthesisSettings)
    transform: TransformSettings = field(default_factory=TransformSettings)
    noise: NoiseSettings = field(default_factory=NoiseSettings)
    bend: BendSettings = field(default_factory=BendSettings)
    effect: EffectSettings = field(default_factory=EffectSettings)
    sections: SectionSettings = field(default_factory=SectionSettings)
    routes: tuple[Route, ...] = ()  # the [[route]] tables: the modulation matrix (lavlive/modulation)

    @property
    def follows_sections(self) -> bool:
        """Whether a file's sections are needed before its first frame: a switch at them, or a route from them."""
        return self.sections.switch != "none" or any(route.source == "section" for route in self.routes)

    def picture(self) -> list[float]:
        """The picture's controls as frames carry them (modulation.PICTURE: 'bend/block' is bend.block)."""
        return [float(getattr(getattr(self, section), key)) for section, key in (n.split("/") for n in PICTURE)]

    def to_dict(self) -> dict[str, Any]:
        """As a preset file's table (routes under 'route', as TOML's [[route]] writes them): preset_from_dict
        reads it back to an equal preset."""
        data = asdict(self)
        del data["routes"]
        return {**data, "route": [r.to_dict() for r in self.routes]} if self.routes else data


RANGES: dict[str, tuple[float, float]] = {
    "modulation.seed": (0, 2**31 - 1),
    "modulation.y": (0.0, 10.0),
    "modulation.c": (0.0, 2.0),
    "modulation.onset_strength": (0.0, 10.0),
    "modulation.chroma_strength": (0.0, 1.0),
    "modulation.standardise_seconds": (0.1, 600.0),
    "modulation.silence_db": (-120.0, 0.0),
    "smoothing.coarse": (0.0, 60.0),
    "smoothing.middle": (0.0, 60.0),
    "smoothing.fine": (0.0, 60.0),
    "smoothing.coarse_max_resolution": (4, 4096),
    "smoothing.middle_max_resolution": (4, 4096),
    "synthesis.truncation_psi": (0.0, 2.0),
    "modulation.seed_b": (-1, 2**31 - 1),
    "bend.block": (4, 4096),
    "sections.crossfade": (0.0, 60.0),
    **{name.replace("/", "."): TARGETS[name].range for name in PICTURE if name in TARGETS},
}
CHOICES: dict[str, tuple[str, ...]] = {"encoder.name": ENCODERS, "synthesis.noise_mode": NOISE_MODES,
                                       "sections.switch": SECTION_SWITCHES}
LISTS: dict[str, tuple[type, tuple[float, float] | None]] = {  # list keys: their items' type and range
    "sections.seeds": (int, RANGES["modulation.seed"]), "sections.presets": (str, None)}


def _fill(obj: Any, data: dict[str, Any], prefix: str, source: str) -> None:
    known = {f.name: f for f in fields(obj)}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if key not in known:
            raise LavliveError(f"{source}: unknown key '{dotted}' (known: {', '.join(sorted(known))})")
        current = getattr(obj, key)
        if is_dataclass(current):
            if not isinstance(value, dict):
                raise LavliveError(f"{source}: '{dotted}' must be a table, got {value!r}")
            _fill(current, value, f"{dotted}.", source)
            continue
        setattr(obj, key, _checked(dotted, value, type(current), source))


def _checked(dotted: str, value: Any, kind: type, source: str) -> Any:
    bad = f"{source}: {dotted} = {shown(value)}"
    if dotted in LISTS:
        item, bounds = LISTS[dotted]
        if type(value) is not list or not all(type(v) is item for v in value):
            raise LavliveError(f"{bad} should be a list of {item.__name__}s")
        if bounds is not None and not all(bounds[0] <= v <= bounds[1] for v in value):
            raise LavliveError(f"{bad}: every item must be in [{bounds[0]}, {bounds[1]}]")
        return list(value)
    if kind is float and type(value) is int:
        value = float(value)
    if type(value) is not kind:
        raise LavliveError(f"{bad} should be a {kind.__name__}")
    if dotted in RANGES:
        lo, hi = RANGES[dotted]
        if not lo <= value <= hi:
            raise LavliveError(f"{bad} is out of range [{lo}, {hi}]")
    if dotted in CHOICES and value not in CHOICES[dotted]:
        raise LavliveError(f"{bad} is not one of {', '.join(CHOICES[dotted])}")
    return value


def preset_from_dict(data: dict[str, Any], source: str = "preset") -> Preset:
    preset = Preset()
    data = dict(data)
    if "routes" in data:
        raise LavliveError(f"{source}: routes are [[route]] tables (the key is 'route')")
    if "route" in data:
        preset.routes = parse_routes(data.pop("route"), source)
    _fill(preset, data, "", source)
    if preset.sections.switch == "preset":
        if not preset.sections.presets:
            raise LavliveError(f"{source}: sections.switch = \"preset\" needs a list of presets in sections.presets")
        for name in preset.sections.presets:  # a one-line error now rather than at the song's first section
            try:
                preset_file(name)
            except LavliveError as e:
                raise LavliveError(f"{source}: sections.presets: {e}") from None
    s = preset.smoothing
    if s.middle_max_resolution < s.coarse_max_resolution:
        raise LavliveError(f"{source}: smoothing.middle_max_resolution = {s.middle_max_resolution} "
                           f"is below coarse_max_resolution = {s.coarse_max_resolution}")
    return preset


def read_toml(path: Path, error: type[LavliveError] = LavliveError) -> dict[str, Any]:
    """A TOML file's table, or `error` in one line naming the file (presets, MIDI maps, playlists)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise error(f"{path}: not valid TOML ({e})") from None
    except OSError as e:
        raise error(f"{path}: cannot be read ({e.strerror or e})") from None


def builtin_presets() -> list[str]:
    return sorted(p.stem for p in data_dir("presets").glob("*.toml"))


def midi_map_example() -> Path:
    """The annotated MIDI map that ships with lavlive, to copy and edit."""
    return data_dir("presets") / "midi" / "example.toml"


def preset_file(name_or_path: str | Path | None = None) -> Path:
    """The file of a preset by file path or built-in name; None gives 'default'. A one-line error if none."""
    name = str(name_or_path or "default")
    target = Path(name)
    if target.suffix != ".toml" and not target.exists():
        target = data_dir("presets") / f"{name}.toml"
        if not target.exists():
            raise LavliveError(f"preset '{name}' not found (built-in: {', '.join(builtin_presets())}; "
                               "or give a .toml path)")
    if not target.is_file():
        raise LavliveError(f"{target}: preset file not found")
    return target


def load_preset(name_or_path: str | Path | None = None) -> Preset:
    """A preset by file path or built-in name ('default', 'paper', …); None gives 'default'."""
    target = preset_file(name_or_path)
    data = read_toml(target)
    data.setdefault("name", target.stem)
    return preset_from_dict(data, str(target))
