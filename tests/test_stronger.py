"""Augmentation, label smoothing, optimiser and schedule recipes, and preparing photographed digits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from mnist_tutorial import handwriting
from mnist_tutorial.augment import BACKGROUND, random_affine
from mnist_tutorial.data import MNIST_MEAN, MNIST_STD
from mnist_tutorial.paths import image_path
from mnist_tutorial.recipes import Recipe


def test_an_identity_transform_changes_nothing_and_blank_stays_blank():
    images = torch.randn(4, 1, 28, 28)
    generator = torch.Generator().manual_seed(0)
    same = random_affine(images, generator, degrees=0, scale=(1.0, 1.0), shift=0)
    assert torch.allclose(same, images, atol=1e-5)
    blank = torch.full((2, 1, 28, 28), BACKGROUND)
    assert torch.allclose(random_affine(blank, generator), blank, atol=1e-5)


def test_random_transforms_differ_per_image_and_repeat_under_a_seed():
    image = torch.full((1, 1, 28, 28), BACKGROUND)
    image[0, 0, 10:18, 12:16] = 2.0
    batch = image.repeat(8, 1, 1, 1)
    first = random_affine(batch, torch.Generator().manual_seed(5))
    again = random_affine(batch, torch.Generator().manual_seed(5))
    assert torch.equal(first, again)
    assert len({tuple(x.flatten().round(decimals=3).tolist()) for x in first}) == 8


@pytest.mark.parametrize(
    ("optimizer", "kind"), [("sgd", torch.optim.SGD), ("adam", torch.optim.Adam), ("adagrad", torch.optim.Adagrad)]
)
def test_recipes_build_their_optimizer_and_schedule(optimizer, kind):
    recipe = Recipe("linear", epochs=2, lr=0.05, optimizer=optimizer, schedule="one_cycle")
    model = torch.nn.Linear(2, 2)
    built = recipe.make_optimizer(model)
    assert isinstance(built, kind)
    scheduler = recipe.make_scheduler(built, steps_per_epoch=5)
    rates = []
    for _ in range(10):
        built.step()
        scheduler.step()
        rates.append(built.param_groups[0]["lr"])
    assert max(rates) == pytest.approx(0.05, rel=0.05) and rates[-1] < max(rates) / 10
    assert 0 < rates.index(max(rates)) < len(rates) - 1  # up, then down
    assert Recipe("linear").make_scheduler(built, 5) is None
    if optimizer == "sgd":  # plain SGD has no momentum for the schedule to cycle
        assert built.param_groups[0]["momentum"] == 0


def test_recipes_refuse_unknown_optimizers_and_schedules():
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        Recipe("conv", optimizer="rmsprop")
    with pytest.raises(ValueError, match="unknown schedule 'cosine'"):
        Recipe("conv", schedule="cosine")


def test_photographed_digits_are_prepared_like_mnist():
    square = handwriting.mnist_like(image_path("handwritten_7.png"))
    assert square.shape == (1, 28, 28)
    ink = square[0] * MNIST_STD + MNIST_MEAN  # back to [0, 1]
    assert ink.min() == pytest.approx(0, abs=1e-6) and ink.max() <= 1 + 1e-6
    rows, columns = torch.nonzero(ink > 0, as_tuple=True)
    assert max(rows.max() - rows.min(), columns.max() - columns.min()) + 1 == 20
    weights = ink / ink.sum()
    centre_row = (weights.sum(dim=1) * torch.arange(28)).sum()
    centre_column = (weights.sum(dim=0) * torch.arange(28)).sum()
    assert abs(centre_row - 14) < 1 and abs(centre_column - 14) < 1


def test_dark_ink_becomes_bright_and_paper_becomes_zero():
    paper = np.full((40, 30), 230, dtype=np.uint8)
    paper[10:30, 12:16] = 20
    ink = handwriting.ink_map(Image.fromarray(paper))
    assert ink[20, 14] == 1.0 and ink[0, 0] == 0.0
    assert handwriting.crop_to_ink(ink).shape == (20, 4)


def test_an_image_without_ink_is_refused():
    with pytest.raises(ValueError, match="holds no ink"):
        handwriting.mnist_like(Image.new("L", (50, 50), 240))


def test_comparison_plots_one_panel_per_group_on_a_log_scale():
    from mnist_tutorial.plots import plot_comparison

    histories = pd.DataFrame(
        {
            "epoch": [1, 2] * 3,
            "val_accuracy": [0.5, 0.9, 0.95, 0.97, 0.1, 0.1],
            "run": ["a"] * 2 + ["b"] * 2 + ["c"] * 2,
        }
    )
    figure = plot_comparison(histories, {"first": ["a", "b"], "second": ["c"]})
    first, second = figure.axes
    assert (first.get_title(), second.get_title()) == ("first", "second")
    assert first.get_yscale() == "log" and len(first.lines) == 2 and len(second.lines) == 1
    assert list(second.lines[0].get_ydata()) == pytest.approx([90.0, 90.0])  # error, not accuracy
