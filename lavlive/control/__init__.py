"""The control path: audio → the w that draws each frame (LAV, Jung & Jeong 2025, made precise).

    statistics  a generator's W statistics (Z_mean, Z_std, pitch means), cached per model
    mapping     LAV: EnCodec embeddings → w, modulated by onsets and chroma
    smoothing   causal smoothing per layer group (coarse, middle, fine)
    look        a mapping and its smoothing as one look, and crossfades between looks
    beats       beats from the onset envelope
    sections    switching seed or preset at a song's sections, on the bar line
    timeline    presentation times (frame i at i / fps) and the control track ws are read from
    path        the whole path as one streaming operator: audio blocks → ws (ControlPath)
"""

from .beats import BeatDetector
from .look import MAX_LOOKS, Crossfade, Look, fade_to, smoothstep
from .mapping import LavMapper
from .path import ControlPath, follow_song
from .smoothing import GROUPS, HierarchicalSmoother, ws_groups, ws_resolutions
from .statistics import WStatistics, sample_statistics, w_statistics
from .timeline import ControlTrack, fps_text, frame_time, parse_fps

__all__ = ["BeatDetector", "ControlPath", "ControlTrack", "Crossfade", "GROUPS", "HierarchicalSmoother", "LavMapper",
           "Look", "MAX_LOOKS", "WStatistics", "fade_to", "follow_song", "fps_text", "frame_time",
           "parse_fps", "sample_statistics",
           "smoothstep", "w_statistics", "ws_groups", "ws_resolutions"]
