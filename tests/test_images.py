"""The images in img/ are what img/README.md says they are, and photographed digits become MNIST-like tensors."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from mnist_tutorial.data import MNIST_MEAN, MNIST_STD
from mnist_tutorial.handwriting import INK_THRESHOLD, centre_by_mass, crop_to_ink, fit_in_box, ink_map, mnist_like
from mnist_tutorial.paths import image_path

IMG = Path(__file__).resolve().parent.parent / "img"


def load_drawing_script():
    spec = importlib.util.spec_from_file_location("draw_images", IMG / "draw_images.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_drawn_images_are_the_scripts_output(tmp_path: Path):
    written = load_drawing_script().main(tmp_path)
    assert written, "the script drew nothing"
    for path in written:
        committed = IMG / path.name
        assert committed.is_file(), f"{path.name} is drawn but not committed; run make images"
        assert committed.read_bytes() == path.read_bytes(), f"{path.name} is stale; run make images"


def test_the_photo_is_matplotlibs_public_domain_sample():
    sample = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    assert (IMG / "grace_hopper.jpg").read_bytes() == sample.read_bytes()


@pytest.mark.parametrize("path", sorted(p.name for p in IMG.iterdir() if p.suffix in {".png", ".jpg"}))
def test_every_image_has_its_provenance_written_down(path: str):
    assert f"`{path}`" in (IMG / "README.md").read_text()


def photographed_seven(mode: str = "L") -> Image.Image:
    """A dark, slanted seven on light grey paper, 60 pixels wide and 80 high, off-centre."""
    paper = Image.new("L", (60, 80), 235)
    ImageDraw.Draw(paper).line([(20, 10), (40, 10), (25, 70)], fill=15, width=6)
    return paper.convert(mode)


def centre_of_mass(ink: np.ndarray) -> tuple[float, float]:
    rows, columns = np.indices(ink.shape)
    return float((rows * ink).sum() / ink.sum()), float((columns * ink).sum() / ink.sum())


def test_ink_map_turns_dark_strokes_into_ink_one_and_paper_and_faint_marks_into_zero():
    grey = np.full((40, 30), 200, dtype=np.uint8)
    grey[10:30, 12:16] = 0  # the stroke
    grey[2, 2] = 180  # a faint mark: a tenth of the way from paper to the stroke, below INK_THRESHOLD
    image = Image.fromarray(grey)
    ink = ink_map(image)
    assert ink.shape == (40, 30) and ink.dtype == np.float32  # rows by columns, as the image is high by wide
    assert ink[20, 14] == 1.0 and ink[0, 0] == 0.0 and ink[2, 2] == 0.0
    assert ink.min() >= 0 and ink.max() <= 1
    assert ((ink == 0) | (ink >= INK_THRESHOLD)).all()
    assert np.array_equal(np.asarray(image), grey)  # the image is left as it was


def test_ink_map_reads_colour_images_by_their_grey_level_and_blank_paper_as_no_ink():
    assert np.allclose(ink_map(photographed_seven("RGB")), ink_map(photographed_seven("L")))
    assert not ink_map(Image.new("L", (10, 10), 200)).any()


def test_crop_to_ink_keeps_exactly_the_rectangle_around_the_ink():
    ink = np.zeros((30, 40), dtype=np.float32)
    ink[5, 7], ink[20, 30] = 0.5, 1.0
    untouched = ink.copy()
    cropped = crop_to_ink(ink)
    assert cropped.shape == (16, 24) and cropped.dtype == np.float32
    assert cropped[0, 0] == 0.5 and cropped[-1, -1] == 1.0 and cropped.sum() == ink.sum()
    assert np.array_equal(ink, untouched)


def test_crop_to_ink_refuses_an_image_without_ink():
    with pytest.raises(ValueError, match="the image holds no ink: is it a dark digit on light paper"):
        crop_to_ink(np.zeros((5, 5), dtype=np.float32))


@pytest.mark.parametrize(
    ("shape", "size", "expected"),
    [
        ((40, 10), 20, (20, 5)),
        ((10, 40), 20, (5, 20)),
        ((5, 5), 20, (20, 20)),
        ((100, 1), 20, (20, 1)),
        ((40, 10), 8, (8, 2)),
    ],
)
def test_fit_in_box_scales_the_longer_side_to_size_and_keeps_the_proportions(shape, size, expected):
    ink = np.ones(shape, dtype=np.float32)
    fitted = fit_in_box(ink, size)
    assert fitted.shape == expected and fitted.dtype == np.float32
    assert np.array_equal(ink, np.ones(shape, dtype=np.float32))


def test_fit_in_box_keeps_values_in_the_unit_range_where_resampling_overshoots():
    ink = np.zeros((30, 30), dtype=np.float32)
    ink[5:25, 5:25] = 1  # hard edges: Lanczos resampling rings above 1 and below 0 next to them
    fitted = fit_in_box(ink, 7)
    assert fitted.min() == 0.0 and fitted.max() == 1.0


def test_centre_by_mass_puts_the_centre_of_mass_in_the_middle_and_keeps_all_the_ink():
    ink = np.zeros((12, 9), dtype=np.float32)
    ink[:3, :] = 1.0  # a top-heavy digit: its centre of mass is high up, not in its box's middle
    ink[3:, 4] = 0.5
    untouched = ink.copy()
    for size in (28, 32):
        square = centre_by_mass(ink, size)
        assert square.shape == (size, size) and square.dtype == np.float32
        assert square.sum() == pytest.approx(ink.sum())
        row, column = centre_of_mass(square)
        assert abs(row - size / 2) <= 0.5 and abs(column - size / 2) <= 0.5
    assert np.array_equal(ink, untouched)


def test_centre_by_mass_keeps_ink_inside_the_square_when_its_mass_sits_at_one_end():
    ink = np.zeros((20, 20), dtype=np.float32)
    ink[0, 0], ink[19, 19] = 1.0, 0.01  # centring the mass would push the far corner out of the square
    square = centre_by_mass(ink)
    assert square.sum() == pytest.approx(ink.sum())
    assert square[square > 0].size == 2


def normalised_ink(tensor: torch.Tensor) -> torch.Tensor:
    return tensor[0] * MNIST_STD + MNIST_MEAN


def test_mnist_like_gives_a_normalised_28_by_28_white_on_black_digit_20_pixels_high_centred_by_mass():
    digit = mnist_like(photographed_seven())
    assert digit.shape == (1, 28, 28) and digit.dtype == torch.float32
    ink = normalised_ink(digit)
    assert ink.min().item() == pytest.approx(0, abs=1e-6)  # paper is black: MNIST's background after normalising
    assert ink.max().item() == pytest.approx(1, abs=1e-6)  # the darkest stroke is full ink
    rows, columns = torch.nonzero(ink > 0, as_tuple=True)
    assert rows.max() - rows.min() + 1 == 20  # the seven is higher than wide: its height becomes 20
    assert columns.max() - columns.min() + 1 < 20
    row, column = centre_of_mass(ink.numpy())
    assert abs(row - 14) <= 0.5 and abs(column - 14) <= 0.5


def test_mnist_like_reads_an_image_a_path_or_a_path_string_alike_and_leaves_the_image_alone(tmp_path: Path):
    image = photographed_seven()
    before = image.tobytes()
    image.save(tmp_path / "seven.png")
    from_image = mnist_like(image)
    assert image.tobytes() == before and image.mode == "L"
    assert torch.equal(mnist_like(tmp_path / "seven.png"), from_image)
    assert torch.equal(mnist_like(str(tmp_path / "seven.png")), from_image)
    assert torch.equal(mnist_like(image.convert("RGBA")), from_image)


def test_mnist_like_prepares_the_books_photographed_digits():
    for name in ("handwritten_2.png", "handwritten_9.png"):
        digit = mnist_like(image_path(name))
        assert digit.shape == (1, 28, 28)
        assert normalised_ink(digit).min().item() == pytest.approx(0, abs=1e-6)


def test_mnist_like_refuses_blank_paper():
    with pytest.raises(ValueError, match="holds no ink"):
        mnist_like(Image.new("L", (50, 50), 240))
