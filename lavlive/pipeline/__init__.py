"""The pipeline render, play and live share: a model loaded once, plans of frames, and the engine that draws them.

    model        the one model loader: a checkpoint made ready to draw (network, synthesizer, W statistics)
    synthesizer  ws → finished uint8 frames at the output size, on the synthesis device
    frame        a frame on its way: presentation time and ws, then its picture
    plan         the Plan protocol; the plans: track, segment, setlist (play), live
    engine       a plan through synthesis in worker threads, with bounded queues, to the caller's sink
"""

from .engine import Engine, EngineStats
from .frame import Frame
from .live import LivePlan
from .model import Model, ModelSettings, load_model
from .plan import Plan
from .segment import SegmentPlan
from .setlist import SetlistPlan, Slot, Timeline, Track
from .synthesizer import SCALE_MODES, Size, SynthesisOptions, Synthesizer, parse_size
from .track import RENDER_BLOCK_SECONDS, TrackPlan

__all__ = ["Engine", "EngineStats", "Frame", "LivePlan", "Model", "ModelSettings", "Plan", "RENDER_BLOCK_SECONDS",
           "SCALE_MODES", "SegmentPlan", "SetlistPlan", "Size", "Slot", "SynthesisOptions", "Synthesizer", "Timeline",
           "Track", "TrackPlan", "load_model", "parse_size"]
