"""The table of models, each with its default training recipe, and what a recipe builds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .data import DEFAULT_SEED
from .models import ConvClassifier, LinearClassifier, MLPClassifier, StrongClassifier

OPTIMIZERS = ("sgd", "adam", "adagrad")
SCHEDULES = ("constant", "one_cycle")


@dataclass(frozen=True)
class Model:
    """One entry of :data:`MODELS`: an architecture, what it is, and how it trains by default."""

    architecture: type[nn.Module]
    summary: str
    defaults: dict[str, Any] = field(default_factory=dict)  # the Recipe fields that differ from Recipe's


#: The models the book trains, by the names the command line, recipes and checkpoints use.
MODELS: dict[str, Model] = {
    "linear": Model(LinearClassifier, "784 → 100 → 100 → 10, no non-linearity: one linear map", {"lr": 0.01}),
    "mlp": Model(MLPClassifier, "784 → 100 → 100 → 10 with ReLU between the layers", {"lr": 0.01}),
    "conv": Model(ConvClassifier, "two convolution blocks with dropout and a two-layer head", {"lr": 0.1}),
    "strong": Model(
        StrongClassifier,
        "convolutions with batch normalisation, trained with augmentation and a one-cycle schedule",
        {
            "epochs": 12,
            "batch_size": 256,
            "lr": 0.2,
            "momentum": 0.9,
            "weight_decay": 5e-4,
            "schedule": "one_cycle",
            "augment": True,
            "label_smoothing": 0.1,
        },
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

    ``optimizer`` is ``"sgd"`` (with ``momentum``), ``"adam"`` or ``"adagrad"``; ``schedule``
    keeps the learning rate ``"constant"`` or takes it up and down again in a ``"one_cycle"``
    with peak ``lr``; ``augment`` randomly rotates, scales and shifts training images;
    ``label_smoothing`` softens the training targets. ``train_size`` and ``test_size`` use
    only the first images of each split (all of them when ``None``).
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
    test_size: int | None = None
    seed: int = DEFAULT_SEED

    def __post_init__(self) -> None:
        _known_model(self.model)
        for name in ("epochs", "batch_size", "train_size", "test_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be positive, got {value}")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")

    def make_optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        """Return this recipe's optimizer over ``model``'s parameters."""
        parameters, decay = model.parameters(), self.weight_decay
        if self.optimizer == "adam":
            return torch.optim.Adam(parameters, lr=self.lr, weight_decay=decay)
        if self.optimizer == "adagrad":
            return torch.optim.Adagrad(parameters, lr=self.lr, weight_decay=decay)
        return torch.optim.SGD(parameters, lr=self.lr, momentum=self.momentum, weight_decay=decay)

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
