"""One evaluation pass over a test set, and what to look at in its predictions."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .data import Batches


@dataclass(frozen=True)
class Predictions:
    """A model's log-probabilities for a set of images, with the true labels (on the CPU)."""

    log_probabilities: torch.Tensor  # (N, 10)
    labels: torch.Tensor  # (N,)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: slice | torch.Tensor) -> Predictions:
        """Return the predictions of a subset of the images, in the order of ``index``."""
        return Predictions(self.log_probabilities[index], self.labels[index])

    @property
    def probabilities(self) -> torch.Tensor:
        """The probability of each class for each image ``(N, 10)``."""
        return self.log_probabilities.exp()

    @property
    def predicted(self) -> torch.Tensor:
        """The most probable class of each image."""
        return self.log_probabilities.argmax(dim=1)

    @property
    def confidence(self) -> torch.Tensor:
        """The probability the model gives its own prediction."""
        return self.log_probabilities.max(dim=1).values.exp()

    @property
    def correct(self) -> int:
        """How many images are classified correctly."""
        return int((self.predicted == self.labels).sum())

    @property
    def accuracy(self) -> float:
        """The fraction of images classified correctly."""
        return self.correct / len(self)

    @property
    def loss(self) -> float:
        """The mean negative log-likelihood of the true classes."""
        return F.nll_loss(self.log_probabilities.double(), self.labels).item()


@torch.inference_mode()
def evaluate(model: nn.Module, batches: Batches) -> Predictions:
    """Run ``model`` in evaluation mode over ``batches`` and collect its predictions."""
    device = next(model.parameters()).device
    model.eval()
    outputs, labels = [], []
    for images, batch_labels in batches:
        outputs.append(model(images.to(device)))
        labels.append(batch_labels)
    return Predictions(torch.cat(outputs).float().cpu(), torch.cat(labels).cpu())


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
