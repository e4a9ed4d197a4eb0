"""The setlist: a playlist laid out on one timeline of output samples, heard and seen.

Track k sounds over samples [start_k, end_k) of the stream sent to the sound card; consecutive
tracks overlap by their crossfade (0: gapless, sample-exact). Two threads build it:

- the feeder decodes the audio at the device's rate, mixes each overlap with equal-power fades
  and writes it to the audio output. It decides where each track starts, because only decoding
  tells a track's exact length, and it publishes that as `slots`;
- the plan, run in the engine's analysis thread, follows the slots: for each frame time it
  reads ws off the tracks sounding then and crossfades them in W, or, when the two tracks use
  different models, hands both to synthesis for a cross-dissolve in the window.

Tracks are prepared (model, control path, first decoded block) in a background thread while the
previous one plays, so the picture never stalls at a switch. A track that cannot be prepared is
skipped with a log line.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from ..audio.sources import FileSource
from ..engine import Frame
from ..errors import LavliveError
from ..frames import Synthesizer
from ..generator import Generator, load_generator
from ..lav.control import ControlPath
from ..lav.look import smoothstep
from ..lav.timeline import ControlTrack, frame_time
from ..presets import load_preset
from .audio_out import AudioOutput
from .playlist import Entry

log = logging.getLogger(__name__)

AUDIO_BLOCK_SECONDS = 0.1  # feeder blocks at the device rate
ANALYSIS_BLOCK_SECONDS = 0.25  # control path blocks: large is cheaper; the plan runs ahead anyway
MIN_VISUAL_CROSSFADE = 0.5  # seconds; even a gapless switch blends the pictures this long
POLL = 0.005
BACKOFF_SECONDS = 5.0  # between tries when every track failed in a row


class Stopped(Exception):
    """The show was closed while a thread waited."""


@dataclass
class Model:
    """A generator and the synthesizer that draws its frames (shared by every track on it)."""

    key: str
    G: Generator
    synthesizer: Synthesizer


@dataclass
class Track:
    """A playlist entry made ready: its model, a fresh control path, and its audio opened."""

    entry: Entry
    position: int  # in the play order, counting on across passes when looping
    model: Model
    path: ControlPath
    preset: str
    audio: Iterator[np.ndarray] | None  # [channels, n] blocks at the device rate, first block already decoded
    duration: float | None  # what the file's header says: for the log line only (the timeline counts decoded samples)

    def release(self) -> None:
        """Drop what only playing needs (the control path holds an encoder): a kiosk runs for months."""
        self.path = self.audio = None

    def describe(self) -> str:
        length = f", {int(self.duration // 60)}:{self.duration % 60:04.1f}" if self.duration else ""
        return f"{self.entry.name} (preset {self.preset}, model {self.model.key}{length})"


@dataclass
class Slot:
    """Where a track sounds on the timeline, in output samples from the show's start."""

    track: Track
    start: int
    end: int | None = None  # known once the track is decoded to its end


@dataclass
class Settings:
    """What the command line says about every track (entries may override preset and model)."""

    preset: str | None = None
    model: str | None = None
    encoder_weights: str | None = None
    download: bool = False
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    seed: int | None = None  # overrides every preset's modulation.seed (--seed)
    noise_mode: str | None = None
    precision: str = "auto"  # generator/runtime.py
    execution: str = "auto"


class Preparer:
    """Loads tracks in a background thread; models are loaded once and shared by their tracks."""

    def __init__(self, settings: Settings, rate: int, channels: int) -> None:
        self.settings, self.rate, self.channels = settings, rate, channels
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
                G = load_generator(name, self.settings.device)
                log.info("model: %s", G.source.describe())
                preset = load_preset(self.settings.preset)
                synthesizer = Synthesizer(G, noise_mode=self.settings.noise_mode or preset.synthesis.noise_mode,
                                          to_host=False, precision=self.settings.precision,
                                          execution=self.settings.execution)
                synthesizer.warm_up()
                log.info("synthesis: %s on %s", synthesizer.describe(), synthesizer.device)
                self._models[key] = Model(key if name is None else G.source.describe(), G, synthesizer)
            return self._models[key]

    def _prepare(self, entry: Entry, position: int) -> Track:
        torch.set_num_threads(1)  # this thread must not start an OpenMP team beside synthesis (devices.serial_here)
        s = self.settings
        preset_name = entry.preset or s.preset
        preset = load_preset(preset_name)
        if s.seed is not None:
            preset.modulation.seed = s.seed
        source = FileSource(entry.path, self.rate, self.channels, block_size=int(AUDIO_BLOCK_SECONDS * self.rate),
                            start=entry.start, duration=entry.duration)
        blocks = iter(source)
        first = next(blocks, None)  # decode now: a damaged file fails here, not on stage
        if first is None:
            raise LavliveError(f"{entry.path}: no audio after {entry.start:g} s")
        model = self.model(entry.model or s.model)
        path, notice = ControlPath.for_generator(model.G, preset, s.encoder_weights, s.download, str(s.device))
        if notice and not self._notified:
            self._notified = True
            log.info("%s", notice)
        return Track(entry, position, model, path, preset_name or "default", itertools.chain([first], blocks),
                     source.duration)


def _fades(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Equal-power fade-out and fade-in gains over n samples (power sums to 1 throughout)."""
    x = (np.arange(n) + 0.5) / max(n, 1) * (math.pi / 2)
    return np.cos(x).astype(np.float32)[:, None], np.sin(x).astype(np.float32)[:, None]


Upcoming = Iterator[tuple[Entry, float, "Future[Track]"]]  # entry, its crossfade in seconds, its preparation


class Feeder:
    """Decodes the tracks in order into the audio output, crossfading; publishes where each sounds.

    While a track is decoded, its last `hold` samples (the next entry's crossfade) are kept back;
    at its end they become the tail that is mixed into the next track's start, so the next track
    starts `keep` samples (the crossfade, at most half this track) before this one ends. Since a
    track ends no earlier than what is decoded of it, `safe_until = written + held - hold` is a
    lower bound on the next track's start: every track starting before it is in `slots`, and the
    plan waits for it instead of guessing (the feeder runs seconds ahead of playback).
    """

    def __init__(self, upcoming: Upcoming, audio: AudioOutput, on_skip: Callable[[Entry, BaseException], None],
                 backoff_after: int = 0) -> None:
        self.upcoming, self.audio, self.on_skip = upcoming, audio, on_skip
        self.backoff_after = backoff_after  # failures in a row before waiting between tries (0: never)
        self.rate = audio.sample_rate
        self.slots: list[Slot] = []
        self.safe_until: float = 0  # samples
        self.finished = False  # every track is written; the last slot's end is the end of the show
        self.error: BaseException | None = None
        self.written = 0  # samples written to the audio output
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lavlive-feeder", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        torch.set_num_threads(1)
        try:
            self._feed()
        except Stopped:
            pass
        except BaseException as e:  # noqa: BLE001 - reported to the plan and the player
            self.error = e
        finally:
            self.finished = True
            self.safe_until = math.inf

    def _write(self, x: np.ndarray) -> None:
        if len(x) and not self.audio.write(np.ascontiguousarray(x, np.float32), self._stop):
            raise Stopped
        self.written += len(x)

    def _ready(self, item: tuple[Entry, float, Future[Track]] | None) -> tuple[Track, float] | None:
        """Wait for a prepared track; one that failed is reported and skipped for the next one.

        When every file fails in a row (a kiosk whose folder went bad), it waits a little between
        tries instead of spinning."""
        failures = 0
        while item is not None:
            entry, crossfade, future = item
            while not future.done():
                if self._stop.wait(0.02):
                    raise Stopped
            try:
                return future.result(), crossfade
            except Exception as e:  # noqa: BLE001 - any failure to prepare a track skips it
                self.on_skip(entry, e)
            failures += 1
            if self.backoff_after and failures >= self.backoff_after and self._stop.wait(BACKOFF_SECONDS):
                raise Stopped
            item = next(self.upcoming, None)
        return None

    def _feed(self) -> None:
        channels = self.audio.channels
        tail = np.zeros((0, channels), np.float32)  # the previous track's end, held back to overlap this one
        current = self._ready(next(self.upcoming, None))
        while current is not None:
            track = current[0]
            slot = Slot(track, self.written)  # the tail, not yet written, overlaps this track's start
            self.slots.append(slot)
            ahead = next(self.upcoming, None)  # its preparation starts now, while this track plays
            hold = 0 if ahead is None else int(round(ahead[1] * self.rate))
            fade_out, fade_in = _fades(len(tail))
            held: deque[np.ndarray] = deque()
            held_len = fade_pos = 0
            for block in track.audio:
                x = block.T
                if fade_pos < len(tail):  # mix the previous track's tail into this one's start
                    n = min(len(x), len(tail) - fade_pos)
                    x = x.copy()
                    x[:n] = x[:n] * fade_in[fade_pos:fade_pos + n] + tail[fade_pos:fade_pos + n] * \
                        fade_out[fade_pos:fade_pos + n]
                    fade_pos += n
                held.append(x)
                held_len += len(x)
                while held and held_len - len(held[0]) >= hold:  # keep back only what the next crossfade needs
                    first = held.popleft()
                    held_len -= len(first)
                    self._write(first)
                self.safe_until = self.written + held_len - hold
            if fade_pos < len(tail):  # a track shorter than the crossfade: the rest of the tail alone
                held.append(tail[fade_pos:] * fade_out[fade_pos:])
            x = np.concatenate(list(held)) if held else np.zeros((0, channels), np.float32)
            current = self._ready(ahead)
            length = self.written - slot.start + len(x)  # this track's samples, overlaps included
            keep = 0 if current is None else min(int(round(current[1] * self.rate)), hold, len(x), length // 2)
            self._write(x[:len(x) - keep])
            tail = x[len(x) - keep:]
            slot.end = self.written + len(tail)
            log.debug("%s sounds over %.3f-%.3f s", track.entry.name, slot.start / self.rate, slot.end / self.rate)
        self._write(tail)
        self.audio.end_of_stream()


class TrackVisuals:
    """One track's control path run over its audio at the encoder's rate; ws and cues at any local time."""

    def __init__(self, track: Track) -> None:
        self.track = track
        self.control = ControlTrack(track.path.frame_rate, capacity=int(track.path.frame_rate * 4) + 4)
        self.cues = ControlTrack(track.path.frame_rate, capacity=self.control.capacity)  # onset, beats, switch (ControlPath.cues)
        self.source: Iterator[np.ndarray] | None = None
        self.done = False

    def _open(self) -> Iterator[np.ndarray]:
        path, entry = self.track.path, self.track.entry
        rate = path.encoder.sample_rate
        return iter(FileSource(entry.path, rate, path.encoder.channels, block_size=int(ANALYSIS_BLOCK_SECONDS * rate),
                               start=entry.start, duration=entry.duration))

    def at(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """ws and cues (onset, beats so far, switch weight) at `t` seconds into the track, clamped to its first and last
        control frames."""
        while not self.done and (self.control.count == 0 or self.control.end_time < t):
            try:
                if self.source is None:
                    self.source = self._open()
                block = next(self.source, None)
                path = self.track.path
                ws = path.flush() if block is None else path.push(block)
                self.done = block is None
            except Exception as e:  # noqa: BLE001 - a damaged (or vanished) file freezes its picture; the show goes on
                log.warning("%s: analysis stopped (%s)", self.track.entry.path, e)
                self.done = True
                continue
            self.control.extend(ws)
            self.cues.extend(path.cues)
        if self.control.count == 0:
            return np.zeros((self.track.model.G.num_ws, self.track.model.G.w_dim), np.float32), np.array([0.0, 0.0, 1.0])
        t = min(max(t, self.control.first / self.control.frame_rate), self.control.end_time)
        return self.control.sample(t), self.cues.sample(t)


class SetlistPlan:
    """Frames on the show's timeline (frame i at i / fps), following the feeder's slots."""

    def __init__(self, feeder: Feeder, fps: Fraction, stage=None) -> None:
        self.feeder, self.fps = feeder, Fraction(fps)
        self.stage = stage  # a StageLink (keys, OSC, MIDI), applied to the paths on screen before each frame
        self.rate = feeder.rate
        self._visuals: dict[int, TrackVisuals] = {}  # by slot number
        self._beats_before = 0  # added to the beats of the track on screen, so the count never jumps
        self._beats = 0  # beats counted up to the last frame
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def visuals(self, k: int) -> TrackVisuals:
        if k not in self._visuals:
            track = self.feeder.slots[k].track
            if self.stage is not None and track.path is not None:
                self.stage.catch_up(track.path)  # a seed or values set on stage before this track began
            self._visuals[k] = TrackVisuals(track)
        return self._visuals[k]

    def __iter__(self) -> Iterator[Frame]:
        torch.set_num_threads(1)
        current = 0  # the first slot that may still be on screen
        for i in itertools.count():
            t = frame_time(i, self.fps)
            while self.feeder.safe_until <= t * self.rate:  # wait until the feeder knows what sounds at t
                if self._stop.wait(POLL):
                    return
            if self.feeder.error is not None:
                raise self.feeder.error
            slots = self.feeder.slots
            if not slots:
                return  # nothing could be played
            end = slots[-1].end
            if self.feeder.finished and end is not None and i >= round(Fraction(end, self.rate) * self.fps):
                return
            while current + 1 < len(slots) and self._fade(current)[1] <= t:
                self._visuals.pop(current, None)
                slots[current].track.release()
                current += 1
                # The count carries on from the last frame: the new track's beats so far were in the fade.
                self._beats_before = self._beats - int(self._local(current, t)[2][1])
            if self.stage is not None:
                self.stage.apply_to([(v.track.path, self.feeder.slots[k].start / self.rate)
                                     for k, v in list(self._visuals.items()) if v.track.path is not None])
            yield self._frame(i, t, current)

    def _fade(self, k: int) -> tuple[float, float]:
        """The pictures' crossfade from slot k to k+1, in seconds: over their overlap, but at least
        MIN_VISUAL_CROSSFADE, so a gapless switch is not a cut. It starts where the next track does:
        the first moments of a track move fast (its smoothing is filling), and are mostly faded out."""
        slots = self.feeder.slots
        start = slots[k + 1].start / self.rate
        return start, max(slots[k].end / self.rate, start + MIN_VISUAL_CROSSFADE)

    def _local(self, k: int, t: float) -> tuple[Track, np.ndarray, np.ndarray]:
        slot = self.feeder.slots[k]
        return slot.track, *self.visuals(k).at(t - slot.start / self.rate)

    def _frame(self, i: int, t: float, k: int) -> Frame:
        slots = self.feeder.slots
        track, ws, (onset, beats, switch) = self._local(k, t)
        self._beats = self._beats_before + int(beats)
        cues = dict(onset=float(onset), beats=self._beats, switch=float(switch))
        if k + 1 < len(slots) and t >= (fade := self._fade(k))[0]:
            lo, hi = fade
            alpha = smoothstep((t - lo) / (hi - lo))
            nxt, ws_next, _ = self._local(k + 1, t)
            if nxt.model is track.model:  # same model: crossfade in W
                ws = ((1 - alpha) * ws + alpha * ws_next).astype(ws.dtype)
            else:  # another model: both pictures, dissolved in the window
                return Frame(i, t, ws, synthesizer=track.model.synthesizer, alpha=alpha,
                             blend=Frame(i, t, ws_next, synthesizer=nxt.model.synthesizer), **cues)
        return Frame(i, t, ws, synthesizer=track.model.synthesizer, **cues)
