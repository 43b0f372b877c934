"""The book's classifiers, written exactly as the models chapter writes them.

Each maps a batch of images ``(N, 1, 28, 28)`` to raw class scores with ``logits`` and to
log-probabilities over the ten classes (``log_softmax`` over ``dim=1``) with ``forward``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class LinearClassifier(nn.Module):
    """Three stacked linear layers, 784 → 100 → 100 → 10, as the original notebook has them.

    With no non-linearity between the layers the model is one linear map of the pixels (a
    multinomial logistic regression) written as three factors. It has 89,610 parameters:
    784·100 + 100 + 100·100 + 100 + 100·10 + 10.
    """

    def __init__(self) -> None:
        super().__init__()
        self.layer_1 = nn.Linear(28 * 28, 100)
        self.layer_2 = nn.Linear(100, 100)
        self.layer_3 = nn.Linear(100, 10)

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """Return the raw class scores ``(N, 10)``."""
        out = torch.flatten(images, 1)  # (N, 1, 28, 28) -> (N, 784)
        return self.layer_3(self.layer_2(self.layer_1(out)))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Return the log-probabilities ``(N, 10)``."""
        return F.log_softmax(self.logits(images), dim=1)


class MLPClassifier(nn.Module):
    """The same three layers with a ReLU after the first two: a multi-layer perceptron.

    The non-linearity keeps the layers from collapsing into one linear map, so the model can
    combine pixels into features. It has the linear classifier's 89,610 parameters.
    """

    def __init__(self) -> None:
        super().__init__()
        self.layer_1 = nn.Linear(28 * 28, 100)
        self.layer_2 = nn.Linear(100, 100)
        self.layer_3 = nn.Linear(100, 10)

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """Return the raw class scores ``(N, 10)``."""
        out = torch.flatten(images, 1)
        out = F.relu(self.layer_1(out))
        out = F.relu(self.layer_2(out))
        return self.layer_3(out)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Return the log-probabilities ``(N, 10)``."""
        return F.log_softmax(self.logits(images), dim=1)


class ConvClassifier(nn.Module):
    """Two convolution blocks and a two-layer head, 225,034 parameters.

    Block 1: 3×3 convolution to 32 channels, ReLU, 2×2 max-pooling, dropout 0.25 (28 → 26 → 13).
    Block 2: 3×3 convolution to 64 channels, ReLU, 2×2 max-pooling, dropout 0.5 (13 → 11 → 5).
    Head: 1600 → 128, ReLU, 128 → 10. Parameters:
    (9·32 + 32) + (9·32·64 + 64) + (1600·128 + 128) + (128·10 + 10).
    """

    def __init__(self) -> None:
        super().__init__()
        self.block_1 = nn.Sequential(
            nn.Conv2d(1, 32, kernel_size=3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Dropout(0.25),
        )
        self.block_2 = nn.Sequential(
            nn.Conv2d(32, 64, kernel_size=3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Dropout(0.5),
        )
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64 * 5 * 5, 128),
            nn.ReLU(),
            nn.Linear(128, 10),
        )

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """Return the raw class scores ``(N, 10)``."""
        return self.head(self.block_2(self.block_1(images)))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Return the log-probabilities ``(N, 10)``."""
        return F.log_softmax(self.logits(images), dim=1)


class StrongClassifier(nn.Module):
    """A convolutional network with batch normalisation, 229,234 parameters.

    Block 1: 5×5 convolution to 24 channels, 2×2 max-pooling (28 → 24 → 12), batch norm, ReLU.
    Block 2: 5×5 convolution to 48 channels, 2×2 max-pooling (12 → 8 → 4), batch norm, ReLU.
    Head: 768 → 256, batch norm, ReLU, dropout 0.3, 256 → 10. Batch normalisation removes
    any constant added before it, so the layers it follows have no bias; normalising after
    pooling touches a quarter of the values.
    """

    def __init__(self, batch_norm: bool = True) -> None:
        """Build the layers; ``batch_norm=False`` is :class:`StrongClassifierWithoutBatchNorm`'s."""
        super().__init__()

        def normalise(features: int, dims: int) -> nn.Module:
            norm = nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d
            return norm(features) if batch_norm else nn.Identity()

        bias = not batch_norm  # a bias before batch normalisation is removed by it
        self.block_1 = nn.Sequential(
            nn.Conv2d(1, 24, kernel_size=5, bias=bias),
            nn.MaxPool2d(2),
            normalise(24, 2),
            nn.ReLU(),
        )
        self.block_2 = nn.Sequential(
            nn.Conv2d(24, 48, kernel_size=5, bias=bias),
            nn.MaxPool2d(2),
            normalise(48, 2),
            nn.ReLU(),
        )
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(48 * 4 * 4, 256, bias=bias),
            normalise(256, 1),
            nn.ReLU(),
            nn.Dropout(0.3),
            nn.Linear(256, 10),
        )

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """Return the raw class scores ``(N, 10)``."""
        return self.head(self.block_2(self.block_1(images)))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Return the log-probabilities ``(N, 10)``."""
        return F.log_softmax(self.logits(images), dim=1)


class StrongClassifierWithoutBatchNorm(StrongClassifier):
    """:class:`StrongClassifier` without batch normalisation, 228,906 parameters.

    Each normalisation is an identity and the layers before them have their biases back. The
    stronger-model chapter trains it to measure what batch normalisation brings.
    """

    def __init__(self) -> None:
        super().__init__(batch_norm=False)


def count_parameters(model: nn.Module) -> int:
    """Return the number of trainable parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
