"""The modulation matrix (lavlive/modulation): sources moving their targets the way a VJ expects, on synthetic
audio through the real control path, and bad routes refused in one line."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from lavlive.audio.encodec_stream import load_encoder
from lavlive.cli import main
from lavlive.control import ControlPath
from lavlive.errors import LavliveError
from lavlive.modulation import (DIRECTIONS, PICTURE, PICTURE_NEUTRAL, ModulationMatrix, SourceTracker, lfo,
                               parse_routes)
from lavlive.presets import preset_from_dict
from lavlive.stage import StageControls, StageError, apply, preset_values

SR = 24000
X = 3  # the cues' column of transform x (control/path.py CUES)


@pytest.fixture(scope="module")
def parts(tiny_generator, tiny_stats):
    return tiny_generator, tiny_stats


def routed(*routes: dict, **sections) -> object:
    return preset_from_dict({"route": list(routes), **sections}, "test preset")


def run(parts, preset, audio: np.ndarray, block: int = 2400) -> tuple[np.ndarray, np.ndarray, ControlPath]:
    """ws and cues for every control frame of `audio` [1, n] at 24 kHz."""
    G, stats = parts
    encoder, _ = load_encoder("24khz")
    path = ControlPath(encoder, stats, preset, G.num_ws, G.img_resolution)
    ws, cues = [], []
    for i in range(0, audio.shape[1], block):
        ws.append(path.push(audio[:, i:i + block]))
        cues.append(path.cues)
    ws.append(path.flush())
    cues.append(path.cues)
    return np.concatenate(ws), np.concatenate(cues), path


def clicks(seconds: float, every: float, start: float = 0.5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A quiet noise floor with a short loud burst at start, start + every, …; and the click times."""
    rng = np.random.default_rng(seed)
    x = 0.003 * rng.standard_normal(int(seconds * SR))
    times = np.arange(start, seconds - 0.1, every)
    n = SR // 100
    for t in times:
        i = int(t * SR)
        x[i:i + n] += 0.8 * rng.standard_normal(n) * np.exp(-np.arange(n) / (n / 4))
    return x[None].astype(np.float32), times


def test_an_onset_route_moves_its_target_on_the_clicks_and_lets_go_between(parts):
    audio, times = clicks(6.0, 0.5)
    preset = routed({"name": "kick", "source": "onset", "target": "transform/x", "amount": 1.0, "release": 0.05})
    _, cues, path = run(parts, preset, audio)
    x, t = cues[:, X], np.arange(len(cues)) / path.frame_rate
    near = np.array([x[(t >= c) & (t < c + 0.1)].max() for c in times[1:]])
    between = np.array([x[(t >= c + 0.25) & (t < c + 0.45)].max() for c in times[1:]])
    assert near.min() > 0.5 and between.max() < 0.1, (near, between)
    _, plain, _ = run(parts, routed(), audio)
    assert np.all(plain[:, X] == 0)  # the same music, no route: the transform stays put


def test_a_2_hz_lfo_moves_its_target_at_2_hz(parts):
    preset = routed({"name": "wobble", "source": "lfo", "shape": "sine", "hz": 2.0, "target": "transform/rotate",
                     "amount": 10.0})
    _, cues, path = run(parts, preset, np.zeros((1, 4 * SR), np.float32))
    rotate = cues[:, X + 2]
    spectrum = np.abs(np.fft.rfft(rotate - rotate.mean()))
    peak = np.fft.rfftfreq(len(rotate), 1 / path.frame_rate)[spectrum.argmax()]
    assert peak == pytest.approx(2.0, abs=0.3) and rotate.min() >= 0 and rotate.max() == pytest.approx(10, abs=0.1)


def beats_every(seconds: float, every: float, rate: float = 75.0) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(int(seconds * rate)) / rate
    beats = np.zeros(len(t), bool)
    beats[np.round(np.arange(0.5, seconds, every) * rate).astype(int)] = True
    return t, beats


def sources_for(t: np.ndarray, beats: np.ndarray, tracker: SourceTracker | None = None):
    tracker = tracker or SourceTracker(75.0)
    n = len(t)
    return tracker.push(t, np.zeros(n), np.zeros(n), np.zeros((n, 12)), np.full(n, -80.0), np.full((n, 3), -80.0),
                        beats)


def test_the_beat_clock_ramps_over_each_beat_and_keeps_time_through_a_break():
    t, beats = beats_every(8.0, 0.5)
    beats[t > 5.0] = False  # a break: the clock runs on at 120 bpm
    frames = sources_for(t, beats)
    assert np.all(np.diff(frames.position) >= 0)
    lines = t[frames.beat_line]
    assert np.allclose(np.diff(lines), 0.5, atol=1 / 75 + 1e-9) and lines[-1] > 7.4  # on through the break
    assert np.allclose(np.diff(t[frames.bar_line]), 2.0, atol=1 / 75 + 1e-9)
    phase = frames["beat"][(t > 1.0) & (t < 1.48)]  # between the beats at 1.0 and 1.493 s
    assert phase[0] < 0.05 and phase[-1] > 0.9 and np.all(np.diff(phase) > 0)


def test_a_bar_quantised_route_changes_only_on_bar_lines():
    t, beats = beats_every(10.0, 0.5)
    route, = parse_routes([{"name": "steps", "source": "lfo", "shape": "random", "beats": 1, "target": "y",
                            "amount": 1.0, "quantise": "bar"}], "test")
    matrix, tracker = ModulationMatrix([route], 75.0), SourceTracker(75.0)
    values, lines = [], []
    for i in range(0, len(t), 7):  # in blocks, as the path pushes
        frames = sources_for(t[i:i + 7], beats[i:i + 7], tracker)
        values.append(matrix.push(frames)["y"])
        lines.append(frames.bar_line)
    values, lines = np.concatenate(values), np.concatenate(lines)
    changed = np.flatnonzero(np.diff(values) != 0) + 1
    assert len(changed) >= 3 and set(changed) <= set(np.flatnonzero(lines))


def test_lfo_shapes_span_zero_to_one_and_random_holds_per_cycle():
    cycles = np.linspace(0, 3, 301)
    for shape in ("sine", "triangle", "saw", "square", "random"):
        v = lfo(shape, cycles, seed=1)
        assert v.min() >= 0 and v.max() <= 1
    held = lfo("random", cycles, seed=1)
    assert len(np.unique(held[:100])) == 1 and held[0] != held[150]
    assert np.array_equal(held, lfo("random", cycles, seed=1)) and not np.array_equal(held, lfo("random", cycles, 2))


def test_a_fader_route_moves_the_mapping_and_at_zero_changes_nothing(parts):
    audio = clicks(3.0, 0.5)[0]
    preset = routed({"name": "hand", "source": "fader/1", "target": "y", "amount": 3.0})
    plain, _, _ = run(parts, routed(), audio)
    idle, _, _ = run(parts, preset, audio)
    assert np.array_equal(plain, idle)  # a route adding 0 leaves the look as it was, to the bit
    G, stats = parts
    encoder, _ = load_encoder("24khz")
    path = ControlPath(encoder, stats, preset, G.num_ws, G.img_resolution)
    controls = StageControls()
    controls.set("fader/1", 1.0)  # as OSC's /lavlive/fader/1 1.0 or a MIDI knob sets it
    with pytest.raises(StageError, match="out of range"):
        controls.set("fader/1", 1.5)
    apply(controls.take(), path)
    moved = np.concatenate([path.push(audio[:, i:i + 2400]) for i in range(0, audio.shape[1], 2400)] + [path.flush()])
    # y 1 → 4: the audio-driven motion around the centre is 4 times as large (smoothing and truncation are
    # linear)
    motion = lambda ws: ws[40:].std(axis=0).mean()  # noqa: E731
    assert motion(moved) / motion(plain) == pytest.approx(4.0, rel=0.01)


def test_a_path_with_routes_resumes_from_its_snapshot_exactly(parts):
    audio, _ = clicks(4.0, 0.5)
    preset = routed({"name": "kick", "source": "onset", "target": "truncation", "amount": -0.5, "release": 0.3},
                    {"name": "bars", "source": "bar", "target": "transform/x", "amount": 1.0, "quantise": "beat"})
    whole, cues, _ = run(parts, preset, audio)
    G, stats = parts
    encoder, _ = load_encoder("24khz")
    first = ControlPath(encoder, stats, preset, G.num_ws, G.img_resolution)
    head = [first.push(audio[:, i:i + 2400]) for i in range(0, 2 * SR, 2400)]
    second = ControlPath(load_encoder("24khz")[0], stats, preset, G.num_ws, G.img_resolution)
    second.load_state(first.state())
    tail = [second.push(audio[:, i:i + 2400]) for i in range(2 * SR, audio.shape[1], 2400)] + [second.flush()]
    assert np.array_equal(np.concatenate(head + tail), whole)


def test_a_preset_switch_on_stage_fades_to_its_routes(parts):
    G, stats = parts
    path = ControlPath(load_encoder("24khz")[0], stats, routed(), G.num_ws, G.img_resolution)
    other = routed({"name": "kick", "source": "onset", "target": "y", "amount": 1.0})
    assert "routes" not in preset_values(other)  # the state sent out over OSC has no routes
    apply(preset_values(other, routes=True), path, crossfade=1.0)
    assert path.look.newest.matrix.routes == other.routes and not path.look.old.matrix.routes


def test_routes_show_in_the_preset_table_and_survive_its_round_trip():
    preset = routed({"name": "drift", "source": "lfo", "shape": "triangle", "beats": 8, "target": "y",
                     "amount": 0.5, "quantise": "bar"})
    again = preset_from_dict(preset.to_dict(), "again")
    assert again == preset and again.to_dict()["route"] == [{"name": "drift", "source": "lfo", "target": "y",
                                                            "amount": 0.5, "quantise": "bar", "shape": "triangle",
                                                            "beats": 8.0}]
    assert preset.routes[0].describe() == "drift: triangle LFO every 8 beats → y × 0.5 (on each bar)"


@pytest.mark.parametrize("route, says", [
    ({"source": "onsett"}, "unknown source 'onsett'"),
    ({"target": "zoom"}, "unknown target 'zoom'"),
    ({"amount": 30.0}, "amount = 30 is out of range for transform/x"),
    ({"amount": float("nan")}, "amount = nan should be a finite number"),
    ({"release": -1.0}, "release = -1 is out of range"),
    ({"quantise": "phrase"}, "quantise = 'phrase' is not one of none, beat, bar"),
    ({"source": "lfo"}, "an LFO needs either hz (cycles per second) or beats (per cycle), not neither"),
    ({"hz": 2.0}, "'hz' is for source = \"lfo\" only"),
    ({"speed": 2.0}, "unknown field 'speed'"),
    ({"name": ""}, "'name' must be a non-empty string"),
])
def test_a_bad_route_is_a_one_line_error_naming_the_route_and_field(route, says, tmp_path, capsys):
    table = {"name": "kick", "source": "onset", "target": "transform/x", "amount": 0.5, **route}
    with pytest.raises(LavliveError, match="route") as e:
        routed(table)
    assert says in str(e.value) and "\n" not in str(e.value)
    lines = ["[[route]]"] + [f"{k} = {_toml(v)}" for k, v in table.items()]
    (tmp_path / "bad.toml").write_text("\n".join(lines) + "\n")
    assert main(["render", str(tmp_path / "x.wav"), "-o", str(tmp_path / "x.mp4"), "--preset",
                 str(tmp_path / "bad.toml")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "bad.toml" in err and says in err and "Traceback" not in err


def _toml(value) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    return "nan" if value != value else repr(value)


def test_two_routes_with_one_name_are_refused():
    with pytest.raises(LavliveError, match="two routes are named 'kick'"):
        routed({"name": "kick", "source": "onset", "target": "y"}, {"name": "kick", "source": "loudness",
                                                                    "target": "c"})


def test_a_render_draws_its_routes_and_its_sidecar_records_them(tmp_path):
    """An onset route pulling truncation to 0 on every hit: the frames of a render with it differ from the plain
    render's mostly at the hits (truncation acts on the smoothed ws, so a punch is not smeared over the coarse
    layers' 0.8 s), and the sidecar lists the route as the preset file has it."""
    import json

    import av
    import torch

    from lavlive.audio.demo import write_wav
    from lavlive.generator import Generator, GeneratorConfig, save_generator

    torch.manual_seed(0)
    save_generator(Generator(GeneratorConfig(z_dim=64, w_dim=64, img_resolution=32, channel_base=256,
                                             channel_max=16, mapping_layers=2)).eval(), tmp_path / "g.pt")
    audio, times = clicks(4.0, 1.0, seed=3)
    write_wav(tmp_path / "clicks.wav", audio, SR)
    (tmp_path / "kick.toml").write_text('[[route]]\nname = "kick"\nsource = "onset"\ntarget = "truncation"\n'
                                        'amount = -2.0\nrelease = 0.1\n')
    decoded = {}
    for name, extra in (("plain", ()), ("kick", ("--preset", str(tmp_path / "kick.toml")))):
        out = tmp_path / f"{name}.mp4"
        assert main(["render", str(tmp_path / "clicks.wav"), "-o", str(out), "--model", str(tmp_path / "g.pt"),
                     "--crf", "0", "--size", "32x32", *extra]) == 0
        with av.open(str(out)) as c:
            decoded[name] = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)]).astype(float)
    change = np.abs(decoded["kick"] - decoded["plain"]).mean(axis=(1, 2, 3))
    t = np.arange(len(change)) / 30
    at_hits = np.array([change[(t >= c) & (t < c + 0.2)].max() for c in times])
    between = np.array([change[(t >= c + 0.5) & (t < c + 0.9)].max() for c in times[:-1]])
    assert at_hits.min() > 3 * max(between.max(), 0.5), (at_hits, between)  # about 35 against 6
    meta = json.loads((tmp_path / "kick.mp4.json").read_text())
    assert meta["preset"]["route"] == [{"name": "kick", "source": "onset", "target": "truncation", "amount": -2.0,
                                        "release": 0.1}]


def test_a_group_truncation_route_moves_only_its_layers(parts):
    audio, _ = clicks(3.0, 0.5)
    plain, _, path = run(parts, routed(), audio)
    middle, _, _ = run(parts, routed({"name": "mid", "source": "onset", "target": "truncation/middle",
                                      "amount": -0.8}), audio)
    coarse, moved = path.smoother.members[:2]  # the tiny network has no fine layers
    assert len(coarse) and len(moved) and np.array_equal(middle[:, coarse], plain[:, coarse])
    assert np.abs(middle[:, moved] - plain[:, moved]).max() > 0.1


def test_a_route_amount_changes_live_over_osc_and_bad_ones_are_refused_with_a_log_line(parts, caplog):
    """/lavlive/route/<name>/amount over real UDP on loopback: the look's route changes from the next block, its
    follower carrying on; an unknown route or an amount beyond its target's range is a log line, nothing more."""
    import logging
    import time

    from pythonosc.udp_client import SimpleUDPClient

    from lavlive.stage import OscServer

    G, stats = parts
    preset = routed({"name": "kick", "source": "onset", "target": "transform/x", "amount": 0.5})
    path = ControlPath(load_encoder("24khz")[0], stats, preset, G.num_ws, G.img_resolution)
    controls = StageControls(preset)
    server = OscServer(controls, port=0).start()
    caplog.set_level(logging.WARNING)
    try:
        client = SimpleUDPClient("127.0.0.1", server.port)
        for address, value in (("/lavlive/route/kick/amount", -1.5), ("/lavlive/route/snare/amount", 1.0),
                               ("/lavlive/route/kick/speed", 1.0), ("/lavlive/route/kick/gain", float("nan"))):
            client.send_message(address, value)
        deadline = time.monotonic() + 10
        while len(caplog.records) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        changes = controls.take()
    finally:
        server.close()
    assert changes == {"route/kick/amount": -1.5, "route/snare/amount": 1.0}
    assert "route/kick/speed" in caplog.text and "gain = nan is not finite" in caplog.text
    apply(changes, path)
    assert path.look.matrix.routes[0].amount == -1.5 and controls.state()["route/kick/amount"] == -1.5
    assert "no route 'snare' in the preset on screen (its routes: kick)" in caplog.text
    apply({"route/kick/amount": 25.0}, path)  # transform/x spans 20
    assert path.look.matrix.routes[0].amount == -1.5 and "amount = 25 is out of range" in caplog.text
    controls.reset(routed())
    assert not any(k.startswith("route/") for k in controls.state())  # a preset switch forgets the old routes


def test_a_midi_knob_can_drive_a_route_amount_and_routes_themselves_are_not_a_parameter(tmp_path):
    from lavlive.stage.midi import MidiMapError, load_midi_map

    (tmp_path / "ok.toml").write_text('[[cc]]\ncontrol = 1\nparameter = "route/kick/amount"\nmin = 0.0\nmax = 2.0\n')
    binding, = load_midi_map(tmp_path / "ok.toml").bindings
    assert binding.parameter == "route/kick/amount" and (binding.low, binding.high) == (0.0, 2.0)
    (tmp_path / "bad.toml").write_text('[[cc]]\ncontrol = 1\nparameter = "routes"\n')
    with pytest.raises(MidiMapError, match="parameter = 'routes' is not one of"):
        load_midi_map(tmp_path / "bad.toml")


# ---------------------------------------------------------------- targets beyond the mapping: W and the picture


def test_principal_directions_are_orthogonal_and_as_long_as_ws_spread_along_them(tiny_generator, tiny_stats):
    v = tiny_stats.direction_vectors().astype(np.float64)
    assert v.shape == (DIRECTIONS, tiny_generator.w_dim)
    unit = v / np.linalg.norm(v, axis=1, keepdims=True)
    np.testing.assert_allclose(unit @ unit.T, np.eye(DIRECTIONS), atol=1e-4)
    lengths = np.linalg.norm(v, axis=1)
    assert np.all(np.diff(lengths) <= 1e-6) and lengths[-1] > 0  # the most varied first


def test_a_direction_route_moves_ws_along_that_direction_in_its_group_only(parts, tiny_stats):
    """An LFO on direction/2 in the middle layers: routed minus plain ws is the LFO times direction 2, in the
    middle ws only, the same amount in each of them."""
    audio, _ = clicks(2.0, 0.5)
    lfo_route = {"name": "drift", "source": "lfo", "shape": "sine", "hz": 1.0, "target": "direction/2/middle",
                 "amount": 3.0, "offset": -0.5}
    plain, _, path = run(parts, routed(), audio)
    moved, _, _ = run(parts, routed(lfo_route), audio)
    fine = path.look.smoother.members[1]  # the tiny network's top layers (32²) are middle ones
    others = np.setdiff1d(np.arange(plain.shape[1]), fine)
    assert len(fine) and np.array_equal(moved[:, others], plain[:, others])
    delta = (moved[:, fine] - plain[:, fine]).astype(np.float64)
    v = tiny_stats.direction_vectors()[1].astype(np.float64)
    along = delta @ v / (v @ v)  # [T, fine]: how far along direction 2
    np.testing.assert_allclose(delta, along[..., None] * v, atol=1e-4)  # nothing but direction 2
    t = np.arange(len(plain)) / path.frame_rate
    np.testing.assert_allclose(along[:, 0], 3.0 * (lfo("sine", t, seed=0) - 0.5), atol=1e-4)


def test_a_fader_on_seed_mix_crossfades_to_the_second_seed(parts):
    """seed/mix at 1 is the look of the preset's second seed, exactly; at 0.5 halfway between the two seeds'."""
    audio, _ = clicks(2.0, 0.5)
    route = {"name": "xf", "source": "fader/1", "target": "seed/mix", "amount": 1.0}
    G, stats = parts
    looks = {}
    for fader in (0.0, 0.5, 1.0):
        encoder, _ = load_encoder("24khz")
        path = ControlPath(encoder, stats, routed(route, modulation={"seed": 3, "seed_b": 8}), G.num_ws,
                           G.img_resolution)
        path.sources.set_fader(1, fader)
        looks[fader] = np.concatenate([path.push(audio), path.flush()])
    seed_a, _, _ = run(parts, routed(modulation={"seed": 3}), audio, block=audio.shape[1])
    seed_b, _, _ = run(parts, routed(modulation={"seed": 8}), audio, block=audio.shape[1])
    np.testing.assert_array_equal(looks[0.0], seed_a)
    np.testing.assert_allclose(looks[1.0], seed_b, atol=1e-6)
    np.testing.assert_allclose(looks[0.5], (seed_a + seed_b) / 2, atol=1e-5)


def test_a_smoothing_route_makes_the_fine_layers_follow_slower(parts):
    """fader → smoothing/fine: at 0 the preset's 0.08 s window, at 1 a 2 s one: the fine ws move far less."""
    audio, _ = clicks(3.0, 0.25)
    route = {"name": "calm", "source": "fader/2", "target": "smoothing/fine", "amount": 2.0}
    G, stats = parts
    steps = []
    for fader in (0.0, 1.0):
        encoder, _ = load_encoder("24khz")
        smoothing = {"fine": 0.08, "middle_max_resolution": 16}  # the tiny network's 32² layers are fine ones
        path = ControlPath(encoder, stats, routed(route, smoothing=smoothing), G.num_ws, G.img_resolution)
        path.sources.set_fader(2, fader)
        ws = np.concatenate([path.push(audio), path.flush()])
        fine = path.look.smoother.members[2]
        steps.append(np.abs(np.diff(ws[75:, fine], axis=0)).mean())
    assert steps[1] < steps[0] / 5


def test_picture_routes_reach_the_frames_the_synthesizer_draws(parts):
    """An onset route to effect/flash: the frames' flash is high on the clicks, and the drawn pictures are
    brighter exactly where it is (and the same where it is 0)."""
    from lavlive.pipeline.synthesizer import Synthesizer

    audio, times = clicks(3.0, 0.5)
    preset = routed({"name": "strobe", "source": "onset", "target": "effect/flash", "amount": 1.0, "release": 0.05})
    ws, cues, path = run(parts, preset, audio)
    flash = cues[:, 3 + PICTURE.index("effect/flash")]
    t = np.arange(len(cues)) / path.frame_rate
    assert (flash == 0).any() and flash[(t >= times[1]) & (t < times[1] + 0.1)].max() > 0.5
    G, _ = parts
    frames = Synthesizer(G)(ws, 0, cues[:, 3:])
    plain = Synthesizer(G)(ws)
    brightness = frames.reshape(len(frames), -1).mean(1) - plain.reshape(len(plain), -1).mean(1)
    assert brightness[flash > 0.5].min() > 30 and np.all(brightness[flash == 0] == 0)


@pytest.mark.parametrize("name, value", [("effect/hue", 120.0), ("effect/mirror", 1.0), ("effect/flash", 1.0),
                                         ("effect/zoom", 1.0), ("effect/kaleidoscope", 1.0), ("bend/x", 0.25),
                                         ("noise/middle", 0.0), ("effect/feedback", 0.9)])
def test_each_picture_control_changes_the_picture_as_it_says(parts, name, value):
    from lavlive.pipeline.synthesizer import Synthesizer

    G = copy.deepcopy(parts[0])
    for layer in G.modules():
        if hasattr(layer, "noise_strength"):  # a random network has none: give it some
            layer.noise_strength.data.fill_(0.5)
    ws = G.mapping(torch.randn(4, G.z_dim, generator=torch.Generator().manual_seed(1))).detach().numpy()
    neutral = np.tile([PICTURE_NEUTRAL[n] for n in PICTURE], (4, 1))
    moved = neutral.copy()
    moved[:, PICTURE.index(name)] = value
    plain, drawn = Synthesizer(G)(ws, 0, neutral), Synthesizer(G)(ws, 0, moved)
    a, b = plain.astype(int), drawn.astype(int)
    assert np.array_equal(Synthesizer(G)(ws), plain)  # neutral controls are no controls
    if name == "effect/hue":  # 120 degrees about grey: red → green → blue → red
        assert np.abs(b[..., [1, 2, 0]] - a).max() <= 2
    elif name == "effect/mirror":
        assert np.array_equal(b, b[:, :, ::-1]) and np.array_equal(b[:, :, :16], a[:, :, :16])
    elif name == "effect/flash":
        assert np.all(b == 255)
    elif name == "effect/zoom":  # twice as large: half as steep, and the middle pixels stay in the middle
        steepness = [np.abs(np.diff(x, axis=1)).mean() + np.abs(np.diff(x, axis=2)).mean() for x in (a, b)]
        assert steepness[1] < 0.7 * steepness[0]
        assert np.abs(b[:, 15:17, 15:17] - a[:, 15:17, 15:17]).mean() < np.abs(b - a).mean()
    elif name == "effect/feedback":  # each picture keeps 0.9 of the one before, in order, across batches
        s = Synthesizer(G)
        first, second = s(ws[:2], 0, moved[:2]), s(ws[2:], 2, moved[2:])
        assert np.abs(np.concatenate([first, second]).astype(int) - b).max() <= 1  # batches of 2 round alike
        expected = a[0].astype(np.float64)
        for k in range(1, 4):
            expected = 0.9 * expected + 0.1 * a[k]
        assert np.abs(b[3] - expected).max() <= 2
    else:  # kaleidoscope, bend, noise: a different picture (the tests above pin down what kind)
        assert np.abs(b - a).mean() > 1


def test_link_sources_follow_the_session_timeline_as_the_frames_reach_the_screen(parts):
    """With --link: a path whose audio starts at show time 4 s, while the screen shows 10 s, has its second 6 on
    screen now: there link/beat and link/bar are the session's phase now, and they advance at its tempo."""
    pytest.importorskip("link")
    from lavlive.presets import load_preset
    from lavlive.stage.link import StageLink

    G, stats = parts
    encoder, _ = load_encoder("24khz")
    path = ControlPath(encoder, stats, routed(), G.num_ws, G.img_resolution)
    stage = StageLink(load_preset(None), link=True)
    try:
        stage.clock = lambda: 10.0
        stage.apply_to([(path, 4.0)])
        now = stage.link.now()
    finally:
        stage.close()
    t = np.array([6.0, 6.25, 6.5])
    frames = path.sources.push(t, np.zeros(3), np.zeros(3), np.zeros((3, 12)), np.full(3, -80.0), np.full((3, 3), -80.0),
                               np.zeros(3, bool))
    beats = now.beat + (t - 6.0) * now.tempo / 60
    tolerance = 0.02 * now.tempo / 60  # 20 ms between the two readings of the session
    on_circle = lambda a, b: np.minimum(np.abs(a - b), 1 - np.abs(a - b))  # noqa: E731 - 0.999 is next to 0.001
    assert on_circle(frames["link/beat"], beats % 1).max() < tolerance
    assert on_circle(frames["link/bar"], (beats / now.quantum) % 1).max() < tolerance
    plain = SourceTracker(75.0).push(t, np.zeros(3), np.zeros(3), np.zeros((3, 12)), np.full(3, -80.0),
                                     np.full((3, 3), -80.0), np.zeros(3, bool))
    assert not plain["link/beat"].any() and not plain["link/bar"].any()  # no Link: 0


def test_a_frame_draws_the_same_whether_or_not_the_others_in_its_batch_move():
    """Render draws in batches, play one frame at a time: bending and zoom leave a picture whose values are 0 as it
    was, to the bit, even when another in its batch moves (resampling in place would round its last bits)."""
    from lavlive.effects import zoomed
    from lavlive.generator.bending import bent

    x = torch.randn(2, 8, 24, 40, generator=torch.Generator().manual_seed(3))
    bends = torch.tensor([[0.0, 0.0, 0.0, 0.0], [0.1, 0.0, 10.0, 0.5]])
    out = bent(x, bends)
    assert torch.equal(out[0], x[0]) and not torch.allclose(out[1], x[1], atol=1e-2)
    out = zoomed(x, torch.tensor([0.0, 0.5]))
    assert torch.equal(out[0], x[0]) and not torch.allclose(out[1], x[1], atol=1e-2)
