"""The player's display: the pictures on a screen (a pygame + OpenGL window), or nowhere (--no-window).

- display.py: `Display`, the calls the players make on one; `DisplaySettings` and `open_display`.
- window.py: `Window`, the SDL window: its mode, its GL context, keys → actions, presenting.
- renderer.py: what is drawn in that context: shader programs, the quad, the pictures and the overlay.
- picture.py: one picture's texture and pixel buffer, and the three ways a frame reaches them.
- cuda_gl.py: CUDA → OpenGL interop, the fastest of those ways.
- overlay.py: the stats text box.
- shaders.py: reading and compiling the built-in shaders.
- no_window.py: `NoWindow`, the stand-in for --no-window.
- errors.py: `WindowError`.
- ndi.py: `NdiOutput`, every shown frame as an NDI video source (optional extra lavlive[ndi]).

Importing this package needs neither SDL nor libGL: pygame and OpenGL are imported by the first Window.
"""

from .display import Display, DisplaySettings, open_display
from .errors import WindowError
from .ndi import NdiOutput, open_ndi
from .no_window import NoWindow
from .window import Window

__all__ = ["Display", "DisplaySettings", "NdiOutput", "NoWindow", "Window", "WindowError", "open_display", "open_ndi"]
