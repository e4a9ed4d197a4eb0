"""Video files: H.264 (yuv420p, BT.709) with the track's own audio, through PyAV.

Frame i gets pts i in a time base of 1/fps, so presentation times are exact for any rational
rate. The audio starts at frame 0's time. It is stream-copied when nothing is trimmed and the
container holds the codec as is (verified sample-exact for these codecs: AAC and FLAC in
MP4/MOV/MKV, PCM in MOV/MKV), else re-encoded as AAC at a high bitrate. Audio is written
interleaved with the video, never more than `AUDIO_AHEAD` seconds ahead, so memory does not grow
with the track.

A segmented render encodes each segment on its own (each starts with a key frame) and joins them
here by stream copy: `VideoWriter(..., copy_from=first_segment)` then `append(segment)` in order.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from av.video.reformatter import ColorPrimaries, ColorRange, Colorspace, ColorTrc

from ..audio.sources import FileSource
from ..errors import LavliveError
from ..pipeline.synthesizer import Size

CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
COPYABLE = {
    "mp4": {"aac", "flac"},
    "mov": {"aac", "flac", "pcm_s16le", "pcm_s24le", "pcm_f32le"},
    "matroska": {"aac", "flac", "pcm_s16le", "pcm_s24le", "pcm_f32le"},
}
AAC_RATES = {8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000}
AAC_BITRATE = {1: 192_000, 2: 320_000}
X264_SPEEDS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
AUDIO_AHEAD = 0.5  # seconds of audio written ahead of the latest video frame
ENCODERS = ("auto", "libx264", "h264_nvenc")
_nvenc: bool | None = None


def container_format(path: Path) -> str:
    fmt = CONTAINERS.get(path.suffix.lower())
    if not path.suffix:  # said in words: '' would read as a type the user named
        raise LavliveError(f"{path}: no file extension to tell the video type (use {', '.join(CONTAINERS)})")
    if fmt is None:
        raise LavliveError(f"{path}: unsupported video type '{path.suffix}' (use {', '.join(CONTAINERS)})")
    return fmt


def nvenc_available() -> bool:
    """Can NVENC open here (an NVIDIA GPU and driver)? Tried once with a tiny picture."""
    global _nvenc
    if _nvenc is None:
        try:
            cc = av.CodecContext.create("h264_nvenc", "w")
            cc.width, cc.height, cc.pix_fmt, cc.time_base = 256, 256, "yuv420p", Fraction(1, 30)
            cc.open()
            _nvenc = True
        except (av.FFmpegError, OSError, ValueError):
            _nvenc = False
    return _nvenc


def choose_encoder(name: str, on_gpu: bool) -> str:
    """'auto': NVENC when synthesis is on an NVIDIA GPU and NVENC opens (the CPU stays free), else x264."""
    if name not in ENCODERS:
        raise LavliveError(f"--encoder {name}: use one of {', '.join(ENCODERS)}")
    if name == "auto":
        return "h264_nvenc" if on_gpu and nvenc_available() else "libx264"
    if name == "h264_nvenc" and not nvenc_available():
        raise LavliveError("--encoder h264_nvenc: NVENC cannot be opened here (it needs an NVIDIA GPU and driver); "
                           "use --encoder libx264")
    return name


def encoder_options(codec: str, crf: int, speed: str) -> dict[str, str]:
    """The quality settings in each encoder's terms: x264's CRF and preset; NVENC's constant-quality VBR
    (cq = --crf; 0 is lossless) and the preset p1-p7 nearest the x264 one. NVENC's are untested here
    (no GPU): written from FFmpeg's documentation of h264_nvenc."""
    if codec == "libx264":
        return {"crf": str(crf), "preset": speed}
    preset = f"p{min(7, max(1, X264_SPEEDS.index(speed)))}"  # ultrafast, superfast → p1 … slower, veryslow → p7
    if crf == 0:
        return {"preset": preset, "tune": "lossless"}
    return {"preset": preset, "tune": "hq", "rc": "vbr", "cq": str(crf), "b": "0"}


def add_h264(out: Any, codec: str, fps: Fraction, size: Size, options: dict[str, str], threads: int = 0) -> Any:
    """An H.264 stream (yuv420p, BT.709, limited range) in `out`, its time base one frame."""
    video = out.add_stream(codec, rate=fps, options=options)
    video.width, video.height, video.pix_fmt = size.width, size.height, "yuv420p"
    video.time_base = Fraction(1) / fps
    cc = video.codec_context
    cc.thread_count = threads  # 0: the encoder picks
    cc.colorspace, cc.color_range = Colorspace.ITU709, ColorRange.MPEG
    cc.color_primaries, cc.color_trc = ColorPrimaries.BT709, ColorTrc.BT709
    return video


def yuv_frame(image: np.ndarray, width: int | None = None, height: int | None = None) -> Any:
    """An [H, W, 3] uint8 RGB picture as a yuv420p BT.709 video frame (scaled to width × height if given)."""
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
    return frame.reformat(width=width, height=height, format="yuv420p", src_colorspace=Colorspace.ITU709,
                          dst_colorspace=Colorspace.ITU709, src_color_range=ColorRange.JPEG,
                          dst_color_range=ColorRange.MPEG)


def add_aac(out: Any, rate: int, channels: int) -> Any:
    """An AAC stream of 1 or 2 channels at `rate` (one of AAC_RATES), its time base one sample."""
    audio = out.add_stream("aac", rate=rate, layout={1: "mono", 2: "stereo"}[channels])
    audio.bit_rate = AAC_BITRATE[channels]
    # FFmpeg's default 'twoloop' coder costs 2.5x the CPU and, at this bitrate, measured no closer to the input
    audio.codec_context.options = {"aac_coder": "fast"}
    audio.time_base = Fraction(1, rate)
    return audio


class _AudioCopy:
    """Packets of the input's audio stream, passed through untouched."""

    def __init__(self, out: Any, path: Path) -> None:
        self._in = av.open(str(path), metadata_errors="replace")
        src = self._in.streams.audio[0]
        self.stream = out.add_stream_from_template(src)
        self._offset = src.start_time or 0
        self._time_base = src.time_base
        self._packets = (p for p in self._in.demux(src) if p.pts is not None and p.dts is not None)
        self.description = f"{src.codec_context.name} (stream copy)"

    def packets_until(self, t: float | None) -> Any:
        """Packets up to time t (all that are left for None)."""
        for packet in self._packets:
            packet.pts -= self._offset
            packet.dts -= self._offset
            packet.stream = self.stream
            yield packet
            if t is not None and packet.pts * self._time_base > t:
                return

    def finish(self, t: float | None) -> Any:
        yield from self.packets_until(t)

    def close(self) -> None:
        self._in.close()


class _AudioEncode:
    """The input's audio decoded, trimmed and re-encoded as AAC."""

    def __init__(self, out: Any, probe: FileSource, start: float, duration: float | None) -> None:
        path = probe.path
        rate = probe.source_rate if probe.source_rate in AAC_RATES else 48000
        channels = min(probe.source_channels, 2)
        self.stream = add_aac(out, rate, channels)
        self._rate, self._layout = rate, self.stream.layout.name
        self._blocks = iter(FileSource(path, rate, channels, block_size=rate // 10, start=start, duration=duration))
        self._written = 0
        self.description = f"AAC {self.stream.bit_rate // 1000} kb/s (re-encoded)"

    def packets_until(self, t: float | None) -> Any:
        """Encode audio up to time t (all that is left for None)."""
        while t is None or self._written / self._rate < t:
            block = next(self._blocks, None)
            if block is None:
                break
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block), format="fltp", layout=self._layout)
            frame.sample_rate, frame.pts, frame.time_base = self._rate, self._written, Fraction(1, self._rate)
            self._written += block.shape[1]
            yield from self.stream.encode(frame)

    def finish(self, t: float | None) -> Any:
        yield from self.packets_until(t)
        yield from self.stream.encode(None)

    def close(self) -> None:
        pass


class VideoWriter:
    """Write frames in order (index i at i/fps) and the track's audio into one file.

    `close()` finishes the file properly, so a render stopped half-way still leaves a playable
    video of the frames written so far.
    """

    def __init__(self, path: str | Path, fps: Fraction, size: Size, crf: int = 18, speed: str = "medium",
                 audio_from: str | Path | None = None, start: float = 0.0, duration: float | None = None,
                 container: str | None = None, threads: int = 0, copy_from: str | Path | None = None,
                 codec: str = "libx264") -> None:
        self.path = Path(path)
        self.fps = Fraction(fps)
        fmt = container or container_format(self.path)
        self._out = av.open(str(self.path), mode="w", format=fmt,
                            options={"movflags": "+faststart"} if fmt in ("mp4", "mov") else {})
        self._closed = False
        self._copying = copy_from is not None
        try:
            if self._copying:
                with av.open(str(copy_from)) as first:
                    self.video = self._out.add_stream_from_template(first.streams.video[0])
                self.video.time_base = self._frame_time_base = 1 / self.fps
            else:
                self.video = add_h264(self._out, codec, self.fps, size, encoder_options(codec, crf, speed), threads)
                self._frame_time_base = 1 / self.fps
            self.audio: _AudioCopy | _AudioEncode | None = None
            if audio_from is not None:
                self.audio = self._audio_stream(Path(audio_from), fmt, start, duration)
        except BaseException:
            self._out.close()
            raise
        self.frames_written = 0

    def _audio_stream(self, path: Path, fmt: str, start: float, duration: float | None) -> _AudioCopy | _AudioEncode:
        probe = FileSource(path, 48000)
        # Only an untrimmed track is copied: a header's length may be wrong, so a --duration is always cut here.
        if start == 0 and duration is None and probe.source_codec in COPYABLE[fmt]:
            return _AudioCopy(self._out, path)
        return _AudioEncode(self._out, probe, start, duration)

    def write(self, image: np.ndarray) -> None:
        """Append one [H, W, 3] uint8 RGB frame."""
        frame = yuv_frame(image)
        frame.pts = self.frames_written
        frame.time_base = self._frame_time_base  # not the stream's: the muxer changes that
        for packet in self.video.encode(frame):
            self._out.mux(packet)
        self.frames_written += 1
        if self.audio is not None:
            for packet in self.audio.packets_until(float(self.frames_written / self.fps) + AUDIO_AHEAD):
                self._out.mux(packet)

    def append(self, segment: str | Path) -> int:
        """Stream-copy a segment's video (encoded by a VideoWriter at the same settings) after what is
        written, with the audio interleaved; returns its frame count. Each packet keeps its place
        relative to the segment's start, shifted to where the segment starts in the whole."""
        if not self._copying:
            raise ValueError("append() needs a writer made with copy_from")
        offset, count = self.frames_written, 0
        with av.open(str(segment)) as part:
            stream = part.streams.video[0]
            tick = Fraction(stream.time_base) * self.fps  # the segment's time base in frames
            for packet in part.demux(stream):
                if packet.pts is None or packet.dts is None:
                    continue  # the demuxer's end-of-stream marker
                pts, dts = packet.pts * tick, packet.dts * tick
                packet.pts, packet.dts = round(pts) + offset, round(dts) + offset
                packet.duration = round(packet.duration * tick) if packet.duration else 1
                packet.time_base = self._frame_time_base
                packet.stream = self.video
                self._out.mux(packet)
                count += 1
                self.frames_written = offset + count
                if self.audio is not None:
                    for audio in self.audio.packets_until(float(self.frames_written / self.fps) + AUDIO_AHEAD):
                        self._out.mux(audio)
        return count

    def close(self, complete: bool = True) -> None:
        """Flush the encoders and write the trailer, leaving a playable file.

        complete=False (an interrupted render): no more audio is added; what was already muxed runs
        up to AUDIO_AHEAD seconds past the last frame.
        """
        if self._closed:
            return
        self._closed = True
        try:
            for packet in ([] if self._copying else self.video.encode(None)):
                self._out.mux(packet)
            if self.audio is not None:
                for packet in self.audio.finish(None if complete else float(self.frames_written / self.fps)):
                    self._out.mux(packet)
        finally:
            if self.audio is not None:
                self.audio.close()
            self._out.close()
