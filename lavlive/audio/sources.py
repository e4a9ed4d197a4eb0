"""Audio sources: a file or a sound card, as a stream of float32 blocks shaped [channels, n].

Both sources share one interface so the engine never cares where sound comes from: iterating
yields blocks of exactly `block_size` samples (only a file's last block may be shorter) at
`sample_rate`, with every value finite and within [-1, 1].

Files are decoded packet by packet with PyAV, so memory does not grow with the length of the
track. Channels are mixed down here (in numpy, from the channel names) before resampling, so
the resampler only ever sees the target channel count and any layout, named or not, works.

Damage policy for files: a packet that fails to decode is skipped (as FFmpeg's own players
do) and a container read error ends the stream where it happens; both are logged as warnings
and counted in `FileSource.decode_errors`. Only a file from which no audio at all decodes
raises `AudioFileError`. A truncated file therefore plays up to where it was cut.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np

from ..errors import LavliveError

log = logging.getLogger(__name__)

_LAYOUTS = {1: "mono", 2: "stereo"}
_SURROUND_GAIN = 1.0 / math.sqrt(2.0)  # centre and rear channels enter a mix at -3 dB
STARTUP_GRACE = 5.0  # seconds a sound card may take to deliver its first input
_GIVE_UP_AFTER = 32  # consecutive undecodable packets at the start before a file counts as not audio
# Sample rates real audio uses lie well inside this; beyond it lies a damaged header, whose rate would
# make the resampler ask for gigabytes (1 GHz) or stretch seconds of data into days (a few Hz).
_RATES = (1000, 1_000_000)
_PLANE_POINTERS = 8  # inline plane pointers of an AVFrame; planar frames with as many channels go through _packed


class AudioFileError(LavliveError):
    """An audio file that is missing, unreadable, not audio, or holds no decodable sound."""


class AudioDeviceError(LavliveError):
    """A sound card that does not exist, cannot be opened, or stops delivering audio."""


def _sanitize(x: np.ndarray) -> np.ndarray:
    """NaN -> 0, +-inf -> +-1, then clip to [-1, 1], in place: downstream never sees non-finite values."""
    if not np.isfinite(x).all():
        np.nan_to_num(x, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(x, -1.0, 1.0, out=x)


def _frame_to_float(frame: av.AudioFrame, packers: dict[tuple[str, str, int], av.AudioResampler]) -> np.ndarray:
    """Any sample format -> float32 [channels, n], integers scaled to [-1, 1)."""
    channels = len(frame.layout.channels)
    if frame.format.is_planar and channels >= _PLANE_POINTERS:
        return _sanitize(np.concatenate([f.to_ndarray().reshape(-1, channels).T for f in _packed(frame, packers)]
                                        or [np.zeros((channels, 0), np.float32)], axis=1))
    x = frame.to_ndarray()
    if not frame.format.is_planar:
        x = x.reshape(-1, channels).T
    if np.issubdtype(x.dtype, np.unsignedinteger):
        half = float(2 ** (8 * x.dtype.itemsize - 1))
        return ((x.astype(np.float64) - half) / half).astype(np.float32)
    if np.issubdtype(x.dtype, np.integer):
        return (x.astype(np.float64) * (1.0 / 2 ** (8 * x.dtype.itemsize - 1))).astype(np.float32)
    return _sanitize(np.array(x, dtype=np.float32))  # float input may hold NaN, inf or overs


def _packed(frame: av.AudioFrame, packers: dict[tuple[str, str, int], av.AudioResampler]) -> list[av.AudioFrame]:
    """A planar frame of 8+ channels as packed float32, converted by FFmpeg. PyAV counts a frame's planes up to
    the first null pointer, and such frames have none after their last plane: it would read (and crash on)
    pointers past them. A packed frame has one plane, which PyAV reads correctly."""
    key = (frame.format.name, frame.layout.name, frame.sample_rate)
    if key not in packers:  # one per kind of frame: a resampler refuses frames unlike its first
        packers[key] = av.AudioResampler(format="flt", layout=frame.layout, rate=frame.sample_rate)
    return packers[key].resample(frame)


def _side(name: str, index: int, count: int) -> str:
    """'L', 'R' or 'C' for a channel name; unnamed channels of a two-channel file are L and R."""
    if name == "NONE":
        return ("L", "R")[index] if count == 2 else "C"
    if name.startswith("LFE") or not name.endswith(("L", "R")):
        return "C"
    return name[-1]


def mix_matrix(names: list[str], channels: int) -> np.ndarray:
    """Weights [channels, len(names)] that fold any layout to mono or stereo without losing a channel.

    Front channels count fully, centre/rear/LFE at -3 dB (LFE is kept: bass drives the visuals);
    each output row sums to 1, so equal full-scale input cannot clip.
    """
    n = len(names)
    if n == channels:
        return np.eye(n, dtype=np.float32)
    gains = np.array([1.0 if nm in ("FL", "FR", "NONE") else _SURROUND_GAIN for nm in names])
    if channels == 1:
        m = gains[None, :]
    elif n == 1:
        m = np.ones((2, 1))
    else:
        sides = [_side(nm, i, n) for i, nm in enumerate(names)]
        m = np.array([[g * (s in (out, "C")) for g, s in zip(gains, sides)] for out in "LR"])
    return (m / m.sum(axis=1, keepdims=True)).astype(np.float32)


def _file_error(path: Path, what: str) -> AudioFileError:
    return AudioFileError(f"{path}: {what}")


def _av_reason(e: Exception) -> str:
    return str(getattr(e, "strerror", None) or e).splitlines()[0]


class FileSource:
    """Decode an audio file in blocks at `sample_rate`, mixed to `channels`, trimmed to [start, start+duration).

    `resume_at` skips that many samples of the trimmed stream: a render segment resuming from a
    snapshot gets the very blocks (to the bit) that a pass from the start would have read there,
    because the file is still decoded and resampled from its beginning (seeking would not be exact)."""

    def __init__(self, path: str | Path, sample_rate: int, channels: int = 1, block_size: int = 4800,
                 start: float = 0.0, duration: float | None = None, resume_at: int = 0) -> None:
        self.path = Path(path)
        if channels not in (1, 2):
            raise _file_error(self.path, f"channels must be 1 or 2, not {channels}")
        if sample_rate <= 0 or block_size <= 0:
            raise _file_error(self.path, f"sample rate and block size must be positive "
                                         f"(got {sample_rate}, {block_size})")
        if not math.isfinite(start) or start < 0:
            raise _file_error(self.path, f"start must be a time in seconds >= 0, not {start}")
        if duration is not None and (not math.isfinite(duration) or duration < 0):
            raise _file_error(self.path, f"duration must be a time in seconds >= 0, not {duration}")
        self.sample_rate = int(sample_rate)
        self.channels = channels
        self.block_size = int(block_size)
        self.start = float(start)
        self.decode_errors = 0  # damaged packets met by the latest pass over the file
        if resume_at < 0:
            raise _file_error(self.path, f"resume position must be a sample >= 0, not {resume_at}")
        self.resume_at = int(resume_at)
        self._skip = round(self.start * self.sample_rate) + self.resume_at
        self._limit = None if duration is None else max(0, round(duration * self.sample_rate) - self.resume_at)
        with self._open() as container:
            stream = container.streams.audio[0]
            self.source_rate: int = stream.codec_context.sample_rate or stream.sample_rate or 0
            self.source_channels: int = stream.codec_context.channels or len(stream.layout.channels)
            self.source_codec: str = stream.codec_context.name
            total = self._container_seconds(container, stream)
        if self.source_rate <= 0 or self.source_channels <= 0:
            raise _file_error(self.path, "audio stream has no sample rate or no channels")
        if not _RATES[0] <= self.source_rate <= _RATES[1]:
            raise _file_error(self.path, f"audio stream claims {self.source_rate} samples a second, which no "
                                         "audio has (the file's header is damaged)")
        self.duration: float | None = None
        if total is not None:
            self.duration = max(0.0, total - self._skip / self.sample_rate)
            if self._limit is not None:
                self.duration = min(self.duration, self._limit / self.sample_rate)

    @staticmethod
    def _container_seconds(container: Any, stream: Any) -> float | None:
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
        if container.duration:
            return container.duration / av.time_base
        return None

    def _open(self) -> Any:
        """Open the container and check it has an audio stream, with a one-line error for every way it can fail."""
        p = self.path
        if not p.exists():
            raise _file_error(p, "no such file")
        if p.is_dir():
            raise _file_error(p, "is a folder, not an audio file")
        try:
            if p.stat().st_size == 0:
                raise _file_error(p, "file is empty")
            if not os.access(p, os.R_OK):
                raise _file_error(p, "cannot read it (permission denied)")
            container = av.open(str(p), mode="r", metadata_errors="replace")  # tags in any encoding, or damaged
        except (av.FFmpegError, OSError) as e:
            raise _file_error(p, f"not a readable audio file: not audio, or damaged ({_av_reason(e)})") from None
        if not container.streams.audio:
            container.close()
            raise _file_error(p, "contains no audio stream")
        if container.streams.audio[0].codec_context is None:  # the container names no codec FFmpeg knows
            container.close()
            raise _file_error(p, "its audio stream has no known codec (the file is damaged, "
                                 "or uses a codec this FFmpeg lacks)")
        return container

    def _decoded(self, container: Any) -> Iterator[av.AudioFrame]:
        """Frames of the first audio stream; skips packets that fail to decode, stops at a read error."""
        stream = container.streams.audio[0]
        packets = container.demux(stream)
        good = 0
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except (av.FFmpegError, OSError) as e:
                self._damaged(f"read error, audio ends here ({_av_reason(e)})")
                break
            try:
                frames = packet.decode()
            except (av.FFmpegError, OSError) as e:
                self._damaged(f"skipped a damaged packet ({_av_reason(e)})")
                if good == 0 and self.decode_errors >= _GIVE_UP_AFTER:
                    break  # nothing has ever decoded: no point reading hours of undecodable packets
                continue
            good += len(frames)
            yield from frames
        if self.decode_errors > 1:
            log.warning("%s: %d damaged packets in all", self.path, self.decode_errors)

    def _damaged(self, what: str) -> None:
        """Count a decode problem; log only the first, so a badly damaged file does not flood the log."""
        self.decode_errors += 1
        if self.decode_errors == 1:
            log.warning("%s: %s", self.path, what)

    def _resampled(self) -> Iterator[np.ndarray]:
        """Mixed, resampled float32 chunks [channels, n] of the whole file, resampler flushed at the end."""
        layout = _LAYOUTS[self.channels]
        resampler: av.AudioResampler | None = None
        rate = 0
        decoded = 0
        packers: dict[tuple[str, str, int], av.AudioResampler] = {}
        self.decode_errors = 0
        with self._open() as container:
            for frame in self._decoded(container):
                if frame.samples == 0:
                    continue
                if not _RATES[0] <= frame.sample_rate <= _RATES[1]:
                    self._damaged(f"skipped audio at {frame.sample_rate} samples a second (damaged)")
                    continue
                decoded += frame.samples
                x = _frame_to_float(frame, packers)
                names = [c.name for c in frame.layout.channels]
                if len(names) != x.shape[0]:  # layout unknown to PyAV: treat channels as unnamed
                    names = ["NONE"] * x.shape[0]
                if len(names) != self.channels:
                    x = mix_matrix(names, self.channels) @ x
                if frame.sample_rate != rate:  # first frame, or the rate changed mid-stream
                    if resampler is not None:
                        yield from (f.to_ndarray() for f in resampler.resample(None))
                    rate = frame.sample_rate
                    resampler = None if rate == self.sample_rate else \
                        av.AudioResampler(format="fltp", layout=layout, rate=self.sample_rate)
                if resampler is None:
                    yield x
                    continue
                mixed = av.AudioFrame.from_ndarray(np.ascontiguousarray(x), format="fltp", layout=layout)
                mixed.sample_rate = rate
                yield from (f.to_ndarray() for f in resampler.resample(mixed))
            if resampler is not None:
                yield from (f.to_ndarray() for f in resampler.resample(None))
        if decoded == 0:
            raise _file_error(self.path, "no audio could be decoded (the file is damaged, truncated or not audio)")

    def __iter__(self) -> Iterator[np.ndarray]:
        skip, left, produced = self._skip, self._limit, 0
        block = np.empty((self.channels, self.block_size), np.float32)
        fill = 0
        for chunk in self._resampled():
            if left == 0:
                break
            if skip:
                cut = min(skip, chunk.shape[1])
                chunk, skip = chunk[:, cut:], skip - cut
            if left is not None:
                chunk = chunk[:, :left]
                left -= chunk.shape[1]
            while chunk.shape[1]:
                take = min(self.block_size - fill, chunk.shape[1])
                block[:, fill:fill + take] = chunk[:, :take]
                chunk, fill = chunk[:, take:], fill + take
                if fill == self.block_size:
                    produced += fill
                    yield _sanitize(block)
                    block, fill = np.empty((self.channels, self.block_size), np.float32), 0
        if fill:
            produced += fill
            yield _sanitize(block[:, :fill].copy())
        if produced == 0 and skip and self._limit != 0 and not self.resume_at:
            raise _file_error(self.path, f"start {self.start:g} s is past the end of the audio")

    def read_all(self) -> np.ndarray:
        """The whole (trimmed) stream as one array [channels, n]; for short clips only."""
        blocks = list(self)
        return np.concatenate(blocks, axis=1) if blocks else np.zeros((self.channels, 0), np.float32)


class _Ring:
    """A preallocated single-producer ring of frames [capacity, channels]; writes never block or allocate.

    The producer (the PortAudio callback) only advances `written`; the consumer only advances
    `read`. If the consumer falls more than `capacity` behind, the oldest audio is dropped and
    counted, rather than making the callback wait.
    """

    def __init__(self, capacity: int, channels: int) -> None:
        self.buf = np.zeros((capacity, channels), np.float32)
        self.capacity = capacity
        self.written = 0
        self.read = 0
        self.dropped = 0

    def write(self, data: np.ndarray) -> None:
        total = data.shape[0]
        if total > self.capacity:
            data = data[-self.capacity:]
        n = data.shape[0]
        w = (self.written + total - n) % self.capacity
        first = min(n, self.capacity - w)
        self.buf[w:w + first] = data[:first]
        if first < n:
            self.buf[:n - first] = data[first:]
        self.written += total

    def pop(self, n: int) -> np.ndarray | None:
        """The next n frames as a new array [channels, n], or None if fewer are ready."""
        behind = self.written - self.read
        if behind > self.capacity:
            self.dropped += behind - self.capacity
            self.read = self.written - self.capacity
        if self.written - self.read < n:
            return None
        start = self.read
        r = start % self.capacity
        first = min(n, self.capacity - r)
        out = np.empty((self.buf.shape[1], n), np.float32)
        out[:, :first] = self.buf[r:r + first].T
        out[:, first:] = self.buf[:n - first].T
        if self.written - start > self.capacity:  # the producer lapped us while we copied
            return self.pop(n)
        self.read = start + n
        return out


def portaudio() -> Any:
    """The `sounddevice` module (PortAudio's binding), or a one-line error when PortAudio cannot be loaded."""
    try:
        import sounddevice
    except OSError as e:  # the PortAudio library itself is missing
        raise AudioDeviceError(f"sound input is unavailable: PortAudio could not be loaded ({e})") from None
    return sounddevice



def refresh_portaudio() -> None:
    """Re-initialise PortAudio so that its device list is read again: the only way to see a sound server that
    restarted or a card that came back. sounddevice has no public call for it; its maintainer's answer is these
    two private ones, wrapping Pa_Terminate and Pa_Initialize (spatialaudio/python-sounddevice#125)."""
    sd = portaudio()
    if sd._initialized:
        sd._terminate()
    sd._initialize()


def list_devices() -> list[dict[str, Any]]:
    """Every sound device PortAudio knows, for `--list-devices` style listings."""
    sd = portaudio()
    try:
        devices = sd.query_devices()
    except sd.PortAudioError as e:
        raise AudioDeviceError(f"cannot list sound devices ({e})") from None
    return [{"index": int(d["index"]), "name": str(d["name"]),
             "input_channels": int(d["max_input_channels"]), "output_channels": int(d["max_output_channels"]),
             "default_rate": float(d["default_samplerate"])} for d in devices]


class DeviceSource:
    """Live input from a sound card, as blocks [channels, block_size]; iterate until `close()`.

    The PortAudio callback only copies into a preallocated ring; the iterating thread polls the
    ring, so the callback never waits on Python code. Audio the consumer is too slow to take is
    dropped (counted in `dropped`), never queued without bound.
    """

    def __init__(self, device: int | str | None, sample_rate: int, channels: int = 1, block_size: int = 4800,
                 buffer_seconds: float = 2.0, timeout: float = 2.0, latency: float | str = "high",
                 max_backlog: float | None = None) -> None:
        sd = portaudio()
        label = "the default input device" if device is None else f"input device {device!r}"
        try:
            info = sd.query_devices(device, "input")
        except (ValueError, sd.PortAudioError) as e:
            raise AudioDeviceError(f"{label}: not found ({str(e).splitlines()[0]}); "
                                   "list devices to see the names") from None
        if info["max_input_channels"] < channels:
            raise AudioDeviceError(f"{label} ({info['name']}): has {info['max_input_channels']} input "
                                   f"channels, {channels} requested")
        self.device = int(info["index"])
        self.name = str(info["name"])
        self.sample_rate = int(sample_rate)
        self.channels = channels
        self.block_size = int(block_size)
        self.timeout = timeout
        self.overflows = 0
        self._closed = False
        self._ring = _Ring(max(4 * self.block_size, int(buffer_seconds * self.sample_rate)), channels)
        self._stamp: tuple[int, float] | None = None
        self.latency = 0.0  # the stream's input latency, seconds
        # Live: when the consumer falls this far behind, skip to the newest audio rather than stay late.
        self.max_backlog = None if max_backlog is None else int(max_backlog * self.sample_rate)
        self.skipped = 0  # samples skipped that way (the consumer's sample count runs this much behind)
        try:
            self._stream = sd.InputStream(device=self.device, samplerate=self.sample_rate, channels=channels,
                                          dtype="float32", callback=self._callback, latency=latency)
            self.latency = float(self._stream.latency)
            self._stream.start()
        except (ValueError, sd.PortAudioError) as e:
            raise AudioDeviceError(f"{label} ({self.name}): cannot open at {self.sample_rate} Hz, "
                                   f"{channels} channel(s) ({str(e).splitlines()[0]})") from None

    @property
    def dropped(self) -> int:
        return self._ring.dropped

    @property
    def backlog(self) -> float:
        """Seconds of captured audio not yet taken: grows when the consumer cannot keep up."""
        return (self._ring.written - self._ring.read) / self.sample_rate

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if status:
            self.overflows += 1
        self._ring.write(indata)
        self._stamp = (self._ring.written, time.monotonic())  # one tuple: read whole by captured_at()

    def captured_at(self, sample: int) -> float | None:
        """time.monotonic() at which the consumer's sample `sample` (counting what was yielded) reached
        the sound card's input, estimated from the latest callback and the stream's input latency;
        None before the first callback."""
        stamp = self._stamp
        if stamp is None:
            return None
        written, at = stamp
        return at - (written - sample - self.skipped) / self.sample_rate - self.latency

    def __iter__(self) -> Iterator[np.ndarray]:
        poll = min(0.01, self.block_size / self.sample_rate / 4)
        last = time.monotonic()
        # A new stream may take a while to deliver its first samples (PulseAudio: up to about 2 s).
        allowed = max(self.timeout, STARTUP_GRACE)
        while not self._closed:
            ring = self._ring
            if self.max_backlog is not None and ring.written - ring.read > self.max_backlog + self.block_size:
                behind = ring.written - ring.read - self.block_size
                ring.read += behind
                self.skipped += behind
            block = ring.pop(self.block_size)
            if block is not None:
                last = time.monotonic()
                allowed = self.timeout
                yield _sanitize(block)
            elif time.monotonic() - last > allowed + self.block_size / self.sample_rate:
                raise AudioDeviceError(f"input device {self.name!r}: no audio for {allowed:g} s")
            else:
                time.sleep(poll)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._stream.stop()
            self._stream.close()

    def __enter__(self) -> DeviceSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
