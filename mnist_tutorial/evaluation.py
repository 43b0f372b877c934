"""Looking at a trained classifier: predictions, confusion matrix, confident mistakes."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .training import Batches


@dataclass(frozen=True)
class Predictions:
    """Class probabilities of a model for a set of images, with the true labels (on the CPU)."""

    probabilities: torch.Tensor  # (N, 10)
    labels: torch.Tensor  # (N,)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: slice | torch.Tensor) -> Predictions:
        """Return the predictions of a subset of the images, in the order of ``index``."""
        return Predictions(self.probabilities[index], self.labels[index])

    @property
    def predicted(self) -> torch.Tensor:
        """The most probable class of each image."""
        return self.probabilities.argmax(dim=1)

    @property
    def confidence(self) -> torch.Tensor:
        """The probability the model gives its own prediction."""
        return self.probabilities.max(dim=1).values

    @property
    def accuracy(self) -> float:
        """The fraction of images whose prediction is the true label."""
        return (self.predicted == self.labels).double().mean().item()


@torch.inference_mode()
def predict(model: nn.Module, batches: Batches) -> Predictions:
    """Run ``model`` in evaluation mode over ``batches`` and collect its probabilities."""
    device = next(model.parameters()).device
    model.eval()
    probabilities, labels = [], []
    for images, batch_labels in batches:
        probabilities.append(model(images.to(device)).exp().cpu())
        labels.append(batch_labels.cpu())
    return Predictions(torch.cat(probabilities), torch.cat(labels))


def confusion_matrix(predicted: torch.Tensor, labels: torch.Tensor, num_classes: int = 10) -> torch.Tensor:
    """Count images by true class (rows) and predicted class (columns)."""
    if predicted.shape != labels.shape:
        raise ValueError(f"predicted {tuple(predicted.shape)} and labels {tuple(labels.shape)} differ in shape")
    pairs = labels.long() * num_classes + predicted.long()
    return torch.bincount(pairs, minlength=num_classes * num_classes).view(num_classes, num_classes)


def per_class_accuracy(matrix: torch.Tensor) -> torch.Tensor:
    """Return, for each true class, the fraction of its images classified correctly."""
    return matrix.diagonal().double() / matrix.sum(dim=1).double()


def confident_mistakes(predictions: Predictions, count: int = 12) -> torch.Tensor:
    """Return the indices of the ``count`` wrong predictions made with the most confidence."""
    wrong = (predictions.predicted != predictions.labels).nonzero().flatten()
    order = predictions.confidence[wrong].argsort(descending=True, stable=True)
    return wrong[order[:count]]
