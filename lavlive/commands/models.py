"""`lavlive models info|convert`: inspect checkpoints and write lavlive's own safe format."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .. import __version__
from ..errors import LavliveError
from ..files import atomic_output
from ..generator import read_checkpoint, save_generator, sha256_of
from ..generator.checkpoints import describe
from ..pipeline.model import load_model
from .arguments import nonempty


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="inspect and convert StyleGAN2 and StyleGAN3 checkpoints",
                       description="Inspect StyleGAN2 and StyleGAN3 checkpoints and convert them to lavlive's "
                                   ".safetensors format.")
    msub = p.add_subparsers(dest="models_command", metavar="{info,convert}", required=True)
    info = msub.add_parser("info", help="print resolution, num_ws, channels, fp16 settings and sha256",
                           description="Read a checkpoint safely and describe the generator inside.")
    info.add_argument("path", type=nonempty("PATH", "give a checkpoint file"), help=".pkl, .pt or .safetensors file")
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    info.set_defaults(run=run_info)
    conv = msub.add_parser("convert", help="write a checkpoint as lavlive .safetensors (no code, fast to load)",
                           description="Convert any supported checkpoint to .safetensors with its config embedded.")
    conv.add_argument("input", type=nonempty("IN", "give a checkpoint file"), help=".pkl or .pt checkpoint")
    conv.add_argument("output", type=nonempty("OUT", "give a file name ending in .safetensors"),
                      help="file to write, ending in .safetensors")
    conv.add_argument("--force", action="store_true", help="overwrite the output if it exists")
    conv.set_defaults(run=run_convert)


def run_info(args: argparse.Namespace) -> int:
    ckpt = read_checkpoint(args.path)
    info = {"path": args.path, **describe(ckpt), "sha256": sha256_of(Path(args.path))}
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    if "layers" in info:  # StyleGAN3: sizes and channels per layer
        layers = ", ".join(f"{v['size']}:{v['channels']}" for v in info["layers"].values())
        fp16 = (f"{len(info['fp16_layers'])} layers ({info['fp16_layers'][0]} … {info['fp16_layers'][-1]})"
                if info["fp16_layers"] else "none")
        shape = f"layers         {len(info['layers'])} (size:channels {layers})"
    else:
        layers = ", ".join(f"{r}:{c}" for r, c in info["channels"].items())
        fp16 = (f"{info['num_fp16_res']} resolutions ({', '.join(map(str, info['fp16_resolutions']))})"
                if info["num_fp16_res"] else "none")
        shape = f"channels       {layers}"
    # No clamp is a setting of its own (activations left unbounded), said in words rather than as None.
    clamp = "none (activations are not clamped)" if info["conv_clamp"] is None else f"±{info['conv_clamp']:g}"
    print(f"path           {info['path']}\nformat         {info['format']}\nfamily         {info['family']}\n"
          f"resolution     {info['resolution']}×{info['resolution']}\nnum_ws         {info['num_ws']}\n"
          f"z_dim / w_dim  {info['z_dim']} / {info['w_dim']}\nclasses        {info['c_dim']}\n"
          f"mapping depth  {info['mapping_layers']}\n{shape}\n"
          f"fp16           {fp16}\nconv_clamp     {clamp}\n"
          f"parameters     {info['parameters']:,}\nsha256         {info['sha256']}")
    return 0


def run_convert(args: argparse.Namespace) -> int:
    out = Path(args.output)
    if out.suffix != ".safetensors":
        raise LavliveError(f"{out}: the output name must end in .safetensors")
    G = load_model(args.input, "cpu", warm_up=None).G
    source_format = G.source.format
    with atomic_output(out, args.force) as tmp:
        save_generator(G, tmp, {"source_sha256": sha256_of(Path(args.input)), "source_format": source_format,
                                "lavlive_version": __version__})
    print(f"wrote {out} ({source_format} → lavlive-safetensors, {G.img_resolution}×{G.img_resolution})")
    return 0
