"""Stage control: every live value is checked at the door, reaches a running control path as a preset
would have set it, and OSC and MIDI input arrive (or are refused, logged) without ever breaking the show."""

from __future__ import annotations

import copy
import logging
import math
import subprocess
import sys
import threading
import time

import mido
import numpy as np
import pytest
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import BlockingOSCUDPServer
from pythonosc.udp_client import SimpleUDPClient

from lavlive.audio.demo import demo_track
from lavlive.errors import LavliveError
from lavlive.control import ControlPath
from lavlive.control.smoothing import HierarchicalSmoother
from lavlive.presets import Preset, SmoothingSettings, load_preset
from lavlive.stage import (PARAMETERS, Action, MidiInput, MidiMapError, OscServer, OscState, StageControls,
                           StageError, apply, load_midi_map, midi_learn, preset_values)
from lavlive.stage.midi import NO_DEVICE, learn_snippet

SR = 24000
BLOCK = 2400
NUMERIC = [name for name, p in PARAMETERS.items() if p.range is not None]


def wait_for(condition, timeout: float = 3.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


# -- checking ----------------------------------------------------------------------------------------


def test_the_required_parameters_exist_with_the_presets_ranges():
    fields = {"y": "modulation.y", "c": "modulation.c", "onset/strength": "modulation.onset_strength",
              "chroma/strength": "modulation.chroma_strength", "silence_db": "modulation.silence_db",
              "smoothing/coarse": "smoothing.coarse", "smoothing/middle": "smoothing.middle",
              "smoothing/fine": "smoothing.fine", "truncation": "synthesis.truncation_psi", "seed": "modulation.seed"}
    for name, field in fields.items():
        assert PARAMETERS[name].field == field and PARAMETERS[name].doc
    assert PARAMETERS["seed"].kind == "int" and PARAMETERS["truncation"].range == (0.0, 2.0)
    assert PARAMETERS["crossfade"].range == (0.0, 60.0)
    assert {"preset", "next", "previous", "pause"} <= {n for n, p in PARAMETERS.items() if p.action}


@pytest.mark.parametrize("name", NUMERIC)
def test_every_number_is_accepted_in_range_and_refused_outside(name):
    controls = StageControls()
    lo, hi = PARAMETERS[name].range
    for value in (lo, hi, (lo + hi) // 2):
        controls.set(name, value)
        assert controls.take() == {name: value} and controls.state()[name] == value
    just = 1 if PARAMETERS[name].kind == "int" else 1e-6
    for bad, why in [(lo - just, "out of range"), (hi + just, "out of range"), (lo - 100, "out of range"),
                     (math.nan, "not finite"), (math.inf, "not finite"), (-math.inf, "not finite"),
                     ("1.0", "should be"), (None, "should be"), (True, "should be"), ([1.0], "should be")]:
        with pytest.raises(StageError, match=why) as e:
            controls.set(name, bad)
        message = str(e.value)
        assert "\n" not in message and f"{name} = " in message and str(lo) in message and str(hi) in message
    assert controls.take() == {}


def test_seed_takes_integral_floats_and_refuses_fractions():
    controls = StageControls()
    controls.set("seed", 7.0)
    assert controls.take() == {"seed": 7} and type(controls.state()["seed"]) is int
    with pytest.raises(StageError, match=r"seed = 7.5 should be an integer in \[0, 2147483647\]"):
        controls.set("seed", 7.5)


def test_unknown_parameter_is_refused_by_name():
    with pytest.raises(StageError, match="unknown parameter 'brightness'"):
        StageControls().set("brightness", 1.0)


def test_preset_action_is_loaded_and_checked(tmp_path):
    controls = StageControls()
    controls.set("preset", "pulse")
    good = tmp_path / "mine.toml"
    good.write_text("[modulation]\ny = 2\n")
    controls.set("preset", str(good))
    actions = controls.actions()
    assert [a.name for a in actions] == ["preset", "preset"]
    assert actions[0].value == load_preset("pulse") and actions[1].value.modulation.y == 2.0
    assert controls.state()["preset"] == "mine" and controls.take() == {}
    bad = tmp_path / "bad.toml"
    bad.write_text("[modulation]\nwhy = 2\n")
    for value, fragment in [("nosuch", "'nosuch' not found"), (str(bad), "modulation.why"), (3, "preset name"),
                            ("", "preset name")]:
        with pytest.raises(StageError, match=fragment):
            controls.set("preset", value)
    assert controls.actions() == []


def test_triggers_queue_in_order_and_ignore_a_release():
    controls = StageControls()
    for name, value in [("next", None), ("next", 1.0), ("pause", True), ("previous", 0), ("next", 0.0),
                        ("pause", False), ("previous", 1)]:
        controls.set(name, value)
    assert controls.actions() == [Action("next"), Action("next"), Action("pause"), Action("previous")]
    assert controls.actions() == [] and controls.take() == {}
    with pytest.raises(StageError, match="next = 'go'"):
        controls.set("next", "go")
    with pytest.raises(StageError, match="pause = nan"):
        controls.set("pause", math.nan)


# -- the inbox ---------------------------------------------------------------------------------------


def test_take_gives_the_latest_value_per_name_and_clears():
    controls = StageControls(load_preset("pulse"), crossfade=2.0)
    assert controls.state() == {**preset_values(load_preset("pulse")), "preset": "pulse", "crossfade": 2.0,
                                "crossfade/beat": 0}
    controls.set("y", 1.0)
    controls.set("y", 2.0)
    controls.set("smoothing/coarse", 0.5)
    controls.set("crossfade", 4)
    controls.set("next")
    assert controls.take() == {"y": 2.0, "smoothing/coarse": 0.5, "crossfade": 4.0}
    assert controls.take() == {}
    assert controls.state()["y"] == 2.0 and controls.state()["crossfade"] == 4.0
    assert controls.actions() == [Action("next")]


def test_reset_follows_the_new_preset_and_drops_pending_values():
    controls = StageControls()
    controls.set("y", 3.0)
    controls.set("crossfade", 1.0)
    controls.reset(load_preset("drift"))
    assert controls.take() == {"crossfade": 1.0}
    state = controls.state()
    assert state["preset"] == "drift" and state["y"] == load_preset("drift").modulation.y


def test_subscribers_hear_every_accepted_change_and_cannot_break_set(caplog):
    controls = StageControls()
    heard = []
    controls.subscribe(lambda name, value: heard.append((name, value)))

    def broken(name, value):
        raise RuntimeError("player bug")

    controls.subscribe(broken)
    controls.set("y", 2)
    controls.set("next")
    controls.set("next", 0)  # a release: not a change
    with pytest.raises(StageError):
        controls.set("y", -1)
    assert heard == [("y", 2.0), ("next", None)]
    assert "player bug" in caplog.text
    controls.unsubscribe(broken)
    controls.set("pause")
    assert heard[-1] == ("pause", None)


def test_many_threads_setting_while_one_takes():
    controls = StageControls()
    names = ["y", "c", "truncation", "smoothing/fine"]
    taken: dict[str, list[float]] = {n: [] for n in names}
    done = threading.Event()

    def writer(name):
        for i in range(300):
            controls.set(name, i / 300)

    def reader():
        while not done.is_set():
            for n, v in controls.take().items():
                taken[n].append(v)

    threads = [threading.Thread(target=writer, args=(n,)) for n in names]
    r = threading.Thread(target=reader)
    r.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    r.join()
    for n, v in controls.take().items():
        taken[n].append(v)
    for n in names:
        assert taken[n][-1] == 299 / 300 and taken[n] == sorted(taken[n])  # in order, the last one last


# -- apply on a running control path ------------------------------------------------------------------


@pytest.fixture(scope="module")
def music() -> np.ndarray:
    return demo_track(4.0, SR)[:1]


def run(path: ControlPath, audio: np.ndarray, changes: dict | None = None, at: float = 1.0) -> tuple[np.ndarray, int]:
    """ws of all blocks; `changes` applied between blocks once `at` seconds are pushed. Also: frames out before."""
    out, before = [], None
    for i in range(0, audio.shape[1], BLOCK):
        if changes is not None and before is None and i >= at * SR:
            before = sum(len(o) for o in out)
            apply(changes, path)
        out.append(path.push(audio[:, i:i + BLOCK]))
    return np.concatenate(out + [path.flush()]), before


def fresh(G, preset: Preset | None = None) -> ControlPath:
    return ControlPath.for_generator(G, preset or load_preset(None))[0]


def changed_preset(changes: dict) -> Preset:
    preset = copy.deepcopy(load_preset(None))
    for name, value in changes.items():
        section, key = PARAMETERS[name].field.split(".")
        setattr(getattr(preset, section), key, value)
    return preset


def test_apply_gives_what_a_fresh_path_with_the_changed_preset_gives(tiny_generator, music):
    changes = {"y": 2.5, "c": 0.6, "chroma/strength": 0.9, "truncation": 0.4, "smoothing/coarse": 1.2,
               "smoothing/middle": 0.05, "smoothing/fine": 0.2}
    preset = load_preset(None)
    path = ControlPath.for_generator(tiny_generator, preset)[0]
    live, before = run(path, music, changes)
    untouched, _ = run(fresh(tiny_generator), music)
    target, _ = run(fresh(tiny_generator, changed_preset(changes)), music)
    assert live.shape == untouched.shape == target.shape and 50 < before < len(live) - 200
    filled = before + round(1.2 * path.frame_rate)  # the longest new window holds only new frames from here
    np.testing.assert_array_equal(live[:before], untouched[:before])  # nothing changed before the block
    np.testing.assert_allclose(live[filled:], target[filled:], atol=1e-5)
    assert not np.allclose(live[filled:], untouched[filled:], atol=1e-3)
    assert path.smoother.windows == [90, 4, 15] and len(path.smoother.ring) == 90
    assert preset == load_preset(None)  # the preset the path was built from is left as it was


@pytest.mark.parametrize("name, value", [("seed", 12345), ("onset/strength", 5.0), ("silence_db", -20.0)])
def test_apply_of_parameters_with_state_changes_the_picture(tiny_generator, music, name, value):
    live, before = run(fresh(tiny_generator), music[:, :int(2.5 * SR)], {name: value})
    untouched, _ = run(fresh(tiny_generator), music[:, :int(2.5 * SR)])
    np.testing.assert_array_equal(live[:before], untouched[:before])
    assert not np.allclose(live[before + 20:], untouched[before + 20:], atol=1e-3)


def test_apply_at_every_range_end_keeps_the_output_finite(tiny_generator, music):
    path = fresh(tiny_generator)
    path.push(music[:, :SR // 2])  # past the lookahead: every block below gives frames
    blocks = iter(range(SR // 2, music.shape[1], BLOCK // 2))
    fields = [n for n in NUMERIC if PARAMETERS[n].field is not None]
    default = preset_values(load_preset(None))
    for name in fields:
        for end in PARAMETERS[name].range:
            apply({name: end}, path)
            i = next(blocks)
            ws = path.push(music[:, i:i + BLOCK // 2])
            assert len(ws) and np.isfinite(ws).all(), (name, end)
        apply({name: default[name]}, path)
    apply({n: PARAMETERS[n].range[1] for n in fields}, path)
    i = next(blocks)
    assert np.isfinite(path.push(music[:, i:i + BLOCK])).all()
    assert len(path.smoother.ring) == round(60 * path.frame_rate)
    with pytest.raises(StageError, match="truncation = 3.0"):
        apply({"truncation": 3}, path)


def test_apply_leaves_actions_and_crossfade_to_the_player(tiny_generator):
    path = fresh(tiny_generator)
    settings, windows = path.mapper.settings, list(path.smoother.windows)
    apply({"crossfade": 3.0}, path)
    assert path.mapper.settings is settings and path.smoother.windows == windows


def test_a_growing_window_keeps_the_history_the_ring_holds():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(300, 8)).astype(np.float32)
    grown = HierarchicalSmoother(8, 32, SmoothingSettings(coarse=0.5, middle=0.2, fine=0.1), 100, w_dim=8)
    big = HierarchicalSmoother(8, 32, SmoothingSettings(coarse=2.0, middle=0.2, fine=0.1), 100, w_dim=8)
    first = grown.push(w[:40])  # fewer frames than the ring holds: all kept
    grown.set_seconds(coarse=2.0)
    assert len(grown.ring) == 200
    np.testing.assert_allclose(np.concatenate([first, grown.push(w[40:])]), big.push(w), atol=1e-6)
    grown.set_seconds(coarse=0.1)
    assert len(grown.ring) == 200 and grown.windows == [10, 20, 10]  # never shrinks


# -- OSC --------------------------------------------------------------------------------------------


@pytest.fixture
def osc():
    controls = StageControls()
    server = OscServer(controls, port=0).start()
    client = SimpleUDPClient("127.0.0.1", server.port)
    yield controls, server, client
    server.close()


def test_osc_messages_reach_the_controls(osc):
    controls, server, client = osc
    assert server.port > 0
    client.send_message("/lavlive/y", 1.5)
    client.send_message("/lavlive/smoothing/coarse", 0.5)
    client.send_message("/lavlive/seed", 7.0)
    client.send_message("/lavlive/crossfade", 2)
    client.send_message("/lavlive/preset", "pulse")
    client.send_message("/lavlive/next", None)
    client.send_message("/lavlive/pause", 1.0)
    client.send_message("/lavlive/pause", 0.0)  # the button's release
    got: dict = {}
    actions: list = []
    assert wait_for(lambda: (got.update(controls.take()), actions.extend(controls.actions()),
                             len(got) == 4 and len(actions) == 3)[-1])
    assert got == {"y": 1.5, "smoothing/coarse": 0.5, "seed": 7, "crossfade": 2.0}
    assert [a.name for a in actions] == ["preset", "next", "pause"] and actions[0].value.name == "pulse"


def test_osc_refuses_bad_input_with_a_log_line_and_goes_on(osc, caplog):
    controls, server, client = osc
    caplog.set_level(logging.WARNING, logger="lavlive.stage.osc")
    client.send_message("/lavlive/y", 99.0)
    client.send_message("/lavlive/y", "loud")
    client.send_message("/lavlive/truncation", float("nan"))
    client.send_message("/lavlive/y", [1.0, 2.0])
    client.send_message("/lavlive/brightness", 1.0)
    client.send_message("/other/y", 1.0)
    client.send_message("/lavlive/preset", "nosuch")
    client.send_message("/lavlive/c", 0.5)  # still served after all that
    assert wait_for(lambda: "c" in controls.state() and controls.state()["c"] == 0.5)
    assert controls.take() == {"c": 0.5} and controls.actions() == []
    assert wait_for(lambda: len(caplog.records) >= 7)
    text = caplog.text
    for fragment in ["/lavlive/y refused: stage: y = 99.0 is out of range [0.0, 10.0]", "y = 'loud'",
                     "truncation = nan is not finite", "one value expected, got 2",
                     "unknown address /lavlive/brightness",
                     "unknown address /other/y", "'nosuch' not found"]:
        assert fragment in text
    assert all(r.levelno == logging.WARNING for r in caplog.records)
    assert server._thread.is_alive()


def test_osc_close_is_quick_and_frees_the_port():
    server = OscServer(StageControls(), port=0).start()
    port = server.port
    t = time.monotonic()
    server.close()
    assert time.monotonic() - t < 0.5 and not server._thread.is_alive()
    again = OscServer(StageControls(), port=port).start()  # the port is free again
    with pytest.raises(LavliveError, match=f"cannot listen on 127.0.0.1:{port}"):
        OscServer(StageControls(), port=port).start()
    again.close()


def test_osc_state_messages_arrive():
    received: list = []
    dispatcher = Dispatcher()
    dispatcher.set_default_handler(lambda address, *args: received.append((address, args)))
    listener = BlockingOSCUDPServer(("127.0.0.1", 0), dispatcher)
    thread = threading.Thread(target=listener.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        sender = OscState("127.0.0.1", listener.server_address[1])
        state = StageControls(load_preset("drift")).state()
        sender.send(state)
        sender.beat()
        sender.onset(0.25)
        sender.fps(29.5)
        assert wait_for(lambda: len(received) == len(state) + 3)
        sender.close()
    finally:
        listener.shutdown()
        listener.server_close()
    got = dict(received)
    for name, value in state.items():
        (arg,) = got[f"/lavlive/state/{name}"]
        assert arg == pytest.approx(value) if not isinstance(value, str) else arg == value
    assert got["/lavlive/state/preset"] == ("drift",) and got["/lavlive/state/seed"] == (0,)
    assert got["/lavlive/beat"] == () and got["/lavlive/onset"] == (0.25,) and got["/lavlive/fps"] == (29.5,)
    assert [a for a, _ in received][-3:] == ["/lavlive/beat", "/lavlive/onset", "/lavlive/fps"]


def test_osc_state_never_raises_when_sending_fails(caplog):
    sender = OscState("127.0.0.1", 9)
    sender.close()  # a closed socket: every send fails
    sender.send({"y": 1.0})
    sender.fps(30)
    assert caplog.text.count("OSC: sending to 127.0.0.1:9 failed") == 1


# -- MIDI -------------------------------------------------------------------------------------------

EXAMPLE = "presets/midi/example.toml"


def midi_map(tmp_path, text: str):
    path = tmp_path / "map.toml"
    path.write_text(text)
    return load_midi_map(path)


def test_the_example_map_loads(request):
    m = load_midi_map(request.config.rootpath / EXAMPLE)
    assert len(m.bindings) == 15 and m.port is None
    assert {b.parameter or b.action for b in m.bindings} >= {"y", "truncation", "next", "preset", "seed"}


@pytest.mark.parametrize("text, fragments", [
    ("[[cc]\ncontrol = 1\n", ["not valid TOML"]),
    ("", ["no [[cc]] or [[note]] entries"]),
    ("ports = 'x'\n[[cc]]\ncontrol = 1\nparameter = 'y'\n", ["unknown key 'ports'"]),
    ("port = 3\n[[cc]]\ncontrol = 1\nparameter = 'y'\n", ["port = 3"]),
    ("cc = 3\n", ["'cc' should be a list of tables"]),
    ("[[cc]]\ncontrol = 1\nparameter = 'y'\n[[cc]]\ncontrol = 128\nparameter = 'y'\n",
     ["cc entry 2", "control = 128", "0-127"]),
    ("[[cc]]\nparameter = 'y'\n", ["cc entry 1", "'control' is missing"]),
    ("[[cc]]\ncontrol = 1.0\nparameter = 'y'\n", ["cc entry 1", "control = 1.0"]),
    ("[[cc]]\nchannel = 0\ncontrol = 1\nparameter = 'y'\n", ["cc entry 1", "channel = 0", "1-16"]),
    ("[[cc]]\nchannel = 17\ncontrol = 1\nparameter = 'y'\n", ["channel = 17"]),
    ("[[cc]]\ncontrol = 1\nparamter = 'y'\n", ["cc entry 1", "unknown key 'paramter'"]),
    ("[[cc]]\ncontrol = 1\n", ["cc entry 1", "'parameter' or 'action'"]),
    ("[[cc]]\ncontrol = 1\nparameter = 'y'\naction = 'next'\n", ["'parameter' or 'action'"]),
    ("[[cc]]\ncontrol = 1\nparameter = 'brightness'\n", ["cc entry 1", "parameter = 'brightness'"]),
    ("[[cc]]\ncontrol = 1\nparameter = 'next'\n", ["parameter = 'next'"]),
    ("[[cc]]\ncontrol = 1\naction = 'preset'\n", ["cc entry 1", "action = 'preset'"]),
    ("[[cc]]\ncontrol = 1\nparameter = 'y'\nmax = 11.0\n", ["cc entry 1", "max refused", "y = 11.0", "[0.0, 10.0]"]),
    ("[[cc]]\ncontrol = 1\nparameter = 'y'\nmin = 'low'\n", ["min refused", "y = 'low'"]),
    ("[[cc]]\ncontrol = 1\nparameter = 'seed'\nmax = 2.5\n", ["max refused", "seed = 2.5"]),
    ("[[note]]\nnote = 36\nparameter = 'seed'\n", ["note entry 1", "'value' is missing"]),
    ("[[note]]\nnote = 36\nparameter = 'y'\nvalue = true\n", ["note entry 1", "value refused"]),
    ("[[note]]\nnote = 36\naction = 'preset'\n", ["note entry 1", "'value' is missing"]),
    ("[[note]]\nnote = 36\naction = 'next'\n[[note]]\nnote = 37\naction = 'preset'\nvalue = 'nosuch'\n",
     ["note entry 2", "value refused", "'nosuch' not found"]),
    ("[[note]]\nnote = 36\naction = 'next'\nvalue = 1\n", ["note entry 1", "value = 1 is not used"]),
    ("[[note]]\nnote = 36\naction = 'jump'\n", ["note entry 1", "action = 'jump'"]),
    ("[[note]]\nnote = -1\naction = 'next'\n", ["note entry 1", "note = -1"]),
    ("[[note]]\nnote = 36\ncontrol = 3\naction = 'next'\n", ["note entry 1", "unknown key 'control'"]),
])
def test_bad_maps_are_refused_naming_file_entry_and_key(tmp_path, text, fragments):
    with pytest.raises(MidiMapError) as e:
        midi_map(tmp_path, text)
    message = str(e.value)
    assert "\n" not in message and message.startswith(str(tmp_path / "map.toml"))
    for fragment in fragments:
        assert fragment in message


def test_a_missing_map_file_is_one_line(tmp_path):
    with pytest.raises(MidiMapError, match="nothing.toml: cannot be read"):
        load_midi_map(tmp_path / "nothing.toml")


MAP = """
[[cc]]
channel = 1
control = 21
parameter = "y"
min = 0.5
max = 3.0

[[cc]]
control = 22
parameter = "truncation"
min = 1.5
max = 0.5

[[cc]]
channel = 2
control = 23
parameter = "seed"
min = 0
max = 10

[[cc]]
control = 24
parameter = "chroma/strength"

[[cc]]
control = 41
action = "pause"

[[note]]
channel = 10
note = 36
action = "next"

[[note]]
note = 37
action = "preset"
value = "drift"

[[note]]
note = 38
parameter = "seed"
value = 5
"""


def cc(control, value, channel=1):
    return mido.Message("control_change", channel=channel - 1, control=control, value=value)


def note(n, velocity=100, channel=1, kind="note_on"):
    return mido.Message(kind, channel=channel - 1, note=n, velocity=velocity)


def test_control_changes_scale_between_min_and_max(tmp_path):
    m, controls = midi_map(tmp_path, MAP), StageControls()
    assert m.handle(cc(21, 0), controls) == [("y", 0.5)]
    assert m.handle(cc(21, 127), controls) == [("y", 3.0)]
    assert m.handle(cc(21, 64), controls) == [("y", pytest.approx(0.5 + 2.5 * 64 / 127))]
    assert m.handle(cc(22, 0, channel=7), controls) == [("truncation", 1.5)]  # no channel: any; min > max: inverted
    assert m.handle(cc(22, 127), controls) == [("truncation", 0.5)]
    assert m.handle(cc(23, 64, channel=2), controls) == [("seed", 5)]  # an int parameter gets ints
    assert m.handle(cc(24, 127), controls) == [("chroma/strength", 1.0)]  # default: the parameter's range
    assert controls.take() == {"y": pytest.approx(0.5 + 2.5 * 64 / 127), "truncation": 0.5, "seed": 5,
                               "chroma/strength": 1.0}


def test_channel_filter_and_unmapped_messages(tmp_path):
    m, controls = midi_map(tmp_path, MAP), StageControls()
    assert m.handle(cc(21, 100, channel=2), controls) == []
    assert m.handle(cc(23, 100, channel=1), controls) == []
    assert m.handle(cc(99, 100), controls) == []
    assert m.handle(note(36, channel=1), controls) == []
    assert m.handle(mido.Message("program_change", program=3), controls) == []
    assert m.handle(mido.Message("pitchwheel", pitch=100), controls) == []
    assert controls.take() == {} and controls.actions() == []


def test_notes_and_buttons_fire_actions(tmp_path):
    m, controls = midi_map(tmp_path, MAP), StageControls()
    assert m.handle(note(36, channel=10), controls) == [("next", None)]
    assert m.handle(note(36, velocity=0, channel=10), controls) == []  # note on with velocity 0 is a note off
    assert m.handle(note(36, kind="note_off", channel=10), controls) == []
    assert m.handle(note(37), controls) == [("preset", "drift")]
    assert m.handle(note(38), controls) == [("seed", 5)]
    assert m.handle(cc(41, 127), controls) == [("pause", None)]
    assert m.handle(cc(41, 0), controls) == []  # the button's release
    assert m.handle(cc(41, 63), controls) == []
    actions = controls.actions()
    assert [a.name for a in actions] == ["next", "preset", "pause"] and actions[1].value.name == "drift"
    assert controls.take() == {"seed": 5}


def test_a_refused_value_at_play_time_is_logged_not_raised(tmp_path, caplog):
    (tmp_path / "look.toml").write_text("[modulation]\ny = 2\n")
    m = midi_map(tmp_path, f"[[note]]\nnote = 1\naction = 'preset'\nvalue = '{tmp_path / 'look.toml'}'\n")
    (tmp_path / "look.toml").unlink()  # gone since the map was loaded
    assert m.handle(note(1), StageControls()) == []
    assert "MIDI:" in caplog.text and "look.toml" in caplog.text


def test_without_a_midi_backend_there_is_one_notice_and_no_error(tmp_path, monkeypatch, caplog):
    m, controls = midi_map(tmp_path, MAP), StageControls()
    missing = mido.Backend("mido.backends.no_such_backend")  # as if python-rtmidi were not installed
    monkeypatch.setenv("MIDO_BACKEND", missing.name)  # so the backend is asked, /dev/snd/seq or not
    monkeypatch.setattr(mido, "get_input_names", missing.get_input_names)
    caplog.set_level(logging.INFO, logger="lavlive.stage.midi")
    with MidiInput(m, controls) as midi:
        assert not midi.active
    assert [r.getMessage() for r in caplog.records] == [NO_DEVICE]


@pytest.mark.parametrize("names", [[], RuntimeError("MidiInAlsa::initialize: error creating ALSA sequencer")])
def test_without_a_device_there_is_one_notice_and_no_error(tmp_path, monkeypatch, caplog, names):
    def input_names():
        if isinstance(names, Exception):
            raise names
        return names

    monkeypatch.setenv("MIDO_BACKEND", "mido.backends.rtmidi")  # ask the backend even without /dev/snd/seq
    monkeypatch.setattr(mido, "get_input_names", input_names)
    caplog.set_level(logging.INFO, logger="lavlive.stage.midi")
    midi = MidiInput(midi_map(tmp_path, MAP), StageControls())
    assert not midi.active
    midi.close()
    assert [r.getMessage() for r in caplog.records] == [NO_DEVICE]


def test_in_this_environment_midi_input_never_raises(tmp_path, caplog):
    midi = MidiInput(midi_map(tmp_path, MAP), StageControls())  # whatever backend and devices are here
    midi.close()
    assert midi.active or NO_DEVICE in caplog.text


class FakePort:
    def __init__(self, callback=None, pending=()):
        self.callback, self.pending, self.closed = callback, list(pending), False

    def iter_pending(self):
        pending, self.pending = self.pending, []
        return iter(pending)

    def close(self):
        self.closed = True


def fake_device(monkeypatch, pending=()):
    opened = []

    def open_input(name, callback=None):
        opened.append(FakePort(callback, pending))
        opened[-1].name = name
        return opened[-1]

    monkeypatch.setenv("MIDO_BACKEND", "mido.backends.rtmidi")
    monkeypatch.setattr(mido, "get_input_names", lambda: ["Midi Through:Midi Through Port-0 14:0",
                                                          "MPK mini 3:MPK mini 3 MIDI 1 20:0"])
    monkeypatch.setattr(mido, "open_input", open_input)
    return opened


def test_midi_input_opens_the_named_port_and_applies_the_map(tmp_path, monkeypatch, caplog):
    opened = fake_device(monkeypatch)
    controls = StageControls()
    midi = MidiInput(midi_map(tmp_path, MAP), controls, port="mpk mini")
    assert midi.active and opened[0].name == "MPK mini 3:MPK mini 3 MIDI 1 20:0"
    opened[0].callback(cc(21, 127))
    opened[0].callback(note(36, channel=10))
    assert controls.take() == {"y": 3.0} and controls.actions() == [Action("next")]
    midi.close()
    assert opened[0].closed
    caplog.set_level(logging.INFO, logger="lavlive.stage.midi")
    assert not MidiInput(midi_map(tmp_path, MAP), controls, port="Launchpad").active
    assert "no input device named 'Launchpad'" in caplog.text and "going on without MIDI" in caplog.text


def test_midi_learn_prints_a_map_that_loads(tmp_path, monkeypatch):
    messages = [cc(21, 10), cc(21, 11), cc(21, 12, channel=2), note(36), note(36), note(36, velocity=0),
                mido.Message("program_change", program=2), mido.Message("clock")]
    opened = fake_device(monkeypatch, messages)
    printed: list[str] = []
    count = midi_learn(port="MPK", seconds=0.05, out=printed.append)
    assert count == 3 and opened[0].closed and opened[0].callback is None
    text = "\n".join(printed)
    assert 'port = "MPK mini 3:MPK mini 3 MIDI 1"' in text and "program_change" in text
    (tmp_path / "learned.toml").write_text(text)
    m = load_midi_map(tmp_path / "learned.toml")
    assert [(b.kind, b.channel, b.number) for b in m.bindings] == [("cc", 1, 21), ("cc", 2, 21), ("note", 1, 36)]
    assert m.port == "MPK mini 3:MPK mini 3 MIDI 1"
    assert learn_snippet(cc(21, 50), set()) is not None and learn_snippet(note(1, kind="note_off"), set()) is None


def test_midi_learn_without_a_device_says_so(monkeypatch):
    monkeypatch.setenv("MIDO_BACKEND", "mido.backends.rtmidi")
    monkeypatch.setattr(mido, "get_input_names", lambda: [])
    with pytest.raises(LavliveError, match="MIDI: no input device: connect a controller"):
        midi_learn(seconds=0.01, out=lambda s: None)


def test_the_stage_package_imports_without_osc_or_midi():
    code = ("import sys, lavlive.stage as s; s.StageControls().set('y', 1.0); "
            "assert 'mido' not in sys.modules and 'pythonosc' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_midi_learn_without_a_controller_is_a_one_line_error():
    import os
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "lavlive", "midi-learn", "--seconds", "1"], capture_output=True,
                         text=True, timeout=60, env={**os.environ, "MIDO_BACKEND": ""})
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    assert lines[-1].startswith("lavlive: error: MIDI") and "controller" in lines[-1]
