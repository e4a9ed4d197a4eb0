"""How synthesis runs (generator/runtime.py): --precision and --execution, exercised on the CPU.
The CUDA graph itself is tested in test_cuda.py, where a GPU exists."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from lavlive import load_generator
from lavlive.audio.demo import demo_track, write_wav
from lavlive.cli import main
from lavlive.pipeline import Synthesizer
from lavlive.generator.runtime import bf16_supported
from lavlive.render.video import nvenc_available

CPU = torch.device("cpu")
needs_bf16 = pytest.mark.skipif(not bf16_supported(CPU), reason="this CPU has no native bfloat16")


@pytest.fixture(scope="module")
def fixture_G(sg2_fixture):
    return load_generator(sg2_fixture)


@pytest.fixture(scope="module")
def track(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("runtime") / "track.wav"
    write_wav(path, demo_track(1.0, 24000), 24000)
    return path


def levels_apart(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(np.int16) - b.astype(np.int16))


@pytest.mark.skipif(torch.cuda.is_available(), reason="here --execution graph is valid")
def test_graph_on_a_cpu_only_machine_is_a_one_line_error(tmp_path, track, capsys):
    out = tmp_path / "v.mp4"
    assert main(["render", str(track), "-o", str(out), "--execution", "graph"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("lavlive: error: --execution graph") and "\n" not in err
    assert not out.exists()


@pytest.mark.skipif(nvenc_available(), reason="NVENC opens here")
def test_nvenc_asked_for_where_it_cannot_open_is_a_one_line_error(tmp_path, track, capsys):
    out = tmp_path / "v.mp4"
    assert main(["render", str(track), "-o", str(out), "--encoder", "h264_nvenc"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("lavlive: error: --encoder h264_nvenc: NVENC cannot be opened here") and "\n" not in err
    assert not out.exists()


@needs_bf16
def test_bf16_frames_are_a_few_levels_from_fp32():
    """The measured error users are told about: a few 8-bit levels on the embedded network."""
    G = load_generator(None)
    ws = G.mapping(torch.randn(2, G.z_dim, generator=torch.Generator().manual_seed(3))).numpy()
    full = Synthesizer(G)(ws)
    half = Synthesizer(G, precision="bf16")(ws)
    apart = levels_apart(full, half)
    assert apart.max() > 0, "bf16 should have run in bfloat16"
    assert apart.max() <= 12 and apart.mean() < 1.0


@needs_bf16
def test_render_in_bf16_says_so_in_its_sidecar(tmp_path, track):
    out = tmp_path / "bf16.mp4"
    assert main(["render", str(track), "-o", str(out), "--precision", "bf16"]) == 0
    meta = json.loads(out.with_name("bf16.mp4.json").read_text())
    assert meta["dtype"] == "bfloat16 (every block)" and meta["execution"] == "eager"
    assert "--precision" in meta["command"]


def test_compiled_synthesis_agrees_and_keeps_its_artefacts_in_lavlives_cache(fixture_G, sg2_expected, monkeypatch):
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)  # as a user who never set it
    ws = sg2_expected["ws"][:1]
    eager = Synthesizer(fixture_G)(ws)
    synthesizer = Synthesizer(fixture_G, execution="compile")
    synthesizer.warm_up()
    compiled = synthesizer(ws)
    assert levels_apart(eager, compiled).max() <= 1
    assert not np.array_equal(compiled, synthesizer(sg2_expected["ws"][1:2])), "a new ws draws a new frame"
    cache = Path(os.environ["LAVLIVE_CACHE"]) / "torch-compile"
    assert cache.is_dir() and any(cache.rglob("*.py")), "the compiled code should be kept for the next start"
