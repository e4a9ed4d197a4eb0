"""The CUDA path (fp16 blocks, channels_last): run by scripts/gpu-check.sh where a GPU exists."""

import numpy as np
import pytest
import torch

from lavlive import load_generator

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_fp32_on_cuda_matches_the_cpu(sg2_fixture, sg2_expected):
    G = load_generator(sg2_fixture, "cuda")
    with torch.no_grad():
        img = G.synthesis(torch.from_numpy(sg2_expected["ws"]).cuda(), force_fp32=True).cpu()
    assert (img - torch.from_numpy(sg2_expected["img"])).abs().max() <= 1e-3


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("batch", [1, 4])
def test_fp16_blocks_stay_close_to_fp32(channels_last, batch):
    G = load_generator(None, "cuda")
    assert G.config.num_fp16_res > 0
    G.synthesis.channels_last = channels_last
    with torch.no_grad():
        ws = G.mapping(torch.randn(batch, G.z_dim, device="cuda", generator=torch.Generator("cuda").manual_seed(0)))
        half = G.synthesis(ws)
        full = G.synthesis(ws, force_fp32=True)
    assert half.dtype == torch.float32 and torch.isfinite(half).all()
    assert (half - full).abs().mean() < 0.02 * full.abs().mean()


def test_graph_replays_what_eager_draws_and_keeps_each_frame():
    from lavlive.pipeline import Synthesizer

    G = load_generator(None, "cuda")
    ws = G.mapping(torch.randn(2, G.z_dim, device="cuda", generator=torch.Generator("cuda").manual_seed(1)))
    ws = ws.cpu().numpy()
    eager = Synthesizer(G, to_host=False, execution="eager")
    graph = Synthesizer(G, to_host=False, execution="graph")
    graph.warm_up()
    first = graph(ws[:1])
    kept = first.clone()
    second = graph(ws[1:])
    assert torch.equal(first, kept), "a replay must not overwrite a frame handed out before"
    assert not torch.equal(first, second), "each replay draws its own ws"
    for one, drawn in ((ws[:1], first), (ws[1:], second)):
        apart = (eager(one).int() - drawn.int()).abs()
        assert apart.max() <= 1
    assert first.is_cuda and first.dtype == torch.uint8 and first.is_contiguous()


def test_a_smaller_batch_is_padded_into_the_graph_and_random_noise_stays_eager():
    from lavlive.pipeline import Synthesizer

    G = load_generator(None, "cuda")
    s = Synthesizer(G, execution="graph")
    ws = np.random.RandomState(0).randn(3, G.num_ws, G.w_dim).astype(np.float32) * 0.1
    three = s(ws)
    one = s(ws[:1])  # a render's last batch: padded into the graph of 3, not captured again
    assert three.shape == (3, G.img_resolution, G.img_resolution, 3) and one.shape[0] == 1
    assert list(s._sizes) == [3] and np.abs(one[0].astype(int) - three[0].astype(int)).max() <= 1
    noisy = Synthesizer(G, noise_mode="random", execution="graph", seed=5)
    assert noisy.execution == "eager" and np.array_equal(noisy(ws[:1], 10), noisy(ws[:1], 10))


def test_a_capture_in_another_thread_while_frames_are_drawn():
    """play prepares the next model (and captures its graph) while the show draws the current one."""
    import threading

    from lavlive.pipeline import Synthesizer

    G = load_generator(None, "cuda")
    showing = Synthesizer(G, to_host=False)
    showing.warm_up()
    ws = np.zeros((1, G.num_ws, G.w_dim), np.float32)
    errors: list[BaseException] = []
    done = threading.Event()

    def draw() -> None:
        try:
            while not done.is_set():
                showing(ws).cpu()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    drawer = threading.Thread(target=draw)
    drawer.start()
    try:
        for _ in range(3):
            Synthesizer(load_generator(None, "cuda"), to_host=False).warm_up()
    finally:
        done.set()
        drawer.join()
    assert not errors, errors


def test_a_cuda_dissolve_goes_out_over_ndi_as_the_mix():
    """Both pictures of a dissolve come from the GPU: each gets its own host copy, so NDI sends the mix."""
    pytest.importorskip("cyndilib")
    from fractions import Fraction

    from lavlive.output.display.ndi import NdiOutput

    a = torch.full((8, 8, 3), 10, dtype=torch.uint8)
    b = torch.full((8, 8, 3), 210, dtype=torch.uint8)
    out = NdiOutput(f"lavlive-cuda-{torch.randint(10**9, ()).item()}", Fraction(30))
    try:
        out.send(a.cuda(), b.cuda(), 0.5)
        sent = out._buffers[0][..., :3]
    finally:
        out.close()
    assert (sent == 110).all()


def test_stylegan3_on_cuda_matches_the_fixture_in_fp32_and_stays_close_in_fp16(sg3_fixture, sg3_expected):
    from dataclasses import replace

    from lavlive.generator import StyleGAN3Generator

    G = load_generator(sg3_fixture, "cuda")
    ws = torch.from_numpy(sg3_expected["ws"]).cuda()
    with torch.no_grad():
        img = G.synthesis(ws, force_fp32=True).cpu()
    assert (img - torch.from_numpy(sg3_expected["img"])).abs().max() <= 1e-3
    half_G = StyleGAN3Generator(replace(G.config, num_fp16_res=4, conv_clamp=256.0)).cuda().eval()
    half_G.load_state_dict(G.state_dict())
    with torch.no_grad():
        half, full = half_G.synthesis(ws), half_G.synthesis(ws, force_fp32=True)
    assert half.dtype == torch.float32 and torch.isfinite(half).all()
    assert (half - full).abs().mean() < 0.02 * full.abs().mean()


def test_a_stylegan3_graph_replays_what_eager_draws(sg3_fixture, sg3_expected):
    from lavlive.pipeline import Synthesizer

    G = load_generator(sg3_fixture, "cuda")
    ws = sg3_expected["ws"][:1]
    eager = Synthesizer(G, to_host=False, execution="eager")
    graph = Synthesizer(G, to_host=False, execution="graph")
    graph.warm_up()
    assert (eager(ws).int() - graph(ws).int()).abs().max() <= 1
