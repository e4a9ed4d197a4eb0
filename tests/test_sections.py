"""A song's sections: found before the first frame, and followed on the bar lines of the beat clock."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from lavlive.audio.encodec_stream import load_encoder
from lavlive.audio.sections import find_sections
from lavlive.control import ControlPath
from lavlive.errors import LavliveError
from lavlive.modulation import PICTURE
from lavlive.presets import preset_from_dict

BPM = 120
BAR = 4 * 60 / BPM  # seconds


def song(parts: list[tuple[str, float]], sr: int, seed: int = 0) -> np.ndarray:
    """Sections of their own harmony and timbre over one steady kick at BPM: 'pads' (C major sines), 'saws'
    (F sharp minor, bright), 'drone' (a low sine under noise)."""
    rng = np.random.default_rng(seed)
    out = []
    for kind, seconds in parts:
        t = np.arange(int(seconds * sr)) / sr
        if kind == "pads":
            x = sum(0.15 * np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0))
        elif kind == "saws":
            x = sum(0.1 * (2 * ((f * t) % 1) - 1) for f in (370.0, 440.0, 554.4))
        else:
            x = 0.2 * np.sin(2 * np.pi * 55 * t) + 0.05 * rng.standard_normal(len(t))
        n = int(0.05 * sr)
        kick = 0.6 * np.sin(2 * np.pi * 60 * np.arange(n) / sr) * np.exp(-np.arange(n) / (n / 5))
        for beat in np.arange(0, seconds, 60 / BPM):
            i = int(beat * sr)
            x[i:i + n] += kick[:len(x) - i]
        out.append(x)
    return np.concatenate(out).astype(np.float32)


def test_sections_of_a_song_with_known_structure_land_within_a_bar(tmp_path):
    """Pads, saws, pads again, drone, 16 s each (8 bars): three boundaries, each found within one bar."""
    path = tmp_path / "song.wav"
    sf.write(path, song([("pads", 16), ("saws", 16), ("pads", 16), ("drone", 16)], 22050), 22050)
    found = find_sections(path).boundaries
    assert len(found) == 3 and np.abs(np.array(found) - [16, 32, 48]).max() <= BAR, found
    assert find_sections(path, start=20.0).boundaries == pytest.approx([12, 28], abs=BAR)  # times from the start


def test_a_steady_song_has_one_section(tmp_path):
    path = tmp_path / "steady.wav"
    sf.write(path, song([("pads", 40)], 22050), 22050)
    assert find_sections(path).boundaries == ()


def control(preset: dict, boundaries: tuple[float, ...], audio: np.ndarray, parts) -> tuple[np.ndarray, list]:
    """ws and each block's SourceFrames for `audio` through a control path following `boundaries`."""
    G, stats = parts
    encoder, _ = load_encoder("24khz")
    p = preset_from_dict(preset, "test preset")
    path = ControlPath(encoder, stats, p, G.num_ws, G.img_resolution)
    path.follow_sections(p, boundaries)
    ws, frames = [], []
    for i in range(0, audio.shape[1], 2400):
        ws.append(path.push(audio[:, i:i + 2400]))
        frames.append(path.last_sources)
    ws.append(path.flush())
    frames.append(path.last_sources)
    return np.concatenate(ws), frames


def test_a_section_switch_starts_on_the_first_bar_line_after_the_boundary(tiny_generator, tiny_stats):
    """A boundary at 3.3 s: the next seed's look starts on the beat clock's first bar line at or after it (so
    within a bar of it), and nothing changes before."""
    audio = song([("pads", 8.0)], 24000)[None]
    sections = {"switch": "seed", "seeds": [42], "crossfade": 0.0}
    plain, _ = control({}, (), audio, (tiny_generator, tiny_stats))
    switched, frames = control({"sections": sections}, (3.3,), audio, (tiny_generator, tiny_stats))
    first = int(np.flatnonzero(np.any(plain != switched, axis=(1, 2)))[0])
    times = np.concatenate([f.time for f in frames if f is not None])
    bar_lines = np.concatenate([f.bar_line for f in frames if f is not None])
    assert 3.3 <= times[first] <= 3.3 + BAR and bar_lines[first], (times[first], times[bar_lines])
    assert not bar_lines[(times >= 3.3) & (times < times[first])].any()


def test_a_preset_that_switches_presets_at_sections_checks_them_at_load():
    with pytest.raises(LavliveError, match="sections.presets: preset 'nope' not found"):
        preset_from_dict({"sections": {"switch": "preset", "presets": ["drift", "nope"]}}, "set.toml")
    with pytest.raises(LavliveError, match="sections.seeds = .* should be a list of ints"):
        preset_from_dict({"sections": {"switch": "seed", "seeds": [1, "two"]}}, "set.toml")


def test_render_and_play_plan_the_same_ws_and_controls_with_routes_and_sections(tmp_path, tiny_generator):
    """The same file and a preset with routes and section switches: the frames a render plans and those a play
    plans (its preparer, feeder and setlist, without the sound card) carry the same picture controls and ws,
    frame by frame, across the section switch (which lands on the same frame in both)."""
    from fractions import Fraction

    from lavlive.audio.sources import FileSource
    from lavlive.control import follow_song
    from lavlive.generator import save_generator
    from lavlive.pipeline import ModelSettings, SetlistPlan, TrackPlan
    from lavlive.pipeline.model import load_model
    from lavlive.playback.feeder import Feeder
    from lavlive.playback.playlist import Entry
    from lavlive.playback.preparer import Preparer
    from lavlive.presets import load_preset
    from test_setlist import Recorder

    rate = 24000
    track = tmp_path / "two-parts.wav"
    sf.write(track, song([("pads", 10), ("saws", 10)], rate), rate)
    model = tmp_path / "tiny.pt"
    save_generator(tiny_generator, model)
    preset = tmp_path / "routed.toml"
    preset.write_text('[sections]\nswitch = "seed"\nseeds = [9]\ncrossfade = 1.0\n'
                      '[[route]]\nname = "flash"\nsource = "onset"\ntarget = "effect/flash"\namount = 0.5\n'
                      '[[route]]\nname = "drift"\nsource = "lfo"\nbeats = 4\ntarget = "direction/1"\namount = 2.0\n')

    loaded = load_model(str(model), "cpu", warm_up=None)
    path, _ = loaded.control_path(load_preset(preset))
    assert follow_song(path, load_preset(preset), track).boundaries == pytest.approx([10.0], abs=BAR)
    rendered = list(TrackPlan(FileSource(track, rate, 1, block_size=rate // 2), path, Fraction(30)))

    class At24k(Recorder):
        sample_rate = rate

    preparer = Preparer(ModelSettings(model=str(model), device="cpu"), rate, 1, preset=str(preset))
    audio = At24k()
    feeder = Feeder(iter([(Entry(track), 0.0, preparer.submit(Entry(track), 0))]), audio, lambda e, error: None)
    feeder.start()
    feeder.join(120)
    played = list(SetlistPlan(feeder, Fraction(30)))
    assert len(played) == len(rendered) == 600
    for a, b in zip(rendered, played):  # EnCodec's sums round differently in other block sizes (1e-7): ws to 1e-4
        np.testing.assert_allclose(a.ws, b.ws, atol=1e-4, err_msg=f"frame {a.index}")
        np.testing.assert_array_equal(a.picture, b.picture, err_msg=f"frame {a.index}")  # the features are exact
    seeds_differ = np.abs(rendered[-1].ws - rendered[250].ws).max()
    assert seeds_differ > 0 and any(f.picture.any() for f in rendered)


def test_the_section_source_runs_through_each_section(tiny_generator, tiny_stats):
    """Sections starting at 0, 1.5 and 3 s of a 4 s song: 'section' is the way through each, 0 → 1, and drops to 0
    at each boundary; a route from it moves its target the same way."""
    audio = song([("pads", 4.0)], 24000)[None]
    route = {"name": "through", "source": "section", "target": "effect/hue", "amount": 100.0}
    G, stats = tiny_generator, tiny_stats
    encoder, _ = load_encoder("24khz")
    preset = preset_from_dict({"route": [route]}, "test preset")
    assert preset.follows_sections
    path = ControlPath(encoder, stats, preset, G.num_ws, G.img_resolution)
    path.follow_sections(preset, (1.5, 3.0), 4.0)
    times, values, hue = [], [], []
    for i in range(0, audio.shape[1], 2400):
        path.push(audio[:, i:i + 2400])
        if path.last_sources is not None and len(path.last_sources):
            times.append(path.last_sources.time)
            values.append(path.last_sources["section"])
            hue.append(path.cues[:, 3 + PICTURE.index("effect/hue")])
    t, v, h = np.concatenate(times), np.concatenate(values), np.concatenate(hue)
    expected = np.where(t < 1.5, t / 1.5, np.where(t < 3.0, (t - 1.5) / 1.5, (t - 3.0) / 1.0))
    np.testing.assert_allclose(v, expected, atol=1e-9)
    np.testing.assert_allclose(h, 100 * expected, atol=1e-6)
