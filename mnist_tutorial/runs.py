"""Whole training runs by recipe, and the cache that lets every chapter share them.

A run trains on the training images a recipe does not hold out for validation and is scored on
those it holds out after every epoch; the test set is left for a final, separate evaluation. A run
is seeded, so a recipe trained twice on the same machine gives the same model; the cache
keeps each trained model under a key made of the recipe, the device type, the PyTorch version
and the source of the package's modules that training uses (:func:`training_sources`), and
:func:`trained_model` returns it instead of training again.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from .augment import random_affine
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .cuda_graphs import GraphedStep, graphs_apply
from .data import Split, TensorBatches, load_split
from .paths import cache_dir
from .recipes import Recipe, build_model
from .runtime import pick_device, seed_everything
from .training import Augment, Scheduler, Step, fit, training_step

#: Batch size of evaluation passes: no gradients are kept, so large batches are cheap.
EVAL_BATCH_SIZE = 1000

#: Seed of the one permutation that decides which training images are held out for validation.
HOLD_OUT_SEED = 0

#: Set to ``1`` to make :func:`trained_model` fail instead of training when a model is not cached.
CACHED_ONLY_ENV = "MNIST_TUTORIAL_CACHED_ONLY"


class NotCachedError(RuntimeError):
    """A model was asked for that is not in the cache, with ``$MNIST_TUTORIAL_CACHED_ONLY=1``."""


@dataclass(frozen=True)
class TrainingRun:
    """A trained model, the history of its training, and whether it came from the cache."""

    model: nn.Module
    history: pd.DataFrame
    cached: bool = False

    @property
    def seconds(self) -> float:
        """How long the training took when it ran, evaluation after each epoch included."""
        return float(self.history["seconds"].sum())


def hold_out(split: Split, count: int) -> tuple[Split, Split]:
    """Split ``split`` into the images to train on and ``count`` images held out for validation.

    The split is PyTorch's ``random_split`` of the indices with a generator seeded by
    :data:`HOLD_OUT_SEED`, so it depends on ``count`` alone: the same for every recipe, seed and
    device. Both parts keep the images' original order.
    """
    if not 0 < count < len(split):
        raise ValueError(f"cannot hold out {count} of {len(split)} images: choose between 1 and {len(split) - 1}")
    generator = torch.Generator().manual_seed(HOLD_OUT_SEED)
    kept, held = torch.utils.data.random_split(range(len(split)), [len(split) - count, count], generator=generator)
    kept_index, held_index = (torch.tensor(sorted(part.indices), device=split.device) for part in (kept, held))
    return split[kept_index], split[held_index]


def recipe_splits(
    recipe: Recipe, device: torch.device, root: str | os.PathLike[str] | None = None
) -> tuple[Split, Split]:
    """Return the training and validation images ``recipe`` uses, on ``device``."""
    train, val = hold_out(load_split(True, device, root), recipe.val_size)
    return train[: recipe.train_size], val


@dataclass(frozen=True)
class Training:
    """What a recipe trains with: the model, its optimizer and schedule, and how a batch is trained."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Scheduler
    augment: Augment | None
    step: Step


def prepare_training(
    recipe: Recipe, device: torch.device, steps_per_epoch: int, *, cuda_graphs: bool = True
) -> Training:
    """Seed, then build the model, optimizer, schedule and augmentation of ``recipe`` on ``device``.

    On a CPU the convolutional models use the ``channels_last`` memory layout, which the CPU's
    convolution routines prefer. On a CUDA device, where SGD at a constant rate allows it, each
    step is replayed as a CUDA graph (see :mod:`~.cuda_graphs`) unless ``cuda_graphs`` is false.
    """
    seed_everything(recipe.seed)
    model = build_model(recipe.model).to(device)
    if device.type == "cpu" and any(p.dim() == 4 for p in model.parameters()):
        model = model.to(memory_format=torch.channels_last)
    optimizer = recipe.make_optimizer(model)
    scheduler = recipe.make_scheduler(optimizer, steps_per_epoch)
    augment = None
    if recipe.augment:
        augment = functools.partial(random_affine, generator=torch.Generator().manual_seed(recipe.seed))
    graphed = cuda_graphs and graphs_apply(optimizer, device, scheduler=scheduler, augment=augment)
    smoothing = recipe.label_smoothing
    step = GraphedStep(smoothing) if graphed else functools.partial(training_step, label_smoothing=smoothing)
    return Training(model, optimizer, scheduler, augment, step)


def train(
    recipe: Recipe,
    device: str | torch.device = "auto",
    root: str | os.PathLike[str] | None = None,
    *,
    progress: bool | None = None,
    cuda_graphs: bool = True,
) -> TrainingRun:
    """Train a fresh model by ``recipe`` on MNIST, remember it in the cache, and return it.

    It trains on the recipe's training images and validates after every epoch on the images it
    holds out (:func:`recipe_splits`); the test set is not touched. The data are held on the device
    as tensors (:func:`load_split`); see :func:`prepare_training` for the memory layout and CUDA graphs.
    """
    target = pick_device(device)
    train_split, val_split = recipe_splits(recipe, target, root)
    train_batches = TensorBatches(train_split, recipe.batch_size, shuffle=True, seed=recipe.seed)
    setup = prepare_training(recipe, target, len(train_batches), cuda_graphs=cuda_graphs)
    history = fit(
        setup.model, train_batches, TensorBatches(val_split, EVAL_BATCH_SIZE), setup.optimizer, recipe.epochs,
        scheduler=setup.scheduler, augment=setup.augment, step=setup.step, progress=progress,
    )  # fmt: skip
    # The layout chosen for speed is not part of the model: return it as a reloaded one would be.
    model = setup.model.to(memory_format=torch.contiguous_format)
    save_checkpoint(
        model,
        _cached_checkpoint(recipe, target),
        recipe=dataclasses.asdict(recipe),
        epochs=recipe.epochs,
        val_accuracy=float(history["val_accuracy"].iloc[-1]),
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

    The cache key covers the recipe, the device type, the PyTorch version and the source of the
    modules training uses, so a cached model is the one :func:`train` would produce now. With
    ``$MNIST_TUTORIAL_CACHED_ONLY=1`` a model missing from the cache is an error instead.
    """
    target = pick_device(device)
    path = _cached_checkpoint(recipe, target)
    try:
        checkpoint = load_checkpoint(path, device=target)
    except CheckpointError:
        if os.environ.get(CACHED_ONLY_ENV) == "1":
            message = f"{recipe} on {target.type} is not in the cache ({path}) and {CACHED_ONLY_ENV}=1"
            raise NotCachedError(message) from None
        return train(recipe, target, root, progress=progress)
    return TrainingRun(checkpoint.model, pd.DataFrame(checkpoint.metadata["history"]), cached=True)


def compare(
    recipes: dict[str, Recipe],
    device: str | torch.device = "auto",
    root: str | os.PathLike[str] | None = None,
    *,
    progress: bool | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train (or take from the cache) one model per recipe; return a summary and the histories.

    The summary has one row per recipe (its settings, final validation loss and accuracy, and the
    seconds its training took); the histories are stacked with a ``run`` column naming the recipe.
    No test image is used: rank and choose by these figures, then test the chosen model once.
    """
    summaries, histories = [], []
    for name, recipe in recipes.items():
        run = trained_model(recipe, device, root, progress=progress)
        final = run.history.iloc[-1]
        summaries.append(
            {
                "run": name,
                **{key: getattr(recipe, key) for key in ("optimizer", "lr", "momentum", "batch_size")},
                "val_loss": final["val_loss"],
                "val_accuracy": final["val_accuracy"],
                "seconds": run.seconds,
            }
        )
        histories.append(run.history.assign(run=name))
    return pd.DataFrame(summaries).set_index("run"), pd.concat(histories, ignore_index=True)


def training_sources() -> list[Path]:
    """Return the package's modules a training run depends on: this one and all it imports, in turn.

    Figures, the command line and the like are left out, so that changing them keeps the cache.
    """
    package = Path(__file__).parent
    found, pending = set(), [Path(__file__)]
    while pending:
        source = pending.pop()
        if source in found:
            continue
        found.add(source)
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                pending.append(package / f"{node.module}.py")
    return sorted(found)


def _source_digest() -> str:
    digest = hashlib.sha256()
    for source in training_sources():
        digest.update(source.name.encode() + source.read_bytes())
    return digest.hexdigest()


def _cached_checkpoint(recipe: Recipe, device: torch.device) -> Path:
    fields = [repr(dataclasses.astuple(recipe)), device.type, torch.__version__, _source_digest()]
    key = hashlib.sha256("\n".join(fields).encode()).hexdigest()[:16]
    return cache_dir() / "models" / f"{recipe.model}-{key}.pt"
