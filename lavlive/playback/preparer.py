"""Making a playlist's tracks ready in the background while the previous one plays.

A track is ready when its model is loaded (once, shared by every track on it), its control path
is built and its first block is decoded: a damaged file fails here, not on stage.
"""

from __future__ import annotations

import itertools
import logging
import threading
from concurrent.futures import Future
from pathlib import Path

import torch

from ..audio.sections import describe_sections
from ..audio.sources import FileSource
from ..control import follow_song
from ..errors import LavliveError
from ..pipeline.model import Model, ModelSettings, load_model
from ..pipeline.setlist import Track
from ..pipeline.synthesizer import SynthesisOptions
from ..presets import load_preset
from .playlist import Entry

log = logging.getLogger(__name__)

AUDIO_BLOCK_SECONDS = 0.1  # feeder blocks at the device rate


class Preparer:
    """Loads tracks in background threads, their audio at the device's `rate` and `channels`; models are
    loaded once and shared by their tracks. `preset` and `seed` are the command line's, for every track
    (an entry may name its own preset and model)."""

    def __init__(self, settings: ModelSettings, rate: int, channels: int, preset: str | None = None,
                 seed: int | None = None) -> None:
        self.settings, self.rate, self.channels = settings, rate, channels
        self.preset, self.seed = preset, seed
        self._models: dict[str, Model] = {}
        self._notified = False
        self._lock = threading.Lock()

    def submit(self, entry: Entry, position: int) -> Future[Track]:
        """Start preparing `entry` (at `position` in the play order) in a daemon thread: quitting never
        waits for a model that is still loading."""
        future: Future[Track] = Future()

        def work() -> None:
            try:
                future.set_result(self._prepare(entry, position))
            except BaseException as e:  # noqa: BLE001 - handed to the feeder through the future
                future.set_exception(e)

        threading.Thread(target=work, name="lavlive-prepare", daemon=True).start()
        return future

    def model(self, name: str | None) -> Model:
        """The model `name` names (None: the embedded default), loaded on first use. All its tracks share
        one synthesizer, so its noise mode is the command's preset's."""
        key = str(Path(name).resolve()) if name else "default"
        with self._lock:
            if key not in self._models:
                s = self.settings
                options = SynthesisOptions(noise_mode=load_preset(self.preset).synthesis.noise_mode, to_host=False,
                                           precision=s.precision, execution=s.execution, canvas=s.canvas)
                model = load_model(name, s.device, options, say=log.info)
                log.info("synthesis: %s on %s", model.synthesizer.describe(), model.device)
                self._models[key] = model
            return self._models[key]

    def _prepare(self, entry: Entry, position: int) -> Track:
        torch.set_num_threads(1)  # this thread must not start an OpenMP team beside synthesis (devices.serial_here)
        preset_name = entry.preset or self.preset
        preset = load_preset(preset_name)
        if self.seed is not None:
            preset.modulation.seed = self.seed
        source = FileSource(entry.path, self.rate, self.channels, block_size=int(AUDIO_BLOCK_SECONDS * self.rate),
                            start=entry.start, duration=entry.duration)
        blocks = iter(source)
        first = next(blocks, None)  # decode now: a damaged file fails here, not on stage
        if first is None:
            raise LavliveError(f"{entry.path}: no audio after {entry.start:g} s")
        model = self.model(entry.model or self.settings.model)
        path, notice = model.control_path(preset, self.settings)
        if notice and not self._notified:
            self._notified = True
            log.info("%s", notice)
        sections = follow_song(path, preset, entry.path, entry.start, entry.duration)
        if sections is not None:
            log.info("%s: %s", entry.path.name, describe_sections(sections.boundaries, preset.sections.switch))
        return Track(entry, position, model, path, preset_name or "default", itertools.chain([first], blocks),
                     source.duration)
