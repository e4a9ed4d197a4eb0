"""What `lavlive play` and `lavlive live` were asked to do, as typed values (the commands fill them in)."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from ..output.display import DisplaySettings
from ..pipeline.model import ModelSettings
from ..stage import StageSettings


@dataclass(frozen=True, kw_only=True)
class ShowSettings:
    """What every show has: its preset (name or .toml; for play, tracks that name none) and projection seed
    (None: the preset's), the networks, the display, the stage inputs, the frame rate, the stats line from
    the start, a CSV line per shown frame, and a health line every second for a watchdog."""

    preset: str | None = None
    seed: int | None = None
    models: ModelSettings = field(default_factory=ModelSettings)
    display: DisplaySettings = field(default_factory=DisplaySettings)
    stage: StageSettings = field(default_factory=StageSettings)
    fps: Fraction = Fraction(30)
    stats: bool = False
    frame_log: Path | None = None
    health_file: Path | None = None  # a health line every second (playback/health.py)
    record: Path | None = None  # what is shown and heard, into a video with a sidecar (playback/recording.py)


@dataclass(frozen=True, kw_only=True)
class PlaySettings(ShowSettings):
    """`lavlive play`: files, folders and playlists with their sound, the picture following what is heard.
    `kiosk` loops forever, skips what does not play, logs to `log` and keeps its state for `resume`."""

    inputs: tuple[str, ...]
    audio_device: int | str | None = None
    shuffle: bool = False
    loop: bool = False
    crossfade: float | None = None  # seconds between tracks; None: the playlist's
    kiosk: bool = False
    log: Path | None = None  # None: ~/.local/state/lavlive/kiosk.log in kiosk mode, else no file
    display_latency: float = 0.0  # seconds the screen takes to show a frame
    resume: bool = False  # start where the state file says (playback/resume.py)
    state_file: Path | None = None  # None: the default one in kiosk mode or with resume, else none


@dataclass(frozen=True, kw_only=True)
class LiveSettings(ShowSettings):
    """`lavlive live`: a sound card's input, visualised with the lowest latency the machine allows."""

    input_device: int | str | None = None
    channels: int = 1
    encoder: str = "24khz"
    block_ms: float = 40.0
