"""Data augmentation on tensors: random small rotations, scalings and shifts of whole batches."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .data import MNIST_MEAN, MNIST_STD

#: The value of a blank (white-paper, here black) MNIST pixel after normalisation.
BACKGROUND = -MNIST_MEAN / MNIST_STD


def random_affine(
    images: torch.Tensor,
    generator: torch.Generator,
    *,
    degrees: float = 10.0,
    scale: tuple[float, float] = (0.9, 1.1),
    shift: float = 2.0,
) -> torch.Tensor:
    """Rotate by up to ``degrees``, scale within ``scale`` and shift by up to ``shift`` pixels.

    Each image of the batch ``(N, 1, H, W)`` gets its own random transform, drawn from
    ``generator`` (a CPU generator, so runs repeat), and is resampled bilinearly; pixels moved
    in from outside the image are background. The transform is computed in the images' own
    floating-point type.
    """
    if images.dim() != 4:
        raise ValueError(f"random_affine takes a batch (N, C, H, W), got shape {tuple(images.shape)}")
    if not images.is_floating_point():
        raise TypeError(f"random_affine resamples floating-point images, got {images.dtype}")
    count, _, height, width = images.shape
    draws = torch.rand(count, 4, generator=generator).to(images.device, images.dtype) * 2 - 1
    angle = draws[:, 0] * math.radians(degrees)
    factor = (scale[0] + scale[1]) / 2 + draws[:, 1] * (scale[1] - scale[0]) / 2
    cos, sin = torch.cos(angle) / factor, torch.sin(angle) / factor
    shift_x, shift_y = draws[:, 2] * 2 * shift / width, draws[:, 3] * 2 * shift / height
    theta = torch.stack([torch.stack([cos, -sin, shift_x], 1), torch.stack([sin, cos, shift_y], 1)], 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    moved = F.grid_sample(images - BACKGROUND, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return moved + BACKGROUND
