"""Read generator checkpoints of every common format into (config, state dict) in our layout.

Formats: stylegan2-ada-pytorch and stylegan3-repo network pickles (StyleGAN2, and StyleGAN3 configs
T and R), original TensorFlow StyleGAN2 pickles, rosinality stylegan2-pytorch `.pt`, and lavlive's
own `.safetensors` (family and config as JSON in the header). Pickles go through `safe_pickle` and
torch files through weights-only loading, so no file can run code. Every shape is checked against
the network the config describes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import pickle
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import safetensors
import safetensors.torch
import torch
from torch import Tensor

from ..errors import LavliveError, shown
from .families import FAMILY_NAMES, NetworkConfig, config_from_dict, expected_shapes
from .network import GeneratorConfig, fir_kernel
from .safe_pickle import PersistentObject, TFNetwork, UnsafePickleError, safe_load
from .stylegan3 import StyleGAN3Config, layer_plans

FORMAT_TAGS = {"lavlive-stylegan2": "stylegan2", "lavlive-stylegan3": "stylegan3"}  # lavlive's own files, by family
BUFFERS = ("noise_const", "resample_filter", "w_avg", "magnitude_ema", "up_filter", "down_filter", "transform",
           "freqs", "phases")
TORCH_LEGACY_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19"
# No trained StyleGAN2 stores a weight near this (the reference fixture's largest is 484, the mapping's
# weights scaled by 1/lr_multiplier); beyond it lies a float whose exponent bits were damaged.
MAX_WEIGHT = 1e10


class CheckpointError(LavliveError):
    pass


@dataclass
class Checkpoint:
    config: NetworkConfig
    state_dict: dict[str, Tensor]
    format: str
    has_w_avg: bool = True


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_checkpoint(path: str | Path) -> Checkpoint:
    """Detect the format by content and read it; every failure is a one-line CheckpointError."""
    path = Path(path)
    fail = _failer(path)
    if not path.exists():
        raise fail("file not found", "check the path")
    if path.is_dir():
        raise fail("is a folder, not a checkpoint file", "give the .pkl, .pt or .safetensors file")
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as e:
        raise fail(f"cannot be read ({e.strerror})", "check its permissions") from None
    if not head:
        raise fail("is empty", "the download or copy is incomplete; fetch it again")
    try:
        if _looks_like_safetensors(path, head):
            ckpt = _read_safetensors(path)
        elif head.startswith(b"PK") or head.startswith(TORCH_LEGACY_MAGIC):
            ckpt = _read_torch_file(path, fail)
        elif head[:1] == b"\x80":
            with open(path, "rb") as f:
                ckpt = _read_pickle(safe_load(f), fail)
        else:
            raise fail("is not a StyleGAN checkpoint (unrecognised content)",
                       "use a .pkl, .pt or .safetensors generator file")
        validate(ckpt.config, ckpt.state_dict, fail)
    except CheckpointError:
        raise
    except UnsafePickleError as e:
        raise fail(f"was refused because it tries to load code: {e}",
                   "only use checkpoints from sources you trust; nothing from it was run") from None
    except MemoryError:
        raise fail("is corrupt (it asks for more memory than exists)", "download or convert it again") from None
    except Exception as e:  # noqa: BLE001 - any other failure of a hostile or damaged file is "corrupt"
        detail = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise fail(f"is truncated or corrupt ({detail})", "download or convert it again") from None
    ckpt.state_dict = {k: v.float() for k, v in ckpt.state_dict.items()}
    return ckpt


def _failer(path: Path):
    def fail(what: str, todo: str) -> CheckpointError:
        return CheckpointError(f"{path}: {what}; {todo}")

    return fail


def validate(cfg: NetworkConfig, sd: dict[str, Tensor], fail) -> None:
    expected = expected_shapes(cfg)
    missing = sorted(set(expected) - set(sd))
    extra = sorted(set(sd) - set(expected))
    family = FAMILY_NAMES[cfg.family]
    if missing:
        raise fail(f"lacks tensor '{missing[0]}' ({len(missing)} missing) for a "
                   f"{cfg.img_resolution}px {family}", f"the file is not a complete {family} generator")
    if extra:
        raise fail(f"has unexpected tensor '{extra[0]}' ({len(extra)} extra)",
                   f"the file is not a {family} generator of a supported architecture")
    for name, shape in expected.items():
        if tuple(sd[name].shape) != shape:
            raise fail(f"tensor '{name}' has shape {list(sd[name].shape)}, expected {list(shape)}",
                       "the file is corrupt or its config does not match its weights")
        if not sd[name].is_floating_point():
            raise fail(f"tensor '{name}' is {sd[name].dtype}, not floating point", "the file is corrupt")
        largest = float(sd[name].abs().amax()) if sd[name].numel() else 0.0  # NaN and inf come through
        if not math.isfinite(largest):
            raise fail(f"tensor '{name}' holds non-finite values (NaN or inf)", "the file is corrupt; fetch it again")
        if largest > MAX_WEIGHT:
            raise fail(f"tensor '{name}' holds a value of {largest:.3g}, far beyond any trained weight",
                       "the file is corrupt; fetch it again")
        if name.endswith("magnitude_ema") and not float(sd[name].min()) > 0:  # a mean square: its input is ÷ its root
            raise fail(f"tensor '{name}' is {float(sd[name].min()):g}, not a positive magnitude",
                       "the file is corrupt; fetch it again")


# ---------------------------------------------------------------------------- lavlive .safetensors


def _looks_like_safetensors(path: Path, head: bytes) -> bool:
    return path.suffix == ".safetensors" or (len(head) >= 9 and head[8:9] == b"{")


def _read_safetensors(path: Path) -> Checkpoint:
    with safetensors.safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        if meta.get("format") not in FORMAT_TAGS or "config" not in meta:
            raise _failer(path)("is a .safetensors file without a lavlive generator config",
                                "convert the original checkpoint with 'lavlive models convert'")
        sd = {k: f.get_tensor(k) for k in f.keys()}
    fail = _failer(path)
    try:
        raw = json.loads(meta["config"])
    except ValueError:
        raise fail("has a generator config that is not valid JSON", "the file is corrupt; convert it again") from None
    if not isinstance(raw, dict):
        raise fail("has a generator config that is not a JSON object", "the file is corrupt; convert it again")
    try:
        cfg = config_from_dict(FORMAT_TAGS[meta["format"]], raw)
    except (ValueError, TypeError) as e:
        raise fail(f"has an unusable generator config ({e})", "the file is corrupt; convert it again") from None
    return Checkpoint(cfg, sd, "lavlive-safetensors")


def write_safetensors(cfg: NetworkConfig, sd: dict[str, Tensor], path: Path, extra: dict[str, str]) -> None:
    tag = next(tag for tag, family in FORMAT_TAGS.items() if family == cfg.family)
    meta = {"format": tag, "config": json.dumps(cfg.to_dict()), **extra}
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous().clone() for k, v in sd.items()}
    safetensors.torch.save_file(tensors, str(path), metadata=meta)


# ---------------------------------------------------------------------------- NVIDIA pickles


def _read_pickle(data: Any, fail) -> Checkpoint:
    if isinstance(data, dict) and isinstance(data.get("G_ema"), PersistentObject):
        return _from_ada(data["G_ema"], fail)
    if isinstance(data, (tuple, list)) and data and all(isinstance(x, TFNetwork) for x in data):
        return _from_tf(data[-1], fail)  # (G, D, Gs): Gs is the moving average
    if isinstance(data, TFNetwork):
        return _from_tf(data, fail)
    raise fail("is a pickle but not a StyleGAN network pickle (no G_ema)",
               "use a network pickle from stylegan2-ada-pytorch, stylegan3 or the TF StyleGAN2")


def _flatten_persistent(obj: Any, prefix: str, fail) -> dict[str, Tensor]:
    if not isinstance(obj, PersistentObject):
        raise fail(f"module '{prefix.rstrip('.')}' is not a network object", "the file is corrupt")
    out: dict[str, Tensor] = {}
    skip = obj.state.get("_non_persistent_buffers_set") or set()
    for group in ("_parameters", "_buffers"):
        for name, t in (obj.state.get(group) or {}).items():
            if t is not None and name not in skip:
                if not isinstance(t, Tensor):
                    raise fail(f"'{prefix}{name}' is not a tensor", "the file is corrupt")
                out[prefix + name] = t.detach()
    for name, sub in (obj.state.get("_modules") or {}).items():
        out.update(_flatten_persistent(sub, f"{prefix}{name}.", fail))
    return out


def _from_ada(g: PersistentObject, fail) -> Checkpoint:
    modules = g.state.get("_modules") or {}
    synthesis = modules.get("synthesis")
    if isinstance(synthesis, PersistentObject) and (
        "input" in (synthesis.state.get("_modules") or {}) or "class SynthesisInput" in synthesis.module_src
    ):
        return _from_stylegan3(g, synthesis, fail)
    if g.class_name != "Generator" or not isinstance(synthesis, PersistentObject):
        what = f"a '{g.class_name}'" if g.class_name else "an object without a class name"
        raise fail(f"G_ema is {what}, not a StyleGAN2 generator", "use a StyleGAN2 network pickle")
    kw = dict(g.state.get("_init_kwargs") or {})
    mk = dict(kw.get("mapping_kwargs") or {})
    sk = dict(kw.get("synthesis_kwargs") or {})
    arch = sk.get("architecture", "skip")
    if arch != "skip":
        raise fail(f"names the generator architecture {shown(arch)}; lavlive supports 'skip' (config E/F)",
                   "use a StyleGAN2 config-F style network")
    sd = _flatten_persistent(g, "", fail)
    try:
        cfg = GeneratorConfig(
            z_dim=_setting(kw, "z_dim", int), c_dim=_setting(kw, "c_dim", int, 0), w_dim=_setting(kw, "w_dim", int),
            img_resolution=_setting(kw, "img_resolution", int), img_channels=_setting(kw, "img_channels", int),
            mapping_layers=_setting(mk, "num_layers", int, 8),
            mapping_lr_multiplier=_setting(mk, "lr_multiplier", float, 0.01),
            channel_base=_setting(sk, "channel_base", int, 32768), channel_max=_setting(sk, "channel_max", int, 512),
            num_fp16_res=_setting(sk, "num_fp16_res", int, 0),
            conv_clamp=None if sk.get("conv_clamp") is None else _setting(sk, "conv_clamp", float),
            resample_filter=_setting(sk, "resample_filter", _taps, (1, 3, 3, 1)),
        )
    except ValueError as e:
        raise fail(f"has an unusable generator config ({e})", "the file is corrupt or of an unsupported kind") from None
    return Checkpoint(cfg, sd, "stylegan2-ada-pickle")


def _from_stylegan3(g: PersistentObject, synthesis: PersistentObject, fail) -> Checkpoint:
    """A stylegan3-repo network pickle, config T or R: the config from the constructor's keywords (stylegan3 takes
    the synthesis ones at the top level; the repository's defaults where a file lacks one), checked against the
    layers the file holds."""
    if g.class_name != "Generator":
        what = f"a '{g.class_name}'" if g.class_name else "an object without a class name"
        raise fail(f"G_ema is {what}, not a StyleGAN3 generator", "use a StyleGAN3 network pickle")
    kw = dict(g.state.get("_init_kwargs") or {})
    mk = dict(kw.get("mapping_kwargs") or {})
    sk = {**kw, **dict(kw.get("synthesis_kwargs") or {})}
    d = StyleGAN3Config()
    try:
        cfg = StyleGAN3Config(
            z_dim=_setting(kw, "z_dim", int), c_dim=_setting(kw, "c_dim", int, 0), w_dim=_setting(kw, "w_dim", int),
            img_resolution=_setting(kw, "img_resolution", int), img_channels=_setting(kw, "img_channels", int),
            mapping_layers=_setting(mk, "num_layers", int, d.mapping_layers),
            mapping_lr_multiplier=_setting(mk, "lr_multiplier", float, d.mapping_lr_multiplier),
            **{name: _setting(sk, name, kind, getattr(d, name)) for name, kind in (
                ("channel_base", int), ("channel_max", int), ("num_layers", int), ("num_critical", int),
                ("first_cutoff", float), ("first_stopband", float), ("last_stopband_rel", float),
                ("margin_size", int), ("output_scale", float), ("conv_kernel", int), ("filter_size", int),
                ("lrelu_upsampling", int), ("use_radial_filters", _flag), ("num_fp16_res", int))},
            conv_clamp=None if "conv_clamp" in sk and sk["conv_clamp"] is None
            else _setting(sk, "conv_clamp", float, d.conv_clamp))
    except ValueError as e:
        raise fail(f"has an unusable StyleGAN3 config ({e})", "the file is corrupt or of an unsupported kind") from None
    _check_layers(cfg, synthesis, fail)
    return Checkpoint(cfg, _flatten_persistent(g, "", fail), "stylegan3-pickle")


def _check_layers(cfg: StyleGAN3Config, synthesis: PersistentObject, fail) -> None:
    """The layers the file holds are the ones the config gives (names, sizes, rates, filters, padding): a file
    made by a variant of the code, with layers lavlive would lay out otherwise, is refused, not misdrawn."""
    layers = synthesis.state.get("_modules") or {}
    plans = layer_plans(cfg)
    names = [name for name in layers if name != "input"]
    if names != [p.name for p in plans]:
        raise fail(f"has the StyleGAN3 layers {shown(', '.join(names))}, not the {len(plans)} its config gives",
                   "the file is of a StyleGAN3 variant lavlive does not know")
    for plan in plans:
        state = layers[plan.name].state if isinstance(layers[plan.name], PersistentObject) else {}
        stored = {key: state[key] for key in ("up_factor", "down_factor", "up_taps", "down_taps", "padding",
                                               "conv_kernel", "is_torgb") if key in state}
        mine = {key: getattr(plan, key) for key in stored}
        try:
            same = {k: int(v) if k != "padding" else tuple(int(x) for x in v) for k, v in stored.items()} == \
                {k: v if k != "padding" else tuple(v) for k, v in mine.items()}
        except (TypeError, ValueError):
            same = False
        if not same:
            raise fail(f"has a StyleGAN3 layer {plan.name} laid out otherwise than its config gives",
                       "the file is of a StyleGAN3 variant lavlive does not know")


def _flag(v: Any) -> bool:
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    raise ValueError("not a bool")


_REQUIRED = object()


def _setting(d: dict[str, Any], key: str, cast: Any, default: Any = _REQUIRED) -> Any:
    """One constructor argument from a pickle; a missing or mistyped one is named (never shown as 'None')."""
    if key not in d:
        if default is _REQUIRED:
            raise ValueError(f"{key} is missing")
        return default
    try:
        return cast(d[key])
    except (TypeError, ValueError, OverflowError):
        kind = "a number" if cast in (int, float) else "true or false" if cast is _flag else "a list of taps"
        raise ValueError(f"{key} is {shown(d[key])}, not {kind}") from None


def _taps(v: Any) -> tuple[int, ...]:
    return tuple(int(t) for t in v)


def _tf_vars(net: TFNetwork, prefix: str = "") -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for entry in net.state.get("variables") or []:
        if not (isinstance(entry, (tuple, list)) and len(entry) == 2):
            raise ValueError(f"a variable under '{prefix or '/'}' is not a (name, value) pair")
        out[prefix + str(entry[0])] = value = np.asarray(entry[1])
        if value.dtype.kind not in "fiu":
            raise ValueError(f"variable '{prefix}{entry[0]}' is not a numeric array")
    for cname, comp in (net.state.get("components") or {}).items():
        if isinstance(comp, TFNetwork):
            out.update(_tf_vars(comp, f"{prefix}{cname}/"))
    return out


def _from_tf(gs: TFNetwork, fail) -> Checkpoint:
    kw = dict(gs.state.get("static_kwargs") or {})
    if kw.get("architecture", "skip") != "skip":
        raise fail(f"names the architecture {shown(kw['architecture'])}; lavlive supports 'skip' (config E/F)",
                   "use a StyleGAN2 config-F network")
    tf = _tf_vars(gs)
    if "synthesis/4x4/Const/const" not in tf:
        raise fail("is a TensorFlow network pickle but not a StyleGAN2 generator", "use the Gs of a StyleGAN2 pickle")
    if "mapping/LabelConcat/weight" in tf:
        raise fail("is a class-conditional TensorFlow network, which lavlive does not read yet",
                   "convert it with stylegan2-ada-pytorch's legacy.py first, then load the .pkl it writes")
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))  # noqa: E731
    sd: dict[str, Tensor] = {}
    i = 0
    while f"mapping/Dense{i}/weight" in tf:
        sd[f"mapping.fc{i}.weight"] = t(tf[f"mapping/Dense{i}/weight"].T)
        sd[f"mapping.fc{i}.bias"] = t(tf[f"mapping/Dense{i}/bias"])
        i += 1
    res_max = 2 ** max(int(math.log2(int(k.split("/")[1].split("x")[0])))
                       for k in tf if k.startswith("synthesis/") and "x" in k.split("/")[1])
    sd["synthesis.b4.const"] = t(tf["synthesis/4x4/Const/const"][0])
    noise_idx = 0

    def layer(dst: str, src: str, flip: bool) -> None:
        nonlocal noise_idx
        w = tf[f"{src}/weight"]
        if flip:
            w = w[::-1, ::-1]
        sd[f"{dst}.weight"] = t(w.transpose(3, 2, 0, 1))
        sd[f"{dst}.affine.weight"] = t(tf[f"{src}/mod_weight"].T)
        sd[f"{dst}.affine.bias"] = t(tf[f"{src}/mod_bias"] + 1)
        sd[f"{dst}.bias"] = t(tf[f"{src}/bias"])
        if "ToRGB" not in src:
            sd[f"{dst}.noise_strength"] = t(tf[f"{src}/noise_strength"]).reshape([])
            sd[f"{dst}.noise_const"] = t(tf[f"synthesis/noise{noise_idx}"][0, 0])
            noise_idx += 1

    res = 4
    while res <= res_max:
        pre, dst = f"synthesis/{res}x{res}", f"synthesis.b{res}"
        if res == 4:
            layer(f"{dst}.conv1", f"{pre}/Conv", flip=False)
        else:
            layer(f"{dst}.conv0", f"{pre}/Conv0_up", flip=True)
            layer(f"{dst}.conv1", f"{pre}/Conv1", flip=False)
        layer(f"{dst}.torgb", f"{pre}/ToRGB", flip=False)
        res *= 2
    has_avg = "dlatent_avg" in tf
    if has_avg:
        sd["mapping.w_avg"] = t(tf["dlatent_avg"])
    try:
        cfg = replace(infer_config(sd, fail), mapping_lr_multiplier=_setting(kw, "mapping_lrmul", float, 0.01),
                      resample_filter=_setting(kw, "resample_kernel", _taps, (1, 3, 3, 1)))
    except ValueError as e:
        raise fail(f"has an unusable generator config ({e})", "the file is corrupt or of an unsupported kind") from None
    return Checkpoint(cfg, _with_filters(cfg, sd), "stylegan2-tf-pickle", has_avg)


# ---------------------------------------------------------------------------- rosinality .pt


def _read_torch_file(path: Path, fail) -> Checkpoint:
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            data = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else "refused"
        if "Unsupported global" in str(e) or "Weights only load failed" in first:
            raise UnsafePickleError(first) from None
        raise
    if isinstance(data, dict) and isinstance(data.get("g_ema"), dict):
        sd, avg = data["g_ema"], data.get("latent_avg")
    elif isinstance(data, dict) and "style.1.weight" in data:
        sd, avg = data, None
    else:
        raise fail("is a torch file but not a rosinality stylegan2-pytorch checkpoint (no g_ema)",
                   "use a checkpoint from rosinality/stylegan2-pytorch or a network pickle")
    return _from_rosinality(sd, avg, fail)


def _from_rosinality(src: dict[str, Tensor], latent_avg: Any, fail) -> Checkpoint:
    if "input.input" not in src or "conv1.conv.weight" not in src:
        raise fail("has a g_ema without StyleGAN2 generator weights", "the checkpoint is not a stylegan2-pytorch one")
    damaged = next((k for k, v in src.items() if not isinstance(v, Tensor)), None)
    if damaged is not None:
        raise fail(f"g_ema entry '{damaged}' is not a tensor", "the file is corrupt")
    sd: dict[str, Tensor] = {}
    i = 1
    while f"style.{i}.weight" in src:
        sd[f"mapping.fc{i - 1}.weight"] = src[f"style.{i}.weight"]
        sd[f"mapping.fc{i - 1}.bias"] = src[f"style.{i}.bias"]
        i += 1
    sd["synthesis.b4.const"] = src["input.input"][0]

    def conv(dst: str, s: str, noise: int) -> None:
        sd[f"{dst}.weight"] = src[f"{s}.conv.weight"][0]
        sd[f"{dst}.affine.weight"] = src[f"{s}.conv.modulation.weight"]
        sd[f"{dst}.affine.bias"] = src[f"{s}.conv.modulation.bias"]
        sd[f"{dst}.noise_strength"] = src[f"{s}.noise.weight"].reshape([])
        sd[f"{dst}.bias"] = src[f"{s}.activate.bias"]
        sd[f"{dst}.noise_const"] = src[f"noises.noise_{noise}"][0, 0]

    def torgb(dst: str, s: str) -> None:
        sd[f"{dst}.weight"] = src[f"{s}.conv.weight"][0]
        sd[f"{dst}.affine.weight"] = src[f"{s}.conv.modulation.weight"]
        sd[f"{dst}.affine.bias"] = src[f"{s}.conv.modulation.bias"]
        sd[f"{dst}.bias"] = src[f"{s}.bias"].reshape(-1)

    conv("synthesis.b4.conv1", "conv1", 0)
    torgb("synthesis.b4.torgb", "to_rgb1")
    j = 0
    while f"convs.{2 * j}.conv.weight" in src:
        res = 8 * 2**j
        conv(f"synthesis.b{res}.conv0", f"convs.{2 * j}", 2 * j + 1)
        conv(f"synthesis.b{res}.conv1", f"convs.{2 * j + 1}", 2 * j + 2)
        torgb(f"synthesis.b{res}.torgb", f"to_rgbs.{j}")
        j += 1
    has_avg = isinstance(latent_avg, Tensor)
    if has_avg:
        sd["mapping.w_avg"] = latent_avg.reshape(-1)
    cfg = infer_config(sd, fail)
    return Checkpoint(cfg, _with_filters(cfg, sd), "rosinality-pt", has_avg)


# ---------------------------------------------------------------------------- shape inference


def infer_config(sd: dict[str, Tensor], fail) -> GeneratorConfig:
    """Config from tensor shapes alone: channels per resolution → (channel_base, channel_max)."""
    try:
        resolutions = sorted(int(k.split(".")[1][1:]) for k in sd if k.startswith("synthesis.b") and k.endswith(".conv1.weight"))
        channels = {r: sd[f"synthesis.b{r}.conv1.weight"].shape[0] for r in resolutions}
        layers = sum(1 for k in sd if k.startswith("mapping.fc") and k.endswith(".weight"))
        w_dim = sd["mapping.fc0.weight"].shape[0]
        c_dim = sd["mapping.embed.weight"].shape[1] if "mapping.embed.weight" in sd else 0
        z_dim = sd["mapping.fc0.weight"].shape[1] - (w_dim if c_dim else 0)
        img_channels = sd[f"synthesis.b{resolutions[-1]}.torgb.weight"].shape[0]
    except (KeyError, IndexError, ValueError) as e:
        raise fail(f"has an incomplete generator (cannot read {e})", "the file is corrupt") from None
    channel_max = max(channels.values())
    below = [c * r for r, c in channels.items() if c < channel_max]
    channel_base = min(below) if below else channel_max * resolutions[-1]
    cfg = GeneratorConfig(z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, img_resolution=resolutions[-1],
                          img_channels=img_channels, mapping_layers=layers,
                          channel_base=channel_base, channel_max=channel_max)
    if resolutions != cfg.block_resolutions or any(cfg.channels(r) != c for r, c in channels.items()):
        raise fail(f"has a channel layout lavlive cannot express ({channels})", "please report this file")
    return cfg


def _with_filters(cfg: GeneratorConfig, sd: dict[str, Tensor]) -> dict[str, Tensor]:
    """Add the fixed FIR buffers (and w_avg placeholder) that converted formats do not store."""
    out = dict(sd)
    kernel = fir_kernel(cfg.resample_filter)
    for name in expected_shapes(cfg):
        if name.endswith("resample_filter"):
            out[name] = kernel.clone()
    out.setdefault("mapping.w_avg", torch.zeros(cfg.w_dim))
    return out


def describe(ckpt: Checkpoint) -> dict[str, Any]:
    """What `lavlive models info` says of a checkpoint: its family and config, shapes and fp16 settings."""
    cfg = ckpt.config
    info = {
        "format": ckpt.format,
        "family": FAMILY_NAMES[cfg.family],
        "resolution": cfg.img_resolution,
        "num_ws": cfg.num_ws,
        "z_dim": cfg.z_dim,
        "w_dim": cfg.w_dim,
        "c_dim": cfg.c_dim,
        "mapping_layers": cfg.mapping_layers,
        "num_fp16_res": cfg.num_fp16_res,
        "conv_clamp": cfg.conv_clamp,
        "parameters": sum(v.numel() for k, v in ckpt.state_dict.items() if not k.endswith(BUFFERS)),
    }
    if isinstance(cfg, StyleGAN3Config):
        plans = layer_plans(cfg)
        info["family"] += f" (config {'R' if cfg.use_radial_filters else 'T'})"
        info["layers"] = {p.name: {"size": p.out_size[0], "channels": p.out_channels} for p in plans}
        info["fp16_layers"] = [p.name for p in plans if p.use_fp16] if cfg.num_fp16_res else []
    else:
        info["channels"] = {r: cfg.channels(r) for r in cfg.block_resolutions}
        info["fp16_resolutions"] = \
            [r for r in cfg.block_resolutions if r >= cfg.fp16_resolution] if cfg.num_fp16_res else []
    return info

