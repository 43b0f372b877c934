"""Training and evaluation loops, whole training runs, and a cache of trained models."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import time
from collections.abc import Callable, Iterable, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim import optimizer as torch_optimizer
from tqdm import tqdm

from .augment import random_affine
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .data import DEFAULT_SEED, Split, TensorBatches, load_split
from .models import LinearClassifier, build_model
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


@torch.no_grad()
def linear_gradients_by_hand(
    model: LinearClassifier,
    images: torch.Tensor,
    labels: torch.Tensor,
    label_smoothing: float = 0.0,
    *,
    learning_rate: float | None = None,
) -> torch.Tensor:
    """Compute the gradients of ``model``'s loss in closed form, store or apply them; return the loss.

    The loss is ``smoothed_nll_loss(model(images), labels, label_smoothing)``. Its gradient
    with respect to the logits is ``(softmax - target) / N``, where ``target`` is the (smoothed)
    one-hot label; each linear layer passes it back through its weight. These are the
    gradients ``loss.backward()`` computes, without autograd's bookkeeping, which on a CPU
    makes a training step of this small model about a third faster.

    With ``learning_rate``, the gradients are not stored: each parameter takes its plain SGD
    step ``p -= learning_rate * gradient`` at once, the weight's inside the matrix product
    that computes its gradient. That replaces ``optimizer.step()``, a quarter of the step.
    """
    inputs = torch.flatten(images, 1)
    hidden_1 = model.layer_1(inputs)
    hidden_2 = model.layer_2(hidden_1)
    log_probabilities = torch.log_softmax(model.layer_3(hidden_2), dim=1)
    loss = smoothed_nll_loss(log_probabilities, labels, label_smoothing)
    count, classes = log_probabilities.shape
    gradient = log_probabilities.exp_()  # the softmax, reusing the buffer
    if label_smoothing:
        gradient.sub_(label_smoothing / classes)
    gradient[torch.arange(count, device=labels.device), labels] -= 1 - label_smoothing
    gradient.div_(count)
    for layer, layer_input in ((model.layer_3, hidden_2), (model.layer_2, hidden_1), (model.layer_1, inputs)):
        upstream = gradient @ layer.weight if layer is not model.layer_1 else gradient  # before the update
        if learning_rate is None:
            layer.weight.grad = gradient.t() @ layer_input
            layer.bias.grad = gradient.sum(dim=0)
        else:
            layer.weight.addmm_(gradient.t(), layer_input, alpha=-learning_rate)
            layer.bias.add_(gradient.sum(dim=0), alpha=-learning_rate)
        gradient = upstream
    return loss


def plain_sgd_group(optimizer: torch.optim.Optimizer, model: nn.Module) -> dict[str, Any] | None:
    """Return the one parameter group of ``optimizer`` if it is plain SGD over all of ``model``.

    Plain means ``p -= lr * gradient`` and nothing else: no momentum, weight decay or
    ``maximize``, and no step hooks; otherwise the answer is None. Only for plain SGD may a
    training loop apply the update itself.
    """
    if type(optimizer) is not torch.optim.SGD or len(optimizer.param_groups) != 1:
        return None
    group = optimizer.param_groups[0]
    if group["momentum"] or group["weight_decay"] or group["maximize"] or group.get("differentiable"):
        return None
    hooks = (
        optimizer._optimizer_step_pre_hooks, optimizer._optimizer_step_post_hooks,
        getattr(torch_optimizer, "_global_optimizer_pre_hooks", None),
        getattr(torch_optimizer, "_global_optimizer_post_hooks", None),
    )  # fmt: skip
    if any(hooks) or {id(p) for p in group["params"]} != {id(p) for p in model.parameters()}:
        return None
    return group


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
    device = _device_of(model)
    keep_freed_memory()
    model.train()
    by_hand = type(model) is LinearClassifier and all(p.requires_grad for p in model.parameters())
    # A scheduler counts the optimizer's steps, so with one the optimizer takes its own steps.
    sgd_group = plain_sgd_group(optimizer, model) if by_hand and scheduler is None else None
    learning_rate = None if sgd_group is None else float(sgd_group["lr"])
    if by_hand:
        model.zero_grad(set_to_none=True)
    total = torch.zeros((), device=device)
    with tqdm(total=len(batches), desc=description, disable=not show_progress(progress), leave=False) as bar:
        for images, labels in batches:
            images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            if augment is not None:
                images = augment(images)
            if by_hand:  # the same gradients as autograd's, faster (see linear_gradients_by_hand)
                loss = linear_gradients_by_hand(model, images, labels, label_smoothing, learning_rate=learning_rate)
            else:
                loss = smoothed_nll_loss(model(images), labels, label_smoothing)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
            if sgd_group is None:  # otherwise the plain SGD step is already taken
                optimizer.step()
            if scheduler is not None:
                scheduler.step()
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
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    augment: Augment | None = None,
    label_smoothing: float = 0.0,
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
        train_loss = train_epoch(
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


OPTIMIZERS = ("sgd", "adam", "adagrad")
SCHEDULES = ("constant", "one_cycle")


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the outcome of a training run.

    ``optimizer`` is ``"sgd"`` (with ``momentum``), ``"adam"`` or ``"adagrad"``; ``schedule``
    keeps the learning rate ``"constant"`` or takes it up and down again in a ``"one_cycle"``
    with peak ``lr``; ``augment`` randomly rotates, scales and shifts training images;
    ``label_smoothing`` softens the training targets.
    """

    model: str
    epochs: int = 10
    batch_size: int = 32
    lr: float = 0.01
    momentum: float = 0.0
    seed: int = DEFAULT_SEED
    optimizer: str = "sgd"
    schedule: str = "constant"
    augment: bool = False
    weight_decay: float = 0.0
    label_smoothing: float = 0.0

    def __post_init__(self) -> None:
        build_model(self.model)  # fails early on an unknown name
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
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
    history, model = _run(recipe, load_split(True, target, root), load_split(False, target, root), progress)
    save_checkpoint(
        model,
        _cached_checkpoint(recipe, target),
        recipe=dataclasses.asdict(recipe),
        epochs=recipe.epochs,
        accuracy=float(history["test_accuracy"].iloc[-1]),
        history={column: history[column].tolist() for column in history.columns},
    )
    return TrainingRun(model, history)


def _run(
    recipe: Recipe, train_split: Split, test_split: Split, progress: bool | None
) -> tuple[pd.DataFrame, nn.Module]:
    """Seed, build and fit a model by ``recipe`` on the given splits."""
    seed_everything(recipe.seed)
    model = build_model(recipe.model).to(train_split.device)
    train_batches = TensorBatches(train_split, recipe.batch_size, shuffle=True, seed=recipe.seed)
    optimizer = recipe.make_optimizer(model)
    scheduler = recipe.make_scheduler(optimizer, len(train_batches))
    augment = None
    if recipe.augment:
        generator = torch.Generator().manual_seed(recipe.seed)
        augment = functools.partial(random_affine, generator=generator)
    history = fit(
        model, train_batches, TensorBatches(test_split, EVAL_BATCH_SIZE), optimizer, recipe.epochs,
        scheduler=scheduler, augment=augment, label_smoothing=recipe.label_smoothing, progress=progress,
    )  # fmt: skip
    return history, model


def compare(
    recipes: dict[str, Recipe],
    train_split: Split,
    test_split: Split,
    *,
    progress: bool | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train one model per recipe on the same data; return a summary and the histories.

    The summary has one row per recipe (its settings, final test loss and accuracy, and
    seconds); the histories are stacked with a ``run`` column naming the recipe.
    """
    summaries, histories = [], []
    for name, recipe in recipes.items():
        history, _ = _run(recipe, train_split, test_split, progress)
        final = history.iloc[-1]
        summaries.append(
            {
                "run": name,
                **{key: getattr(recipe, key) for key in ("optimizer", "lr", "momentum", "batch_size")},
                "test_loss": final["test_loss"],
                "test_accuracy": final["test_accuracy"],
                "seconds": history["seconds"].sum(),
            }
        )
        histories.append(history.assign(run=name))
    return pd.DataFrame(summaries).set_index("run"), pd.concat(histories, ignore_index=True)


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
