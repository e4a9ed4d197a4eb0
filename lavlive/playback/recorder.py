"""`--record FILE`: what the screen showed, as it was composed, with what was heard, in one video file.

The show's threads only queue: `frame` (the display thread, per frame shown), `audio` (the thread that
hands audio to the sound card, or the input's), `cut` (the player, when a skip drops audio that was queued
but never heard). One encoder thread does the rest: it composes dissolves, converts, encodes H.264 and
AAC and muxes. If it falls behind, frames beyond MAX_WAITING are not kept (counted, and said at the end);
audio is never dropped. The display never waits for it.

Positions are the show's stream positions: samples of the audio stream as the sound card numbers them
(play), or of the captured input (live); a frame's is the stream second it was heard with. The file's
timeline is that stream with the cut parts taken out (and a pause takes no time), so sound and picture
stay together across skips. Audio is written only up to the latest frame, because a later skip may still
cut what lies ahead of it.

The file is written under a temporary name and moved into place when the show ends; a show that ends by
Ctrl-C or a crash (an exception) leaves FILE.partial.EXT, playable up to the last frame written.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from ..errors import LavliveError
from ..files import AtomicFile, check_writable
from ..images import dissolve, host_array
from ..pipeline.synthesizer import Size
from ..render.video import AAC_RATES, add_aac, add_h264, container_format, yuv_frame

log = logging.getLogger("lavlive.record")

MAX_WAITING = 8  # frames queued for the encoder; more are not kept (the encoder is behind)
SPEED = "veryfast"  # x264 preset: the show's cores belong to synthesis
CRF = 20


def check_record_file(path: Path) -> None:
    """A recording never overwrites anything: FILE and its sidecar must be new, in a writable folder."""
    for target in (path, path.with_name(path.name + ".json")):
        if target.exists():
            raise LavliveError(f"--record {target}: already exists; give another name (a recording never "
                               "overwrites)")
    container_format(path)
    check_writable(path, force=False)


class _Writer:
    """The container, its H.264 and AAC streams, and where each stands (encoder thread only)."""

    def __init__(self, path: Path, fps: Fraction, height: int, width: int, rate: int, channels: int) -> None:
        self.fps = fps
        self.out = av.open(str(path), mode="w", format=container_format(path))
        try:
            even = Size(width + width % 2, height + height % 2)
            self.video = add_h264(self.out, "libx264", fps, even, {"preset": SPEED, "crf": str(CRF)}, threads=1)
            self.tick = Fraction(1) / fps
            self.rate, self.channels = rate, min(channels, 2)
            self.audio = add_aac(self.out, rate, self.channels)
        except BaseException:
            self.out.close()
            raise
        self.last_pts = -1
        self.samples = 0  # audio samples written

    def picture(self, picture: np.ndarray, seconds: float) -> bool:
        """Encode one composed picture at `seconds` of the file; False if its place is taken (same frame slot)."""
        pts = round(Fraction(seconds).limit_denominator(1_000_000) * self.fps)
        if pts <= self.last_pts:
            return False
        frame = yuv_frame(picture, self.video.width, self.video.height)
        frame.pts, frame.time_base = pts, self.tick  # not the stream's: the muxer changes that
        for packet in self.video.encode(frame):
            self.out.mux(packet)
        self.last_pts = pts
        return True

    def sound(self, block: np.ndarray) -> None:
        """Append [channels, n] float32 to the audio."""
        if block.shape[0] != self.channels:
            block = block.mean(axis=0, keepdims=True) if self.channels == 1 else np.repeat(block[:1], 2, axis=0)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block, np.float32), format="fltp",
                                           layout=self.audio.layout.name)
        frame.sample_rate, frame.pts, frame.time_base = self.rate, self.samples, Fraction(1, self.rate)
        self.samples += block.shape[1]
        for packet in self.audio.encode(frame):
            self.out.mux(packet)

    def close(self) -> None:
        try:
            for stream in (self.video, self.audio):
                for packet in stream.encode(None):
                    self.out.mux(packet)
        finally:
            self.out.close()


class Recorder:
    """Records a show into `path` (.mp4, .mov, .mkv) at `fps`, with audio at `sample_rate` and `channels`."""

    def __init__(self, path: Path, fps: Fraction, sample_rate: int, channels: int) -> None:
        check_record_file(path)
        if sample_rate not in AAC_RATES:
            raise LavliveError(f"--record: audio at {sample_rate} Hz cannot be recorded as AAC (use a sound card "
                               f"rate such as 44100 or 48000)")
        self.path, self.fps, self.rate, self.channels = path, Fraction(fps), int(sample_rate), int(channels)
        self.file = AtomicFile(path, "recording")
        self.recorded = 0  # frames written
        self.dropped = 0  # frames shown but not kept (the encoder was behind)
        self.error: str | None = None
        self._events: queue.SimpleQueue[tuple] = queue.SimpleQueue()
        self._waiting = 0  # frames in _events
        self._lock = threading.Lock()
        self._writer: _Writer | None = None
        self._pending: deque[tuple[int, np.ndarray]] = deque()  # (stream position, [channels, n]) not yet written
        self._shift = 0  # stream samples cut so far: file position = stream position - shift (player's thread)
        self._last = 0  # the stream position of the latest frame written (encoder thread)
        self._thread = threading.Thread(target=self._run, name="lavlive-record", daemon=True)
        self._thread.start()

    # -- from the show's threads ---------------------------------------------------------------

    def seconds(self, position: float) -> float:
        """Where stream second `position` lies in the file (the player's thread: cuts are made there too)."""
        return position - self._shift / self.rate

    def frame(self, position: float, image: Any, blend: Any = None, alpha: float = 0.0) -> None:
        """The picture shown for stream second `position` (the display thread; never waits)."""
        if self.error is not None:
            return
        with self._lock:
            if self._waiting >= MAX_WAITING:
                self.dropped += 1
                return
            self._waiting += 1
        self._events.put(("frame", round(position * self.rate), self.seconds(position), host_array(image),
                          None if blend is None else host_array(blend), alpha))

    def audio(self, position: int, block: np.ndarray) -> None:
        """Samples heard from stream sample `position` on: [channels, n] float32 (a copy is kept)."""
        self._events.put(("audio", int(position), np.array(block, np.float32, copy=True)))

    def cut(self, heard: int, resume: int) -> None:
        """Stream samples [heard, resume) were queued but never heard (a skip): they leave the file's timeline."""
        if resume > heard:
            self._shift += resume - heard
            self._events.put(("cut", int(heard), int(resume)))

    def close(self, complete: bool = True) -> Path | None:
        """Finish the file; returns where it is (FILE, or FILE.partial.EXT if not `complete`), None if no frame
        was recorded. complete=False: the audio ends with the last frame."""
        self._events.put(("end", complete))
        self._thread.join()
        try:
            if self._writer is None:
                return None
            return self.file.commit() if complete and self.error is None else self.file.keep_partial()
        finally:
            self.file.discard()

    @property
    def duration(self) -> float:
        """Seconds of the file so far: to the end of the last frame written, or of the sound if it goes on (the
        show's last frames may have been skipped)."""
        if self._writer is None:
            return 0.0
        return max((self._writer.last_pts + 1) / float(self.fps), self._writer.samples / self.rate)

    def summary(self) -> str:
        kept = f"recorded {self.recorded} frames"
        if self.dropped:
            kept += f"; {self.dropped} shown frames were not kept (the encoder could not keep up)"
        return kept

    # -- the encoder thread ----------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            kind, *args = self._events.get()
            try:
                if kind == "end":
                    self._finish(*args)
                    return
                if self.error is None:
                    getattr(self, f"_{kind}")(*args)
            except (av.FFmpegError, OSError, ValueError) as e:
                self.error = str(e)
                log.error("--record %s: cannot write (%s); the show goes on without recording", self.path, e)
            finally:
                if kind == "frame":
                    with self._lock:
                        self._waiting -= 1

    def _frame(self, position: int, seconds: float, image: np.ndarray, blend: np.ndarray | None,
               alpha: float) -> None:
        if self._writer is None:
            height, width = image.shape[:2]
            self._writer = _Writer(self.file.tmp, self.fps, height, width, self.rate, self.channels)
        picture = image if blend is None or alpha <= 0 else dissolve(image, blend, alpha)
        if self._writer.picture(picture, max(0.0, seconds)):
            self.recorded += 1
        self._last = position
        self._write_audio(position)

    def _audio(self, position: int, block: np.ndarray) -> None:
        self._pending.append((position, block))

    def _cut(self, heard: int, resume: int) -> None:
        kept: deque[tuple[int, np.ndarray]] = deque()
        for position, block in self._pending:
            if position < heard:
                kept.append((position, block[:, :heard - position]))
        self._pending = kept

    def _write_audio(self, until: int | None) -> None:
        """Pending audio before stream sample `until` (None: all) into the file, in order."""
        writer = self._writer
        while self._pending and writer is not None:
            position, block = self._pending[0]
            if until is not None and position >= until:
                return
            take = block.shape[1] if until is None else min(block.shape[1], until - position)
            writer.sound(block[:, :take])
            if take == block.shape[1]:
                self._pending.popleft()
            else:
                self._pending[0] = (position + take, block[:, take:])

    def _finish(self, complete: bool) -> None:
        if self._writer is None:
            return
        try:
            if self.error is None:
                self._write_audio(None if complete else self._last)
            self._writer.close()
        except (av.FFmpegError, OSError, ValueError) as e:
            self.error = self.error or str(e)
            log.error("--record %s: cannot finish the file (%s)", self.path, e)
