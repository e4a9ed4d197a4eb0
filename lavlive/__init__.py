"""lavlive: music → moving StyleGAN2 images with LAV (Latent Audio-Visual)."""

__version__ = "0.1.0"

from .errors import LavliveError  # noqa: E402
from .generator import load_generator, save_generator  # noqa: E402

__all__ = ["LavliveError", "load_generator", "save_generator", "__version__"]
