"""Write a lavlive generator in the file formats other StyleGAN tools produce.

These are real files of each format (the same pickle structure, globals and torch streams), made
from a network whose outputs we know, so each loader can be checked end to end.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import types
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lavlive.generator import Generator

SIDE_EFFECT_SRC = "open({marker!r}, 'w').write('module source was executed')\n"


@contextmanager
def fake_modules(**modules: dict):
    """Temporarily register importable modules so pickle can name their globals."""
    created = []
    for dotted, attrs in modules.items():
        parts = dotted.split(".")
        for i in range(1, len(parts) + 1):
            name = ".".join(parts[:i])
            if name not in sys.modules:
                sys.modules[name] = types.ModuleType(name)
                created.append(name)
        for k, v in attrs.items():
            v.__module__ = dotted
            v.__qualname__ = k
            setattr(sys.modules[dotted], k, v)
    try:
        yield
    finally:
        for name in created:
            del sys.modules[name]


# ---------------------------------------------------------------- stylegan2-ada-pytorch network pickle

def _reconstruct_persistent_obj(meta):  # only its name matters: pickle writes module + name
    raise AssertionError("never called")


class EasyDict(dict):
    pass


class Persistent:
    def __init__(self, meta):
        self.meta = meta

    def __reduce__(self):
        return (_reconstruct_persistent_obj, (self.meta,))


def _persistent(module: nn.Module, class_name: str, module_src: str, extra: dict) -> Persistent:
    params = OrderedDict((k, nn.Parameter(v.detach().clone())) for k, v in module._parameters.items())
    buffers = OrderedDict((k, v.detach().clone()) for k, v in module._buffers.items())
    subs = OrderedDict((k, _persistent(m, type(m).__name__, module_src, {})) for k, m in module._modules.items())
    state = {"training": False, "_parameters": params, "_buffers": buffers, "_non_persistent_buffers_set": set(),
             "_forward_hooks": OrderedDict(), "_modules": subs, **extra}
    return Persistent({"type": "class", "version": 6, "module_src": module_src, "class_name": class_name,
                       "state": state})


def write_ada_pickle(G: Generator, path: Path, module_src: str = "# networks\n", protocol: int = 4) -> None:
    cfg = G.config
    kwargs = EasyDict(z_dim=cfg.z_dim, c_dim=cfg.c_dim, w_dim=cfg.w_dim, img_resolution=cfg.img_resolution,
                      img_channels=cfg.img_channels,
                      mapping_kwargs=EasyDict(num_layers=cfg.mapping_layers),
                      synthesis_kwargs=EasyDict(channel_base=cfg.channel_base, channel_max=cfg.channel_max,
                                                num_fp16_res=cfg.num_fp16_res, conv_clamp=cfg.conv_clamp))
    with fake_modules(**{"torch_utils.persistence": {"_reconstruct_persistent_obj": _reconstruct_persistent_obj},
                         "dnnlib.util": {"EasyDict": EasyDict}}):
        g = _persistent(G, "Generator", module_src, {"z_dim": cfg.z_dim, "_init_args": (), "_init_kwargs": kwargs,
                                                     "weight_gain": np.float64(0.5)})
        data = {"G": None, "D": None, "G_ema": g, "augment_pipe": None,
                "training_set_kwargs": EasyDict(resolution=cfg.img_resolution)}
        path.write_bytes(pickle.dumps(data, protocol=protocol))


# ---------------------------------------------------------------- stylegan3-repo network pickle

SG3_CLASSES = {"StyleGAN3Generator": "Generator", "MappingNetwork": "MappingNetwork",
               "FullyConnectedLayer": "FullyConnectedLayer", "AliasFreeSynthesis": "SynthesisNetwork",
               "FourierInput": "SynthesisInput", "AliasFreeLayer": "SynthesisLayer"}


def _sg3_attributes(module: nn.Module) -> dict:
    """The plain attributes a stylegan3 object keeps in its state, with the types its pickles have."""
    if type(module).__name__ == "FourierInput":
        return {"channels": module.channels, "size": np.array(module.size, np.int64),
                "sampling_rate": np.float64(module.sampling_rate), "bandwidth": np.float64(module.bandwidth)}
    if type(module).__name__ == "AliasFreeLayer":
        p = module.plan
        return {"is_torgb": p.is_torgb, "is_critically_sampled": p.is_critically_sampled, "use_fp16": np.bool_(p.use_fp16),
                "in_channels": p.in_channels, "out_channels": p.out_channels,
                "in_size": np.array(p.in_size, np.int64), "out_size": np.array(p.out_size, np.int64),
                "in_sampling_rate": int(p.in_sampling_rate), "out_sampling_rate": int(p.out_sampling_rate),
                "tmp_sampling_rate": int(p.tmp_sampling_rate), "in_cutoff": np.float64(p.in_cutoff),
                "out_cutoff": np.float64(p.out_cutoff), "conv_kernel": p.conv_kernel, "up_factor": p.up_factor,
                "up_taps": p.up_taps, "down_factor": p.down_factor, "down_taps": p.down_taps,
                "down_radial": p.down_radial, "padding": list(p.padding), "conv_clamp": module.conv_clamp}
    if type(module).__name__ == "AliasFreeSynthesis":
        return {"num_ws": module.num_ws, "layer_names": list(module.layer_names)}
    return {}


def _sg3_persistent(module: nn.Module, module_src: str) -> Persistent:
    params = OrderedDict((k, nn.Parameter(v.detach().clone())) for k, v in module._parameters.items())
    buffers = OrderedDict((k, None if v is None else v.detach().clone()) for k, v in module._buffers.items())
    subs = OrderedDict((k, _sg3_persistent(m, module_src)) for k, m in module._modules.items())
    state = {"training": False, "_parameters": params, "_buffers": buffers, "_non_persistent_buffers_set": set(),
             "_forward_hooks": OrderedDict(), "_modules": subs, **_sg3_attributes(module)}
    return Persistent({"type": "class", "version": 6, "module_src": module_src,
                       "class_name": SG3_CLASSES[type(module).__name__], "state": state})


def write_sg3_pickle(G, path: Path, module_src: str = "class SynthesisInput(torch.nn.Module):\n    pass\n",
                     protocol: int = 4) -> None:
    """A StyleGAN3 generator as the stylegan3 repository's training loop pickles it (constructor keywords at
    the top level, numpy arrays and scalars among the attributes), with placeholder module source."""
    cfg = G.config
    kwargs = EasyDict(z_dim=cfg.z_dim, w_dim=cfg.w_dim, mapping_kwargs=EasyDict(num_layers=cfg.mapping_layers),
                      channel_base=cfg.channel_base, channel_max=cfg.channel_max, num_fp16_res=cfg.num_fp16_res,
                      conv_clamp=cfg.conv_clamp, c_dim=cfg.c_dim, img_resolution=cfg.img_resolution,
                      img_channels=cfg.img_channels)
    if cfg.use_radial_filters:
        kwargs.update(conv_kernel=cfg.conv_kernel, use_radial_filters=True)
    with fake_modules(**{"torch_utils.persistence": {"_reconstruct_persistent_obj": _reconstruct_persistent_obj},
                         "dnnlib.util": {"EasyDict": EasyDict}}):
        g = _sg3_persistent(G, module_src)
        g.meta["state"].update({"_init_args": (), "_init_kwargs": kwargs, "z_dim": cfg.z_dim})
        data = {"G": None, "D": None, "G_ema": g, "augment_pipe": None,
                "training_set_kwargs": EasyDict(resolution=cfg.img_resolution)}
        path.write_bytes(pickle.dumps(data, protocol=protocol))


# ---------------------------------------------------------------- TensorFlow StyleGAN2 pickle

class Network:
    def __init__(self, state):
        self._state = state

    def __getstate__(self):
        return self._state

    def __setstate__(self, state):
        self._state = state


def tf_variables(G: Generator) -> tuple[dict, dict]:
    sd = {k: v.numpy() for k, v in G.state_dict().items()}
    mapping = {f"Dense{i}/{p}": (sd[f"mapping.fc{i}.weight"].T if p == "weight" else sd[f"mapping.fc{i}.bias"])
               for i in range(G.config.mapping_layers) for p in ("weight", "bias")}
    syn: dict[str, np.ndarray] = {}
    noise = 0

    def layer(src: str, dst: str, flip: bool, has_noise: bool = True):
        nonlocal noise
        w = sd[f"{src}.weight"].transpose(2, 3, 1, 0)
        syn[f"{dst}/weight"] = np.ascontiguousarray(w[::-1, ::-1] if flip else w)
        syn[f"{dst}/mod_weight"] = sd[f"{src}.affine.weight"].T
        syn[f"{dst}/mod_bias"] = sd[f"{src}.affine.bias"] - 1
        syn[f"{dst}/bias"] = sd[f"{src}.bias"]
        if has_noise:
            syn[f"{dst}/noise_strength"] = sd[f"{src}.noise_strength"]
            syn[f"noise{noise}"] = sd[f"{src}.noise_const"][None, None]
            noise += 1

    for res in G.config.block_resolutions:
        b, p = f"synthesis.b{res}", f"{res}x{res}"
        if res == 4:
            syn["4x4/Const/const"] = sd[f"{b}.const"][None]
            layer(f"{b}.conv1", f"{p}/Conv", False)
        else:
            layer(f"{b}.conv0", f"{p}/Conv0_up", True)
            layer(f"{b}.conv1", f"{p}/Conv1", False)
        layer(f"{b}.torgb", f"{p}/ToRGB", False, has_noise=False)
    return mapping, syn


def write_tf_pickle(G: Generator, path: Path, with_dlatent_avg: bool = True, extra_mapping=None) -> None:
    mapping, syn = tf_variables(G)
    mapping.update(extra_mapping or {})
    top = [("dlatent_avg", G.mapping.w_avg.numpy())] if with_dlatent_avg else []
    with fake_modules(**{"dnnlib.tflib.network": {"Network": Network}}):
        def net(name, variables, components=None):
            return Network({"version": 4, "name": name, "static_kwargs": {"resolution": G.img_resolution},
                            "components": components or {}, "build_module_src": "import os\n",
                            "build_func_name": name, "variables": list(variables.items()) if isinstance(variables, dict) else variables})
        gs = net("G", top, {"mapping": net("G_mapping", mapping), "synthesis": net("G_synthesis", syn)})
        path.write_bytes(pickle.dumps((net("G", []), net("D", []), gs), protocol=3))


# ---------------------------------------------------------------- rosinality stylegan2-pytorch .pt

def rosinality_state_dict(G: Generator) -> dict[str, torch.Tensor]:
    sd = G.state_dict()
    out: dict[str, torch.Tensor] = {}
    for i in range(G.config.mapping_layers):
        out[f"style.{i + 1}.weight"] = sd[f"mapping.fc{i}.weight"]
        out[f"style.{i + 1}.bias"] = sd[f"mapping.fc{i}.bias"]
    out["input.input"] = sd["synthesis.b4.const"][None]

    def conv(src, dst, noise):
        out[f"{dst}.conv.weight"] = sd[f"{src}.weight"][None]
        out[f"{dst}.conv.modulation.weight"] = sd[f"{src}.affine.weight"]
        out[f"{dst}.conv.modulation.bias"] = sd[f"{src}.affine.bias"]
        out[f"{dst}.noise.weight"] = sd[f"{src}.noise_strength"].reshape(1)
        out[f"{dst}.activate.bias"] = sd[f"{src}.bias"]
        out[f"noises.noise_{noise}"] = sd[f"{src}.noise_const"][None, None]

    def torgb(src, dst):
        out[f"{dst}.conv.weight"] = sd[f"{src}.weight"][None]
        out[f"{dst}.conv.modulation.weight"] = sd[f"{src}.affine.weight"]
        out[f"{dst}.conv.modulation.bias"] = sd[f"{src}.affine.bias"]
        out[f"{dst}.bias"] = sd[f"{src}.bias"].reshape(1, -1, 1, 1)

    conv("synthesis.b4.conv1", "conv1", 0)
    torgb("synthesis.b4.torgb", "to_rgb1")
    for j, res in enumerate(G.config.block_resolutions[1:]):
        conv(f"synthesis.b{res}.conv0", f"convs.{2 * j}", 2 * j + 1)
        conv(f"synthesis.b{res}.conv1", f"convs.{2 * j + 1}", 2 * j + 2)
        out[f"convs.{2 * j}.conv.blur.kernel"] = sd[f"synthesis.b{res}.resample_filter"] * 4
        torgb(f"synthesis.b{res}.torgb", f"to_rgbs.{j}")
        out[f"to_rgbs.{j}.upsample.kernel"] = sd[f"synthesis.b{res}.resample_filter"] * 4
    return {k: v.clone() for k, v in out.items()}


def write_rosinality(G: Generator, path: Path, with_latent_avg: bool = True) -> None:
    ckpt = {"g_ema": rosinality_state_dict(G), "args": argparse.Namespace(size=G.img_resolution, n_mlp=8)}
    if with_latent_avg:
        ckpt["latent_avg"] = G.mapping.w_avg.clone()
    torch.save(ckpt, path)
