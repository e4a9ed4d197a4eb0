"""Corrupt files never reach the user as a traceback, a hang or a crash: the fuzz pass, and the defects it found."""

from __future__ import annotations

import time

import pytest
import torch
from audio_files import encode, sine
from corrupt_files import fuzz, summary

from lavlive.audio.sources import FileSource
from lavlive.generator import CheckpointError, Generator, GeneratorConfig, load_generator, save_generator


def test_the_fuzz_pass_finds_only_sane_results_and_clean_errors():
    start = time.monotonic()
    results, total = fuzz(budget=420)
    report = summary(results, total, time.monotonic() - start)
    print(report)
    failures = [f"{r.outcome}: {r.seed}, {r.mutation}\n{r.detail}" for r in results if r.failed]
    assert not failures, report + "\n\n" + "\n\n".join(failures[:20])
    assert len(results) >= 2000, f"the budget ran out after {len(results)} of {total} cases:\n{report}"
    outcomes = {r.outcome for r in results}
    assert outcomes == {"ok", "clean"}, report  # both kinds of ending are met, so neither check is idle


def test_tags_that_are_not_utf8_do_not_stop_the_audio(tmp_path):
    """Found by the fuzz pass: PyAV raised UnicodeDecodeError while reading an M4A's damaged tags."""
    path = encode(tmp_path / "t.m4a", sine(440, 1.0, 44100), 44100, "aac", tags={"title": "zzzzzzzz"})
    path.write_bytes(path.read_bytes().replace(b"zzzzzzzz", b"z\xdd\xdd\xffzzzz"))
    audio = FileSource(path, 24000).read_all()
    assert abs(audio.shape[1] - 24000) < 1200 and abs(audio).max() > 0.3


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    G = Generator(GeneratorConfig(z_dim=32, w_dim=32, img_resolution=16, channel_base=128, channel_max=16,
                                  mapping_layers=2)).eval()
    return G, tmp_path / "g.safetensors"


@pytest.mark.parametrize("value, says", [(float("nan"), "non-finite"), (float("inf"), "non-finite"),
                                         (3.2e30, "far beyond any trained weight")])
def test_a_checkpoint_with_damaged_weights_is_refused(checkpoint, value, says):
    """Found by the fuzz pass: flipped exponent bits loaded as NaN or 1e30 weights and drew black frames."""
    G, path = checkpoint
    with torch.no_grad():
        G.synthesis.b8.conv0.weight[0, 0, 0, 0] = value
    save_generator(G, path)
    with pytest.raises(CheckpointError, match=rf"^{path}: tensor 'synthesis.b8.conv0.weight' holds .*{says}"):
        load_generator(path)
    with torch.no_grad():
        G.synthesis.b8.conv0.weight[0, 0, 0, 0] = 484.0  # the largest weight of the reference fixture loads
    save_generator(G, path)
    assert load_generator(path).synthesis.b8.conv0.weight[0, 0, 0, 0] == 484.0
