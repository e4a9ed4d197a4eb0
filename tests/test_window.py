"""The player window on a real X server (Xvfb + Mesa): what it draws is read back from the GL back buffer."""

from __future__ import annotations

import logging
import time

import numpy as np
import pytest
import torch

RED, BLUE, BLACK = (255, 0, 0), (0, 0, 255), (0, 0, 0)


def red_blue(width: int = 64, height: int = 32) -> np.ndarray:
    """Left half pure red, right half pure blue."""
    image = np.zeros((height, width, 3), np.uint8)
    image[:, : width // 2, 0] = 255
    image[:, width // 2:, 2] = 255
    return image


def solid(colour, width: int = 8, height: int = 8) -> np.ndarray:
    return np.broadcast_to(np.array(colour, np.uint8), (height, width, 3)).copy()


def near(pixel, expected, tolerance: int = 3) -> bool:
    return bool(np.all(np.abs(np.asarray(pixel, int) - np.asarray(expected, int)) <= tolerance))


@pytest.fixture
def window(xvfb):
    from lavlive.output.display import Window

    win = Window((320, 240), title="lavlive test")
    yield win
    win.close()


def assert_fit_320x240(pixels: np.ndarray) -> None:
    """The 64x32 red/blue picture fitted into 320x240: 320x160 centred, rows 0..39 and 200..239 black."""
    assert pixels.shape == (240, 320, 3)
    assert not pixels[:40].any() and not pixels[200:].any(), "expected black bars above and below"
    assert pixels[40].any() and pixels[199].any(), "the picture should start at row 40 and end at row 199"
    assert near(pixels[120, 40], RED) and near(pixels[120, 280], BLUE)
    assert near(pixels[41, 5], RED) and near(pixels[198, 314], BLUE)


def test_fit_leaves_black_bars(window):
    window.show(red_blue())
    assert_fit_320x240(window.read_pixels())


def test_fill_covers_the_window(xvfb):
    from lavlive.output.display import Window

    with Window((320, 240), scale="fill") as win:
        win.show(red_blue())
        pixels = win.read_pixels()
    assert pixels.shape == (240, 320, 3)
    assert pixels.reshape(-1, 3).any(axis=1).all(), "fill must leave no black pixel"
    assert near(pixels[0, 0], RED) and near(pixels[120, 40], RED)
    assert near(pixels[239, 319], BLUE) and near(pixels[120, 280], BLUE)


@pytest.mark.parametrize("alpha, expected", [(0.0, RED), (0.25, (191, 0, 64)), (0.5, (128, 0, 128)), (1.0, BLUE)])
def test_dissolve(window, alpha, expected):
    window.show(solid(RED), blend=solid(BLUE), alpha=alpha)
    pixels = window.read_pixels()
    for y, x in ((120, 160), (5, 60), (230, 260)):
        assert near(pixels[y, x], expected), (alpha, pixels[y, x])


def test_blend_of_different_sizes_fits_each_picture_on_its_own(window):
    # image 64x32 (landscape) -> 320x160, rows 40..199; blend 32x64 (portrait) -> 120x240, columns 100..219
    window.show(solid(RED, 64, 32), blend=solid(BLUE, 32, 64), alpha=0.5)
    pixels = window.read_pixels()
    assert near(pixels[120, 160], (128, 0, 128))  # both
    assert near(pixels[120, 20], (128, 0, 0)) and near(pixels[120, 300], (128, 0, 0))  # only the image
    assert near(pixels[20, 160], (0, 0, 128)) and near(pixels[220, 160], (0, 0, 128))  # only the blend
    assert not pixels[20, 20].any() and not pixels[220, 300].any()  # neither


def test_width_not_a_multiple_of_four(xvfb):
    from lavlive.output.display import Window

    y, x = np.mgrid[0:20, 0:30]
    image = np.stack([x * 8, y * 12, np.full_like(x, 100)], axis=-1).astype(np.uint8)  # 30x20: rows of 90 bytes
    with Window((300, 200)) as win:  # exactly 10x, same aspect
        win.show(image)
        pixels = win.read_pixels()
    sampled = pixels[5::10, 5::10].astype(int)
    assert sampled.shape == image.shape
    assert np.abs(sampled - image).max() <= 2, "rows are skewed or channels rotated: unpack alignment?"


def test_keys_and_close_become_actions(window):
    import pygame

    window.events()  # whatever opening the window queued
    keys = [pygame.K_SPACE, pygame.K_n, pygame.K_p, pygame.K_f, pygame.K_s, pygame.K_r, pygame.K_q, pygame.K_ESCAPE,
            pygame.K_x]
    for key in keys:
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0))
    assert window.events() == ["pause", "next", "previous", "fullscreen", "stats", "seed", "quit", "quit"]
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    assert window.events() == ["quit"]
    assert window.events() == []


def test_resize_keeps_the_aspect(window):
    import pygame
    from pygame._sdl2.video import Window as SDLWindow

    window.show(red_blue())
    SDLWindow.from_display_module().size = (480, 200)  # as if the user dragged the window's corner
    deadline = time.monotonic() + 5
    while window.size != (480, 200) and time.monotonic() < deadline:
        assert window.events() == []
        time.sleep(0.01)
    pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, size=(480, 200), w=480, h=200))
    assert window.events() == []
    window.redraw()
    pixels = window.read_pixels()
    assert pixels.shape == (200, 480, 3)
    # 64x32 fitted into 480x200: 400x200, columns 40..439
    assert not pixels[:, :40].any() and not pixels[:, 440:].any()
    assert pixels[:, 40].any() and pixels[:, 439].any()
    assert near(pixels[0, 60], RED) and near(pixels[199, 420], BLUE)


def test_fullscreen_toggle_keeps_the_picture(window):
    window.show(red_blue())
    textures = window.texture_ids
    window.toggle_fullscreen()
    assert window.fullscreen and window.size == (1280, 720)
    pixels = window.read_pixels()  # toggle_fullscreen draws
    # 64x32 fitted into 1280x720: 1280x640, rows 40..679
    assert not pixels[:40].any() and not pixels[680:].any()
    assert near(pixels[360, 100], RED) and near(pixels[360, 1180], BLUE)
    window.toggle_fullscreen()
    assert not window.fullscreen and window.size == (320, 240)
    window.redraw()
    assert_fit_320x240(window.read_pixels())
    if window.context_rebuilds == 0:  # pygame kept the GL context (as on X11): nothing was made again
        assert window.texture_ids == textures


def test_starting_fullscreen_uses_the_desktop_and_returns_to_the_given_size(xvfb):
    from lavlive.output.display import Window

    with Window((320, 240), fullscreen=True, hide_cursor=True) as win:
        assert win.size == (1280, 720)
        win.show(red_blue())
        assert not win.read_pixels()[:40].any()
        win.toggle_fullscreen()
        assert win.size == (320, 240)
        assert_fit_320x240(win.read_pixels())


def test_a_lost_context_is_rebuilt_from_the_last_pictures(window):
    from OpenGL import GL

    window.show(red_blue(), blend=solid(BLUE, 10, 10), alpha=0.0)
    window.set_overlay("fps 60")
    GL.glUseProgram(0)  # what a new context would look like: none of the old objects exist
    GL.glDeleteProgram(window._renderer._frame_program)
    GL.glDeleteProgram(window._renderer._text_program)
    GL.glDeleteTextures([t for t in window.texture_ids])
    window.toggle_fullscreen()
    window.toggle_fullscreen()
    assert window.context_rebuilds == 1
    window.set_overlay(None)
    window.redraw()
    assert_fit_320x240(window.read_pixels())


def test_textures_are_made_once_per_size(window):
    image, blend = red_blue(), solid(BLUE, 10, 10)
    window.show(image, blend=blend, alpha=0.5)
    textures, buffers = window.texture_ids, window.buffer_ids
    assert None not in textures and None not in buffers and len(set(textures)) == 2
    for _ in range(50):
        window.show(image, blend=blend, alpha=0.5)
    assert window.texture_ids == textures and window.buffer_ids == buffers
    window.show(red_blue(30, 20), blend=blend, alpha=0.5)
    assert window.texture_ids[0] != textures[0] and window.buffer_ids[0] != buffers[0]
    assert window.texture_ids[1] == textures[1] and window.buffer_ids[1] == buffers[1]
    changed = window.texture_ids
    for _ in range(10):
        window.show(red_blue(30, 20), blend=blend, alpha=0.5)
    assert window.texture_ids == changed


def test_overlay_appears_top_left_and_goes(window):
    window.show(solid((40, 80, 120), 64, 48))  # same aspect as the window: no bars
    before = window.read_pixels()
    window.set_overlay("fps 59.9\nsynth 12.3 ms")
    window.redraw()
    shown = window.read_pixels()
    corner = shown[:60, :160].astype(int)
    assert np.abs(corner - before[:60, :160]).max() > 100, "no text in the top-left corner"
    assert (corner.min(axis=-1) > 200).any(), "expected white text"
    margin = 8 + 2  # inside the box's padding, where there is no text: translucent black over the picture
    assert near(shown[margin, margin], before[margin, margin] * (1 - 160 / 255)), shown[margin, margin]
    assert np.array_equal(shown[120:, 200:], before[120:, 200:]), "the overlay must stay in its corner"
    window.set_overlay(None)
    window.redraw()
    assert np.array_equal(window.read_pixels(), before)


def test_torch_cpu_tensors_are_accepted(window):
    image = red_blue()
    window.show(image)
    expected = window.read_pixels()
    window.show(torch.from_numpy(image))
    assert np.array_equal(window.read_pixels(), expected)
    window.show(torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).permute(1, 2, 0))  # strided
    assert np.array_equal(window.read_pixels(), expected)
    assert window.upload_path == "host"


def test_upload_path_is_logged_once(xvfb, caplog):
    from lavlive.output.display import Window

    with caplog.at_level(logging.INFO, logger="lavlive.output.display.renderer"), Window((160, 120)) as win:
        assert win.upload_path is None
        for _ in range(5):
            win.show(red_blue())
            win.swap()
        assert win.upload_path == "host"
        rate = win.refresh_rate
        assert rate is None or rate > 0
    messages = [r.getMessage() for r in caplog.records if "reach the texture" in r.getMessage()]
    assert messages == ["window: frames reach the texture by host"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_tensors_are_shown(window):
    image = red_blue()
    window.show(image)
    expected = window.read_pixels()
    for _ in range(3):
        window.show(torch.from_numpy(image).cuda())
        assert np.array_equal(window.read_pixels(), expected)
    assert window.upload_path in ("cuda-gl interop", "pinned copy")


def test_bad_input_is_a_window_error(window):
    from lavlive.output.display import WindowError

    with pytest.raises(WindowError, match=r"\[H, W, 3\] uint8"):
        window.show(np.zeros((8, 8, 4), np.uint8))
    with pytest.raises(WindowError, match=r"\[H, W, 3\] uint8"):
        window.show(np.zeros((8, 8, 3), np.float32))
    window.close()
    window.close()
    with pytest.raises(WindowError, match="closed"):
        window.show(red_blue())


def test_opening_errors(xvfb, tmp_path, monkeypatch):
    import pygame

    from lavlive.output.display import shaders as shaders_module
    from lavlive.output.display import Window, WindowError
    from lavlive.resources import data_dir

    with pytest.raises(WindowError, match=r"^display 3: no such display \(1 found\)$"):
        Window(display=3)
    with pytest.raises(WindowError, match="scale mode"):
        Window(scale="stretch")
    for name in ("frame.vert", "text.frag"):
        (tmp_path / name).write_text((data_dir("shaders") / name).read_text())
    (tmp_path / "frame.frag").write_text("#version 330 core\nout vec4 colour;\nvoid main() { colour = nope; }\n")
    monkeypatch.setattr(shaders_module, "SHADERS", tmp_path)
    with pytest.raises(WindowError, match=r"shader .*frame\.frag: \S"):
        Window((64, 64))
    assert not pygame.display.get_init(), "a failed open must release the display"
    (tmp_path / "frame.frag").unlink()
    with pytest.raises(WindowError, match=r"frame\.frag: cannot read it"):
        Window((64, 64))
