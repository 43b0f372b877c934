"""The models table and the classifiers: sizes, outputs, and what each architecture can express."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mnist_tutorial.models import (
    ConvClassifier,
    LinearClassifier,
    MLPClassifier,
    StrongClassifier,
    StrongClassifierWithoutBatchNorm,
    count_parameters,
)
from mnist_tutorial.recipes import MODELS, Recipe, architecture_name, build_model, default_recipe
from mnist_tutorial.runs import prepare_training

SIZES = {"linear": 89_610, "mlp": 89_610, "conv": 225_034, "strong": 229_234, "strong-no-bn": 228_906}


def test_the_table_names_every_model_once_with_its_documented_size():
    assert set(MODELS) == set(SIZES)
    assert {entry.architecture for entry in MODELS.values()} == {
        LinearClassifier, MLPClassifier, ConvClassifier, StrongClassifier, StrongClassifierWithoutBatchNorm
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
        with pytest.raises(
            ValueError, match="unknown model 'resnet'; choose one of linear, mlp, conv, strong, strong-no-bn"
        ):
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


CLASSES: dict[type[nn.Module], int] = {
    LinearClassifier: 784 * 100 + 100 + 100 * 100 + 100 + 100 * 10 + 10,
    MLPClassifier: 784 * 100 + 100 + 100 * 100 + 100 + 100 * 10 + 10,
    ConvClassifier: (9 * 32 + 32) + (9 * 32 * 64 + 64) + (1600 * 128 + 128) + (128 * 10 + 10),
    # Convolutions and the first linear layer without bias; each batch norm has a weight and a bias per channel.
    StrongClassifier: 25 * 24 + 2 * 24 + 25 * 24 * 48 + 2 * 48 + 768 * 256 + 2 * 256 + 256 * 10 + 10,
    # The same layers, each with its bias, and no batch norm.
    StrongClassifierWithoutBatchNorm: (25 * 24 + 24) + (25 * 24 * 48 + 48) + (768 * 256 + 256) + (256 * 10 + 10),
}


def test_the_stronger_model_without_batch_norm_differs_only_there():
    with_norm, without = StrongClassifier(), StrongClassifierWithoutBatchNorm()
    norms = (nn.BatchNorm1d, nn.BatchNorm2d)
    assert not any(isinstance(layer, norms) for layer in without.modules())
    kinds = [type(layer) for layer in list(with_norm.modules())[1:] if not isinstance(layer, (*norms, nn.Sequential))]
    assert kinds == [
        type(layer) for layer in list(without.modules())[1:] if not isinstance(layer, (nn.Identity, nn.Sequential))
    ]
    assert all(layer.bias is not None for layer in without.modules() if isinstance(layer, (nn.Conv2d, nn.Linear)))


@pytest.mark.parametrize("architecture", list(CLASSES), ids=lambda c: c.__name__)
def test_each_class_has_the_parameter_count_its_docstring_derives(architecture):
    assert count_parameters(architecture()) == CLASSES[architecture]
    assert f"{CLASSES[architecture]:,}" in architecture.__doc__


def test_count_parameters_counts_only_trainable_parameters():
    model = LinearClassifier()
    model.layer_1.requires_grad_(False)
    assert count_parameters(model) == 89_610 - (784 * 100 + 100)
    assert count_parameters(nn.Linear(3, 2)) == 8
    assert count_parameters(nn.ReLU()) == 0


@pytest.mark.parametrize("architecture", list(CLASSES), ids=lambda c: c.__name__)
@pytest.mark.parametrize("count", [1, 3])
def test_each_class_maps_a_batch_to_log_probabilities_of_its_logits_and_leaves_the_images_alone(architecture, count):
    torch.manual_seed(0)
    model = architecture().eval()
    images = torch.randn(count, 1, 28, 28)
    untouched = images.clone()
    with torch.no_grad():
        logits, log_probs = model.logits(images), model(images)
    assert logits.shape == log_probs.shape == (count, 10)
    assert log_probs.dtype == torch.float32
    assert torch.allclose(log_probs.exp().sum(dim=1), torch.ones(count), atol=1e-5)
    assert torch.allclose(log_probs, F.log_softmax(logits, dim=1), atol=1e-6)
    assert not torch.allclose(logits, log_probs, atol=1e-3)  # logits are the scores before normalisation
    assert torch.equal(images, untouched)


def test_the_convolutional_blocks_shrink_the_images_as_the_docstrings_say():
    images = torch.randn(2, 1, 28, 28)
    conv, strong = ConvClassifier(), StrongClassifier()
    assert conv.block_1(images).shape == (2, 32, 13, 13)
    assert conv.block_2(conv.block_1(images)).shape == (2, 64, 5, 5)
    assert strong.block_1(images).shape == (2, 24, 12, 12)
    assert strong.block_2(strong.block_1(images)).shape == (2, 48, 4, 4)
    assert [m.p for m in conv.modules() if isinstance(m, nn.Dropout)] == [0.25, 0.5]
    assert [m.p for m in strong.modules() if isinstance(m, nn.Dropout)] == [0.3]


def test_the_layers_batch_normalisation_follows_have_no_bias():
    strong = StrongClassifier()
    assert strong.block_1[0].bias is None and strong.block_2[0].bias is None and strong.head[1].bias is None
    assert strong.head[-1].bias is not None  # the output layer is not normalised


@pytest.mark.parametrize("name", ["conv", "strong"])
def test_prepare_training_lays_conv_models_out_channels_last_on_the_cpu_without_changing_their_outputs(name):
    model = prepare_training(default_recipe(name), torch.device("cpu"), steps_per_epoch=10).model
    weights = [p for p in model.parameters() if p.dim() == 4]
    assert weights and all(w.is_contiguous(memory_format=torch.channels_last) for w in weights)
    assert not all(w.is_contiguous() for w in weights)  # the layout did change (a 1-channel kernel is both)
    plain = copy.deepcopy(model).to(memory_format=torch.contiguous_format)
    assert all(p.is_contiguous() for p in plain.parameters())
    images = torch.randn(8, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        fast, expected = model.eval()(images), plain.eval()(images)
    assert torch.allclose(fast, expected, atol=1e-5)
