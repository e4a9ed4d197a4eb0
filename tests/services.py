"""Real services for the player's tests: an X server (Xvfb + Mesa) and a PulseAudio server with a null sink.

Each is started only if none is reachable, and left running for the rest of the session (CI
machines are throwaway; a developer's own X or PulseAudio is used as it is). Tests that need
one take the `xvfb` or `pulse` fixture from conftest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

XVFB_DISPLAY = ":99"


def start_xvfb() -> str | None:
    """DISPLAY of a running X server, starting Xvfb on :99 if needed; None (with the reason printed) if impossible."""
    socket = f"/tmp/.X11-unix/X{XVFB_DISPLAY[1:]}"
    if not os.path.exists(socket):
        if not shutil.which("Xvfb"):
            print("services: Xvfb is not installed (bash scripts/setup.sh --test)")
            return None
        subprocess.Popen(["Xvfb", XVFB_DISPLAY, "-screen", "0", "1280x720x24", "-nolisten", "tcp"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        for _ in range(100):
            if os.path.exists(socket):
                break
            time.sleep(0.05)
        else:
            print("services: Xvfb did not start")
            return None
    os.environ["DISPLAY"] = XVFB_DISPLAY
    os.environ["SDL_VIDEODRIVER"] = "x11"
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    return XVFB_DISPLAY


def pulse_running() -> bool:
    return shutil.which("pactl") is not None and \
        subprocess.run(["pactl", "info"], capture_output=True, timeout=10).returncode == 0


def start_pulse() -> bool:
    """Make sure a PulseAudio server with the null sink `auto_null` runs, and that it does not
    suspend the sink when idle (resuming takes up to 2 s, which would stall every stream start)."""
    if not pulse_running():
        if not shutil.which("pulseaudio"):
            print("services: PulseAudio is not installed (bash scripts/setup.sh --test)")
            return False
        subprocess.run(["pulseaudio", "--start", "--exit-idle-time=-1"], capture_output=True, timeout=30)
        for _ in range(100):
            if pulse_running():
                break
            time.sleep(0.1)
        else:
            print("services: PulseAudio did not start")
            return False
    subprocess.run(["pactl", "unload-module", "module-suspend-on-idle"], capture_output=True, timeout=10)
    return True


def restart_pulse() -> bool:
    """Kill the PulseAudio server and start a new one, as a user unplugging and replugging a sound card."""
    subprocess.run(["pulseaudio", "--kill"], capture_output=True, timeout=30)
    for _ in range(50):
        if not pulse_running():
            break
        time.sleep(0.1)
    return start_pulse()
