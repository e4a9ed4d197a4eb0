"""Preset and seed switches on stage: the picture fades from one look to the other without a jump,
optionally on the next beat; a model switch on stage dissolves; and the beats the control path hears
reach the frames (and OSC)."""

from __future__ import annotations

import threading

import numpy as np
import torch
import pytest
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import BlockingOSCUDPServer

from lavlive.audio.demo import demo_track
from lavlive.pipeline import TrackPlan
from lavlive.control.beats import BeatDetector
from lavlive.control import ControlPath
from lavlive.control.look import MAX_LOOKS, Crossfade, Look, fade_to
from lavlive.modulation import PICTURE, PICTURE_NEUTRAL
from lavlive.presets import Preset, load_preset
from lavlive.stage import apply, preset_values
from lavlive.stage.link import StageLink

NEUTRAL = np.array([PICTURE_NEUTRAL[name] for name in PICTURE])

SR = 24000
BLOCK = 2400  # 0.1 s
SWITCH = {"seed": 99, "y": 2.0, "smoothing/coarse": 1.0, "chroma/strength": 0.8}


def clicks(seconds: float, times: list[float]) -> np.ndarray:
    """[1, n]: quiet noise with a 10 ms burst of loud noise at each time, as a drum machine's hits."""
    rng = np.random.default_rng(1)
    audio = 0.003 * rng.standard_normal(int(seconds * SR))
    for t in times:
        i = int(t * SR)
        audio[i:i + SR // 100] += 0.8 * rng.standard_normal(SR // 100) * np.exp(-np.arange(SR // 100) / 60)
    return audio[None].astype(np.float32)


def run(path: ControlPath, audio: np.ndarray, changes: dict | None = None, at: float = 2.0,
        crossfade: float = 0.0, on_beat: bool = False, start: float | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """ws and cues of every control frame; `changes` applied between blocks at `at` seconds (their
    fade starting at `start` seconds, if given). Also: the number of frames out before the change."""
    ws, cues, before = [], [], None
    for i in range(0, audio.shape[1], BLOCK):
        if changes is not None and before is None and i >= at * SR:
            before = sum(len(w) for w in ws)
            apply(changes, path, crossfade, on_beat, start)
        ws.append(path.push(audio[:, i:i + BLOCK]))
        cues.append(path.cues)
    ws.append(path.flush())
    cues.append(path.cues)
    return np.concatenate(ws), np.concatenate(cues), before


def fresh(G, preset: Preset | None = None) -> ControlPath:
    """A path of the default preset (or `preset`)."""
    return ControlPath.for_generator(G, preset or load_preset(None))[0]


def steps(ws: np.ndarray) -> np.ndarray:
    """How far the picture's ws move from one control frame to the next."""
    return np.linalg.norm((ws[1:] - ws[:-1]).reshape(len(ws) - 1, -1), axis=1)


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0, 1)
    return x * x * (3 - 2 * x)


@pytest.fixture(scope="module")
def music() -> np.ndarray:
    return demo_track(5.0, SR)[:1]


def test_a_preset_switch_fades_between_the_two_looks_without_a_jump(tiny_generator, music):
    seconds = 1.5
    faded, _, before = run(fresh(tiny_generator), music, SWITCH, crossfade=seconds)
    old, _, _ = run(fresh(tiny_generator), music)  # the look that was on screen, left alone
    cut, _, _ = run(fresh(tiny_generator), music, SWITCH, crossfade=0.0)  # the new look from the switch on
    rate = fresh(tiny_generator).frame_rate
    frames = round(seconds * rate)
    assert 100 < before and before + frames < len(faded)

    # Exactly the two looks, mixed with a smoothstep over the crossfade.
    np.testing.assert_array_equal(faded[:before], old[:before])
    alpha = smoothstep((np.arange(len(faded) - before) + 1) / frames)[:, None, None]
    np.testing.assert_allclose(faded[before:], (1 - alpha) * old[before:] + alpha * cut[before:], atol=1e-5)
    np.testing.assert_allclose(faded[before + frames:], cut[before + frames:], atol=1e-6)

    # No jump larger than the crossfade allows: a step moves at most what the looks move themselves
    # plus 1.5 / frames of the distance between them (the smoothstep's steepest slope).
    window = slice(before - 1, before + frames)
    distance = np.linalg.norm((cut - old).reshape(len(cut), -1), axis=1)[window].max()
    allowed = np.maximum(steps(old), steps(cut))[window] + 1.5 * distance / frames + 1e-4
    assert (steps(faded)[window] <= allowed).all()
    # ... which the cut breaks: at the switch it jumps by the whole distance between the looks.
    assert steps(cut)[before - 1] > steps(old)[before - 1] + 1.5 * distance / frames + 0.3


def test_a_switch_on_the_beat_waits_for_the_next_hit(tiny_generator):
    hits = [0.5, 1.0, 1.5, 2.0, 2.7, 3.4]
    audio = clicks(4.5, hits)
    old, cues, _ = run(fresh(tiny_generator), audio)
    faded, _, before = run(fresh(tiny_generator), audio, SWITCH, at=2.2, crossfade=0.5, on_beat=True)
    rate = fresh(tiny_generator).frame_rate

    beat_frames = np.flatnonzero(np.diff(cues[:, 1], prepend=0) > 0)
    assert beat_frames[0] / rate < 0.1  # the sound starting is a beat too
    beat_frames = beat_frames[1:]
    assert np.abs(beat_frames / rate - np.array(hits)).max() < 0.03  # one beat per hit, where it is
    moved = np.flatnonzero(np.abs(faded - old).reshape(len(old), -1).max(axis=1) > 1e-6)
    next_beat = beat_frames[beat_frames >= before][0]
    assert moved[0] == next_beat  # the fade starts on the hit at 2.7 s, not at the switch at 2.2 s
    assert abs(next_beat / rate - 2.7) < 0.03


def test_a_switch_timed_between_control_frames_ramps_from_that_instant(tiny_generator, music):
    """A Link bar line falls between two control frames: the weight is smoothstep((t - line) / fade)
    at every frame's own time, 0 up to the line, and nothing moves before it."""
    old, _, _ = run(fresh(tiny_generator), music[:, :SR * 4])
    line = 2.3712  # seconds; requested at 2.0
    faded, cues, before = run(fresh(tiny_generator), music[:, :SR * 4], SWITCH, at=2.0, crossfade=0.4, start=line)
    rate = fresh(tiny_generator).frame_rate
    t = np.arange(len(cues)) / rate
    expected = np.clip((t - line) / 0.4, 0, 1)
    expected = np.where(np.arange(len(cues)) < before, 1.0, expected * expected * (3 - 2 * expected))
    assert np.abs(cues[:, 2] - expected).max() < 1e-9
    moved = np.flatnonzero(np.abs(faded - old).reshape(len(old), -1).max(axis=1) > 1e-6)
    assert t[moved[0]] > line and t[moved[0] - 1] <= line  # the first frame after the line is the first to move


def test_a_switch_on_the_beat_starts_anyway_when_no_beat_comes(tiny_generator):
    audio = clicks(5.0, [0.5])
    old, _, _ = run(fresh(tiny_generator), audio)
    faded, _, before = run(fresh(tiny_generator), audio, SWITCH, at=1.0, crossfade=0.5, on_beat=True)
    rate = fresh(tiny_generator).frame_rate
    moved = np.flatnonzero(np.abs(faded - old).reshape(len(old), -1).max(axis=1) > 1e-6)
    assert moved[0] - before == round(2.0 * rate)  # after the longest wait, 2 s


def test_switches_in_quick_succession_stay_continuous_and_bounded(tiny_generator, music):
    path = fresh(tiny_generator)
    out, looks = [], []
    for n, i in enumerate(range(0, music.shape[1], BLOCK)):
        if 10 <= n < 20:  # a new seed every 0.1 s from 1 s on, each fading over 1 s
            apply({"seed": n}, path, crossfade=1.0)
        out.append(path.push(music[:, i:i + BLOCK]))
        looks.append(path.look.looks())
    ws = np.concatenate(out)
    assert max(looks) == MAX_LOOKS and np.isfinite(ws).all()
    assert isinstance(path.look, Look) and path.mapper.settings.seed == 19  # all fades over: one look
    old, _, first = run(fresh(tiny_generator), music, {}, at=1.0)
    assert steps(ws)[first - 1:].max() <= 1.1 * steps(old)[first - 1:len(ws) - 1].max()  # no step beyond the music's own


@pytest.mark.parametrize("progress, ends_oldest", [((19, 18, 17), True), ((3, 2, 1), False)])
def test_at_the_cap_a_switch_takes_the_smaller_step(tiny_generator, progress, ends_oldest):
    """With MAX_LOOKS running, a fourth switch late in three 20-frame fades (weights 0.99, 0.97, 0.94) ends
    the oldest fade on its heavier side instead of retargeting the look fading in (nearly a cut); early
    in them (0.03, 0.01, 0.0) retargeting that look moves the picture least."""
    base = fresh(tiny_generator).look
    look, incoming = base, []
    for frames in progress:  # oldest first
        incoming.append(look.newest.copy())
        look = Crossfade(look, incoming[-1], seconds=20 / 75, frame_rate=75)
        look.count = frames
    assert look.looks() == MAX_LOOKS
    after = fade_to(look, 20 / 75, 75, on_beat=False)
    if ends_oldest:
        assert isinstance(after, Crossfade) and after.old is look and look.looks() == MAX_LOOKS - 1
        assert look.old.old is incoming[0]  # the oldest fade became its incoming look
    else:
        assert after is look and look.looks() == MAX_LOOKS


def test_a_new_seed_starts_with_the_statistics_it_would_have_had(tiny_generator, music):
    """The mapper keeps the embedding's statistics, so new projections need no warm-up: after a cut to
    another seed, w is what a path with that seed from the start gives (up to the smoothing's memory)."""
    switched, _, before = run(fresh(tiny_generator), music, {"seed": 7}, at=1.0)
    preset = load_preset(None)
    preset.modulation.seed = 7
    seeded, _, _ = run(ControlPath.for_generator(tiny_generator, preset)[0], music)
    settled = before + round(preset.smoothing.coarse * fresh(tiny_generator).frame_rate) + 1
    np.testing.assert_allclose(switched[settled:], seeded[settled:], atol=1e-4)


def test_stage_link_fades_seed_and_preset_switches_and_applies_faders_at_once(tiny_generator):
    link = StageLink(load_preset(None), crossfade=1.0)
    path = fresh(tiny_generator)
    link.controls.set("y", 2.0)
    link.apply_to([(path, 0.0)])
    assert isinstance(path.look, Look) and path.mapper.settings.y == 2.0
    link.controls.set_many(preset_values(load_preset("drift")))
    link.apply_to([(path, 0.0)])
    assert isinstance(path.look, Crossfade) and path.look.frames == round(path.frame_rate)
    assert path.mapper.settings.seed == load_preset("drift").modulation.seed
    link.controls.set("crossfade", 0.0)
    link.controls.set("seed", 5)
    link.apply_to([(path, 0.0)])
    assert isinstance(path.look, Look) and path.mapper.settings.seed == 5  # crossfade 0: a cut
    link.close()


def test_picture_controls_move_at_once_as_a_fader_and_fade_with_a_switch(tiny_generator, music):
    """The picture's controls (StyleGAN3's transform, noise, bending, effects) travel in the cues and in every
    frame: a fader sets one from the next control frame on; a seed (or preset) switch fades it with the ws, over
    the same smoothstep. (A preset without routes: the default's move its picture with the music.)"""
    path = fresh(tiny_generator, Preset())
    _, cues, before = run(path, music, {"transform/x": 0.25, "transform/rotate": 30.0, "effect/hue": 90.0,
                                        "bend/block": 32}, at=1.0)
    picture = cues[:, 3:]
    moved = [PICTURE.index(n) for n in ("transform/x", "transform/rotate", "effect/hue", "bend/block")]
    assert np.all(picture[:before] == NEUTRAL) and np.all(picture[before:, moved] == [0.25, 30.0, 90.0, 32])
    still = np.setdiff1d(np.arange(len(PICTURE)), moved)
    assert np.all(picture[:, still] == NEUTRAL[still])
    path = fresh(tiny_generator, Preset())
    _, cues, before = run(path, music, {"seed": 9, "transform/y": -0.5}, at=1.0, crossfade=1.0)
    y, switch = cues[:, 3 + PICTURE.index("transform/y")], cues[:, 2]
    frames = round(path.frame_rate)
    assert np.all(y[:before] == 0) and y[before + frames + 1:].min() == -0.5
    ramp = y[before:before + frames + 1]
    assert np.all(np.diff(ramp) <= 0) and 0 > ramp[frames // 2] > -0.5  # it fades down, as the new look fades in
    np.testing.assert_allclose(y[before:], -0.5 * switch[before:], atol=1e-12)  # with the switch's weight
    plan_frames = list(TrackPlan((music[:, i:i + BLOCK] for i in range(0, music.shape[1], BLOCK)),
                                 fresh(tiny_generator, Preset()), fps=30))
    assert all(np.array_equal(f.picture, NEUTRAL) for f in plan_frames)


def test_frames_carry_the_onset_and_count_the_beats(tiny_generator):
    hits = [0.4, 0.9, 1.4, 1.9]
    audio = clicks(2.5, hits)
    path = fresh(tiny_generator)
    blocks = (audio[:, i:i + BLOCK] for i in range(0, audio.shape[1], BLOCK))
    frames = list(TrackPlan(blocks, path, fps=30))
    beats = np.array([f.beats for f in frames])
    onset = np.array([f.onset for f in frames])
    assert beats[-1] == len(hits) + 1 and (np.diff(beats) >= 0).all()  # the sound starting is one too
    rises = np.flatnonzero(np.diff(beats, prepend=0) > 0)[1:]
    assert np.abs(rises / 30 - np.array(hits)).max() <= 1 / 30 + 0.03  # counted on the frame that shows the hit
    assert onset[rises].min() > 0.3 and np.median(onset) < 0.1


def test_beat_detector_keeps_a_refractory_period():
    detector = BeatDetector(frame_rate=100, threshold=0.5, refractory=0.2)
    onset = np.zeros(100)
    onset[[10, 15, 40]] = 1.0  # 15 is a flam: 50 ms after 10
    assert np.flatnonzero(detector.push(onset)).tolist() == [10, 40] and detector.count == 2


def test_shown_frames_send_onset_and_beats_over_osc():
    got: list[tuple[str, tuple]] = []
    dispatcher = Dispatcher()
    dispatcher.set_default_handler(lambda address, *args: got.append((address, args)))
    server = BlockingOSCUDPServer(("127.0.0.1", 0), dispatcher)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    link = StageLink(load_preset(None), osc_send=f"127.0.0.1:{server.server_address[1]}")
    try:
        for onset, beats in [(0.1, 0), (0.9, 1), (0.4, 1), (0.1, 3), (0.0, 0), (0.8, 1)]:  # then a new show
            link.shown(onset, beats)
        deadline = threading.Event()
        for _ in range(200):
            if len(got) >= 9:
                break
            deadline.wait(0.01)
    finally:
        link.close()
        server.shutdown()
    assert [a for a, _ in got].count("/lavlive/beat") == 3
    assert [args[0] for a, args in got if a == "/lavlive/onset"] == pytest.approx([0.1, 0.9, 0.4, 0.1, 0.0, 0.8])


# -- model switches (live) -----------------------------------------------------------------------------


def test_a_model_switch_dissolves_to_the_new_model_then_hands_over(tiny_generator, music):
    from lavlive.pipeline import Synthesizer
    from lavlive.generator import Generator, GeneratorConfig
    from lavlive.control.statistics import sample_statistics
    from lavlive.pipeline import LivePlan

    torch.manual_seed(1)
    other = Generator(GeneratorConfig(z_dim=32, w_dim=32, img_resolution=16, channel_base=128, channel_max=16,
                                      mapping_layers=2)).eval()
    old_synth, new_synth = Synthesizer(tiny_generator, to_host=False), Synthesizer(other, to_host=False)
    link = StageLink(load_preset(None))
    blocks = (music[:, i:i + BLOCK] for i in range(0, music.shape[1], BLOCK))
    plan = LivePlan(blocks, fresh(tiny_generator), 30, old_synth, link)
    frames = []
    for frame in plan:
        frames.append(frame)
        if frame.index == 45:  # at 1.5 s, a model is ready
            plan.offer(new_synth, sample_statistics(other, samples=500), seconds=1.0)
        if frame.index == 60:  # a fader moves during the dissolve: the new model keeps it
            link.controls.set("y", 2.5)
    link.close()
    assert plan.path.mapper.settings.y == 2.5 and plan.path.beside is None
    assert len(frames) == 150
    before = [f for f in frames if f.blend is None and f.synthesizer is old_synth]
    during = [f for f in frames if f.blend is not None]
    after = [f for f in frames if f.synthesizer is new_synth]
    assert len(before) + len(during) + len(after) == 150 and 45 < len(before) < 50
    assert 29 <= len(during) <= 31 and all(f.blend.synthesizer is new_synth for f in during)
    alpha = np.array([f.alpha for f in during])
    assert alpha[0] < 0.02 and alpha[-1] > 0.98 and (np.diff(alpha) > 0).all()
    assert np.diff(alpha).max() <= 1.5 / 30 + 1e-9  # a smoothstep over a second: no jump
    assert frames[-1].ws.shape == (other.num_ws, other.w_dim) and after[0].blend is None
    moving = np.array([f.blend.ws for f in during] + [f.ws for f in after])
    assert steps(moving).min() > 0  # the new model moves with the music from its first frame


def test_the_r_key_sets_a_new_seed_as_the_stage_would_so_it_fades(tiny_generator):
    from lavlive.playback import ViewKeys

    link = StageLink(load_preset(None), crossfade=2.0)
    keys = ViewKeys(window=None, stage=link, stats=False)
    assert keys.handle("seed") and not keys.handle("pause")  # pause is each player's own
    path = fresh(tiny_generator)
    link.apply_to([(path, 0.0)])
    assert isinstance(path.look, Crossfade) and path.look.frames == round(2.0 * path.frame_rate)
    assert path.mapper.settings.seed == link.controls.state()["seed"] != load_preset(None).modulation.seed
    link.close()
