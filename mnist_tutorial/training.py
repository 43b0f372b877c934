"""The training loop of the training chapter, and ``fit``, which alternates it with evaluation."""

from __future__ import annotations

import time
from collections.abc import Callable

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from .data import Batches
from .evaluation import evaluate
from .runtime import show_progress

#: A function that changes a batch of training images, such as random augmentation.
Augment = Callable[[torch.Tensor], torch.Tensor]


def smoothed_nll_loss(log_probabilities: torch.Tensor, labels: torch.Tensor, smoothing: float = 0.0) -> torch.Tensor:
    """Negative log-likelihood against labels softened towards the uniform distribution.

    The target gives the true class ``1 - smoothing`` and spreads ``smoothing`` evenly over
    all classes, which discourages extreme confidence; ``smoothing=0`` is ``F.nll_loss``.
    """
    loss = F.nll_loss(log_probabilities, labels)
    if smoothing:
        loss = (1 - smoothing) * loss - smoothing * log_probabilities.mean(dim=1).mean()
    return loss


def train_epoch(
    model: nn.Module,
    batches: Batches,
    optimizer: torch.optim.Optimizer,
    *,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    augment: Augment | None = None,
    label_smoothing: float = 0.0,
    progress: bool | None = None,
    description: str = "train",
) -> float:
    """Run one pass of gradient descent over ``batches``; return the mean batch loss.

    ``scheduler``, if given, steps after every batch; ``augment`` transforms each batch of
    images before the model sees it; ``label_smoothing`` softens the targets (see
    :func:`smoothed_nll_loss`).
    """
    device = next(model.parameters()).device
    model.train()
    total = torch.zeros((), device=device)  # summed on the device: no wait for the GPU per batch
    for images, labels in tqdm(batches, desc=description, disable=not show_progress(progress), leave=False):
        images, labels = images.to(device), labels.to(device)
        if augment is not None:
            images = augment(images)
        loss = smoothed_nll_loss(model(images), labels, label_smoothing)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total += loss.detach()
    return total.item() / len(batches)


#: A function that runs one epoch: ``train_epoch`` itself, or a faster equivalent.
EpochRunner = Callable[..., float]


def fit(
    model: nn.Module,
    train_batches: Batches,
    test_batches: Batches,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    *,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    augment: Augment | None = None,
    label_smoothing: float = 0.0,
    progress: bool | None = None,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
    run_epoch: EpochRunner = train_epoch,
) -> pd.DataFrame:
    """Train for ``epochs`` epochs, evaluating after each; return the history.

    The history has one row per epoch: ``epoch``, ``train_loss``, ``test_loss``,
    ``test_accuracy`` and ``seconds`` (training and evaluation together). ``run_epoch`` takes
    the arguments of :func:`train_epoch` and runs one epoch (by default, with it).
    """
    if epochs < 1:
        raise ValueError(f"epochs must be positive, got {epochs}")
    rows = []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        train_loss = run_epoch(
            model, train_batches, optimizer, scheduler=scheduler, augment=augment,
            label_smoothing=label_smoothing, progress=progress, description=f"epoch {epoch}",
        )  # fmt: skip
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
