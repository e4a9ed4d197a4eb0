"""The embedded default: a seeded, randomly initialised 256×256 StyleGAN2, so lavlive runs offline.

A plain random init gives grey, over-saturated noise. Three choices (picked by looking at
contact sheets of several seeds, see README) make it an abstract but structured picture:
non-zero random biases and a spread `w_avg`; coarse ToRGB layers weighted above fine ones, so
large coloured shapes dominate and fine layers add texture; and a final gain that puts the
output in the usual [-1, 1] range.
"""

from __future__ import annotations

import torch

from .network import Generator, GeneratorConfig

DEFAULT_SEED = 1
DEFAULT_CONFIG = GeneratorConfig(
    z_dim=512, w_dim=512, img_resolution=256, channel_base=8192, channel_max=256,
    num_fp16_res=4, conv_clamp=256.0,
)
FINE_DECAY = 0.6  # ToRGB gain ratio from one resolution to the next
CALIBRATION_SAMPLES = 16


@torch.no_grad()
def default_generator(seed: int = DEFAULT_SEED, cfg: GeneratorConfig = DEFAULT_CONFIG,
                      fine_decay: float = FINE_DECAY) -> Generator:
    """Deterministic for a given seed on any machine (initialised on the CPU in fp32)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G = Generator(cfg)
        for name, p in G.synthesis.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.05)
            elif name.endswith(".bias") and ".affine." not in name:
                p.normal_(0.0, 0.2)
        z = torch.randn(256, cfg.z_dim)
        calibration_z = torch.randn(CALIBRATION_SAMPLES, cfg.z_dim)
    for i, res in enumerate(cfg.block_resolutions):
        getattr(G.synthesis, f"b{res}").torgb.weight.mul_(fine_decay**i)
    G.mapping.w_avg.copy_(G.mapping(z).mean(dim=(0, 1)))
    img = G(calibration_z, force_fp32=True)
    scale = 0.6 / img.std()
    for res in cfg.block_resolutions:
        torgb = getattr(G.synthesis, f"b{res}").torgb
        torgb.weight.mul_(scale)
        torgb.bias.mul_(scale)
    return G.eval().requires_grad_(False)
