"""The setlist's timeline, sample by sample: where each track sounds, the crossfades, and the frames planned on it.

The feeder writes into a recorder with the audio output's interface (sample rate, channels,
write, end_of_stream), so the exact stream that would reach the sound card can be checked.
"""

from __future__ import annotations

import os
import threading
from fractions import Fraction

import numpy as np
import pytest
import torch

from lavlive.audio.demo import write_wav
from lavlive.generator import Generator, GeneratorConfig, save_generator
from lavlive.playback.playlist import Entry
from lavlive.pipeline import ModelSettings, SetlistPlan
from lavlive.playback.feeder import Feeder
from lavlive.playback.preparer import Preparer

RATE = 8000


class Recorder:
    """Stands in for AudioOutput: keeps every sample written."""

    sample_rate, channels = RATE, 1

    def __init__(self) -> None:
        self.blocks: list[np.ndarray] = []
        self.ended = False

    def write(self, block: np.ndarray, stop: threading.Event | None = None) -> bool:
        self.blocks.append(block.copy())
        return True

    def end_of_stream(self) -> None:
        self.ended = True

    @property
    def stream(self) -> np.ndarray:
        return np.concatenate(self.blocks)[:, 0]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("setlist")
    for name, seconds, value in (("a", 1.0, 0.2), ("b", 2.0, 0.4), ("c", 1.5, 0.6)):
        write_wav(d / f"{name}.wav", np.full((1, int(seconds * RATE)), value, np.float32), RATE)
    (d / "broken.wav").write_bytes(os.urandom(20000))
    for res in (32, 64):
        torch.manual_seed(res)
        G = Generator(GeneratorConfig(z_dim=32, w_dim=32, img_resolution=res, channel_base=256, channel_max=16,
                                      mapping_layers=2)).eval()
        save_generator(G, d / f"m{res}.pt")
    return d


def run_feeder(entries: list[tuple[Entry, float]], model) -> tuple[Feeder, Recorder, list]:
    preparer = Preparer(ModelSettings(model=str(model)), RATE, 1)
    skipped: list = []
    upcoming = ((entry, crossfade, preparer.submit(entry, i)) for i, (entry, crossfade) in enumerate(entries))
    recorder = Recorder()
    feeder = Feeder(upcoming, recorder, lambda entry, error: skipped.append(entry.name))
    feeder.start()
    feeder.join(60)
    assert feeder.error is None and feeder.finished and recorder.ended
    return feeder, recorder, skipped


def test_tracks_overlap_by_their_crossfade_and_follow_gaplessly(files):
    """a (1 s) crossfades into b (2 s) over 0.5 s with equal power; c (1.5 s) follows b sample-exactly;
    a broken file between them is skipped."""
    entries = [(Entry(files / "a.wav"), 0.0), (Entry(files / "b.wav"), 0.5), (Entry(files / "broken.wav"), 0.0),
               (Entry(files / "c.wav"), 0.0)]
    feeder, recorder, skipped = run_feeder(entries, files / "m32.pt")
    assert skipped == ["broken.wav"]
    assert [(s.track.entry.name, s.start, s.end) for s in feeder.slots] == \
        [("a.wav", 0, 8000), ("b.wav", 4000, 20000), ("c.wav", 20000, 32000)]
    x = recorder.stream
    assert len(x) == 32000
    np.testing.assert_allclose(x[:4000], 0.2, atol=1e-4)
    phase = (np.arange(4000) + 0.5) / 4000 * np.pi / 2
    np.testing.assert_allclose(x[4000:8000], 0.2 * np.cos(phase) + 0.4 * np.sin(phase), atol=1e-4)
    np.testing.assert_allclose(x[8000:20000], 0.4, atol=1e-4)
    np.testing.assert_allclose(x[20000:], 0.6, atol=1e-4)  # gapless: c's first sample right after b's last


def test_a_crossfade_longer_than_half_a_track_is_shortened(files):
    entries = [(Entry(files / "a.wav"), 0.0), (Entry(files / "c.wav"), 0.9)]  # a lasts 1 s
    feeder, recorder, _ = run_feeder(entries, files / "m32.pt")
    assert [(s.start, s.end) for s in feeder.slots] == [(0, 8000), (4000, 16000)]
    assert len(recorder.stream) == 16000


def test_the_plan_blends_the_pictures_over_each_switch_and_ends_with_the_audio(files):
    """Frames at i/fps up to the end of the last track; over a switch to another model a dissolve
    whose weight rises smoothly from 0 to 1; a gapless switch on the same model is blended in W."""
    entries = [(Entry(files / "a.wav", model=str(files / "m64.pt")), 0.0), (Entry(files / "b.wav"), 0.5),
               (Entry(files / "c.wav"), 0.0)]
    feeder, _, _ = run_feeder(entries, files / "m32.pt")
    frames = list(SetlistPlan(feeder, Fraction(20)))
    assert [f.index for f in frames] == list(range(round(32000 / RATE * 20)))
    assert all(f.time == f.index / 20 for f in frames)
    dissolve = [f for f in frames if f.blend is not None]
    assert [f.time for f in dissolve] == [f.time for f in frames if 0.5 <= f.time < 1.0]  # the 0.5 s overlap
    alphas = [f.alpha for f in dissolve]
    assert alphas == sorted(alphas) and alphas[0] < 0.05 and alphas[-1] > 0.9
    assert {id(f.synthesizer) for f in frames if f.time < 0.5} != {id(f.synthesizer) for f in frames if f.time >= 1}
    # b → c is gapless at 2.5 s. No cut there: the step into it is a fraction of what a cut to c would
    # be. Then the pictures are blended over 0.5 s, after which they are c's own (as if c played alone).
    at = {f.index: f.ws for f in frames}  # frame i at i / 20 s
    c_alone = list(SetlistPlan(run_feeder([(Entry(files / "c.wav"), 0.0)], files / "m32.pt")[0], Fraction(20)))
    cut = np.abs(c_alone[0].ws - at[49]).max()
    assert np.abs(at[50] - at[49]).max() < 0.5 * cut and np.abs(at[51] - at[50]).max() < 0.5 * cut
    for i in range(60, 70):
        np.testing.assert_allclose(at[i], c_alone[i - 50].ws, atol=1e-6)
    assert np.abs(at[52] - c_alone[2].ws).max() > 0.01  # still blending
