"""A real NDI receiver for the tests (cyndilib), on loopback.

NDI finds sources by mDNS, which a test machine has no daemon for; NDI also reads a config file
at load time, and one naming 127.0.0.1 makes it ask this machine directly. So this module writes
that file and sets NDI_CONFIG_DIR before anything loads the NDI library: import it first.
Frames are read through NDI's frame-sync (cyndilib's plain receive() loses about two thirds of
them to the frame-sync it attaches anyway). `ReceiverProcess` runs the receiver in a process of its
own, as Resolume or OBS would be, so it does not compete with the player for the GIL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

if "NDI_CONFIG_DIR" not in os.environ:
    _folder = tempfile.mkdtemp(prefix="lavlive-ndi-")
    with open(os.path.join(_folder, "ndi-config.v1.json"), "w") as f:
        json.dump({"ndi": {"networks": {"ips": "127.0.0.1"}}}, f)
    os.environ["NDI_CONFIG_DIR"] = _folder


class NdiReceiver(threading.Thread):
    """Finds the source `name` and keeps every new frame it receives as [H, W, 3] RGB, with its arrival time."""

    def __init__(self, name: str) -> None:
        super().__init__(daemon=True)
        self.name = name
        self.frames: list[tuple[float, np.ndarray]] = []
        self.found = threading.Event()
        self._quit = threading.Event()

    def run(self) -> None:
        from cyndilib import Finder
        from cyndilib.receiver import Receiver
        from cyndilib.video_frame import VideoFrameSync
        from cyndilib.wrapper.ndi_recv import RecvBandwidth, RecvColorFormat

        finder = Finder()
        finder.open()
        receiver = None
        try:
            source = None
            while source is None and not self._quit.is_set():
                time.sleep(0.02)  # the finder's own thread keeps the list; its waits would hold the GIL
                source = next((finder.get_source(n) for n in finder.get_source_names()
                               if n.endswith(f"({self.name})")), None)
            if source is None:
                return
            receiver = Receiver(color_format=RecvColorFormat.BGRX_BGRA, bandwidth=RecvBandwidth.highest)
            video = VideoFrameSync()
            receiver.frame_sync.set_video_frame(video)
            receiver.connect_to(source)
            self.found.set()
            last = None
            while not self._quit.is_set():
                receiver.frame_sync.capture_video()
                if video.xres and video.get_timestamp_posix() != last:
                    last = video.get_timestamp_posix()
                    width, height = video.get_resolution()
                    bgra = video.get_array().reshape(height, width, 4)
                    self.frames.append((time.monotonic(), bgra[..., 2::-1].copy()))
                time.sleep(0.002)
        finally:
            if receiver is not None:
                receiver.disconnect()
            finder.close()

    def stop(self) -> None:
        self._quit.set()
        self.join(5)


class ReceiverProcess:
    """NdiReceiver in a child process; `stop()` returns what it received: arrival times, [H, W, 3] frames."""

    def __init__(self, name: str, folder: Path) -> None:
        self.out = folder / f"ndi-{name}.npz"
        self.found_file = folder / f"ndi-{name}.found"
        self.proc = subprocess.Popen([sys.executable, __file__, name, str(self.out), str(self.found_file)])

    def wait_found(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end and not self.found_file.exists():
            time.sleep(0.02)
        return self.found_file.exists()

    def stop(self) -> tuple[np.ndarray, list[np.ndarray]]:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)
        with np.load(self.out) as data:
            times = data["times"]
            return times, [data[f"frame{i}"] for i in range(len(times))]


def _serve(name: str, out: str, found_file: str) -> None:
    receiver = NdiReceiver(name)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    receiver.start()
    while not done.is_set():  # SIGTERM ends the wait for the source too
        if receiver.found.wait(0.05):
            Path(found_file).touch()
            break
    done.wait()
    receiver.stop()
    np.savez(out, times=np.array([t for t, _ in receiver.frames]),
             **{f"frame{i}": frame for i, (_, frame) in enumerate(receiver.frames)})


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def best_match(frame: np.ndarray, candidates: list[np.ndarray]) -> tuple[int, float]:
    """Index of the candidate closest to `frame`, and its PSNR."""
    scores = [psnr(frame, c) for c in candidates]
    i = int(np.argmax(scores))
    return i, scores[i]


if __name__ == "__main__":
    _serve(*sys.argv[1:4])
