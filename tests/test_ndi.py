"""NDI output (play/ndi_out.py) against a real receiver in another process, on loopback."""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np
import pytest
from ndi_receiver import ReceiverProcess, psnr

from lavlive.cli import main
from lavlive.output.display.ndi import NdiOutput


def gradient(height: int, width: int, shift: int) -> np.ndarray:
    """A smooth picture (what NDI compresses well), different for each shift."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 200 // width + shift, y * 255 // height, np.full_like(x, 4 * shift)], axis=-1).astype(np.uint8)


def test_dissolves_and_a_new_picture_size_reach_the_receiver(tmp_path):
    name = f"lavlive-ndi-{time.monotonic_ns()}"
    out = NdiOutput(name, Fraction(30))
    receiver = ReceiverProcess(name, tmp_path)
    a, b = gradient(96, 128, 0), gradient(96, 128, 40)
    try:
        out.send(a)
        assert receiver.wait_found(30)
        while out.connections() == 0:
            time.sleep(0.02)
        for i in range(15):
            out.send(a, b, 0.5, index=i, time=i / 30)  # a crossfade half way
            time.sleep(1 / 30)
        bigger = gradient(128, 160, 50)
        out.send(bigger, index=15)  # another model's size: the source goes on at the new size, as a new sender
        deadline = time.monotonic() + 10
        while out.connections() == 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # the receiver finds it again, about 1.0 s later on loopback
        for i in range(1, 15):
            out.send(bigger, index=15 + i)
            time.sleep(1 / 30)
        time.sleep(0.5)
    finally:
        _, frames = receiver.stop()
        out.close()
    halves = [f for f in frames if f.shape == a.shape]
    resized = [f for f in frames if f.shape == bigger.shape]
    middle = ((a.astype(np.float32) + b) / 2 + 0.5).astype(np.uint8)
    assert halves and resized
    last = halves[-1]  # NDI compresses: 30+ dB from what was sent, a different picture is far below that
    assert psnr(last, middle) >= 30 and psnr(last, middle) > max(psnr(last, a), psnr(last, b)) + 6
    assert psnr(resized[-1], bigger) >= 30
    assert out.sent == 31


def test_a_blank_ndi_name_is_a_one_line_error(tmp_path, capsys):
    assert main(["play", str(tmp_path / "x.wav"), "--ndi", " "]) == 1
    err = capsys.readouterr().err.strip()
    assert "--ndi: the value is empty; give the NDI source name" in err and "\n" not in err


@pytest.mark.parametrize("size", [512, 1024])
def test_sending_allocates_no_frame_sized_memory(size):
    """Two buffers made at the first frame, used in turn: nothing the size of a frame per frame, dissolves included."""
    import tracemalloc

    out = NdiOutput(f"lavlive-alloc-{size}", Fraction(30))
    try:
        frame, other = gradient(size, size, 1), gradient(size, size, 2)
        out.send(frame, other, 0.3)
        tracemalloc.start()
        for i in range(5):
            out.send(frame, other, 0.3, index=i)
            out.send(frame, index=i)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < frame.nbytes / 4, peak  # numpy's casting buffers (about 130 kB), no frame copies
    finally:
        out.close()
