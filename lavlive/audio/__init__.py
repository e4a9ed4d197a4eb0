"""Audio in: sources (files, sound cards) and the streaming analysers (EnCodec embeddings, music features).

Every analyser is a streaming operator: `push(block)` takes the next samples and returns the
frames that are now final; `flush()` ends the stream and returns the rest. Each declares its
`frame_rate` (frames per second; frame k has presentation time k / frame_rate) and its
`lookahead` in seconds (how much future audio a frame needs before it is final). The one exception is
`find_sections`: a song's structure needs the whole song, so it is a pass over the file before its first frame.
"""

from .demo import demo_track, write_wav
from .encodec_stream import load_encoder
from .features import MusicFeatures, MusicFrames
from .sections import Sections, describe_sections, find_sections
from .sources import AudioDeviceError, AudioFileError, DeviceSource, FileSource, list_devices

__all__ = ["AudioDeviceError", "AudioFileError", "DeviceSource", "FileSource", "MusicFeatures", "MusicFrames",
           "Sections", "demo_track", "describe_sections", "find_sections", "list_devices", "load_encoder", "write_wav"]
