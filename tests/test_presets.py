"""Presets load by name or path; typos and out-of-range values are refused with the key and file."""

import pytest

from lavlive.errors import LavliveError
from lavlive.presets import Preset, builtin_presets, load_preset


def test_builtin_presets_load_and_differ():
    names = builtin_presets()
    assert {"default", "paper", "drift", "pulse"} <= set(names)
    presets = {n: load_preset(n) for n in names}
    assert presets["paper"].encoder.name == "32khz"
    assert presets["default"].encoder.name == "24khz"
    assert len({str(p.to_dict() | {"name": "", "description": ""}) for p in presets.values()}) == len(presets)


def test_no_preset_means_default():
    assert load_preset(None) == load_preset("default")


def test_partial_file_keeps_defaults(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text("[modulation]\ny = 2\n")
    p = load_preset(path)
    assert p.modulation.y == 2.0 and p.modulation.c == Preset().modulation.c and p.name == "mine"


@pytest.mark.parametrize("text, fragments", [
    ("[modulation]\nwhy = 1\n", ["modulation.why", "unknown key"]),
    ("[modulation]\ny = 99\n", ["modulation.y = 99", "out of range"]),
    ("[modulation]\ny = 'big'\n", ["modulation.y = 'big'", "float"]),
    ("[encoder]\nname = '16khz'\n", ["encoder.name = '16khz'", "24khz"]),
    ("[smoothing]\nfine = -1\n", ["smoothing.fine = -1", "out of range"]),
    ("colour = 'red'\n", ["colour", "unknown key"]),
    ("[modulation\n", ["not valid TOML"]),
])
def test_bad_values_name_key_value_and_file(tmp_path, text, fragments):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(LavliveError) as e:
        load_preset(path)
    message = str(e.value)
    assert str(path) in message and "\n" not in message
    for f in fragments:
        assert f in message


def test_unknown_preset_name_lists_the_builtins():
    with pytest.raises(LavliveError, match="default"):
        load_preset("no-such-look")
