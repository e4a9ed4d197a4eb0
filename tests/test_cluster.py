"""`lavlive render --segments N` on a real Ray cluster (a head and a second node on 127.0.0.1).

The reference is a single-process render of the same inputs: the segmented render must hand the
encoder the very same frames (hashed per frame), have exactly round(duration × fps) frames and
decode to the same pictures, also when a worker is killed mid-segment, and resume after Ctrl-C.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from ray_cluster import ray_available, ray_cluster, task_processes

from lavlive.render import video
from lavlive.audio.demo import demo_track, write_wav
from lavlive.cli import main
from lavlive.generator import Generator, GeneratorConfig, save_generator
from lavlive.render.segments import frame_hash

pytestmark = pytest.mark.skipif(not ray_available(), reason="Ray is not installed (pip install 'lavlive[cluster]')")

RATE = 44100
FPS = 30
SECONDS = 8.0
FRAMES = round(SECONDS * FPS)
THREADS = 2  # every render here, whole or segmented, in-process or not: the frames depend on it

@pytest.fixture(scope="module")
def cluster():
    with ray_cluster(nodes=2, cpus_per_node=THREADS) as address:
        yield address


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A small random generator (32×32) as a checkpoint, and 8 s of music."""
    folder = tmp_path_factory.mktemp("inputs")
    torch.manual_seed(0)
    G = Generator(GeneratorConfig(z_dim=64, w_dim=64, img_resolution=32, channel_base=256, channel_max=16,
                                  mapping_layers=2)).eval()
    save_generator(G, folder / "small.safetensors")
    write_wav(folder / "music.wav", demo_track(SECONDS, RATE), RATE)
    return folder / "music.wav", folder / "small.safetensors"


def _render_args(music: Path, model: Path, out: Path, *extra: str) -> list[str]:
    return ["render", str(music), "-o", str(out), "--model", str(model), "--crf", "0", "--threads", str(THREADS), *extra]


def _single_render(music: Path, model: Path, out: Path, *extra: str) -> list[str]:
    """Render in this process; the hash of every frame handed to the encoder."""
    hashes: list[str] = []
    write = video.VideoWriter.write

    def hashing(self, image):
        hashes.append(frame_hash(image))
        return write(self, image)

    video.VideoWriter.write = hashing
    try:
        assert main(_render_args(music, model, out, *extra)) == 0
    finally:
        video.VideoWriter.write = write
    return hashes


@pytest.fixture(scope="module")
def reference(inputs, tmp_path_factory):
    """The single-process render: its video and the hash of every frame handed to the encoder."""
    music, model = inputs
    out = tmp_path_factory.mktemp("single") / "single.mp4"
    return out, _single_render(music, model, out)


def _segment_hashes(out: Path) -> list[str]:
    files = sorted(out.with_name(out.name + ".segments").glob("segment-*.json"))
    return [h for f in files for h in json.loads(f.read_text())["hashes"]]


def _decoded(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)]).astype(np.float64)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def _check_equal_to_reference(out: Path, reference) -> None:
    single, hashes = reference
    assert _segment_hashes(out) == hashes  # the same raw frames, to the bit
    joined, whole = _decoded(out), _decoded(single)
    assert len(joined) == len(whole) == FRAMES
    assert _psnr(joined, whole) >= 45
    with av.open(str(out)) as c:
        assert c.streams.audio, "the joined video has the track's audio"
        first = next(c.demux(c.streams.video[0]))
        assert first.is_keyframe


def _lavlive(*argv: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lavlive", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def test_segments_equal_the_single_process_render(cluster, inputs, reference, tmp_path, capsys):
    music, model = inputs
    out = tmp_path / "joined.mp4"
    assert main(_render_args(music, model, out, "--segments", "3", "--cluster", cluster, "--keep-segments")) == 0
    printed = capsys.readouterr().out
    assert "2 nodes" in printed and "3 segments" in printed
    _check_equal_to_reference(out, reference)
    meta = json.loads(out.with_name(out.name + ".json").read_text())
    assert meta["video"]["frames"] == FRAMES and meta["segments"]["count"] == 3
    nodes = {json.loads(f.read_text())["node"] for f in out.with_name(out.name + ".segments").glob("*.json")
             if f.name != "job.json"}
    assert len(nodes) == 2, "both nodes rendered segments"


@pytest.mark.parametrize("family", ["stylegan2", "stylegan3"])
def test_each_family_at_a_16_9_canvas_renders_in_segments_as_in_one_process(cluster, inputs, tmp_path, family):
    from checkpoint_writers import write_sg3_pickle

    from lavlive.generator import StyleGAN3Config, StyleGAN3Generator

    music, model = inputs
    if family == "stylegan3":
        torch.manual_seed(3)
        model = tmp_path / "sg3.pkl"
        write_sg3_pickle(StyleGAN3Generator(StyleGAN3Config(z_dim=64, w_dim=64, img_resolution=32, channel_base=1024,
                                                            channel_max=32, num_fp16_res=0, conv_clamp=None)).eval(),
                         model)
    hashes = _single_render(music, model, tmp_path / "single.mp4", "--canvas", "16:9")
    out = tmp_path / "joined.mp4"
    assert main(_render_args(music, model, out, "--canvas", "16:9", "--segments", "2", "--cluster", cluster,
                             "--keep-segments")) == 0
    assert _segment_hashes(out) == hashes and len(hashes) == FRAMES  # the same frames, to the bit
    assert _decoded(out).shape[1:3] == (32, 56)
    meta = json.loads(out.with_name(out.name + ".json").read_text())
    assert meta["model"]["family"] == family and meta["video"]["canvas"] == {"shape": "16:9", "drawn": "56x32"}


def test_without_keep_segments_the_work_folder_goes(cluster, inputs, tmp_path):
    music, model = inputs
    out = tmp_path / "joined.mp4"
    assert main(_render_args(music, model, out, "--segments", "2", "--cluster", cluster, "--duration", "2")) == 0
    assert len(_decoded(out)) == 2 * FPS
    assert not out.with_name(out.name + ".segments").exists()


def test_encoder_weights_given_by_a_relative_path_reach_every_worker(cluster, inputs, tmp_path, monkeypatch):
    """Workers load the driver's weights file (by its absolute path): the same frames as a whole render."""
    from lavlive.audio.encodec_models import build_seanet, encoder_info

    music, model = inputs
    torch.manual_seed(7)
    seanet = build_seanet(encoder_info("24khz").spec, seed=7)
    torch.save({f"encoder.{k}": v for k, v in seanet.state_dict().items()}, tmp_path / "enc.th")
    monkeypatch.chdir(tmp_path)
    hashes: list[str] = []
    write = video.VideoWriter.write
    monkeypatch.setattr(video.VideoWriter, "write", lambda self, image: (hashes.append(frame_hash(image)),
                                                                        write(self, image))[1])
    short = ["--duration", "2", "--encoder-weights", "enc.th"]
    assert main(_render_args(music, model, tmp_path / "whole.mp4", *short)) == 0
    out = tmp_path / "joined.mp4"
    assert main(_render_args(music, model, out, *short, "--segments", "2", "--cluster", cluster,
                             "--keep-segments")) == 0
    assert _segment_hashes(out) == hashes and len(hashes) == 2 * FPS
    meta = json.loads(out.with_name(out.name + ".json").read_text())
    assert meta["encoder"]["weights"] == str(tmp_path / "enc.th")


def _wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_killed_worker_is_retried_and_the_result_is_exact(cluster, inputs, reference, tmp_path):
    music, model = inputs
    out = tmp_path / "joined.mp4"
    proc = _lavlive(*_render_args(music, model, out, "--segments", "4", "--cluster", cluster, "--keep-segments"))
    _wait_for(lambda: task_processes() or proc.poll() is not None, 120, "a segment to start")
    time.sleep(0.5)  # well inside the segment: it takes several seconds
    victims = task_processes()
    assert victims, "the render finished before a worker could be killed"
    os.kill(victims[0], signal.SIGKILL)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, output
    _check_equal_to_reference(out, reference)


def test_ctrl_c_cancels_every_task_keeps_a_partial_file_and_a_rerun_resumes(cluster, inputs, reference, tmp_path):
    music, model = inputs
    out = tmp_path / "joined.mp4"
    work = out.with_name(out.name + ".segments")
    argv = _render_args(music, model, out, "--segments", "6", "--cluster", cluster, "--keep-segments")
    proc = _lavlive(*argv)
    _wait_for(lambda: (work / "segment-0000.json").exists() or proc.poll() is not None, 180, "the first segment")
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, output
    assert "interrupted" in output and "Traceback" not in output
    assert not out.exists()
    _wait_for(lambda: not task_processes(), 10, "every task to be cancelled")
    kept = sorted(work.glob("segment-*.mp4"))
    assert 1 <= len(kept) < 6
    partial = out.with_name("joined.partial.mp4")
    frames = len(_decoded(partial))
    assert frames > 0 and frames % (FRAMES // 6) == 0, "the partial file holds whole finished segments"

    again = _lavlive(*argv)
    output, _ = again.communicate(timeout=300)
    assert again.returncode == 0, output
    assert f"resuming: {len(kept)} of 6 segments" in output
    _check_equal_to_reference(out, reference)
    assert partial.exists(), "the partial file of the interrupted run is the user's: left alone"


def test_cluster_errors_are_one_line(cluster, inputs, tmp_path, capsys):
    music, model = inputs
    out = tmp_path / "x.mp4"
    assert main([*_render_args(music, model, out, "--segments", "2", "--cluster", cluster), "--threads", "64"]) == 1
    assert "largest node of the cluster has" in capsys.readouterr().err
    started = time.monotonic()
    assert main(_render_args(music, model, out, "--segments", "2", "--cluster", "127.0.0.1:1")) == 1
    assert "no Ray head answers there" in capsys.readouterr().err and time.monotonic() - started < 30
    assert main(_render_args(music, model, out, "--cluster", "local")) == 1
    assert "--cluster needs --segments" in capsys.readouterr().err
    assert main(_render_args(music, model, out, "--segments", "0")) == 1
    assert "--segments 0" in capsys.readouterr().err
