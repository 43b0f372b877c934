"""What evaluate returns and leaves behind, and what Predictions and the summaries of its results promise."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mnist_tutorial.evaluation import Predictions, confident_mistakes, confusion_matrix, evaluate, per_class_accuracy
from mnist_tutorial.models import LinearClassifier, StrongClassifier

Batch = tuple[torch.Tensor, torch.Tensor]


def batches_of(images: torch.Tensor, labels: torch.Tensor, size: int) -> list[Batch]:
    """A plain list of ``(images, labels)`` batches: the smallest thing evaluate accepts."""
    return list(zip(images.split(size), labels.split(size), strict=True))


def images_and_labels(count: int, seed: int = 0) -> Batch:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(count, 1, 28, 28, generator=generator), torch.randint(0, 10, (count,), generator=generator)


def test_evaluate_leaves_the_model_in_eval_mode_and_its_batch_statistics_alone():
    torch.manual_seed(0)
    model = StrongClassifier().train()
    before = {key: value.clone() for key, value in model.state_dict().items()}
    evaluate(model, batches_of(*images_and_labels(32), 16))
    assert not any(module.training for module in model.modules()), "evaluate must leave every layer in eval mode"
    for key, value in model.state_dict().items():  # batch norm in training mode would update its running statistics
        assert torch.equal(value, before[key]), f"evaluate changed {key}"
    assert all(p.grad is None for p in model.parameters())


def test_evaluate_gives_the_eval_mode_outputs_in_the_order_of_the_batches():
    torch.manual_seed(0)
    model = StrongClassifier()  # batch norm and dropout: train-mode outputs would differ
    images, labels = images_and_labels(90)
    predictions = evaluate(model, batches_of(images, labels, 40))  # batches of 40, 40 and 10
    with torch.no_grad():
        expected = model.eval()(images)
    assert len(predictions) == 90
    assert torch.allclose(predictions.log_probabilities, expected, atol=1e-5)
    assert torch.equal(predictions.labels, labels)


def test_evaluate_returns_cpu_float32_log_probabilities_without_gradients_whatever_the_model_computes_in():
    torch.manual_seed(0)
    model = LinearClassifier().double()
    images, labels = images_and_labels(30)
    untouched = images.clone()
    predictions = evaluate(model, batches_of(images.double(), labels, 8))
    assert predictions.log_probabilities.dtype == torch.float32
    assert predictions.log_probabilities.device.type == "cpu" and predictions.labels.device.type == "cpu"
    assert predictions.log_probabilities.shape == (30, 10) and predictions.labels.dtype == labels.dtype
    assert not predictions.log_probabilities.requires_grad
    assert torch.allclose(predictions.probabilities.sum(dim=1), torch.ones(30), atol=1e-5)
    assert torch.equal(images, untouched)


class DeviceRecorder(nn.Module):
    """A 'model' whose one parameter lives on the meta device; it records where its inputs arrive."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(1, device="meta"))
        self.seen: list[torch.device] = []

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        self.seen.append(images.device)
        return torch.zeros(len(images), 10).log_softmax(dim=1)


def test_evaluate_moves_each_batch_to_the_models_device():
    model = DeviceRecorder()
    predictions = evaluate(model, batches_of(*images_and_labels(20), 8))
    assert model.seen == [torch.device("meta")] * 3
    assert len(predictions) == 20


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_evaluate_on_a_gpu_returns_its_predictions_on_the_cpu():
    torch.manual_seed(0)
    model = LinearClassifier().cuda()
    images, labels = images_and_labels(40)
    predictions = evaluate(model, batches_of(images.cuda(), labels.cuda(), 16))
    assert predictions.log_probabilities.device.type == "cpu" and predictions.labels.device.type == "cpu"
    assert predictions.log_probabilities.dtype == torch.float32
    with torch.no_grad():
        expected = model.eval()(images.cuda()).cpu()
    assert torch.allclose(predictions.log_probabilities, expected, atol=1e-5)


# Predictions: three images, probabilities chosen so that every property has a known value.
PROBABILITIES = torch.tensor(
    [
        [0.7, 0.2, 0.1],  # predicted 0, true 0: right, confidence 0.7
        [0.1, 0.3, 0.6],  # predicted 2, true 1: wrong, confidence 0.6
        [0.25, 0.5, 0.25],  # predicted 1, true 1: right, confidence 0.5
    ]
)
LABELS = torch.tensor([0, 1, 1])


def test_predictions_derive_probabilities_classes_confidence_accuracy_and_loss_from_the_log_probabilities():
    predictions = Predictions(PROBABILITIES.log(), LABELS)
    assert len(predictions) == 3
    assert torch.allclose(predictions.probabilities, PROBABILITIES)
    assert predictions.predicted.tolist() == [0, 2, 1]
    assert predictions.confidence.tolist() == pytest.approx([0.7, 0.6, 0.5])
    assert predictions.correct == 2 and isinstance(predictions.correct, int)
    assert predictions.accuracy == pytest.approx(2 / 3) and isinstance(predictions.accuracy, float)
    expected_loss = -(math.log(0.7) + math.log(0.3) + math.log(0.5)) / 3  # the true classes' log-probabilities
    assert predictions.loss == pytest.approx(expected_loss, rel=1e-6) and isinstance(predictions.loss, float)


def test_indexing_predictions_selects_images_in_the_order_asked_for():
    predictions = Predictions(PROBABILITIES.log(), LABELS)
    picked = predictions[torch.tensor([2, 0])]
    assert isinstance(picked, Predictions)
    assert picked.labels.tolist() == [1, 0] and picked.predicted.tolist() == [1, 0]
    assert torch.allclose(picked.probabilities, PROBABILITIES[[2, 0]])
    first_two = predictions[:2]
    assert len(first_two) == 2 and first_two.correct == 1


def test_predictions_are_frozen():
    predictions = Predictions(PROBABILITIES.log(), LABELS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        predictions.labels = torch.tensor([1, 1, 1])  # type: ignore[misc]


def test_confusion_matrix_has_a_row_and_a_column_per_class_and_counts_every_image_once():
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 10, (500,), generator=generator)
    predicted = torch.randint(0, 10, (500,), generator=generator)
    untouched = predicted.clone(), labels.clone()
    matrix = confusion_matrix(predicted, labels)
    assert matrix.shape == (10, 10) and matrix.dtype == torch.int64
    assert int(matrix.sum()) == 500
    assert matrix.sum(dim=1).tolist() == torch.bincount(labels, minlength=10).tolist()  # rows: true classes
    assert matrix.sum(dim=0).tolist() == torch.bincount(predicted, minlength=10).tolist()  # columns: predicted
    assert int(matrix.trace()) == int((predicted == labels).sum())
    assert torch.equal(predicted, untouched[0]) and torch.equal(labels, untouched[1])


def test_confusion_matrix_names_both_shapes_when_they_differ():
    with pytest.raises(ValueError, match=r"predicted \(2,\) and labels \(3,\) differ in shape"):
        confusion_matrix(torch.tensor([0, 1]), torch.tensor([0, 1, 2]))


def test_per_class_accuracy_is_the_diagonal_over_each_rows_total_in_double_precision():
    matrix = torch.tensor([[3, 1, 0], [0, 0, 0], [2, 0, 2]])
    accuracy = per_class_accuracy(matrix)
    assert accuracy.dtype == torch.float64 and accuracy.shape == (3,)
    assert accuracy[0].item() == pytest.approx(0.75) and accuracy[2].item() == pytest.approx(0.5)
    assert math.isnan(accuracy[1].item())  # a class without images has no accuracy, not 0 % or 100 %


def test_confident_mistakes_are_wrong_most_confident_first_ties_in_image_order_and_at_most_count():
    probabilities = torch.tensor([[0.2, 0.8], [0.8, 0.2], [0.6, 0.4], [0.9, 0.1], [0.2, 0.8], [0.3, 0.7]])
    predictions = Predictions(probabilities.log(), torch.tensor([0, 1, 1, 0, 0, 1]))
    mistakes = confident_mistakes(predictions)  # wrong: 0 (0.8), 1 (0.8), 2 (0.6), 4 (0.8)
    assert mistakes.tolist() == [0, 1, 4, 2]
    assert mistakes.dtype == torch.int64
    assert (predictions[mistakes].predicted != predictions[mistakes].labels).all()
    assert confident_mistakes(predictions, count=2).tolist() == [0, 1]
    assert confident_mistakes(predictions, count=100).tolist() == [0, 1, 4, 2]


def test_a_model_without_mistakes_has_no_confident_mistakes():
    predictions = Predictions(
        F.one_hot(torch.tensor([3, 1, 4]), 10).float().clamp(min=1e-6).log(), torch.tensor([3, 1, 4])
    )
    assert confident_mistakes(predictions).tolist() == []
