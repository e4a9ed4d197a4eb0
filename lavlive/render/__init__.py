"""What is made offline from a track: a video (whole, or split by time and drawn on Ray), its sidecar, and the
analysis figure.

    settings    what `lavlive render` was asked (RenderSettings, VideoSettings)
    offline     render(): a whole render in this process, or the segmented one
    segmented   the driver of a segmented render: analysis pass, Ray tasks, the join
    segments    the job, the segments and their snapshots, one segment drawn, the join
    work_folder OUT.segments/, for a re-run to resume from
    cluster     segments as Ray tasks (optional extra lavlive[cluster])
    video       H.264 with the track's audio through PyAV; joining segments by stream copy
    sidecar     OUT.json: everything needed to render the same video again
    replay      `render --replay`: a show recorded by `play --record`, drawn again from its sidecar
    figure      `lavlive analyze`: the control path recorded over a track, drawn as one PNG
"""

from .figure import AnalyzeSettings, analyze
from .offline import render
from .replay import replay
from .settings import RenderSettings, VideoSettings

__all__ = ["AnalyzeSettings", "RenderSettings", "VideoSettings", "analyze", "render", "replay"]
