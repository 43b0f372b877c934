"""The models table and the classifiers: sizes, outputs, and what each architecture can express."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mnist_tutorial.models import ConvClassifier, LinearClassifier, MLPClassifier, StrongClassifier, count_parameters
from mnist_tutorial.recipes import MODELS, Recipe, architecture_name, build_model, default_recipe

SIZES = {"linear": 89_610, "mlp": 89_610, "conv": 225_034, "strong": 229_234}


def test_the_table_names_every_model_once_with_its_documented_size():
    assert set(MODELS) == set(SIZES)
    assert {entry.architecture for entry in MODELS.values()} == {
        LinearClassifier, MLPClassifier, ConvClassifier, StrongClassifier
    }  # fmt: skip
    for name, size in SIZES.items():
        model = build_model(name)
        assert count_parameters(model) == size
        assert f"{size:,}" in type(model).__doc__
        assert architecture_name(model) == name


@pytest.mark.parametrize("name", list(SIZES))
def test_outputs_are_log_probabilities_over_the_ten_classes(name):
    torch.manual_seed(0)
    model = build_model(name).eval()
    images = torch.randn(5, 1, 28, 28)
    log_probs = model(images)
    assert log_probs.shape == (5, 10)
    assert torch.allclose(log_probs.exp().sum(dim=1), torch.ones(5), atol=1e-5)
    # Normalising over the batch (the original notebook's dim=0) would make columns sum to 1 instead.
    assert not torch.allclose(log_probs.exp().sum(dim=0), torch.ones(10), atol=1e-2)
    assert torch.allclose(log_probs, F.log_softmax(model.logits(images), dim=1))


def test_every_default_recipe_names_its_own_model_and_the_notebooks_are_ten_epochs_of_sgd_at_batch_32():
    for name in MODELS:
        assert default_recipe(name).model == name
    for name, lr in [("linear", 0.01), ("mlp", 0.01), ("conv", 0.1)]:
        recipe = default_recipe(name)
        assert (recipe.epochs, recipe.batch_size, recipe.optimizer, recipe.lr, recipe.momentum) == (
            10,
            32,
            "sgd",
            lr,
            0,
        )
    assert default_recipe("conv", epochs=3).epochs == 3


def test_unknown_models_are_refused_by_name():
    for attempt in (lambda: build_model("resnet"), lambda: Recipe("resnet"), lambda: default_recipe("resnet")):
        with pytest.raises(ValueError, match="unknown model 'resnet'; choose one of linear, mlp, conv, strong"):
            attempt()
    with pytest.raises(ValueError, match="not one of the package's models"):
        architecture_name(nn.Linear(2, 2))


def test_the_linear_classifier_is_one_linear_map_and_the_mlp_is_not():
    torch.manual_seed(0)
    images = torch.randn(64, 1, 28, 28)
    for model, collapses in ((LinearClassifier(), True), (MLPClassifier(), False)):
        weight = model.layer_3.weight @ model.layer_2.weight @ model.layer_1.weight
        bias = model.layer_3.weight @ (model.layer_2.weight @ model.layer_1.bias + model.layer_2.bias)
        collapsed = images.flatten(1) @ weight.T + bias + model.layer_3.bias
        assert torch.allclose(model.logits(images), collapsed, atol=1e-5) is collapses


def test_the_convolutional_model_trains_with_dropout_and_evaluates_without():
    torch.manual_seed(0)
    model, images = ConvClassifier(), torch.randn(4, 1, 28, 28)
    assert sum(isinstance(m, nn.Dropout) for m in model.modules()) == 2
    model.eval()
    assert torch.equal(model(images), model(images))
    model.train()
    assert not torch.equal(model(images), model(images))
    torch.manual_seed(3)
    first = model(images)
    torch.manual_seed(3)
    assert torch.equal(model(images), first)  # re-seeding repeats the dropout masks


def test_channels_last_changes_the_layout_not_the_function():
    torch.manual_seed(0)
    for name in ("conv", "strong"):
        plain = build_model(name).eval()
        fast = build_model(name).eval().to(memory_format=torch.channels_last)
        fast.load_state_dict(plain.state_dict())
        images = torch.randn(8, 1, 28, 28)
        assert torch.allclose(plain(images), fast(images), atol=1e-5)
