"""The CUDA path (fp16 blocks, channels_last): run by scripts/gpu-check.sh where a GPU exists."""

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
