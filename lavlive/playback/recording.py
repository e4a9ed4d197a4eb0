"""A show being recorded (--record): the video (recorder.py) and its sidecar (journal.py), begun and finished
together. The players tell it what they showed and when a track began; the stage tells it each change."""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..files import replace_text
from ..pipeline.frame import Frame
from ..pipeline.setlist import ANALYSIS_BLOCK_SECONDS
from ..stage import StageLink
from .journal import ShowJournal
from .recorder import Recorder

log = logging.getLogger("lavlive.record")


def track_info(track: Any) -> dict[str, Any]:
    """What a replay needs to know of a track of a setlist (pipeline.setlist.Track): its file and excerpt, its
    preset and model."""
    entry = track.entry
    return {"entry": {"path": str(Path(entry.path).resolve()), "start": entry.start, "duration": entry.duration},
            "position": track.position, "preset_name": track.preset, "model": absolute(track.model.source.path)}


def absolute(path: str | Path | None) -> str | None:
    """A file's path as a sidecar keeps it: absolute, so a replay finds it from anywhere."""
    return None if path is None else str(Path(path).resolve())


class Recording:
    """`path` and `path`.json for a show of `kind` ('play' or 'live') at `fps`, with audio at `rate`."""

    def __init__(self, path: Path, fps: Fraction, rate: int, channels: int, stage: StageLink, kind: str,
                 settings: dict[str, Any]) -> None:
        self.recorder = Recorder(path, fps, rate, channels)
        self.journal = ShowJournal(kind, {"fps": str(Fraction(fps)), "sample_rate": rate,
                                          "analysis_block_seconds": ANALYSIS_BLOCK_SECONDS, **settings})
        self.stage = stage
        stage.journal = self.journal.changed
        log.info("recording to %s", path)

    def audio(self, position: int, block: np.ndarray) -> None:
        """[n, channels] samples from stream sample `position` on (as the sound card gets them)."""
        self.recorder.audio(position, block.T)

    def cut(self, heard: int, resume: int) -> None:
        """A skip: stream samples [heard, resume) were queued but will never be heard."""
        self.recorder.cut(heard, resume)

    def frame(self, position: float, frame: Frame) -> None:
        """`frame` reached the screen, heard with stream second `position`."""
        self.recorder.frame(position, frame.image, None if frame.blend is None else frame.blend.image, frame.alpha)

    def track(self, path: Any, position: float, info: dict[str, Any]) -> None:
        """A track whose control path is `path` began sounding at stream second `position`."""
        if path is not None:
            self.journal.track(path, {**info, "from": round(self.recorder.seconds(position), 6)})

    def close(self, complete: bool) -> None:
        """Finish the video (complete: the show ended by itself or by its quit key; else FILE.partial.EXT) and
        write the sidecar beside it; says where both are."""
        self.stage.journal = None
        video = self.recorder.close(complete)
        if video is None:
            log.warning("--record %s: no frame was shown; nothing recorded", self.recorder.path)
            return
        recorded = {"video": video.name, "frames": self.recorder.recorded, "not_kept": self.recorder.dropped,
                    "seconds": round(self.recorder.duration, 6),
                    "complete": complete and self.recorder.error is None}
        sidecar = video.with_name(video.name + ".json")
        try:
            replace_text(sidecar, self.journal.dumps(recorded))
        except OSError as e:
            log.error("--record %s: cannot write (%s)", sidecar, e.strerror or e)
        log.info("recording: %s in %s (and %s)", self.recorder.summary(), video, sidecar.name)
