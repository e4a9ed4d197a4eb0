"""EnCodec encoders as data: their configs, their weight files, and where weights are found.

The networks are the `encodec` package's `SEANetEncoder`; this module only says how to build
them and how to fill them. Three encoders are known (`ENCODERS`):

- `24khz`: the package's causal 24 kHz model (75 Hz, mono).
- `32khz`: the MusicGen codec (50 Hz, mono), published as the Hugging Face folder
  facebook/encodec_32khz. Its settings are those of that folder's config.json, which the
  transformers conversion script derives from the EncodecConfig defaults plus ratios [8,5,4,4],
  64 filters, non-causal, no conv shortcut: weight_norm, kernel 7 / last kernel 7 / residual
  kernel 3, dilation base 2, 1 residual layer, compress 2, 2 LSTM layers, pad_mode "reflect".
  (audiocraft's own config may pad with zeros; a folder's config.json always wins.)
- `48khz`: the package's non-causal stereo model (150 Hz, time group norm, 1 s segments
  normalised by their RMS).

Weights come from, in order: a path the user gives; the cache where the package (torch hub) or
Hugging Face keeps downloads; a download, only when asked; else a seeded random init, with a
one-line notice. Every file is read weights-only, so no checkpoint can run code.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import Tensor

from ..errors import LavliveError

ROOT_URL = "https://dl.fbaipublicfiles.com/encodec/v0/"
HF_REPO_32K = "facebook/encodec_32khz"


_HF_REQUIRED_IF_PRESENT = (  # the EncodecConfig keys read below that have no meaning as null
    "sampling_rate", "audio_channels", "hidden_size", "num_filters", "num_residual_layers", "upsampling_ratios",
    "norm_type", "kernel_size", "last_kernel_size", "residual_kernel_size", "dilation_growth_rate",
    "use_causal_conv", "pad_mode", "use_conv_shortcut", "compress", "num_lstm_layers", "normalize")


@dataclass(frozen=True)
class SeanetSpec:
    """Everything that shapes an EnCodec encoder; field meanings follow `encodec.modules.SEANetEncoder`."""

    sample_rate: int
    channels: int = 1
    dimension: int = 128
    n_filters: int = 32
    n_residual_layers: int = 1
    ratios: tuple[int, ...] = (8, 5, 4, 2)
    norm: str = "weight_norm"
    kernel_size: int = 7
    last_kernel_size: int = 7
    residual_kernel_size: int = 3
    dilation_base: int = 2
    causal: bool = False
    pad_mode: str = "reflect"
    true_skip: bool = False
    compress: int = 2
    lstm: int = 2
    normalize: bool = False  # divide each segment by its RMS before encoding
    segment: float | None = None  # seconds per independently encoded segment

    @property
    def hop(self) -> int:
        return math.prod(self.ratios)

    @property
    def frame_rate(self) -> float:
        return self.sample_rate / self.hop

    def seanet_kwargs(self) -> dict[str, Any]:
        kw = asdict(self)
        for k in ("sample_rate", "normalize", "segment"):
            kw.pop(k)
        kw["ratios"] = list(self.ratios)
        return kw

    @classmethod
    def from_hf_config(cls, cfg: Mapping[str, Any]) -> "SeanetSpec":
        """Read a Hugging Face `EncodecConfig` dict (config.json); absent fields take its defaults.

        A null is refused by name: int(None) or str(None) would say 'NoneType' or build a 'None' norm."""
        if not isinstance(cfg, Mapping):
            raise ValueError("the file is not a JSON object of settings")
        null = next((key for key in _HF_REQUIRED_IF_PRESENT if key in cfg and cfg[key] is None), None)
        if null is not None:
            raise ValueError(f"{null} is null; give a value or leave the key out")
        return cls(
            sample_rate=int(cfg.get("sampling_rate", 24_000)),
            channels=int(cfg.get("audio_channels", 1)),
            dimension=int(cfg.get("hidden_size", 128)),
            n_filters=int(cfg.get("num_filters", 32)),
            n_residual_layers=int(cfg.get("num_residual_layers", 1)),
            ratios=tuple(int(r) for r in cfg.get("upsampling_ratios", (8, 5, 4, 2))),
            norm=str(cfg.get("norm_type", "weight_norm")),
            kernel_size=int(cfg.get("kernel_size", 7)),
            last_kernel_size=int(cfg.get("last_kernel_size", 7)),
            residual_kernel_size=int(cfg.get("residual_kernel_size", 3)),
            dilation_base=int(cfg.get("dilation_growth_rate", 2)),
            causal=bool(cfg.get("use_causal_conv", True)),
            pad_mode=str(cfg.get("pad_mode", "reflect")),
            true_skip=not bool(cfg.get("use_conv_shortcut", True)),
            compress=int(cfg.get("compress", 2)),
            lstm=int(cfg.get("num_lstm_layers", 2)),
            normalize=bool(cfg.get("normalize", False)),
            segment=None if cfg.get("chunk_length_s") is None else float(cfg["chunk_length_s"]),
        )

    def to_hf_config(self) -> dict[str, Any]:
        """The EncodecConfig fields for this encoder (what a Hugging Face config.json holds)."""
        return {
            "model_type": "encodec", "sampling_rate": self.sample_rate, "audio_channels": self.channels,
            "hidden_size": self.dimension, "num_filters": self.n_filters,
            "num_residual_layers": self.n_residual_layers, "upsampling_ratios": list(self.ratios),
            "norm_type": self.norm, "kernel_size": self.kernel_size, "last_kernel_size": self.last_kernel_size,
            "residual_kernel_size": self.residual_kernel_size, "dilation_growth_rate": self.dilation_base,
            "use_causal_conv": self.causal, "pad_mode": self.pad_mode, "use_conv_shortcut": not self.true_skip,
            "compress": self.compress, "num_lstm_layers": self.lstm, "normalize": self.normalize,
            "chunk_length_s": self.segment, "overlap": 0.01 if self.segment else None,
        }


@dataclass(frozen=True)
class EncoderInfo:
    """One known encoder: its spec and where its published weights live."""

    spec: SeanetSpec
    hub_file: str | None = None  # torch hub checkpoint name (name-<sha256 prefix>.th), package models
    hf_repo: str | None = None  # Hugging Face repository, for folder-only models


ENCODERS: dict[str, EncoderInfo] = {
    "24khz": EncoderInfo(SeanetSpec(sample_rate=24_000, causal=True), hub_file="encodec_24khz-d7cc33bc.th"),
    "32khz": EncoderInfo(SeanetSpec(sample_rate=32_000, n_filters=64, ratios=(8, 5, 4, 4), true_skip=True),
                         hf_repo=HF_REPO_32K),
    "48khz": EncoderInfo(SeanetSpec(sample_rate=48_000, channels=2, norm="time_group_norm", normalize=True,
                                    segment=1.0), hub_file="encodec_48khz-7e698e3e.th"),
}


def encoder_key(name: str) -> str:
    """'24khz', 'encodec_24khz' or 'EnCodec-24kHz' -> '24khz'."""
    key = name.lower().removeprefix("encodec_").removeprefix("encodec-")
    if key not in ENCODERS:
        raise LavliveError(f"unknown EnCodec encoder {name!r}; choose one of {', '.join(ENCODERS)}")
    return key


def encoder_info(name: str) -> EncoderInfo:
    return ENCODERS[encoder_key(name)]


def build_seanet(spec: SeanetSpec, seed: int = 0):
    """A SEANet encoder with the package's initialisation under `seed` (global RNG left untouched)."""
    from encodec.modules import SEANetEncoder  # imports torchaudio: keep it off the import path of lavlive

    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*weight_norm.*", category=FutureWarning)
        torch.manual_seed(seed)
        return SEANetEncoder(**spec.seanet_kwargs()).eval()


# --- state dict layouts -------------------------------------------------------------------------
# Package / audiocraft: encoder.model.N.conv.conv.weight_g ... (SEANetEncoder keys under `encoder.`)
# Hugging Face:         encoder.layers.N.conv.weight_g, encoder.layers.N.block.J.conv..., .norm...,
#                       encoder.layers.N.lstm.weight_ih_l0; newer exports use parametrizations names.

_HF_CONV = re.compile(r"^encoder\.layers\.(\d+)\.((?:block\.\d+\.|shortcut\.)?)(conv|norm)\.(.+)$")
_HF_LSTM = re.compile(r"^encoder\.layers\.(\d+)\.lstm\.(.+)$")
_OURS_CONV = re.compile(r"^model\.(\d+)\.((?:block\.\d+\.|shortcut\.)?)conv\.(conv|norm)\.(.+)$")
_OURS_LSTM = re.compile(r"^model\.(\d+)\.lstm\.(.+)$")
_PARAMETRIZED = {".parametrizations.weight.original0": ".weight_g", ".parametrizations.weight.original1": ".weight_v"}


def seanet_state(sd: Mapping[str, Any]) -> dict[str, Tensor]:
    """Encoder weights from any known layout, keyed as `SEANetEncoder.state_dict()`; other parts dropped."""
    if isinstance(sd.get("best_state"), Mapping):  # audiocraft training checkpoint
        sd = sd["best_state"]
    out: dict[str, Tensor] = {}
    for key, value in sd.items():
        if not isinstance(key, str) or not isinstance(value, Tensor):
            continue
        if key.startswith("encoder.model."):
            new = key[len("encoder."):]
        elif m := _HF_CONV.match(key):
            new = f"model.{m[1]}.{m[2]}conv.{m[3]}.{m[4]}"
        elif m := _HF_LSTM.match(key):
            new = f"model.{m[1]}.lstm.{m[2]}"
        elif key.startswith("model."):
            new = key
        else:
            continue
        for long, short in _PARAMETRIZED.items():
            new = new.replace(long, short)
        out[new] = value
    return out


def hf_state(seanet_sd: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """The inverse of `seanet_state` for Hugging Face's layout (to write folders, and to test the mapping)."""
    out: dict[str, Tensor] = {}
    for key, value in seanet_sd.items():
        if m := _OURS_CONV.match(key):
            out[f"encoder.layers.{m[1]}.{m[2]}{m[3]}.{m[4]}"] = value
        elif m := _OURS_LSTM.match(key):
            out[f"encoder.layers.{m[1]}.lstm.{m[2]}"] = value
        else:
            raise ValueError(f"no Hugging Face name for {key}")
    return out


def write_hf_folder(folder: str | Path, spec: SeanetSpec, seanet_sd: Mapping[str, Tensor]) -> Path:
    """Write config.json + model.safetensors as a Hugging Face EncodecModel folder (encoder part only)."""
    import safetensors.torch

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(spec.to_hf_config(), indent=2))
    tensors = {k: v.detach().contiguous().cpu() for k, v in hf_state(seanet_sd).items()}
    safetensors.torch.save_file(tensors, str(folder / "model.safetensors"))
    return folder


# --- reading files ------------------------------------------------------------------------------

def sha256_prefix_ok(path: Path) -> tuple[bool, str]:
    """Check a `name-<sha256 prefix>.ext` file as the encodec package does; returns (ok, actual prefix)."""
    expected = path.stem.split("-")[-1]
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    actual = h.hexdigest()[: len(expected)]
    return actual == expected, actual


def read_tensors(path: Path) -> dict[str, Any]:
    """A state dict from a .safetensors or torch file, weights-only; failures are one-line LavliveErrors."""
    if not path.exists():
        raise LavliveError(f"EnCodec weights {path}: file not found; check the path")
    if path.is_dir():
        raise LavliveError(f"EnCodec weights {path}: is a folder without config.json + model.safetensors")
    try:
        if path.suffix == ".safetensors":
            import safetensors.torch

            return dict(safetensors.torch.load_file(str(path)))
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable content is the same user problem
        reason = str(e).strip().splitlines()[0][:120] if str(e).strip() else type(e).__name__
        raise LavliveError(f"EnCodec weights {path}: unreadable or corrupt ({reason}); fetch the file again") from None
    if not isinstance(sd, Mapping):
        raise LavliveError(f"EnCodec weights {path}: holds a {type(sd).__name__}, not a state dict")
    return dict(sd)


def read_weights(path: Path, default: SeanetSpec) -> tuple[SeanetSpec, dict[str, Tensor]]:
    """A weights file, or a Hugging Face folder (whose config.json then sets the spec)."""
    spec = default
    if path.is_dir() and (path / "config.json").exists():
        try:
            spec = SeanetSpec.from_hf_config(json.loads((path / "config.json").read_text()))
        except (ValueError, TypeError, AttributeError, OSError) as e:
            raise LavliveError(f"EnCodec config {path / 'config.json'}: not a valid EncodecConfig ({e})") from None
        if spec.sample_rate != default.sample_rate:
            raise LavliveError(f"EnCodec folder {path}: config.json is a {spec.sample_rate} Hz model, "
                               f"expected {default.sample_rate} Hz")
        file = next((path / n for n in ("model.safetensors", "pytorch_model.bin") if (path / n).exists()),
                    path / "model.safetensors")
        path = file
    state = seanet_state(read_tensors(path))
    if not state:
        raise LavliveError(f"EnCodec weights {path}: no encoder weights in it (expected encoder.* keys)")
    return spec, state


def fill_seanet(seanet: torch.nn.Module, state: Mapping[str, Tensor], source: Path) -> None:
    """Load encoder weights, turning any mismatch into a one-line error that names the file."""
    own = seanet.state_dict()
    missing = sorted(set(own) - set(state))
    bad = sorted(k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape))
    if missing or bad:
        what = f"missing {missing[0]}" if missing else f"shape of {bad[0]} is {tuple(state[bad[0]].shape)}"
        raise LavliveError(f"EnCodec weights {source}: do not fit this encoder ({what}, "
                           f"{len(missing) + len(bad)} problems); is it the right model?")
    damaged = next((k for k in own if state[k].is_floating_point() and not torch.isfinite(state[k]).all()), None)
    if damaged is not None:
        raise LavliveError(f"EnCodec weights {source}: tensor '{damaged}' holds non-finite values (NaN or inf); "
                           "the file is corrupt, fetch it again")
    # Weight normalisation divides each output channel's direction by its length: a zero one gives NaN.
    flat = next((k for k in own if k.endswith("weight_v") and
                 not bool(state[k].flatten(1).abs().amax(dim=1).gt(0).all())), None)
    if flat is not None:
        raise LavliveError(f"EnCodec weights {source}: tensor '{flat}' has an output channel of zeros (a weight "
                           "normalised to nothing); the file is corrupt, fetch it again")
    seanet.load_state_dict({k: state[k] for k in own}, strict=True)


# --- where weights live -------------------------------------------------------------------------

def hub_checkpoint(info: EncoderInfo) -> Path | None:
    """The package's cached checkpoint ($TORCH_HOME/hub/checkpoints), verified by its name's sha256 prefix.

    The canonical name comes first; any other `encodec_XXkhz-<hex>.th` there is accepted when its
    own checksum holds (a newer or re-exported checkpoint).
    """
    if info.hub_file is None:
        return None
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    stem = info.hub_file.rsplit("-", 1)[0]
    found = [folder / info.hub_file] if (folder / info.hub_file).is_file() else []
    found += sorted(p for p in folder.glob(f"{stem}-*.th") if p.name != info.hub_file
                    and re.fullmatch(r"[0-9a-f]{8,64}", p.stem.split("-")[-1]))
    for path in found:
        ok, actual = sha256_prefix_ok(path)
        if not ok:
            raise LavliveError(f"EnCodec weights {path}: checksum mismatch (sha256 starts {actual}, expected "
                               f"{path.stem.split('-')[-1]}); the file is corrupt, delete it and download again")
        return path
    return None


def hf_cache_folder(info: EncoderInfo) -> Path | None:
    """A Hugging Face cache snapshot of the model with config.json and model.safetensors, if any."""
    if info.hf_repo is None:
        return None
    roots = [os.environ.get("HF_HUB_CACHE"),
             os.path.join(os.environ["HF_HOME"], "hub") if os.environ.get("HF_HOME") else None,
             os.path.join(os.path.expanduser("~"), ".cache", "huggingface", "hub")]
    for root in filter(None, roots):
        snapshots = Path(root) / ("models--" + info.hf_repo.replace("/", "--")) / "snapshots"
        for snap in sorted(snapshots.glob("*"), key=lambda p: p.stat().st_mtime, reverse=True):
            if (snap / "config.json").exists() and (snap / "model.safetensors").exists():
                return snap
    return None


def download_weights(name: str, info: EncoderInfo) -> Path:
    """Fetch published weights into the usual cache (only ever called with download=True)."""
    try:
        if info.hub_file is not None:
            path = Path(torch.hub.get_dir()) / "checkpoints" / info.hub_file
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(ROOT_URL + info.hub_file, str(path), hash_prefix=path.stem.split("-")[-1])
            return path
        try:
            from huggingface_hub import snapshot_download
        except ImportError:
            raise LavliveError(f"EnCodec {name}: downloading needs the huggingface_hub package; or save config.json "
                               f"and model.safetensors from https://huggingface.co/{info.hf_repo} in a folder "
                               "and pass that folder as the weights") from None
        return Path(snapshot_download(info.hf_repo, allow_patterns=["config.json", "model.safetensors"]))
    except LavliveError:
        raise
    except Exception as e:  # noqa: BLE001 - network and disk failures look alike to users
        raise LavliveError(f"EnCodec {name}: download failed ({type(e).__name__}: {str(e)[:100]})") from None


def resolve_seanet(name: str, weights: str | Path | None = None, download: bool = False, seed: int = 0):
    """Build encoder `name` with the best weights available: (SEANetEncoder, spec, source, notice)."""
    info = encoder_info(name)
    spec = info.spec
    path: Path | None = Path(weights).expanduser() if weights is not None else None
    if path is None:
        path = hub_checkpoint(info) or hf_cache_folder(info)
    if path is None and download:
        path = download_weights(name, info)
    if path is None:
        where = (f"{Path(torch.hub.get_dir()) / 'checkpoints' / info.hub_file}" if info.hub_file
                 else f"the Hugging Face cache for {info.hf_repo}")
        notice = (f"EnCodec {name}: no weights at {where}; using a random encoder (seed {seed}); "
                  "--download fetches the published weights once, --encoder-weights PATH uses yours")
        return build_seanet(spec, seed), spec, f"random (seed {seed})", notice
    spec, state = read_weights(path, spec)
    try:
        seanet = build_seanet(spec, seed)
    except (AssertionError, ValueError, TypeError, KeyError) as e:
        raise LavliveError(f"EnCodec weights {path}: its config cannot be built ({type(e).__name__}: {e})") from None
    fill_seanet(seanet, state, path)
    return seanet, spec, str(path), None
