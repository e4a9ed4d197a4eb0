"""Network bending: the feature maps at one block moved, turned and zoomed before the rest of the network draws
on them (the picture's layout bends while its textures stay sharp, which moving the finished picture cannot do).

A bend is (x, y, rotate, zoom) per picture: the maps move right by x and down by y of their size, turn
counter-clockwise by `rotate` degrees (about their middle, in square samples whatever their shape) and grow
2^zoom times; what comes in from beyond an edge is the maps mirrored there. All of it is tensor maths on the
device, so a CUDA graph takes new bends per frame without being captured again.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bend_matrices(bends: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """[N, 4] (x, y, rotate, zoom) → [N, 2, 3]: where each output sample reads its input, in grid_sample's
    coordinates (−1 … 1 across each side): the inverse of the motion p → 2^zoom · R(rotate) · p + 2 (x, y)."""
    x, y, rotate, zoom = bends.float().unbind(1)
    a, inverse = torch.deg2rad(rotate), torch.exp2(-zoom)
    cos, sin = torch.cos(a) * inverse, torch.sin(a) * inverse
    aspect = width / height  # the maps' coordinates scaled to square samples and back around the turn
    linear = torch.stack([torch.stack([cos, -sin / aspect], 1), torch.stack([sin * aspect, cos], 1)], 1)
    shift = -(linear @ torch.stack([2 * x, 2 * y], 1)[:, :, None])
    return torch.cat([linear, shift], dim=2)


def bent(features: torch.Tensor, bends: torch.Tensor) -> torch.Tensor:
    """features [N, C, H, W] bent by bends [N, 4] (float32 sampling; the features' dtype and layout kept). A picture
    whose bend is all 0 keeps its features to the bit (resampling them in place would round their last bits), so
    a frame draws the same whether or not others in its batch bend."""
    n, c, h, w = features.shape
    grid = F.affine_grid(bend_matrices(bends, h, w), [n, c, h, w], align_corners=False)
    out = F.grid_sample(features.float(), grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    out = torch.where((bends != 0).any(dim=1).view(-1, 1, 1, 1), out, features.float())
    memory_format = torch.channels_last if features.is_contiguous(memory_format=torch.channels_last) and c > 1 \
        else torch.contiguous_format
    return out.to(features.dtype).contiguous(memory_format=memory_format)
