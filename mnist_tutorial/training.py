"""Training and evaluation loops, whole training runs, and a cache of trained models."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from collections.abc import Callable, Iterable, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .data import DEFAULT_SEED, TensorBatches, load_split
from .models import build_model
from .paths import cache_dir
from .runtime import keep_freed_memory, pick_device, seed_everything, show_progress

#: Batch size of evaluation passes: no gradients are kept, so large batches are cheap.
EVAL_BATCH_SIZE = 1000


class Batches(Iterable[tuple[torch.Tensor, torch.Tensor]], Sized, Protocol):
    """Anything that yields ``(images, labels)`` batches and knows how many.

    A ``DataLoader`` or a :class:`~mnist_tutorial.data.TensorBatches`.
    """


@dataclass(frozen=True)
class Evaluation:
    """The result of one evaluation pass."""

    loss: float  # mean negative log-likelihood per image
    accuracy: float  # fraction of images classified correctly, in [0, 1]
    correct: int
    total: int


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def train_epoch(
    model: nn.Module,
    batches: Batches,
    optimizer: torch.optim.Optimizer,
    *,
    progress: bool | None = None,
    description: str = "train",
) -> float:
    """Run one pass of gradient descent over ``batches``; return the mean batch loss."""
    device = _device_of(model)
    keep_freed_memory()
    model.train()
    total = torch.zeros((), device=device)
    with tqdm(total=len(batches), desc=description, disable=not show_progress(progress), leave=False) as bar:
        for images, labels in batches:
            images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            loss = F.nll_loss(model(images), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach()
            bar.update()
    return total.item() / len(batches)


@torch.inference_mode()
def evaluate(model: nn.Module, batches: Batches) -> Evaluation:
    """Return the mean loss and the accuracy of ``model`` over ``batches``."""
    device = _device_of(model)
    model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    total = 0
    for images, labels in batches:
        images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
        log_probs = model(images)
        loss_sum += F.nll_loss(log_probs, labels, reduction="sum").double()
        correct += (log_probs.argmax(dim=1) == labels).sum()
        total += len(labels)
    count = int(correct.item())
    return Evaluation(loss=loss_sum.item() / total, accuracy=count / total, correct=count, total=total)


def fit(
    model: nn.Module,
    train_batches: Batches,
    test_batches: Batches,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    *,
    progress: bool | None = None,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> pd.DataFrame:
    """Train for ``epochs`` epochs, evaluating after each; return the history.

    The history has one row per epoch: ``epoch``, ``train_loss``, ``test_loss``,
    ``test_accuracy`` and ``seconds`` (training and evaluation together).
    """
    if epochs < 1:
        raise ValueError(f"epochs must be positive, got {epochs}")
    rows = []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        train_loss = train_epoch(model, train_batches, optimizer, progress=progress, description=f"epoch {epoch}")
        result = evaluate(model, test_batches)
        row = {
            "epoch": epoch,
            "train_loss": train_loss,
            "test_loss": result.loss,
            "test_accuracy": result.accuracy,
            "seconds": time.perf_counter() - start,
        }
        rows.append(row)
        if on_epoch is not None:
            on_epoch(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the outcome of a training run with plain SGD."""

    model: str
    epochs: int = 10
    batch_size: int = 32
    lr: float = 0.01
    momentum: float = 0.0
    seed: int = DEFAULT_SEED

    def __post_init__(self) -> None:
        build_model(self.model)  # fails early on an unknown name
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")


#: The original notebook's recipes: 10 epochs of SGD at batch 32.
NOTEBOOK_RECIPES = {
    "linear": Recipe("linear", lr=0.01),
    "conv": Recipe("conv", lr=0.1),
}


@dataclass(frozen=True)
class TrainingRun:
    """A trained model and the history of its training."""

    model: nn.Module
    history: pd.DataFrame


def train(
    recipe: Recipe,
    device: str | torch.device = "auto",
    root: str | os.PathLike[str] | None = None,
    *,
    progress: bool | None = None,
) -> TrainingRun:
    """Train a fresh model by ``recipe`` on MNIST (fast data route), and remember the result.

    The run is seeded, so on a CPU it repeats bit for bit; :func:`trained_model` finds it
    again without training.
    """
    target = pick_device(device)
    seed_everything(recipe.seed)
    model = build_model(recipe.model).to(target)
    train_batches = TensorBatches(load_split(True, target, root), recipe.batch_size, shuffle=True, seed=recipe.seed)
    test_batches = TensorBatches(load_split(False, target, root), EVAL_BATCH_SIZE)
    optimizer = torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum)
    history = fit(model, train_batches, test_batches, optimizer, recipe.epochs, progress=progress)
    save_checkpoint(
        model,
        _cached_checkpoint(recipe, target),
        recipe=dataclasses.asdict(recipe),
        epochs=recipe.epochs,
        accuracy=float(history["test_accuracy"].iloc[-1]),
        history={column: history[column].tolist() for column in history.columns},
    )
    return TrainingRun(model, history)


def trained_model(
    recipe: Recipe,
    device: str | torch.device = "auto",
    root: str | os.PathLike[str] | None = None,
    *,
    progress: bool | None = None,
) -> TrainingRun:
    """Return the model trained by ``recipe``: from the cache if an identical run is there.

    The cache key covers the recipe, the device type, the torch version and the package's
    source code, so a cached model is the one :func:`train` would produce now.
    """
    target = pick_device(device)
    path = _cached_checkpoint(recipe, target)
    try:
        checkpoint = load_checkpoint(path, device=target)
    except CheckpointError:
        return train(recipe, target, root, progress=progress)
    return TrainingRun(checkpoint.model, pd.DataFrame(checkpoint.metadata["history"]))


def _source_digest() -> str:
    digest = hashlib.sha256()
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.name.encode() + source.read_bytes())
    return digest.hexdigest()


def _cached_checkpoint(recipe: Recipe, device: torch.device) -> Path:
    fields = [repr(dataclasses.astuple(recipe)), device.type, torch.__version__, _source_digest()]
    key = hashlib.sha256("\n".join(fields).encode()).hexdigest()[:16]
    return cache_dir() / "models" / f"{recipe.model}-{key}.pt"
