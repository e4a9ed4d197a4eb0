"""`lavlive synth`: a contact sheet of generator frames, the quickest look at a model."""

from __future__ import annotations

import argparse

from ..devices import DEVICE_CHOICES
from ..errors import LavliveError
from ..files import atomic_output
from ..images import contact_sheet
from ..pipeline.model import load_model
from .arguments import FILE, nonempty
from .options import MODEL_HINT


def parse_seeds(text: str) -> list[int]:
    """'0-11' or '1,5,9' or '3' → list of seeds."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            lo, _, hi = part.strip().partition("-")
            seeds.extend(range(int(lo), int(hi) + 1) if hi else [int(lo)])
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid seeds {text!r} (use e.g. 0-11 or 1,5,9)") from None
    if not seeds or len(seeds) > 256:
        raise argparse.ArgumentTypeError(f"seeds {text!r} give {len(seeds)} images; use 1 to 256")
    return seeds


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synth", help="write a contact sheet PNG of frames from the generator",
                       description="Draw frames from the generator for a list of seeds and tile them into one PNG.")
    p.add_argument("-o", "--output", default="contact-sheet.png", type=nonempty("--output", FILE),
                   help="PNG to write (default: %(default)s)")
    p.add_argument("--model", type=nonempty("--model", MODEL_HINT),
                   help="StyleGAN2 checkpoint (.pkl, .pt, .safetensors); default: embedded random network")
    p.add_argument("--seeds", type=parse_seeds, default=parse_seeds("0-11"), help="e.g. 0-11 or 1,5,9 (default: 0-11)")
    p.add_argument("--truncation", type=float, default=0.7, help="truncation psi (default: %(default)s)")
    p.add_argument("--columns", type=int, default=None, help="images per row (default: square-ish)")
    p.add_argument("--size", type=int, default=None, help="tile size in pixels (default: the model's resolution)")
    p.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    p.add_argument("--force", action="store_true", help="overwrite the output if it exists")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not 0.0 <= args.truncation <= 2.0:
        raise LavliveError(f"--truncation {args.truncation}: use a value between 0 and 2")
    # Checked here: PIL and numpy would refuse them only after the synthesis, as internal errors.
    if args.columns is not None and not 1 <= args.columns <= 256:
        raise LavliveError(f"--columns {args.columns}: use 1 to 256 (or leave it out for a square-ish sheet)")
    if args.size is not None and not 1 <= args.size <= 8192:
        raise LavliveError(f"--size {args.size}: use 1 to 8192 pixels (or leave it out for the model's resolution)")
    model = load_model(args.model, args.device, warm_up=None, say=print)
    sheet = contact_sheet(model.pictures(args.seeds, args.truncation), args.columns)
    resolution = model.G.img_resolution
    if args.size is not None:
        scale = args.size / resolution
        sheet = sheet.resize((round(sheet.width * scale), round(sheet.height * scale)))
    with atomic_output(args.output, args.force) as tmp:
        sheet.save(tmp, format="PNG")
    print(f"wrote {args.output} ({len(args.seeds)} frames, {resolution}×{resolution})")
    return 0
