"""The two classifiers of the book, with the layer sizes of the original notebook."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class LinearClassifier(nn.Module):
    """Three stacked linear layers, 784 → 100 → 100 → 10, then log-softmax over the classes.

    There is no non-linearity between the layers, so the model is one linear map of the
    pixels (a multinomial logistic regression) written as three factors. It has 89,610
    parameters: 784·100 + 100 + 100·100 + 100 + 100·10 + 10.
    """

    def __init__(self) -> None:
        super().__init__()
        self.layer_1 = nn.Linear(28 * 28, 100)
        self.layer_2 = nn.Linear(100, 100)
        self.layer_3 = nn.Linear(100, 10)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Map a batch ``(N, 1, 28, 28)`` to log-probabilities ``(N, 10)``."""
        out = torch.flatten(images, 1)
        out = self.layer_3(self.layer_2(self.layer_1(out)))
        return F.log_softmax(out, dim=1)


class FastDropout(nn.Module):
    """Dropout with the semantics of ``nn.Dropout``, drawing its random mask more cheaply.

    In training, each value is zeroed with probability ``p`` (to a resolution of 1/65536) and
    the rest are scaled by ``1 / (1 - p)``; in evaluation the input passes unchanged. The
    mask comes from 16-bit slices of 64-bit random integers: four values per draw of the
    seeded generator instead of one, which on a CPU is several times faster.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        """Zero a random fraction ``p`` of ``values`` and rescale the rest (training only)."""
        if not self.training or self.p == 0.0:
            return values
        count = values.numel()
        words = torch.randint(-(2**63), 2**63 - 1, ((count + 3) // 4,), dtype=torch.int64, device=values.device)
        draws = words.view(torch.int16)[:count].view(values.shape)
        threshold = round(self.p * 65536) - 32768
        mask = (draws >= threshold).to(values.dtype).mul_(1.0 / (1.0 - self.p))
        return values * mask

    def extra_repr(self) -> str:
        """Show ``p`` in the module's printout, as ``nn.Dropout`` does."""
        return f"p={self.p}"


class ConvClassifier(nn.Module):
    """Two convolution blocks and two linear layers, then log-softmax over the classes.

    Block 1: 3×3 convolution to 32 channels, 2×2 max-pooling, ReLU, dropout 0.25.
    Block 2: 3×3 convolution to 64 channels, 2×2 max-pooling, ReLU, dropout 0.5.
    Head: 1600 → 128, ReLU, 128 → 10. It has 225,034 parameters:
    (9·32 + 32) + (9·32·64 + 64) + (1600·128 + 128) + (128·10 + 10).

    Pooling comes before the ReLU: both are monotone, so the result equals ReLU-then-pool
    exactly, gradients included, while the ReLU touches a quarter of the values.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv_1 = nn.Conv2d(1, 32, kernel_size=3)
        self.conv_2 = nn.Conv2d(32, 64, kernel_size=3)
        self.dropout_1 = FastDropout(0.25)
        self.dropout_2 = FastDropout(0.5)
        self.layer_3 = nn.Linear(64 * 5 * 5, 128)
        self.layer_4 = nn.Linear(128, 10)
        self.to(memory_format=torch.channels_last)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Map a batch ``(N, 1, 28, 28)`` to log-probabilities ``(N, 10)``."""
        images = images.contiguous(memory_format=torch.channels_last)
        out = self.dropout_1(F.relu(F.max_pool2d(self.conv_1(images), 2)))
        out = self.dropout_2(F.relu(F.max_pool2d(self.conv_2(out), 2)))
        out = F.relu(self.layer_3(torch.flatten(out, 1)))
        return F.log_softmax(self.layer_4(out), dim=1)


#: The architectures by the names the command line and the checkpoints use.
MODELS: dict[str, type[nn.Module]] = {"linear": LinearClassifier, "conv": ConvClassifier}


def build_model(name: str) -> nn.Module:
    """Return a freshly initialised model by name (``"linear"`` or ``"conv"``)."""
    try:
        return MODELS[name]()
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}") from None


def architecture_name(model: nn.Module) -> str:
    """Return the registry name of ``model``'s architecture."""
    for name, cls in MODELS.items():
        if type(model) is cls:
            return name
    raise ValueError(f"{type(model).__name__} is not one of the package's architectures ({', '.join(MODELS)})")


def count_parameters(model: nn.Module) -> int:
    """Return the number of trainable parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
