"""`lavlive analyze` end to end, and the control path on the awkward audio users actually have."""

import subprocess
import sys

import numpy as np
import pytest
from audio_files import encode, sine, with_header_length
from PIL import Image

from lavlive.audio.encodec_stream import load_encoder
from lavlive.audio.sources import FileSource
from lavlive.cli import main
from lavlive.control import ControlPath
from lavlive.presets import load_preset


def drums_and_chords(seconds: float, rate: int, channels: int = 1) -> np.ndarray:
    x = sine(220, seconds, rate, channels, 0.2) + sine(330, seconds, rate, channels, 0.15)
    rng = np.random.default_rng(0)
    for hit in np.arange(0.2, seconds, 0.4):
        i = int(hit * rate)
        n = min(rate // 20, x.shape[1] - i)
        x[:, i:i + n] += rng.normal(0, 0.4, n) * np.exp(-np.arange(n) / (rate / 200))
    return x


def test_analyze_writes_a_figure(tmp_path):
    track = encode(tmp_path / "track.flac", drums_and_chords(4, 44100, 2), 44100, "flac")
    out = tmp_path / "analysis.png"
    proc = subprocess.run([sys.executable, "-m", "lavlive", "analyze", str(track), "-o", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "random encoder" in proc.stdout and "--download" in proc.stdout
    assert "sections: 1 (no boundary found" in proc.stdout  # 4 s: too short for a second section
    image = np.asarray(Image.open(out).convert("RGB"))
    assert image.shape[:2] == (1440, 1400) and image.std() > 20  # six panels: the default preset has routes


def test_analyze_does_not_overwrite(tmp_path, capsys):
    track = encode(tmp_path / "t.wav", sine(440, 1, 24000), 24000)
    out = tmp_path / "mine.png"
    out.write_bytes(b"keep")
    assert main(["analyze", str(track), "-o", str(out)]) == 1
    assert "--force" in capsys.readouterr().err and out.read_bytes() == b"keep"


def test_analyze_a_vorbis_track_decoding_past_its_header(tmp_path, capsys):
    """The case that crashed the progress bar: 5.5 s of Ogg Vorbis at 44.1 kHz decodes a fraction of a
    sample past the length its header gives."""
    track = encode(tmp_path / "t.ogg", drums_and_chords(5.5, 44100, 2), 44100, "vorbis")
    assert main(["analyze", str(track), "-o", str(tmp_path / "a.png")]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and (tmp_path / "a.png").stat().st_size > 10000


@pytest.mark.parametrize("header", [44100, 0, 9 * 44100], ids=["longer", "no length", "shorter"])
def test_analyze_follows_the_decoded_audio_not_the_header(tmp_path, capsys, header):
    track = with_header_length(encode(tmp_path / "t.flac", drums_and_chords(3, 44100), 44100, "flac"), header)
    assert main(["analyze", str(track), "-o", str(tmp_path / "a.png")]) == 0
    bar = [s for s in capsys.readouterr().err.split("\r") if "analysing" in s][-1]  # its last state
    assert "100%" in bar and "3.0/3.0" in bar, bar


@pytest.fixture(scope="module")
def stats(tiny_generator, tiny_stats):
    return tiny_generator, tiny_stats


def control(stats, path):
    G, st = stats
    encoder, _ = load_encoder("24khz")
    cp = ControlPath(encoder, st, load_preset("default"), G.num_ws, G.img_resolution)
    source = FileSource(path, 24000, 1, block_size=2400)
    ws = [cp.push(b) for b in source] + [cp.flush()]
    return np.concatenate(ws), source


SANE = {  # name → (data maker, rate, channels, codec)
    "rate-8k": (lambda: drums_and_chords(2, 8000), 8000, "pcm_s16le"),
    "rate-192k": (lambda: drums_and_chords(2, 192000), 192000, "pcm_s16le"),
    "8-channels": (lambda: drums_and_chords(2, 48000, 8), 48000, "pcm_f32le"),
    "nan-and-inf": (lambda: np.where(np.arange(48000) % 7 == 0, np.nan,
                                     np.where(np.arange(48000) % 11 == 0, np.inf, drums_and_chords(1, 48000)))[:1],
                    48000, "pcm_f32le"),
    "one-sample": (lambda: np.full((1, 1), 0.5), 44100, "pcm_s16le"),
    "silence": (lambda: np.zeros((1, 48000 * 2)), 48000, "pcm_s16le"),
}


@pytest.mark.parametrize("name", sorted(SANE))
def test_awkward_audio_gives_a_sane_result(stats, tmp_path, name):
    make, rate, codec = SANE[name]
    data = make()
    layout = "7.1" if data.shape[0] == 8 else None
    path = encode(tmp_path / f"{name}.wav", data, rate, codec, layout=layout)
    ws, source = control(stats, path)
    expected = int(np.ceil(round(data.shape[1] * 24000 / rate) / 320))
    assert abs(len(ws) - expected) <= 1
    assert np.isfinite(ws).all()
    if name == "silence":
        assert np.abs(np.diff(ws, axis=0)).max() < 1e-4  # a calm, steady picture
    elif name != "one-sample":
        assert np.abs(np.diff(ws[:, -1], axis=0)).mean() > 1e-4  # music still moves it
    assert main(["analyze", str(path), "-o", str(tmp_path / f"{name}.png")]) == 0


@pytest.mark.parametrize("name, content", [("empty.wav", b""), ("notes.mp3", b"these are not sounds\n" * 50),
                                           ("noise.flac", bytes(range(256)) * 40)])
def test_unreadable_audio_is_one_clear_line(tmp_path, capsys, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    assert main(["analyze", str(path), "-o", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err
    assert not (tmp_path / "x.png").exists()


def test_truncated_audio_analyses_what_is_there(tmp_path):
    full = encode(tmp_path / "full.wav", drums_and_chords(3, 48000), 48000)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[: len(full.read_bytes()) // 2])
    assert main(["analyze", str(cut), "-o", str(tmp_path / "cut.png")]) == 0
