"""Real services for the player's tests: an X server (Xvfb + Mesa) and a PulseAudio server with a null sink.

Each is started only if none is reachable, and left running for the rest of the session (CI
machines are throwaway; a developer's own X or PulseAudio is used as it is). Tests that need
one take the `xvfb` or `pulse` fixture from conftest.
"""

from __future__ import annotations

import os
import select
import shutil
import socket
import subprocess
import time

XVFB_DISPLAY = ":99"


def x_server_answers(display: str) -> bool:
    """Whether an X server accepts connections on `display`'s local socket. A socket file alone
    proves nothing: an X server killed hard leaves it (and its lock file) behind in /tmp."""
    path = f"/tmp/.X11-unix/X{display.lstrip(':').split('.')[0]}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        try:
            sock.connect(path)
        except OSError:
            return False
    return True


def start_xvfb() -> str | None:
    """DISPLAY of a running X server: Xvfb :99 if it answers, else a new Xvfb there (Xvfb clears a
    dead server's lock) or, failing that, on the first free display; None (reason printed) if impossible."""
    if x_server_answers(XVFB_DISPLAY):
        display = XVFB_DISPLAY
    elif not shutil.which("Xvfb"):
        print("services: Xvfb is not installed (bash scripts/setup.sh --test)")
        return None
    else:
        display = launch_xvfb([XVFB_DISPLAY])[0] or launch_xvfb([])[0]
    if display is None:
        print("services: Xvfb did not start")
        return None
    os.environ["DISPLAY"] = display
    os.environ["SDL_VIDEODRIVER"] = "x11"
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    return display


def launch_xvfb(display: list[str]) -> tuple[str | None, subprocess.Popen]:
    """Start Xvfb (on `display`, or the first free one if empty): its display once it accepts clients (None if
    it did not start), and its process."""
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(["Xvfb", *display, "-displayfd", str(write_end), "-screen", "0", "1280x720x24",
                      "-nolisten", "tcp"], pass_fds=(write_end,), stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)
    os.close(write_end)
    with os.fdopen(read_end) as announced:  # Xvfb writes the display number here once it accepts clients
        ready, _, _ = select.select([announced], [], [], 10)
        number = announced.readline().strip() if ready else ""
    return (f":{number}" if number.isdigit() else None), proc


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


if __name__ == "__main__":  # for shell scripts (scripts/wheel-check.sh): start both, print the display to use
    import sys

    display = start_xvfb()
    if display is None or not start_pulse():
        sys.exit("services: Xvfb or PulseAudio could not be started (bash scripts/setup.sh --test)")
    print(display)
