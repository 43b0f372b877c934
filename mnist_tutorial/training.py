"""The training chapter's step and loop, and ``fit``, which alternates the loop with validation."""

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

#: A learning-rate schedule stepped after every batch, or ``None`` for a constant rate.
Scheduler = torch.optim.lr_scheduler.LRScheduler | None


def training_step(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    *,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Take one step of gradient descent on one batch; return the batch's mean loss.

    The loss is the training chapter's ``F.nll_loss`` of the model's log-probabilities. With
    ``label_smoothing`` it is PyTorch's ``F.cross_entropy(..., label_smoothing=...)`` instead, whose
    first step, ``log_softmax``, leaves log-probabilities as they are (up to rounding: they already
    normalise).
    """
    log_probabilities = model(images)
    if label_smoothing:
        loss = F.cross_entropy(log_probabilities, labels, label_smoothing=label_smoothing)
    else:
        loss = F.nll_loss(log_probabilities, labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


#: What trains on one batch: ``step(model, images, labels, optimizer)`` returns the batch's mean loss.
#: :func:`training_step` (with ``functools.partial`` for label smoothing), or a CUDA graph of it.
Step = Callable[[nn.Module, torch.Tensor, torch.Tensor, torch.optim.Optimizer], torch.Tensor]


def train_epoch(
    model: nn.Module,
    batches: Batches,
    optimizer: torch.optim.Optimizer,
    *,
    scheduler: Scheduler = None,
    augment: Augment | None = None,
    step: Step = training_step,
    progress: bool | None = None,
    description: str = "train",
) -> float:
    """Run one pass of gradient descent over ``batches``; return the mean loss per image.

    Each batch is trained by ``step`` (see :data:`Step`); ``scheduler``, if given, steps after
    every batch; ``augment`` transforms each batch of images before the model sees it. A batch's
    loss counts once per image, so a short last batch weighs as much as its images.
    """
    device = next(model.parameters()).device
    model.train()
    total = torch.zeros((), device=device)  # summed on the device: no wait for the GPU per batch
    count = 0
    for images, labels in tqdm(batches, desc=description, disable=not show_progress(progress), leave=False):
        images, labels = images.to(device), labels.to(device)
        if augment is not None:
            images = augment(images)
        loss = step(model, images, labels, optimizer)
        if scheduler is not None:
            scheduler.step()
        total += loss.detach() * len(labels)
        count += len(labels)
    return total.item() / count


def fit(
    model: nn.Module,
    train_batches: Batches,
    val_batches: Batches,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    *,
    scheduler: Scheduler = None,
    augment: Augment | None = None,
    step: Step = training_step,
    progress: bool | None = None,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> pd.DataFrame:
    """Train for ``epochs`` epochs, evaluating on the validation batches after each; return the history.

    The history has one row per epoch: ``epoch``, ``train_loss``, ``val_loss``, ``val_accuracy``
    and ``seconds`` (training and validation together). The other arguments are
    :func:`train_epoch`'s; ``on_epoch`` is called with each row as it is made.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be positive, got {epochs}")
    rows = []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        train_loss = train_epoch(
            model, train_batches, optimizer, scheduler=scheduler, augment=augment, step=step,
            progress=progress, description=f"epoch {epoch}",
        )  # fmt: skip
        result = evaluate(model, val_batches)
        row = {
            "epoch": epoch,
            "train_loss": train_loss,
            "val_loss": result.loss,
            "val_accuracy": result.accuracy,
            "seconds": time.perf_counter() - start,
        }
        rows.append(row)
        if on_epoch is not None:
            on_epoch(row)
    return pd.DataFrame(rows)
