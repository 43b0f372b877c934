"""random_affine: what comes back (shape, device, dtype), what it leaves alone, how far each setting moves a digit."""

from __future__ import annotations

import pytest
import torch

from mnist_tutorial.augment import BACKGROUND, random_affine

#: The middle of a 28-pixel side in pixel indices, the point rotations and scalings turn about.
MIDDLE = 13.5


def blob_batch(count: int, row: int = 6, column: int = 18, height: int = 28, width: int = 28) -> torch.Tensor:
    """``count`` copies of a 3 × 3 bright square on background, centred at (row, column)."""
    images = torch.full((count, 1, height, width), BACKGROUND)
    images[:, 0, row - 1 : row + 2, column - 1 : column + 2] = 2.5
    return images


def centres(images: torch.Tensor) -> torch.Tensor:
    """The centre of mass ``(N, 2)``, in (row, column) pixel indices, of each image's ink above background."""
    ink = (images[:, 0] - BACKGROUND).clamp(min=0)
    rows = torch.arange(images.shape[-2], dtype=ink.dtype).view(1, -1, 1)
    columns = torch.arange(images.shape[-1], dtype=ink.dtype).view(1, 1, -1)
    mass = ink.sum(dim=(1, 2))
    return torch.stack([(ink * rows).sum(dim=(1, 2)) / mass, (ink * columns).sum(dim=(1, 2)) / mass], dim=1)


@pytest.mark.parametrize("shape", [(5, 1, 28, 28), (3, 1, 20, 32), (1, 1, 28, 28)])
def test_the_batch_keeps_its_shape_dtype_and_device_and_the_input_is_left_alone(shape):
    images = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    untouched = images.clone()
    moved = random_affine(images, torch.Generator().manual_seed(0))
    assert moved.shape == images.shape and moved.dtype == torch.float32 and moved.device == images.device
    assert torch.equal(images, untouched)
    assert not torch.allclose(moved, images, atol=1e-3)  # the default settings do move the images


def test_the_random_draws_follow_the_images_to_their_device():
    # The meta device computes shapes without values: grid_sample refuses a grid left on the CPU.
    moved = random_affine(torch.zeros(4, 1, 28, 28, device="meta"), torch.Generator().manual_seed(0))
    assert moved.device.type == "meta" and moved.shape == (4, 1, 28, 28)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_cpu_generator_gives_the_same_transforms_on_a_gpu():
    images = blob_batch(6)
    on_cpu = random_affine(images, torch.Generator().manual_seed(3))
    on_gpu = random_affine(images.cuda(), torch.Generator().manual_seed(3))
    assert on_gpu.device.type == "cuda"
    assert torch.allclose(on_gpu.cpu(), on_cpu, atol=1e-4)


def test_a_seed_repeats_the_transforms_another_seed_or_the_next_call_draws_new_ones():
    images = blob_batch(8)
    generator = torch.Generator().manual_seed(5)
    first, following = random_affine(images, generator), random_affine(images, generator)
    assert torch.equal(random_affine(images, torch.Generator().manual_seed(5)), first)
    assert not torch.allclose(following, first, atol=1e-3)  # the generator moved on
    assert not torch.allclose(random_affine(images, torch.Generator().manual_seed(6)), first, atol=1e-3)


def test_shifts_move_a_digit_by_at_most_shift_pixels_each_image_its_own_way():
    images = blob_batch(64, row=10, column=16, height=20, width=32)  # pixels, not fractions of a side
    moved = random_affine(images, torch.Generator().manual_seed(0), degrees=0, scale=(1.0, 1.0), shift=3.0)
    offsets = centres(moved) - centres(images)
    assert offsets.abs().max() <= 3.0 + 1e-3
    assert (offsets.abs().amax(dim=0) > 2.0).all()  # the whole range is used, along both axes, both ways
    assert (offsets > 0.5).any(dim=0).all() and (offsets < -0.5).any(dim=0).all()
    assert len({tuple(offset.round(decimals=2).tolist()) for offset in offsets}) == 64


def test_rotations_turn_a_digit_about_the_middle_by_at_most_degrees():
    images = blob_batch(64)
    moved = random_affine(images, torch.Generator().manual_seed(0), degrees=30, scale=(1.0, 1.0), shift=0.0)
    before, after = centres(images) - MIDDLE, centres(moved) - MIDDLE
    assert torch.allclose(after.norm(dim=1), before.norm(dim=1), atol=0.1)  # a turn about the middle
    turned = torch.atan2(after[:, 0], after[:, 1]) - torch.atan2(before[:, 0], before[:, 1])
    degrees = turned.rad2deg().abs()
    assert degrees.max() <= 30 + 0.5 and degrees.max() > 20


@pytest.mark.parametrize("factor", [0.8, 1.25])
def test_scale_enlarges_or_shrinks_a_digit_about_the_middle_by_that_factor(factor):
    images = blob_batch(4, row=9, column=17)
    moved = random_affine(images, torch.Generator().manual_seed(0), degrees=0, scale=(factor, factor), shift=0.0)
    ratio = (centres(moved) - MIDDLE).norm(dim=1) / (centres(images) - MIDDLE).norm(dim=1)
    assert torch.allclose(ratio, torch.full((4,), factor), atol=0.05)


def test_pixels_moved_in_from_outside_are_background_and_no_value_leaves_the_inputs_range():
    images = torch.full((16, 1, 28, 28), 2.0)  # ink everywhere: whatever is moved in shows
    moved = random_affine(images, torch.Generator().manual_seed(0), degrees=20, scale=(0.8, 0.8), shift=2.0)
    corners = moved[:, 0, [0, 0, -1, -1], [0, -1, 0, -1]]
    assert torch.allclose(corners, torch.full_like(corners, BACKGROUND), atol=1e-5)
    assert moved.min() >= BACKGROUND - 1e-5 and moved.max() <= 2.0 + 1e-5


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_other_floating_point_types_are_resampled_in_their_own_type(dtype):
    images = torch.zeros(3, 1, 28, 28)
    images[:, :, 10:18, 12:16] = 2.0
    moved = random_affine(images.to(dtype), torch.Generator().manual_seed(0))
    assert moved.dtype == dtype and moved.shape == images.shape
    if dtype == torch.float64:  # the same transforms as in float32, to float32's rounding
        reference = random_affine(images, torch.Generator().manual_seed(0))
        assert torch.allclose(moved.float(), reference, atol=1e-5)


@pytest.mark.parametrize(
    ("images", "error", "message"),
    [
        (torch.zeros(2, 1, 28, 28, dtype=torch.uint8), TypeError, "floating-point images, got torch.uint8"),
        (torch.zeros(1, 28, 28), ValueError, r"a batch \(N, C, H, W\), got shape \(1, 28, 28\)"),
    ],
)
def test_integer_images_or_a_missing_batch_dimension_are_refused(images, error, message):
    with pytest.raises(error, match=message):
        random_affine(images, torch.Generator().manual_seed(0))
