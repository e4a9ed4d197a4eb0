"""The control page's speed, as a VJ feels it: page load to the first control, and a fader moved in the browser
to the picture changing on the screen.

    python benchmarks/web.py                       # about 2 minutes on 2 cores
    python benchmarks/web.py --model default --changes 10

Runs `lavlive play --web` on Xvfb with PulseAudio's null sink (started here if none is running) and Debian's
headless Chromium (Selenium). Page load: from asking for the page to its first fader being in the document,
over fresh loads. Change to screen: the preset has no routes, so at truncation 0 every frame is the same
picture; the truncation fader is moved from 0 to 1 with a key press in the page, and the X screen is read
(Pillow, about every 5 ms) until the picture differs from that still one.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import ImageGrab

from lavlive.audio.demo import demo_track, write_wav
from lavlive.generator import Generator, GeneratorConfig, save_generator

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser import missing, start_chromium, stop_chromium  # noqa: E402  (Debian's chromium, as the tests)
from services import start_pulse, start_xvfb  # noqa: E402


def screen(display: str, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    return np.asarray(ImageGrab.grab(bbox=box, xdisplay=display).convert("RGB")).astype(np.int16)


def window_box(display: str) -> tuple[int, int, int, int]:
    """Where the picture is on the X screen: the bounding box of what is not black."""
    lit = np.argwhere(screen(display).max(axis=2) > 8)
    (y0, x0), (y1, x1) = lit.min(axis=0), lit.max(axis=0)
    return int(x0), int(y0), int(x1) + 1, int(y1) + 1


def wait_still(display: str, box, timeout: float = 20.0) -> np.ndarray:
    """The picture once two reads 0.3 s apart are the same."""
    deadline = time.monotonic() + timeout
    last = screen(display, box)
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = screen(display, box)
        if np.abs(now - last).max() <= 2:
            return now
        last = now
    raise SystemExit("the picture never stood still at truncation 0")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny", help="'tiny' (a 64×64 network: the page's own delays stand out) "
                        "or 'default' (the embedded network) (default: tiny)")
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args()
    if (reason := missing()) is not None:
        raise SystemExit(reason)
    display = start_xvfb()
    if display is None or not start_pulse():
        raise SystemExit("needs Xvfb and PulseAudio: bash scripts/setup.sh --test")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_wav(folder / "music.wav", demo_track(20.0, 44100, bpm=124), 44100)
        (folder / "plain.toml").write_text('name = "plain"\n')
        cmd = [sys.executable, "-m", "lavlive", "play", str(folder / "music.wav"), "--loop", "--web", "127.0.0.1:0",
               "--preset", str(folder / "plain.toml"), "--size", "256x256", "--switch-fade", "0"]
        if args.model == "tiny":
            torch.manual_seed(64)
            save_generator(Generator(GeneratorConfig(z_dim=64, w_dim=64, img_resolution=64, channel_base=1024,
                                                     channel_max=64, mapping_layers=2)).eval(), folder / "tiny.pt")
            cmd += ["--model", str(folder / "tiny.pt")]
        said = folder / "said.txt"
        with open(said, "w") as out:
            show = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                    env={**os.environ, "PYTHONUNBUFFERED": "1", "DISPLAY": display})
        driver = start_chromium(folder / "profile")
        try:
            address = None
            while address is None:
                time.sleep(0.2)
                assert show.poll() is None, said.read_text()
                address = next((x.split(" at ")[-1] for x in said.read_text().splitlines() if "control page at" in x),
                               None)
            while "track 1/1" not in said.read_text():
                time.sleep(0.2)
            loads = []
            for _ in range(args.loads):
                driver.get("about:blank")
                started = time.perf_counter()
                driver.get(address)
                while not driver.find_elements(By.CSS_SELECTOR, 'input[data-name="truncation"]'):
                    time.sleep(0.002)
                loads.append(time.perf_counter() - started)
            fader = driver.find_element(By.CSS_SELECTOR, 'input[data-name="truncation"]')
            box = window_box(display)
            delays = []
            for _ in range(args.changes):
                fader.send_keys(Keys.HOME)  # truncation 0: one still picture
                still = wait_still(display, box)
                started = time.perf_counter()
                fader.send_keys(Keys.END)  # truncation 2: the picture moves away from it
                while np.abs(screen(display, box) - still).max() <= 2:
                    if time.perf_counter() - started > 10:
                        raise SystemExit("the picture never changed")
                    time.sleep(0.003)
                delays.append(time.perf_counter() - started)
        finally:
            stop_chromium(driver, folder / "profile")
            show.terminate()
            show.wait(timeout=30)
    ms = lambda x: np.array(x) * 1000  # noqa: E731
    print(f"model {args.model}, 30 fps, window 256×256, 2 CPU cores unless the machine has more")
    print(f"page load to first control: median {np.median(ms(loads)):.0f} ms, p95 {np.percentile(ms(loads), 95):.0f} "
          f"ms ({len(loads)} loads)")
    print(f"control change to picture change on screen: median {np.median(ms(delays)):.0f} ms, "
          f"p95 {np.percentile(ms(delays), 95):.0f} ms ({len(delays)} changes)")


if __name__ == "__main__":
    main()
