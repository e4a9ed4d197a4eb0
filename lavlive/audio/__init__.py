"""Audio in: sources (files, sound cards) and the streaming analysers (EnCodec embeddings, music features).

Every analyser is a streaming operator: `push(block)` takes the next samples and returns the
frames that are now final; `flush()` ends the stream and returns the rest. Each declares its
`frame_rate` (frames per second; frame k has presentation time k / frame_rate) and its
`lookahead` in seconds (how much future audio a frame needs before it is final).
"""

from .demo import demo_track, write_wav
from .encodec_stream import load_encoder
from .features import MusicFeatures, MusicFrames
from .sources import AudioDeviceError, AudioFileError, DeviceSource, FileSource, list_devices

__all__ = ["AudioDeviceError", "AudioFileError", "DeviceSource", "FileSource", "MusicFeatures", "MusicFrames",
           "demo_track", "list_devices", "load_encoder", "write_wav"]
