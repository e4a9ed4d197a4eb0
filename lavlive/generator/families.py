"""The network families lavlive draws with, each a config and a network: StyleGAN2 (configs E and F, the
`skip` generator) and StyleGAN3 (configs T and R). Loading, validating and saving go by the config's
`family`, so a new family is added here, beside its network module."""

from __future__ import annotations

from typing import Any, Union

import torch
from torch import nn

from .network import Generator, GeneratorConfig
from .stylegan3 import StyleGAN3Config, StyleGAN3Generator

NetworkConfig = Union[GeneratorConfig, StyleGAN3Config]
FAMILY_NAMES = {"stylegan2": "StyleGAN2", "stylegan3": "StyleGAN3"}  # as messages say them
FAMILIES: dict[str, tuple[type, type]] = {
    "stylegan2": (GeneratorConfig, Generator),
    "stylegan3": (StyleGAN3Config, StyleGAN3Generator),
}


def build_network(cfg: NetworkConfig) -> nn.Module:
    """The untrained network a config describes (random weights)."""
    return FAMILIES[cfg.family][1](cfg)


def config_from_dict(family: str, d: dict[str, Any]) -> NetworkConfig:
    """A family's config from plain data (a file's header); ValueError names what does not fit."""
    if family not in FAMILIES:
        raise ValueError(f"unknown network family {family!r}")
    return FAMILIES[family][0].from_dict(d)


def expected_shapes(cfg: NetworkConfig) -> dict[str, tuple[int, ...]]:
    """Name → shape of every tensor in the state dict, to validate checkpoints before loading."""
    with torch.device("meta"):
        return {k: tuple(v.shape) for k, v in build_network(cfg).state_dict().items()}
