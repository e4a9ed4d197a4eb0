"""The picture preview on the control page: a few small JPEG frames a second, composed as the screen
composes them. The display's thread only takes a strided copy (cheap at any size, on the CPU or the
GPU); scaling the rest of the way and JPEG encoding happen on the web server's worker threads."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

from ..images import dissolve, host_array

WIDTH = 256  # the preview's width in pixels (at most)
QUALITY = 75


def _strided(image: Any, step: int) -> np.ndarray:
    return np.ascontiguousarray(host_array(image[::step, ::step]))  # the stride first: a GPU frame copies little


def grab(image: Any, blend: Any = None, alpha: float = 0.0, width: int = WIDTH) -> np.ndarray:
    """A small copy of what the screen shows ([h, w, 3] uint8): `image` dissolved into `blend` by `alpha`."""
    step = max(1, int(image.shape[1]) // width)
    picture = _strided(image, step)
    if blend is not None and alpha > 0 and tuple(blend.shape) == tuple(image.shape):
        picture = dissolve(picture, _strided(blend, step), alpha)
    return picture


def jpeg(picture: np.ndarray, width: int = WIDTH) -> bytes:
    """The preview as JPEG bytes, at most `width` pixels wide."""
    img = Image.fromarray(picture)
    if img.width > width:
        img = img.resize((width, max(1, round(img.height * width / img.width))), Image.BILINEAR)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=QUALITY)
    return out.getvalue()
