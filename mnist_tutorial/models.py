"""The two classifiers of the book, with the layer sizes of the original notebook."""

from __future__ import annotations

import numpy as np
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

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """Map a batch ``(N, 1, 28, 28)`` to raw class scores ``(N, 10)``."""
        return self.layer_3(self.layer_2(self.layer_1(torch.flatten(images, 1))))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Map a batch ``(N, 1, 28, 28)`` to log-probabilities ``(N, 10)``."""
        return F.log_softmax(self.logits(images), dim=1)


def _is_channels_last(values: torch.Tensor) -> bool:
    """Whether ``values`` is a 4-d tensor stored channels-last (and not also contiguous)."""
    return values.dim() == 4 and not values.is_contiguous() and values.is_contiguous(memory_format=torch.channels_last)


class FastDropout(nn.Module):
    """Dropout with the semantics of ``nn.Dropout``, drawing its random mask more cheaply.

    In training, each value is zeroed with probability ``p`` (rounded to a multiple of 1/256)
    and the rest are scaled by ``1 / (1 - p)``; in evaluation the input passes unchanged.

    On the CPU, PyTorch draws random numbers one at a time from a Mersenne Twister, which made
    dropout's masks a fifth of the convolutional model's training time. This layer draws
    random bytes in bulk from NumPy's PCG64 generator, seeded from PyTorch's generator on first
    use (so ``torch.manual_seed`` still makes runs repeat), and builds the mask with NumPy. On
    other devices it uses PyTorch's own (fast, on-device) generator.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p
        self._threshold = round(p * 256)
        self._bits: np.random.BitGenerator | None = None

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        """Zero a random fraction ``p`` of ``values`` and rescale the rest (training only)."""
        if not self.training or self.p == 0.0:
            return values
        scale = 1.0 / (1.0 - self.p)
        if values.device.type != "cpu":
            keep = torch.rand(values.shape, device=values.device) >= self._threshold / 256
            return values * keep.to(values.dtype).mul_(scale)
        if self._bits is None:
            self._bits = np.random.PCG64(int(torch.randint(2**62, ())))
        count = values.numel()
        random_bytes = self._bits.random_raw((count + 7) // 8).view(np.uint8)[:count]
        keep = (random_bytes >= self._threshold).reshape(values.shape)
        channels_last = _is_channels_last(values)
        if channels_last:
            # Lay the mask out like the values (same mask): a product of two layouts is slow.
            keep = np.ascontiguousarray(keep.transpose(0, 2, 3, 1))
        mask = torch.from_numpy(np.multiply(keep, np.float32(scale), dtype=np.float32))
        if channels_last:
            mask = mask.permute(0, 3, 1, 2)
        return values * mask.to(values.dtype)

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

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """Map a batch ``(N, 1, 28, 28)`` to raw class scores ``(N, 10)``."""
        images = images.contiguous(memory_format=torch.channels_last)
        out = self.dropout_1(F.relu(F.max_pool2d(self.conv_1(images), 2)))
        out = self.dropout_2(F.relu(F.max_pool2d(self.conv_2(out), 2)))
        out = F.relu(self.layer_3(torch.flatten(out, 1)))
        return self.layer_4(out)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Map a batch ``(N, 1, 28, 28)`` to log-probabilities ``(N, 10)``."""
        return F.log_softmax(self.logits(images), dim=1)


class StrongClassifier(nn.Module):
    """A small convolutional network with batch normalisation, for the stronger-model chapter.

    Block 1: 5×5 convolution to 24 channels, 2×2 max-pooling (28 → 12), batch norm, ReLU.
    Block 2: 5×5 convolution to 48 channels, 2×2 max-pooling (12 → 4), batch norm, ReLU.
    Head: 768 → 256, batch norm, ReLU, dropout 0.3, 256 → 10. It has 229,234 parameters.
    Batch normalisation standardises each channel over the batch, which lets it train with
    large learning rates; the convolutions have no bias since the normalisation removes it.
    Normalising after pooling touches a quarter of the values, which on a CPU makes the
    whole training step about a fifth faster.
    """

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 24, kernel_size=5, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(24), nn.ReLU(),
            nn.Conv2d(24, 48, kernel_size=5, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(48), nn.ReLU(),
        )  # fmt: skip
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(48 * 4 * 4, 256, bias=False), nn.BatchNorm1d(256), nn.ReLU(),
            nn.Dropout(0.3), nn.Linear(256, 10),
        )  # fmt: skip
        self.to(memory_format=torch.channels_last)

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """Map a batch ``(N, 1, 28, 28)`` to raw class scores ``(N, 10)``."""
        return self.head(self.features(images.contiguous(memory_format=torch.channels_last)))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Map a batch ``(N, 1, 28, 28)`` to log-probabilities ``(N, 10)``."""
        return F.log_softmax(self.logits(images), dim=1)


#: The architectures by the names the command line and the checkpoints use.
MODELS: dict[str, type[nn.Module]] = {"linear": LinearClassifier, "conv": ConvClassifier, "strong": StrongClassifier}


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
