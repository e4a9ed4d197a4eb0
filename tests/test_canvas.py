"""Pictures at the screen's shape (generator/canvas.py): the canvas a user asks for, and what each family draws
for it. StyleGAN3 draws more of the same picture (its middle unchanged); StyleGAN2 starts from its constant and
noise mirrored outward, a picture of the asked shape whose middle stays close to the square one."""

from __future__ import annotations

import pytest
import torch

from lavlive import load_generator
from lavlive.cli import main
from lavlive.errors import LavliveError
from lavlive.generator import Generator, GeneratorConfig
from lavlive.generator.canvas import CanvasGrid, mirrored, parse_canvas
from lavlive.pipeline import Synthesizer
from lavlive.pipeline.synthesizer import Size

from test_stylegan3 import psnr, random_sg3


@pytest.mark.parametrize("text, resolution, pixels", [
    ("16:9", 256, (456, 256)), ("9:16", 256, (256, 456)), ("32:9", 1024, (3640, 1024)), ("1:1", 64, (64, 64)),
    ("1920x1080", 1024, (1920, 1080)), (" 4:3 ", 512, (682, 512))])
def test_a_canvas_keeps_the_resolution_on_its_short_side_with_even_sides(text, resolution, pixels):
    assert parse_canvas(text).pixels(resolution) == pixels


@pytest.mark.parametrize("text, says", [
    ("16:0", "between 1:8 and 8:1"), ("9:1", "between 1:8 and 8:1"), ("wide", "use an aspect W:H"),
    ("1920x1081", "must be even"), ("8x8", "between 16 and 8192"), ("16:9:4", "use an aspect W:H")])
def test_a_canvas_that_does_not_fit_is_a_one_line_error_naming_it(text, says, tmp_path, capsys):
    with pytest.raises(LavliveError, match=says):
        parse_canvas(text)
    assert main(["render", str(tmp_path / "x.wav"), "-o", str(tmp_path / "x.mp4"), "--canvas", text]) != 0
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"--canvas {text}" in err and says in err and "Traceback" not in err
    assert not (tmp_path / "x.mp4").exists()


def test_the_grid_covers_the_canvas_centred_on_the_square_picture():
    grid = CanvasGrid.covering(456, 256, 256, 4)  # cells of 64 pixels: 8 across (4 square + 2 + 2), 4 down
    assert (grid.x.cells, grid.x.before, grid.x.cut) == (8, 2, 28) and (grid.y.cells, grid.y.cut) == (4, 0)
    odd = CanvasGrid.covering(400, 256, 256, 4)  # 7 cells: one more after; the canvas still centred on the square
    assert (odd.x.cells, odd.x.before, odd.x.cut) == (7, 1, 0)
    assert CanvasGrid.covering(400, 256, 256, 4, even=True).x.cells == 8
    t = torch.arange(4.0).reshape(1, 4)
    assert mirrored(t, (1, 0), (8, 2))[0].tolist() == [1, 0, 0, 1, 2, 3, 3, 2]


@pytest.mark.parametrize("radial", [False, True], ids=["T", "R"])
@pytest.mark.parametrize("canvas", ["16:9", "9:16", "120x64"])
def test_stylegan3_draws_more_of_the_same_picture(canvas, radial):
    """The wider input grid samples the same continuous picture: the square picture is the canvas's middle, to
    rounding in its central half; towards its edges the square picture feels its own border (its layers' zero
    padding beyond their margin), which the canvas continues past: up to 2e-3 at the edge, 1e-4 a quarter in
    (5e-3 and 1e-4 for the fixture)."""
    G = random_sg3(radial)
    ws = G.mapping(torch.randn(2, 64))
    with torch.no_grad():
        square = G.synthesis(ws)
        wide = G.synthesis(ws, canvas=parse_canvas(canvas).pixels(64))
    width, height = parse_canvas(canvas).pixels(64)
    assert wide.shape == (2, 3, height, width)
    x0, y0 = (width - 64) // 2, (height - 64) // 2
    middle = wide[..., y0:y0 + 64, x0:x0 + 64]
    peak = 2 * float(square.abs().max())
    assert psnr(middle, square, peak) > 55 and psnr(middle[:1], square[1:], peak) < 40
    inside = (..., slice(20, -20), slice(20, -20))
    assert (middle[inside] - square[inside]).abs().max() < 1e-4
    assert (middle - square).abs().max() < 1e-2


def test_the_nvidia_fixture_draws_nvidias_picture_in_the_middle_of_a_wide_one(sg3_fixture, sg3_expected):
    G = load_generator(sg3_fixture)
    with torch.no_grad():
        wide = G.synthesis(torch.from_numpy(sg3_expected["ws"]), canvas=(114, 64))
    assert wide.shape == (4, 3, 64, 114)
    middle, expected = wide[..., 25:89], torch.from_numpy(sg3_expected["img"])
    assert float((middle - expected)[..., 20:-20].abs().max()) < 1e-4  # towards the edges: see the test above
    assert float((middle - expected).abs().max()) < 1e-2


def small_sg2(resolution: int = 64) -> Generator:
    torch.manual_seed(11)
    return Generator(GeneratorConfig(z_dim=64, w_dim=64, img_resolution=resolution, channel_base=1024,
                                     channel_max=64, mapping_layers=2)).eval().requires_grad_(False)


@pytest.mark.parametrize("noise_mode", ["const", "random", "none"])
def test_stylegan2_draws_the_canvas_from_its_constant_and_noise_mirrored_outward(noise_mode):
    G = small_sg2()
    ws = G.mapping(torch.randn(1, 64), None)
    seeded = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    square = G.synthesis(ws, noise_mode, generator=seeded())
    assert torch.equal(G.synthesis(ws, noise_mode, generator=seeded(), canvas=(64, 64)), square)
    wide = G.synthesis(ws, noise_mode, generator=seeded(), canvas=(114, 64))
    tall = G.synthesis(ws, noise_mode, generator=seeded(), canvas=(64, 114))
    assert wide.shape == (1, 3, 64, 114) and tall.shape == (1, 3, 114, 64)
    # The whole picture recomposes (every layer sees the wider field): a picture of the same kind everywhere,
    # its edges as lively as its middle, and another w's picture another one.
    spread = wide.std(dim=(0, 1, 2))  # per column
    low, high = float(spread.min() / square.std()), float(spread.max() / square.std())
    assert torch.isfinite(wide).all() and 0.3 < low < high < 3, (low, high)
    other = G.synthesis(G.mapping(torch.randn(1, 64), None), noise_mode, generator=seeded(), canvas=(114, 64))
    assert psnr(other, wide, 2 * float(wide.abs().max())) < 30


def test_the_synthesizer_draws_the_canvas_and_scales_it_to_the_size():
    G = small_sg2(32)
    ws = G.mapping(torch.randn(3, 64), None).numpy()
    drawn = Synthesizer(G, canvas=parse_canvas("16:9"))
    assert drawn.canvas_size == drawn.size == Size(56, 32) and drawn(ws).shape == (3, 32, 56, 3)
    assert "canvas 16:9 (56x32)" in drawn.describe()
    scaled = Synthesizer(G, Size(112, 64), canvas=parse_canvas("16:9"))
    assert scaled(ws).shape == (3, 64, 112, 3)
