"""Effects on the finished picture, in torch on the device that drew it, so render and play show the same pixels.

    zoom ─▶ mirror ─▶ kaleidoscope ─▶ hue ─▶ flash ─▶ feedback        on [N, C, H, W] in the network's [-1, 1]

Each effect takes one value per frame (the columns of EFFECTS) and is the identity at 0, to the bit, so a batch
whose values are all 0 for an effect may skip it (`active`) and a frame draws the same in any batch; a CUDA graph
runs them all, its values copied in per call.
Feedback is the one with a memory: each picture keeps `feedback` of the one shown before it (trails), frame after
frame in order, across batches; `PictureEffects` owns that last picture.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

EFFECTS = ("flash", "hue", "mirror", "kaleidoscope", "zoom", "feedback")  # the columns of `values`
KALEIDOSCOPE_WEDGES = 6


def zoomed(images: torch.Tensor, zoom: torch.Tensor) -> torch.Tensor:
    """Each picture magnified 2^zoom times about its middle (below 0: shrunk, mirrored out at its edges); at 0 the
    very picture (resampling in place would round its last bits)."""
    inverse = torch.exp2(-zoom.float())
    theta = torch.zeros(len(images), 2, 3, device=images.device)
    theta[:, 0, 0] = inverse
    theta[:, 1, 1] = inverse
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    return torch.where((zoom != 0).view(-1, 1, 1, 1), out, images)


def mirrored(images: torch.Tensor) -> torch.Tensor:
    """The left half and its mirror image on the right."""
    width = images.shape[-1]
    columns = torch.arange(width, device=images.device)
    return images.index_select(-1, torch.minimum(columns, width - 1 - columns))


def kaleidoscope_grid(height: int, width: int, device: torch.device) -> torch.Tensor:
    """Where each pixel of a KALEIDOSCOPE_WEDGES-fold kaleidoscope reads the picture: angles about the middle
    folded into one wedge, mirrored at its sides (so wedges meet without seams), radii kept (square pixels)."""
    y, x = torch.meshgrid(torch.linspace(-1 + 1 / height, 1 - 1 / height, height, device=device),
                          torch.linspace(-1 + 1 / width, 1 - 1 / width, width, device=device), indexing="ij")
    aspect = width / height
    radius, angle = torch.hypot(x * aspect, y), torch.atan2(y, x * aspect)
    wedge = 2 * math.pi / KALEIDOSCOPE_WEDGES
    folded = torch.remainder(angle, wedge)
    folded = torch.minimum(folded, wedge - folded) - math.pi / 2  # the half wedge right of the picture's top
    return torch.stack([radius * torch.cos(folded) / aspect, radius * torch.sin(folded)], dim=-1)[None]


def hue_matrices(degrees: torch.Tensor) -> torch.Tensor:
    """[N] → [N, 3, 3]: turns RGB about the grey axis (through mid-grey, the 0 of [-1, 1]) by `degrees`."""
    a = torch.deg2rad(degrees.float())
    cos, sin = torch.cos(a)[:, None, None], torch.sin(a)[:, None, None]
    eye = torch.eye(3, device=degrees.device)  # made by kernels, never copied from the host: fine in a CUDA graph
    axis = torch.full((3, 3), 1 / 3, device=degrees.device)  # a aᵀ for a = (1, 1, 1) / √3
    cross = 3 ** -0.5 * (eye.roll(-1, dims=1) - eye.roll(1, dims=1))  # [a]×
    return cos * eye + (1 - cos) * axis + sin * cross


def flashed(images: torch.Tensor, flash: torch.Tensor) -> torch.Tensor:
    """Towards white (flash > 0) or black (< 0) by |flash|."""
    f = flash.float().view(-1, 1, 1, 1)
    return images + f.abs() * (torch.sign(f) - images)


class PictureEffects:
    """The effects of one synthesizer, owning the feedback trail (the last picture it finished)."""

    def __init__(self) -> None:
        self.trail: torch.Tensor | None = None  # [C, H, W], float32
        self._grids: dict[tuple[int, int, str], torch.Tensor] = {}

    def __call__(self, images: torch.Tensor, values: torch.Tensor, active: Sequence[bool] | None = None
                 ) -> torch.Tensor:
        """images [N, C, H, W] float32, values [N, len(EFFECTS)] on their device; `active`: which effects this
        batch uses (None: all, as a CUDA graph must)."""
        on = dict(zip(EFFECTS, active if active is not None else [True] * len(EFFECTS)))
        v = dict(zip(EFFECTS, values.float().unbind(1)))
        if on["zoom"]:
            images = zoomed(images, v["zoom"])
        w = lambda name: v[name].view(-1, 1, 1, 1)  # noqa: E731
        if on["mirror"]:
            images = torch.lerp(images, mirrored(images), w("mirror"))
        if on["kaleidoscope"]:
            grid = self._kaleidoscope(images)
            folded = F.grid_sample(images, grid.expand(len(images), -1, -1, -1), mode="bilinear",
                                   padding_mode="reflection", align_corners=False)
            images = torch.lerp(images, folded, w("kaleidoscope"))
        if on["hue"] and images.shape[1] == 3:
            images = torch.einsum("nij,njhw->nihw", hue_matrices(v["hue"]), images)
        if on["flash"]:
            images = flashed(images, v["flash"])
        return self._trailed(images, v["feedback"], on["feedback"])

    def _kaleidoscope(self, images: torch.Tensor) -> torch.Tensor:
        key = (*images.shape[2:], str(images.device))
        if key not in self._grids:
            self._grids[key] = kaleidoscope_grid(*images.shape[2:], images.device)
        return self._grids[key]

    def _trailed(self, images: torch.Tensor, feedback: torch.Tensor, on: bool) -> torch.Tensor:
        """Each picture keeps `feedback` of the one before it as shown (within [-1, 1]), in order; the last becomes
        the trail."""
        if self.trail is None or self.trail.shape != images.shape[1:] or self.trail.device != images.device:
            self.trail = images[0].detach().clamp(-1, 1)  # a new shape or a first picture: no past to trail
        if on:
            frames = []
            for picture, keep in zip(images.clamp(-1, 1), feedback):
                self.trail.lerp_(picture, 1 - keep)  # trail ← keep·trail + (1 − keep)·picture, in place (graphs)
                frames.append(self.trail.clone())
            return torch.stack(frames)
        self.trail.copy_(images[-1].clamp(-1, 1))
        return images
