"""The work folder of a segmented render, OUT.segments/: its layout, snapshots and finished segments."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..files import write_bytes
from .segments import Segment, SegmentResult


class WorkFolder:
    """OUT.segments/: the layout (job.json), each segment's snapshot, and the segments finished so far.

    Every file is written whole or not at all (files.write_bytes), so a crash never leaves a
    half-written segment that a re-run would take for finished."""

    def __init__(self, output: Path, key: str) -> None:
        self.path = output.with_name(output.name + ".segments")
        self.key = key

    def _file(self, index: int, ext: str) -> Path:
        return self.path / f"segment-{index:04d}.{ext}"

    def load(self) -> tuple[list[Segment], int] | None:
        """The layout of an earlier run of the same job, or None (a folder of another job is cleared)."""
        meta = self.path / "job.json"
        if not meta.is_file():
            return None
        try:
            job = json.loads(meta.read_text(encoding="utf-8"))
            if job.get("key") != self.key:
                raise ValueError("another render")
            segments = [Segment(i, a, b, self._file(i, "snapshot").read_bytes() if has else None)
                        for i, (a, b, has) in enumerate(job["segments"])]
            return segments, int(job["frames"])
        except (OSError, ValueError, KeyError, TypeError):
            print(f"{self.path}: holds segments of another render (or is damaged); starting over")
            shutil.rmtree(self.path, ignore_errors=True)
            return None

    def save(self, segments: list[Segment], frames: int) -> None:
        self.path.mkdir(exist_ok=True)
        for s in segments:
            if s.snapshot is not None:
                write_bytes(self._file(s.index, "snapshot"), s.snapshot)
        table = [[s.first, s.end, s.snapshot is not None] for s in segments]
        write_bytes(self.path / "job.json", json.dumps({"key": self.key, "frames": frames, "segments": table},
                                                       indent=1).encode())

    def finished(self, segment: Segment) -> list[str] | None:
        """The frame hashes of a finished segment, or None if it is still to render."""
        try:
            hashes = json.loads(self._file(segment.index, "json").read_text(encoding="utf-8"))["hashes"]
        except (OSError, ValueError, KeyError):
            return None
        return hashes if len(hashes) == segment.frames and self.video(segment).is_file() else None

    def video(self, segment: Segment) -> Path:
        return self._file(segment.index, "mp4")

    def keep(self, result: SegmentResult) -> None:
        write_bytes(self._file(result.index, "mp4"), result.video)
        write_bytes(self._file(result.index, "json"), json.dumps({"hashes": result.hashes, "node": result.node}).encode())

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
