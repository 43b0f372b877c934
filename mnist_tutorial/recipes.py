"""The table of models, each with its default training recipe, and what a recipe builds."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .models import (
    ConvClassifier,
    LinearClassifier,
    MLPClassifier,
    StrongClassifier,
    StrongClassifierWithoutBatchNorm,
)
from .runtime import DEFAULT_SEED

#: How a recipe's optimizer is made from the model's parameters, its learning rate, momentum and weight decay.
OptimizerFactory = Callable[[Iterable[nn.Parameter], float, float, float], torch.optim.Optimizer]

#: The optimizers a recipe can name; ``momentum`` applies to SGD alone.
OPTIMIZERS: dict[str, OptimizerFactory] = {
    "sgd": lambda params, lr, momentum, decay: torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=decay),
    "adam": lambda params, lr, momentum, decay: torch.optim.Adam(params, lr=lr, weight_decay=decay),
    "adagrad": lambda params, lr, momentum, decay: torch.optim.Adagrad(params, lr=lr, weight_decay=decay),
}
SCHEDULES = ("constant", "one_cycle")

#: MNIST's training images, of which a recipe holds ``val_size`` out for validation.
TRAINING_IMAGES = 60_000

#: The largest learning rate a recipe accepts: far above any rate that trains these models.
MAX_LR = 10.0


@dataclass(frozen=True)
class Model:
    """One entry of :data:`MODELS`: an architecture, what it is, and how it trains by default."""

    architecture: type[nn.Module]
    summary: str
    defaults: dict[str, Any] = field(default_factory=dict)  # the Recipe fields that differ from Recipe's


_STRONG_TRAINING = {
    "epochs": 12,
    "batch_size": 256,
    "lr": 0.2,
    "momentum": 0.9,
    "weight_decay": 5e-4,
    "schedule": "one_cycle",
    "augment": True,
    "label_smoothing": 0.1,
}

#: The models the book trains, by the names the command line, recipes and checkpoints use.
MODELS: dict[str, Model] = {
    "linear": Model(LinearClassifier, "784 → 100 → 100 → 10, no non-linearity: one linear map", {"lr": 0.01}),
    "mlp": Model(MLPClassifier, "784 → 100 → 100 → 10 with ReLU between the layers", {"lr": 0.01}),
    "conv": Model(ConvClassifier, "two convolution blocks with dropout and a two-layer head", {"lr": 0.1}),
    "strong": Model(
        StrongClassifier,
        "convolutions with batch normalisation, trained with augmentation and a one-cycle schedule",
        _STRONG_TRAINING,
    ),
    "strong-no-bn": Model(
        StrongClassifierWithoutBatchNorm,
        "the stronger model without batch normalisation, trained the same way",
        _STRONG_TRAINING,
    ),
}


def _known_model(name: str) -> Model:
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}") from None


def build_model(name: str) -> nn.Module:
    """Return a freshly initialised model by its name in :data:`MODELS`."""
    return _known_model(name).architecture()


def architecture_name(model: nn.Module) -> str:
    """Return the name in :data:`MODELS` of ``model``'s architecture."""
    for name, entry in MODELS.items():
        if type(model) is entry.architecture:
            return name
    raise ValueError(f"{type(model).__name__} is not one of the package's models ({', '.join(MODELS)})")


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the outcome of a training run.

    ``optimizer`` names an entry of :data:`OPTIMIZERS` (``momentum`` is SGD's); ``schedule``
    keeps the learning rate ``"constant"`` or takes it up and down again in a ``"one_cycle"``
    with peak ``lr``; ``augment`` randomly rotates, scales and shifts training images;
    ``label_smoothing`` softens the training targets. ``val_size`` training images, the same
    ones for every recipe with that size (:func:`~.runs.hold_out`), are held out for validation
    and never trained on; ``train_size`` trains on only the first of the rest (all when ``None``).
    """

    model: str
    epochs: int = 10
    batch_size: int = 32
    lr: float = 0.01
    momentum: float = 0.0
    weight_decay: float = 0.0
    optimizer: str = "sgd"
    schedule: str = "constant"
    augment: bool = False
    label_smoothing: float = 0.0
    train_size: int | None = None
    val_size: int = 5000
    seed: int = DEFAULT_SEED

    def __post_init__(self) -> None:
        _known_model(self.model)
        for name in ("epochs", "batch_size", "train_size", "val_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be positive, got {value}")
        if self.val_size >= TRAINING_IMAGES:
            raise ValueError(f"val_size must be below the {TRAINING_IMAGES:,} training images, got {self.val_size}")
        if self.train_size is not None and self.train_size > TRAINING_IMAGES - self.val_size:
            raise ValueError(
                f"train_size {self.train_size} exceeds the {TRAINING_IMAGES - self.val_size:,} training images "
                f"left after holding out val_size {self.val_size}"
            )
        if not (math.isfinite(self.lr) and 0 < self.lr <= MAX_LR):
            raise ValueError(f"lr must be a number in (0, {MAX_LR:g}], got {self.lr}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay must be a finite number of at least 0, got {self.weight_decay}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        if self.momentum and self.optimizer != "sgd":
            raise ValueError(f"momentum is SGD's; {self.optimizer} takes none, got momentum {self.momentum}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")

    def make_optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        """Return this recipe's optimizer over ``model``'s parameters (from :data:`OPTIMIZERS`)."""
        return OPTIMIZERS[self.optimizer](model.parameters(), self.lr, self.momentum, self.weight_decay)

    def make_scheduler(
        self, optimizer: torch.optim.Optimizer, steps_per_epoch: int
    ) -> torch.optim.lr_scheduler.LRScheduler | None:
        """Return the per-batch learning-rate schedule, or ``None`` for a constant rate."""
        if self.schedule == "constant":
            return None
        # The one-cycle policy also cycles momentum (Adam's beta1) against the learning rate,
        # where the optimizer has one; plain SGD and Adagrad keep none.
        has_momentum = self.optimizer == "adam" or (self.optimizer == "sgd" and self.momentum > 0)
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=self.lr,
            epochs=self.epochs,
            steps_per_epoch=steps_per_epoch,
            cycle_momentum=has_momentum,
        )


def default_recipe(name: str, **changes: Any) -> Recipe:
    """Return the default recipe of the model called ``name``, with ``changes`` applied.

    The defaults of ``linear``, ``mlp`` and ``conv`` are the original notebook's: ten epochs
    of plain SGD at batch size 32, learning rate 0.01 (0.1 for ``conv``).
    """
    return Recipe(name, **{**_known_model(name).defaults, **changes})
