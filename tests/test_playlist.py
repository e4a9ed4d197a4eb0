"""Playlists: files, folders, M3U and TOML read into checked entries; shuffle is reproducible and never repeats."""

import logging
from pathlib import Path

import pytest

from lavlive.errors import LavliveError
from lavlive.playback.playlist import Entry, Playlist, PlaylistError, load_playlist


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF")  # content is never decoded
    return path


def names(playlist_or_entries) -> list[str]:
    entries = getattr(playlist_or_entries, "entries", playlist_or_entries)
    return [e.name for e in entries]


def error(inputs, **kwargs) -> str:
    with pytest.raises(PlaylistError) as info:
        load_playlist(inputs, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


# ---- files and folders ----

def test_single_file_with_defaults(tmp_path):
    song = touch(tmp_path / "song.wav")
    pl = load_playlist([song])
    assert pl.entries == [Entry(song)]
    assert (pl.crossfade, pl.loop, pl.shuffle) == (0.0, False, False)
    e = pl.entries[0]
    assert (e.preset, e.model, e.start, e.end, e.crossfade, e.duration, e.name) == \
        (None, None, 0.0, None, None, None, "song.wav")
    assert issubclass(PlaylistError, LavliveError)


def test_explicit_file_with_unknown_extension_is_accepted(tmp_path):
    odd = touch(tmp_path / "recording.xyz")
    assert load_playlist([str(odd)]).entries == [Entry(odd)]


def test_folder_natural_order_recursive_case_insensitive_hidden_skipped(tmp_path):
    for name in ["track10.wav", "track2.FLAC", "Track1.mp3", "notes.txt", "cover.jpg", ".hidden.wav",
                 "cd2/01.ogg", "cd10/01.ogg", ".secret/x.wav", "cd2/sub/a.OPUS"]:
        touch(tmp_path / "music" / name)
    pl = load_playlist([tmp_path / "music"])
    rel = [e.path.relative_to(tmp_path / "music").as_posix() for e in pl.entries]
    assert rel == ["cd2/01.ogg", "cd2/sub/a.OPUS", "cd10/01.ogg", "Track1.mp3", "track2.FLAC", "track10.wav"]


def test_folder_without_audio_names_the_folder(tmp_path):
    touch(tmp_path / "docs" / "readme.txt")
    message = error([tmp_path / "docs"])
    assert message.startswith(f"{tmp_path / 'docs'}: ") and "no audio files" in message


def test_mixed_inputs_keep_input_order(tmp_path):
    a = touch(tmp_path / "a.wav")
    touch(tmp_path / "dir" / "b1.wav")
    touch(tmp_path / "dir" / "b2.wav")
    c = touch(tmp_path / "c.mp3")
    (tmp_path / "list.m3u").write_text("c.mp3\na.wav\n")
    pl = load_playlist([c, tmp_path / "dir", tmp_path / "list.m3u", a])
    assert names(pl) == ["c.mp3", "b1.wav", "b2.wav", "c.mp3", "a.wav", "a.wav"]


# ---- missing inputs ----

def test_missing_file_is_an_error_naming_it(tmp_path):
    touch(tmp_path / "a.wav")
    assert error([tmp_path / "a.wav", tmp_path / "x.wav"]) == f"{tmp_path / 'x.wav'}: no such file"


def test_missing_skip_warns_and_leaves_out(tmp_path, caplog):
    a = touch(tmp_path / "a.wav")
    (tmp_path / "list.m3u").write_text("gone.wav\na.wav\n")
    touch(tmp_path / "empty" / "notes.txt")
    with caplog.at_level(logging.WARNING, logger="lavlive.playback.playlist"):
        pl = load_playlist([tmp_path / "x.wav", a, tmp_path / "list.m3u", tmp_path / "empty"], missing="skip")
    assert [e.path for e in pl.entries] == [a, a]
    text = caplog.text
    assert "x.wav: no such file" in text and "line 1" in text and "gone.wav" in text and "no audio files" in text


def test_empty_result_lists_the_inputs(tmp_path):
    message = error([tmp_path / "x.wav", tmp_path / "y.wav"], missing="skip")
    assert message == f"no audio files in: {tmp_path / 'x.wav'}, {tmp_path / 'y.wav'}"


def test_bad_missing_mode(tmp_path):
    with pytest.raises(ValueError):
        load_playlist([touch(tmp_path / "a.wav")], missing="ignore")


# ---- M3U ----

def test_m3u_relative_paths_comments_and_bom(tmp_path):
    touch(tmp_path / "lists" / "one.wav")
    touch(tmp_path / "lists" / "sub" / "two.mp3")
    three = touch(tmp_path / "abs" / "three.flac")
    text = f"#EXTM3U\n\n#EXTINF:123,Artist - One\none.wav\r\n  sub/two.mp3  \n# comment\n{three}\n"
    (tmp_path / "lists" / "set.m3u8").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    pl = load_playlist([tmp_path / "lists" / "set.m3u8"])
    assert [e.path for e in pl.entries] == [tmp_path / "lists" / "one.wav", tmp_path / "lists" / "sub" / "two.mp3",
                                            three]


def test_m3u_latin1_fallback_and_utf8(tmp_path):
    touch(tmp_path / "café.wav")
    (tmp_path / "latin.m3u").write_bytes("café.wav\n".encode("latin-1"))
    (tmp_path / "utf.m3u").write_bytes("café.wav\n".encode("utf-8"))
    assert names(load_playlist([tmp_path / "latin.m3u", tmp_path / "utf.m3u"])) == ["café.wav", "café.wav"]


def test_m3u8_must_be_utf8(tmp_path):
    (tmp_path / "bad.m3u8").write_bytes("café.wav\n".encode("latin-1"))
    message = error([tmp_path / "bad.m3u8"])
    assert message.startswith(f"{tmp_path / 'bad.m3u8'}: not valid UTF-8")


def test_m3u_file_uri_percent_decoded(tmp_path):
    song = touch(tmp_path / "my songs" / "a b.wav")
    (tmp_path / "list.m3u").write_text(f"{song.as_uri()}\nfile://localhost{song.as_uri()[7:]}\n")
    assert "%20" in song.as_uri()
    assert [e.path for e in load_playlist([tmp_path / "list.m3u"]).entries] == [song, song]


@pytest.mark.parametrize("url, kind", [("http://radio.example/live", "streams"),
                                       ("https://radio.example/live.mp3", "streams"),
                                       ("rtsp://cam.example/x", "URLs")])
def test_m3u_urls_refused_with_line_number(tmp_path, url, kind):
    touch(tmp_path / "a.wav")
    (tmp_path / "list.m3u").write_text(f"#EXTM3U\na.wav\n{url}\n")
    assert error([tmp_path / "list.m3u"]) == f"{tmp_path / 'list.m3u'}: line 3: {kind} ({url}) are not supported"


def test_m3u_missing_entry_names_list_and_line(tmp_path):
    (tmp_path / "list.m3u").write_text("#EXTM3U\n\nnope.wav\n")
    assert error([tmp_path / "list.m3u"]) == f"{tmp_path / 'list.m3u'}: line 3: {tmp_path / 'nope.wav'}: no such file"


def test_m3u_nested_playlist_and_folder_expand(tmp_path):
    touch(tmp_path / "d" / "x2.wav")
    touch(tmp_path / "d" / "x10.wav")
    touch(tmp_path / "y.wav")
    (tmp_path / "inner.m3u").write_text("y.wav\n")
    (tmp_path / "outer.m3u").write_text("d\ninner.m3u\n")
    assert names(load_playlist([tmp_path / "outer.m3u"])) == ["x2.wav", "x10.wav", "y.wav"]


def test_m3u_recursion_refused(tmp_path):
    (tmp_path / "a.m3u").write_text("b.m3u\n")
    (tmp_path / "b.m3u").write_text("a.m3u\n")
    message = error([tmp_path / "a.m3u"])
    assert "includes itself" in message and "line 1" in message


# ---- TOML ----

FULL_TOML = """
[playlist]
crossfade = 4.0
loop = true
shuffle = true
preset = "pulse"
model = "models/ffhq.pkl"

[[track]]
path = "a.wav"
preset = "drift"
model = "/abs/other.pkl"
start = 10
end = 70.5
crossfade = 2.0

[[track]]
path = "sub/b.wav"
preset = "looks/mine.toml"

[[track]]
path = "dir"
start = 5.0
"""


def write_full(tmp_path: Path) -> Path:
    touch(tmp_path / "set" / "a.wav")
    touch(tmp_path / "set" / "sub" / "b.wav")
    touch(tmp_path / "set" / "dir" / "c1.wav")
    touch(tmp_path / "set" / "dir" / "c2.wav")
    path = tmp_path / "set" / "set.toml"
    path.write_text(FULL_TOML)
    return path


def test_toml_all_keys_defaults_and_relative_resolution(tmp_path):
    pl = load_playlist([write_full(tmp_path)])
    base = tmp_path / "set"
    assert (pl.crossfade, pl.loop, pl.shuffle) == (4.0, True, True)
    a, b, c1, c2 = pl.entries
    assert a == Entry(base / "a.wav", preset="drift", model="/abs/other.pkl", start=10.0, end=70.5, crossfade=2.0)
    assert a.duration == 60.5 and isinstance(a.start, float)
    assert b == Entry(base / "sub" / "b.wav", preset=str(base / "looks" / "mine.toml"),
                      model=str(base / "models" / "ffhq.pkl"))
    for entry, name in [(c1, "c1.wav"), (c2, "c2.wav")]:  # a folder track: every file inherits its settings
        assert entry == Entry(base / "dir" / name, preset="pulse", model=str(base / "models" / "ffhq.pkl"), start=5.0)
    assert pl.crossfade_before(a) == 2.0 and pl.crossfade_before(b) == 4.0


def test_command_line_overrides_toml(tmp_path):
    pl = load_playlist([write_full(tmp_path)], crossfade=0.0, loop=False, shuffle=False)
    assert (pl.crossfade, pl.loop, pl.shuffle) == (0.0, False, False)
    assert pl.entries[0].crossfade == 2.0  # a track's own value still wins
    pl = load_playlist([write_full(tmp_path)], crossfade=1.5)
    assert (pl.crossfade, pl.loop, pl.shuffle) == (1.5, True, True)


def test_first_toml_gives_the_playlist_defaults(tmp_path, caplog):
    touch(tmp_path / "a.wav")
    touch(tmp_path / "b.wav")
    (tmp_path / "one.toml").write_text('[playlist]\ncrossfade = 3.0\npreset = "drift"\n[[track]]\npath = "a.wav"\n')
    (tmp_path / "two.toml").write_text('[playlist]\ncrossfade = 9.0\nloop = true\npreset = "pulse"\n'
                                       '[[track]]\npath = "b.wav"\n')
    with caplog.at_level(logging.WARNING, logger="lavlive.playback.playlist"):
        pl = load_playlist([tmp_path / "a.wav", tmp_path / "one.toml", tmp_path / "two.toml"])
    assert (pl.crossfade, pl.loop) == (3.0, False)
    assert [e.preset for e in pl.entries] == [None, "drift", "pulse"]  # preset/model defaults stay per file
    assert "two.toml" in caplog.text and "ignored" in caplog.text


def test_toml_without_playlist_table(tmp_path):
    touch(tmp_path / "a.wav")
    (tmp_path / "s.toml").write_text('[[track]]\npath = "a.wav"\n')
    pl = load_playlist([tmp_path / "s.toml"])
    assert (pl.crossfade, pl.loop, pl.shuffle, pl.entries) == (0.0, False, False, [Entry(tmp_path / "a.wav")])


@pytest.mark.parametrize("body, expected", [
    ('[[track]]\npath = "a.wav"\n[[track]]\npath = "a.wav"\nlenght = 3\n', "[[track]] 2: unknown key 'lenght'"),
    ('[playlist]\nfade = 1\n', "[playlist]: unknown key 'fade'"),
    ('[settings]\nx = 1\n[[track]]\npath = "a.wav"\n', "unknown key or table 'settings'"),
    ('[[track]]\npreset = "x"\n', "[[track]] 1: missing key 'path'"),
    ('[[track]]\npath = 3\n', "[[track]] 1: path = 3 should be a non-empty string"),
    ('[[track]]\npath = "a.wav"\nstart = "10"\n', "[[track]] 1: start = '10' should be a number"),
    ('[[track]]\npath = "a.wav"\nstart = -1\n', "[[track]] 1: start = -1 should be at least 0"),
    ('[[track]]\npath = "a.wav"\nstart = nan\n', "[[track]] 1: start = nan should be a number"),
    ('[[track]]\npath = "a.wav"\nstart = 5\nend = 5\n', "[[track]] 1: end = 5.0 must be after start = 5.0"),
    ('[[track]]\npath = "a.wav"\nend = 2\nstart = 3\n', "[[track]] 1: end = 2.0 must be after start = 3.0"),
    ('[[track]]\npath = "a.wav"\ncrossfade = -0.5\n', "[[track]] 1: crossfade = -0.5 should be between 0 and 60"),
    ('[[track]]\npath = "a.wav"\ncrossfade = 61\n', "[[track]] 1: crossfade = 61 should be between 0 and 60"),
    ('[playlist]\ncrossfade = 90.0\n', "[playlist]: crossfade = 90.0 should be between 0 and 60"),
    ('[playlist]\nloop = "yes"\n', "[playlist]: loop = 'yes' should be true or false"),
    ('[playlist]\nshuffle = 1\n', "[playlist]: shuffle = 1 should be true or false"),
    ('[playlist]\nmodel = 5\n', "[playlist]: model = 5 should be a non-empty string"),
    ('[[track]]\npath = "a.wav"\npreset = ""\n', "[[track]] 1: preset = (empty) should be a non-empty string"),
    ('[track]\npath = "a.wav"\n', "write [[track]], not [track]"),
    ('[[track]]\npath = "nope.wav"\n', "[[track]] 1: {dir}/nope.wav: no such file"),
    ('[[track]]\npath = "other.m3u"\n', "[[track]] 1: path '{dir}/other.m3u' is a playlist"),
    ('[modulation]\ny = 2\n', "not a playlist"),
    ('[[track]\npath = "a.wav"\n', "not valid TOML ("),
])
def test_toml_validation_errors_name_file_and_key(tmp_path, body, expected):
    touch(tmp_path / "a.wav")
    touch(tmp_path / "other.m3u")
    (tmp_path / "set.toml").write_text(body)
    message = error([tmp_path / "set.toml"])
    assert message.startswith(f"{tmp_path / 'set.toml'}: ")
    assert expected.format(dir=tmp_path) in message


def test_toml_missing_track_skipped_in_kiosk_mode(tmp_path):
    touch(tmp_path / "a.wav")
    (tmp_path / "set.toml").write_text('[[track]]\npath = "gone.wav"\n[[track]]\npath = "a.wav"\nend = 9\n')
    pl = load_playlist([tmp_path / "set.toml"], missing="skip")
    assert pl.entries == [Entry(tmp_path / "a.wav", end=9.0)]


def test_toml_inside_m3u(tmp_path):
    touch(tmp_path / "a.wav")
    (tmp_path / "set.toml").write_text('[playlist]\nloop = true\n[[track]]\npath = "a.wav"\nstart = 1\n')
    (tmp_path / "list.m3u").write_text("set.toml\n")
    pl = load_playlist([tmp_path / "list.m3u"])
    assert pl.entries == [Entry(tmp_path / "a.wav", start=1.0)] and pl.loop is True


def test_command_line_crossfade_is_checked(tmp_path):
    a = touch(tmp_path / "a.wav")
    assert "crossfade = 61" in error([a], crossfade=61)
    assert "crossfade = -1" in error([a], crossfade=-1)


# ---- order and shuffle ----

def make(n: int, shuffle: bool = True) -> Playlist:
    return Playlist([Entry(Path(f"t{i}.wav")) for i in range(n)], shuffle=shuffle)


def test_order_as_listed_without_shuffle():
    pl = make(5, shuffle=False)
    assert pl.order(0) == pl.entries and pl.order(3, seed=7) == pl.entries
    assert pl.order(0) is not pl.entries  # a copy: callers may not disturb the playlist


def test_shuffle_is_a_reproducible_permutation_differing_across_passes():
    pl = make(10)
    orders = [pl.order(p, seed=42) for p in range(6)]
    for order in orders:
        assert sorted(names(order)) == sorted(names(pl)) and len(order) == 10
    assert orders[0] != pl.entries
    assert len({tuple(names(o)) for o in orders}) == 6
    assert [pl.order(p, seed=42) for p in range(6)] == orders
    assert make(10).order(3, seed=42) == orders[3]  # same seed, same pass, another Playlist object
    assert pl.order(0, seed=43) != orders[0]
    assert pl.order(2) == pl.order(2)  # seed None: fixed per Playlist


@pytest.mark.parametrize("n", [2, 3, 4, 10])
def test_shuffle_never_repeats_at_pass_boundary(n):
    pl = make(n)
    for seed in range(20):
        orders = [pl.order(p, seed=seed) for p in range(30)]
        for before, after in zip(orders, orders[1:]):
            assert after[0] != before[-1]
            assert sorted(names(after)) == sorted(names(pl))


def test_shuffle_of_one_track():
    pl = make(1)
    assert pl.order(0, seed=1) == pl.order(5, seed=1) == pl.entries


def test_entry_duration_and_name():
    e = Entry("dir/song.flac", start=2.5, end=10.0)
    assert e.path == Path("dir/song.flac") and e.duration == 7.5 and e.name == "song.flac"
    pl = Playlist([e], crossfade=3.0)
    assert pl.crossfade_before(e) == 3.0
    assert pl.crossfade_before(Entry("x.wav", crossfade=0.0)) == 0.0
