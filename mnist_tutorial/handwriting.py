"""Turning a photo of a handwritten digit into an MNIST-like tensor.

MNIST digits are white on black, cropped to their ink, scaled so the longer side is 20 pixels,
and placed in a 28 × 28 square with their centre of mass in the middle. :func:`mnist_like`
applies the same steps to any image of a single dark digit on light paper.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from PIL import Image

from .data import MNIST_MEAN, MNIST_STD

#: Ink darker than this fraction of the strongest stroke (after inversion) counts as paper.
INK_THRESHOLD = 0.2


def ink_map(image: Image.Image) -> np.ndarray:
    """Invert grey levels to ink in [0, 1]: paper 0, the darkest stroke 1, faint noise removed."""
    grey = np.asarray(image.convert("L"), dtype=np.float32) / 255
    ink = 1 - grey
    paper = np.median(ink)
    ink = np.clip((ink - paper) / max(ink.max() - paper, 1e-6), 0, 1)
    ink[ink < INK_THRESHOLD] = 0
    return ink


def crop_to_ink(ink: np.ndarray) -> np.ndarray:
    """Cut out the smallest rectangle holding all the ink."""
    rows, columns = np.nonzero(ink)
    if len(rows) == 0:
        raise ValueError("the image holds no ink: is it a dark digit on light paper?")
    return ink[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]


def fit_in_box(ink: np.ndarray, size: int = 20) -> np.ndarray:
    """Scale so that the longer side is ``size`` pixels, keeping the proportions."""
    height, width = ink.shape
    factor = size / max(height, width)
    shape = (max(1, round(width * factor)), max(1, round(height * factor)))
    return np.asarray(Image.fromarray(ink, mode="F").resize(shape, Image.Resampling.LANCZOS)).clip(0, 1)


def centre_by_mass(ink: np.ndarray, size: int = 28) -> np.ndarray:
    """Place ``ink`` in a ``size`` × ``size`` square with its centre of mass in the middle."""
    height, width = ink.shape
    rows, columns = np.indices(ink.shape)
    mass = ink.sum()
    top = round(size / 2 - (rows * ink).sum() / mass)
    left = round(size / 2 - (columns * ink).sum() / mass)
    top, left = min(max(top, 0), size - height), min(max(left, 0), size - width)
    canvas = np.zeros((size, size), dtype=np.float32)
    canvas[top : top + height, left : left + width] = ink
    return canvas


def mnist_like(image: Image.Image | str | os.PathLike[str]) -> torch.Tensor:
    """Return a normalised ``(1, 28, 28)`` tensor of a photographed digit, ready for the models."""
    if not isinstance(image, Image.Image):
        image = Image.open(image)
    square = centre_by_mass(fit_in_box(crop_to_ink(ink_map(image))))
    return (torch.from_numpy(square).unsqueeze(0) - MNIST_MEAN) / MNIST_STD
