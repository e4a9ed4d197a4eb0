"""The modulation matrix: routes from what the music does (and the hands set) to the picture's controls.

    sources   per control frame, in [0, 1]: onset, loudness, bands, flux, chroma, the beat clock, faders
    lfo       oscillators read at a position in cycles (from audio time or the beat clock)
    targets   what a route may move, with ranges, and the picture controls every frame carries (PICTURE)
    routes    a route (source, shaping, target, amount) and the presets' [[route]] tables, checked
    matrix    every route of a look evaluated per frame and summed per target
"""

from .lfo import SHAPES, lfo
from .matrix import ModulationMatrix
from .routes import Route, parse_routes, route_from_dict
from .sources import SOURCES, SourceFrames, SourceTracker, band_levels
from .targets import (BEND_TARGETS, DIRECTIONS, EFFECT_TARGETS, GROUPS, MAPPING_TARGETS, NOISE_TARGETS, PICTURE,
                      PICTURE_NEUTRAL, SMOOTHING_TARGETS, TARGETS, TRANSFORM_TARGETS, TRUNCATION_TARGETS, Target,
                      blend_pictures)

__all__ = ["BEND_TARGETS", "DIRECTIONS", "EFFECT_TARGETS", "GROUPS", "MAPPING_TARGETS", "ModulationMatrix",
           "NOISE_TARGETS", "PICTURE", "PICTURE_NEUTRAL", "Route", "SHAPES", "SMOOTHING_TARGETS", "SOURCES",
           "SourceFrames", "SourceTracker", "TARGETS", "TRANSFORM_TARGETS", "TRUNCATION_TARGETS", "Target",
           "band_levels", "blend_pictures", "lfo", "parse_routes", "route_from_dict"]
