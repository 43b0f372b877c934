"""The two classifiers: sizes, outputs, and the fast layers that must equal the plain ones."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mnist_tutorial.models import (
    ConvClassifier,
    FastDropout,
    LinearClassifier,
    architecture_name,
    build_model,
    count_parameters,
)


@pytest.mark.parametrize(("model", "expected"), [(LinearClassifier, 89_610), (ConvClassifier, 225_034)])
def test_parameter_counts_match_the_docstrings(model, expected):
    assert count_parameters(model()) == expected
    assert f"{expected:,}" in model.__doc__


@pytest.mark.parametrize("name", ["linear", "conv"])
def test_outputs_are_log_probabilities_over_the_ten_classes(name):
    torch.manual_seed(0)
    model = build_model(name).eval()
    log_probs = model(torch.randn(5, 1, 28, 28))
    assert log_probs.shape == (5, 10)
    assert torch.allclose(log_probs.exp().sum(dim=1), torch.ones(5), atol=1e-5)
    # Normalising over the batch (the original notebook's dim=0) would make columns sum to 1 instead.
    assert not torch.allclose(log_probs.exp().sum(dim=0), torch.ones(10), atol=1e-2)


def plain_conv_classifier() -> nn.Sequential:
    """The convolutional model as the book first writes it: ReLU, then pooling, then nn.Dropout."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.5),
        nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10), nn.LogSoftmax(dim=1),
    )  # fmt: skip


def test_pooling_before_relu_computes_the_same_function_and_gradients():
    torch.manual_seed(0)
    fast, plain = ConvClassifier().eval(), plain_conv_classifier().eval()
    fast_params = [fast.conv_1, fast.conv_2, fast.layer_3, fast.layer_4]
    plain_params = [plain[0], plain[4], plain[9], plain[11]]
    for source, target in zip(fast_params, plain_params, strict=True):
        target.load_state_dict(source.state_dict())
    images = torch.randn(16, 1, 28, 28)
    labels = torch.randint(0, 10, (16,))
    fast_out, plain_out = fast(images), plain(images)
    # channels_last convolutions sum in another order, so the last bits may differ
    assert torch.allclose(fast_out, plain_out, rtol=0, atol=1e-5)
    F.nll_loss(fast_out, labels).backward()
    F.nll_loss(plain_out, labels).backward()
    for source, target in zip(fast_params, plain_params, strict=True):
        assert torch.allclose(source.weight.grad, target.weight.grad, rtol=1e-5, atol=1e-7)


def test_relu_and_max_pooling_commute_exactly():
    values = torch.randn(8, 32, 26, 26)
    assert torch.equal(F.relu(F.max_pool2d(values, 2)), F.max_pool2d(F.relu(values), 2))


def test_fast_dropout_zeroes_the_asked_fraction_and_rescales_the_rest():
    torch.manual_seed(0)
    layer = FastDropout(0.25)
    out = layer(torch.ones(1_000_000))
    zeroed = (out == 0).double().mean().item()
    assert zeroed == pytest.approx(0.25, abs=0.002)
    assert torch.all((out == 0) | torch.isclose(out, torch.tensor(4 / 3)))
    assert out.mean().item() == pytest.approx(1.0, abs=0.005)


def test_fast_dropout_passes_values_through_in_evaluation_and_repeats_under_a_seed():
    values = torch.randn(4, 32, 13, 13)
    assert torch.equal(FastDropout(0.5).eval()(values), values)
    torch.manual_seed(7)
    first = FastDropout(0.5)(values)
    torch.manual_seed(7)
    assert torch.equal(FastDropout(0.5)(values), first)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        FastDropout(1.0)


def test_the_linear_classifier_is_one_linear_map():
    torch.manual_seed(0)
    model = LinearClassifier()
    weight = model.layer_3.weight @ model.layer_2.weight @ model.layer_1.weight
    bias = model.layer_3.weight @ (model.layer_2.weight @ model.layer_1.bias + model.layer_2.bias) + model.layer_3.bias
    images = torch.randn(8, 1, 28, 28)
    collapsed = F.log_softmax(images.flatten(1) @ weight.T + bias, dim=1)
    assert torch.allclose(model(images), collapsed, atol=1e-5)


def test_models_are_built_by_name_and_named_back():
    assert isinstance(build_model("conv"), ConvClassifier)
    assert architecture_name(build_model("linear")) == "linear"
    with pytest.raises(ValueError, match="unknown model 'resnet'; choose one of linear, conv"):
        build_model("resnet")
    with pytest.raises(ValueError, match="not one of the package's architectures"):
        architecture_name(nn.Linear(2, 2))
