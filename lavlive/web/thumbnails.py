"""Thumbnails on the control page: what each preset, and each of a few seeds, looks like with the model the show
has loaded. Drawn one at a time on a background thread (a frame of the look after two seconds of the demo
music, pipeline.model.Model.still), only once a page asks, and kept: a show with no page open draws none."""

from __future__ import annotations

import base64
import copy
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import LavliveError
from ..pipeline.model import Model, ModelSettings
from ..presets import Preset, load_preset
from .preview import grab, jpeg

log = logging.getLogger("lavlive.web")

WIDTH = 128  # pixels
SEEDS = 8  # seeds offered with pictures beside the one on screen


def preset_key(name: str) -> str:
    return f"preset:{name}"


def seed_key(preset: str, seed: int) -> str:
    return f"seed:{preset}:{seed}"


class Thumbnails:
    """Draws looks for the page: `want(preset names, (preset, seeds))` queues what is not drawn yet; each picture
    goes out through `publish(message)` as it is done, and `drawn()` gives them all to a page that opens later."""

    def __init__(self, model: Callable[[], Model], settings: ModelSettings,
                 publish: Callable[[dict[str, Any]], None]) -> None:
        self.model, self.settings, self.publish = model, settings, publish
        self.seeds = [int(s) for s in np.random.default_rng().integers(0, 2**31 - 1, SEEDS)]
        self._drawn: dict[str, dict[str, Any]] = {}
        self._asked: set[str] = set()
        self._queue: queue.SimpleQueue[tuple[str, str | Preset, int | None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="lavlive-thumbnails", daemon=True)
        self._thread.start()

    def want_presets(self, names: list[str]) -> None:
        for name in names:
            self._ask(preset_key(name), name, None)

    def want_seeds(self, preset: Preset, seeds: list[int]) -> None:
        for seed in seeds:
            self._ask(seed_key(preset.name, seed), preset, seed)

    def drawn(self) -> list[dict[str, Any]]:
        return list(self._drawn.values())

    def close(self) -> None:
        self._queue.put(None)

    def _ask(self, key: str, preset: str | Preset, seed: int | None) -> None:
        if key in self._asked:
            return
        self._asked.add(key)
        self._queue.put((key, preset, seed))

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            key, preset, seed = item
            try:
                look = load_preset(preset) if isinstance(preset, str) else copy.deepcopy(preset)
                if seed is not None:
                    look.modulation.seed = seed
                picture = grab(self.model().still(look, self.settings), width=WIDTH)
                data = base64.b64encode(jpeg(picture, WIDTH)).decode("ascii")
            except (LavliveError, OSError, RuntimeError, ValueError) as e:
                log.warning("web: no thumbnail for %s (%s)", key, e)
                continue
            message = {"key": key, "image": f"data:image/jpeg;base64,{data}"}
            self._drawn[key] = message
            self.publish(message)
