"""`lavlive render --replay SHOW.json`: a recorded show (play --record) drawn again offline, at full quality.

The sidecar says which tracks sounded from when in the recording, with which preset and model, and every
change made on stage with the control frame it took effect from. Each track's control path is run as the
show ran it (the show's analysis blocks, one thread), and each change is applied between the same two
blocks, so the replay's ws equal the show's frame by frame. The frames are drawn at the render's size
and quality, and the recording's own audio (what was heard) goes with them.

Known differences from the show: a crossfade between two tracks is replayed as a cut at the second
track's start; a `live` show cannot be replayed (its input is only in the recording, as AAC).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import __version__
from ..control import ControlPath, follow_song, fps_text, frame_time
from ..devices import resolve_device, serial_here
from ..errors import LavliveError
from ..files import check_writable, replace_text
from ..generator.runtime import check_options
from ..pipeline.engine import Engine
from ..modulation.routes import route_from_dict
from ..pipeline.frame import Frame
from ..pipeline.model import Model, ModelSettings, load_model
from ..pipeline.setlist import Track, TrackVisuals
from ..pipeline.synthesizer import SynthesisOptions
from ..presets import Preset, load_preset
from ..stage import apply
from .offline import write_frames
from .settings import RenderSettings
from .sidecar import sidecar_path
from .video import VideoWriter, choose_encoder, container_format

SHOW_VERSION = 1


@dataclass(frozen=True)
class Excerpt:
    """A track as the sidecar names it: a part of an audio file."""

    path: Path
    start: float
    duration: float | None

    @property
    def name(self) -> str:
        return self.path.name


def read_show(path: Path) -> dict[str, Any]:
    """The sidecar of a recorded show, checked enough to replay it, or one line saying what is wrong."""
    try:
        show = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LavliveError(f"--replay {path}: no such file") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise LavliveError(f"--replay {path}: not a show's sidecar ({e})") from None
    if not isinstance(show, dict) or show.get("show") != SHOW_VERSION or not isinstance(show.get("tracks"), list):
        raise LavliveError(f"--replay {path}: not the sidecar of a recorded show (lavlive play --record writes "
                           "VIDEO.json)")
    if show.get("kind") != "play":
        raise LavliveError(f"--replay {path}: a {show.get('kind')} show cannot be replayed (only play's)")
    if not show["tracks"]:
        raise LavliveError(f"--replay {path}: the show recorded no track")
    try:
        for track in show["tracks"]:
            float(track["from"]), str(track["entry"]["path"]), float(track["entry"]["start"])
            for change in track["changes"]:
                float(change["next_time"]), dict(change["values"])
        Fraction(show["fps"]), float(show["recorded"]["seconds"])
    except (KeyError, TypeError, ValueError) as e:
        raise LavliveError(f"--replay {path}: damaged sidecar ({type(e).__name__}: {e})") from None
    return show


def stage_values(values: dict[str, Any], source: str) -> dict[str, Any]:
    """A change's values as stage.apply takes them (routes back from their tables)."""
    out = dict(values)
    if "routes" in out:
        out["routes"] = tuple(route_from_dict(r, source) for r in out["routes"])
    return out


class ShowChanges:
    """One track's changes, applied to its path where the show applied them (`before_block`)."""

    def __init__(self, changes: list[dict[str, Any]], source: str) -> None:
        self._changes = [(float(c["next_time"]), stage_values(c["values"], source), float(c.get("crossfade", 0.0)),
                          bool(c.get("on_beat", False)), c.get("at")) for c in changes]
        self.applied = 0

    def __call__(self, path: ControlPath) -> None:
        while self.applied < len(self._changes) and self._changes[self.applied][0] <= path.next_time + 1e-9:
            _, values, crossfade, on_beat, at = self._changes[self.applied]
            apply(values, path, crossfade, on_beat, at)
            self.applied += 1


class ReplayPlan:
    """The frames of a recorded show (a Plan): frame i at i / fps of the recording, from the track sounding then."""

    def __init__(self, show: dict[str, Any], models: ModelSettings, options: SynthesisOptions, say=print) -> None:
        self.show, self.models, self.options, self.say = show, models, options, say
        self.fps = Fraction(show["fps"])
        self.total = round(Fraction(show["recorded"]["seconds"]).limit_denominator(1_000_000) * self.fps)
        self.duration = self.total / float(self.fps)
        self.starts = [float(t["from"]) for t in show["tracks"]]
        self._models: dict[str, Model] = {}
        self._visuals: dict[int, TrackVisuals] = {}

    def model(self, name: str | None) -> Model:
        """The model `name` names (None: the embedded one), loaded once; every model draws at the first one's
        size (one video)."""
        key = name or "default"
        if key not in self._models:
            model = load_model(name, self.models.device, self.options, say=self.say)
            self.options = dataclasses.replace(self.options, size=model.synthesizer.size)
            self._models[key] = model
        return self._models[key]

    def _preset(self, track: dict[str, Any]) -> Preset:
        name = track.get("preset_name")
        preset = load_preset(None if name in (None, "default") else name)
        if self.show.get("seed") is not None:
            preset.modulation.seed = int(self.show["seed"])
        return preset

    def visuals(self, k: int) -> TrackVisuals:
        if k not in self._visuals:
            track = self.show["tracks"][k]
            entry = track["entry"]
            excerpt = Excerpt(Path(entry["path"]), float(entry["start"]), entry.get("duration"))
            if not excerpt.path.is_file():
                raise LavliveError(f"--replay: {excerpt.path}: no such file (a track the show played)")
            preset = self._preset(track)
            model = self.model(track.get("model") or self.show.get("model"))
            path, _ = model.control_path(preset, self.models)
            follow_song(path, preset, excerpt.path, excerpt.start, excerpt.duration)
            changes = ShowChanges(track["changes"], f"replay of track {k + 1}")
            self._visuals[k] = TrackVisuals(Track(excerpt, int(track.get("position", k)), model, path,
                                                  track.get("preset_name") or "default", None, None), changes)
            for old in [j for j in self._visuals if j < k]:  # a track before stays behind for good
                del self._visuals[old]
        return self._visuals[k]

    def __iter__(self) -> Iterator[Frame]:
        torch.set_num_threads(int(self.show.get("threads") or 1))  # as the show ran: EnCodec's float32 results
        # depend on the thread count (and in a show, synthesis and analysis share torch's one setting)
        for i in itertools.count():
            if i >= self.total:
                return
            t = frame_time(i, self.fps)
            k = max(0, int(np.searchsorted(self.starts, t, side="right")) - 1)
            visuals = self.visuals(k)
            ws, (onset, beats, switch, *picture) = visuals.at(t - self.starts[k])
            yield Frame(i, t, ws, synthesizer=visuals.track.model.synthesizer, onset=float(onset), beats=int(beats),
                        switch=float(switch), picture=np.array(picture))


def replay(s: RenderSettings, sidecar: Path) -> int:
    """Render the show `sidecar` recorded into s.output (its size, quality and device; the show's frame rate and
    audio); the exit code."""
    show = read_show(sidecar)
    container_format(s.output)
    check_writable(s.output, s.force)
    check_writable(sidecar_path(s.output), s.force)
    with serial_here() as cores:
        cores = s.threads or cores
        device = resolve_device(s.models.device)
        check_options(s.models.precision, s.models.execution, device)
        codec = choose_encoder(s.video.encoder, device.type == "cuda")
        models = dataclasses.replace(s.models, model=None,
                                     encoder_weights=s.models.encoder_weights or show.get("encoder_weights"))
        noise = load_preset(show.get("preset")).synthesis.noise_mode
        options = SynthesisOptions(s.video.size, s.video.scale, noise, precision=s.models.precision,
                                   execution=s.models.execution, canvas=s.models.canvas)
        plan = ReplayPlan(show, models, options)
        synthesizer = plan.visuals(0).track.model.synthesizer
        recording = sidecar.parent / str(show["recorded"].get("video", ""))
        audio = recording if recording.is_file() and recording != sidecar else None
        if audio is None:
            print(f"lavlive: the recording {recording.name} is not beside {sidecar.name}: the replay has no sound")

        def describe(writer: VideoWriter) -> str:
            return (f"replaying {len(show['tracks'])} track(s), {plan.duration:.1f} s, at {synthesizer.size}, "
                    f"{fps_text(plan.fps)} fps on {device} ({synthesizer.describe()}), {codec}; audio: "
                    f"{writer.audio.description if writer.audio else 'none'}")

        code, writer, _ = write_frames(s, lambda: Engine(plan, None, synthesis_threads=cores), synthesizer.size,
                                       plan.fps, codec, plan.total, describe, 1, audio_from=audio)
    if code is not None:
        return code
    made = {"lavlive": __version__, "replay_of": str(sidecar.resolve()), "frames": writer.frames_written,
            "fps": str(plan.fps), "size": str(synthesizer.size), "codec": codec, "command": list(s.command)}
    replace_text(sidecar_path(s.output), json.dumps(made, indent=1))
    print(f"wrote {s.output} ({writer.frames_written} frames, {plan.duration:.2f} s), replayed from {sidecar.name}")
    return 0


__all__ = ["Excerpt", "ReplayPlan", "ShowChanges", "read_show", "replay"]
