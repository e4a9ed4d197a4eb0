"""Writing real audio files of any codec, rate and layout for tests."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np


def encode(path: Path, data: np.ndarray, rate: int, codec: str = "pcm_s16le", layout: str | None = None,
           fmt: str | None = None, tags: dict[str, str] | None = None) -> Path:
    """Write float data [channels, n] with a PyAV encoder, converting to the encoder's sample format."""
    layout = layout or {1: "mono", 2: "stereo"}[data.shape[0]]
    with av.open(str(path), "w") as c:
        c.metadata.update(tags or {})
        s = c.add_stream(codec, rate=rate, layout=layout)
        if codec == "vorbis":
            s.codec_context.options = {"strict": "-2"}  # FFmpeg's own vorbis encoder is "experimental"
        fmt = fmt or s.codec_context.codec.audio_formats[0].name
        step = s.codec_context.frame_size or 4096
        for i in range(0, data.shape[1], step):
            x = data[:, i:i + step]
            if fmt.startswith("s16"):
                x = np.round(np.clip(x, -1, 1) * 32767).astype(np.int16)
            elif fmt.startswith("s32"):
                x = np.round(np.clip(x, -1, 1) * 2147483647).astype(np.int32)
            else:
                x = x.astype(np.float32)
            x = np.ascontiguousarray(x if fmt.endswith("p") else x.T.reshape(1, -1))
            frame = _audio_frame(x, fmt, layout)
            frame.sample_rate, frame.pts = rate, i
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return path


def _audio_frame(x: np.ndarray, fmt: str, layout: str) -> av.AudioFrame:
    """A frame holding x; planar frames of 8+ channels are filled plane by hand, as PyAV's from_ndarray
    miscounts their planes (it reads one pointer past the last)."""
    if not fmt.endswith("p") or x.shape[0] < 8:
        return av.AudioFrame.from_ndarray(x, format=fmt, layout=layout)
    frame = av.AudioFrame(format=fmt, layout=layout, samples=x.shape[1])
    for plane, channel in zip(frame.planes, x):
        plane.update(np.ascontiguousarray(channel).tobytes())
    return frame


def sine(freq: float, seconds: float, rate: int, channels: int = 1, amp: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return np.repeat((amp * np.sin(2 * np.pi * freq * t))[None], channels, axis=0)


def with_header_length(flac: Path, samples: int) -> Path:
    """Make a FLAC file's header lie: its STREAMINFO total-sample count becomes `samples` (0: unknown,
    as a live stream writes it); the audio itself is untouched, so decoders still find all of it."""
    data = bytearray(flac.read_bytes())
    if data[:4] != b"fLaC" or data[4] & 0x7F != 0:
        raise ValueError(f"{flac}: not a FLAC file starting with STREAMINFO")
    # STREAMINFO starts at byte 8; its 36-bit total-sample count is the low 4 bits of byte 21 and bytes 22-25.
    data[21] = (data[21] & 0xF0) | (samples >> 32) & 0x0F
    data[22:26] = (samples & 0xFFFFFFFF).to_bytes(4, "big")
    flac.write_bytes(bytes(data))
    return flac
