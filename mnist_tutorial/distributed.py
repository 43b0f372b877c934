"""The command line's ``train`` under ``torchrun``: the same recipe, trained with DistributedDataParallel.

``torchrun --nproc-per-node N -m mnist_tutorial train ...`` starts N processes; each finds its rank
and the world size in the environment variables torchrun sets (:func:`launched`). The recipe is
trained as :func:`~.runs.train` trains it, with the batch size as the effective batch: every epoch
draws the same shuffled order as :class:`~.data.TensorBatches`, and each batch of that order is
split among the processes as ``DistributedSampler`` splits its indices (rank ``r`` takes every
N-th image from the ``r``-th). Each process weighs its loss by its share of the batch, so DDP's
average of the gradients is the gradient of the batch's mean loss even when a batch does not split
evenly. Rank 0 evaluates and reports; the others stay quiet. Models are not cached.

What differs from one process, besides rounding: random augmentation draws its own numbers in
each process, batch normalisation normalises each process's share of the batch, and no step is
replayed as a CUDA graph.
"""

from __future__ import annotations

import math
import os
import time

import pandas as pd
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from .data import TensorBatches
from .evaluation import evaluate
from .recipes import Recipe
from .runs import EVAL_BATCH_SIZE, TrainingRun, prepare_training, recipe_splits
from .runtime import show_progress

#: The process group's backend for each device type.
BACKENDS = {"cpu": "gloo", "cuda": "nccl"}


def launched() -> bool:
    """Whether this process was started by ``torchrun`` (or a launcher that sets the same variables)."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def rank() -> int:
    """Return the rank of this process: 0 when not launched by ``torchrun``."""
    return int(os.environ.get("RANK", "0"))


def quiet() -> bool:
    """Whether this process should print nothing: a rank other than 0."""
    return launched() and rank() != 0


def process_device(device: torch.device) -> torch.device:
    """Return the device this process trains on: its own GPU (``LOCAL_RANK``) for CUDA.

    Raises ``ValueError`` for a device type without a backend here, or for one GPU named for all.
    """
    if device.type not in BACKENDS:
        raise ValueError(f"no distributed backend for {device.type}; choose --device cpu or cuda")
    if device.type == "cpu":
        return device
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.index is not None and int(os.environ["WORLD_SIZE"]) > 1:
        raise ValueError(f"under torchrun each process takes its own GPU: write --device cuda, not {device}")
    if local_rank >= torch.cuda.device_count():
        raise ValueError(f"local rank {local_rank} has no GPU: this machine has {torch.cuda.device_count()}")
    return torch.device("cuda", local_rank)


def _step(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    weight: float,
    label_smoothing: float,
) -> torch.Tensor:
    """One DDP step on this process's share; return the share's summed loss.

    The summed loss is scaled by ``weight`` (world size / batch size) before ``backward``, so
    that DDP's average over the processes is the gradient of the whole batch's mean loss.
    """
    log_probabilities = model(images)
    if label_smoothing:
        loss = F.cross_entropy(log_probabilities, labels, label_smoothing=label_smoothing, reduction="sum")
    else:
        loss = F.nll_loss(log_probabilities, labels, reduction="sum")
    optimizer.zero_grad()
    (loss * weight).backward()
    optimizer.step()
    return loss.detach()


def train(
    recipe: Recipe, device: torch.device, root: str | os.PathLike[str] | None = None, *, progress: bool | None = None
) -> TrainingRun:
    """Train ``recipe`` in this process and the others torchrun started; every rank returns the model.

    The history's validation figures are rank 0's; the other ranks do not evaluate (NaN).
    """
    world, me = int(os.environ["WORLD_SIZE"]), rank()
    target = process_device(device)
    train_split, val_split = recipe_splits(recipe, target, root)
    if world > recipe.batch_size or world > len(train_split):
        raise ValueError(
            f"{world} processes need at least {world} images per batch and in the training set; "
            f"the batch has {recipe.batch_size} and the set {len(train_split)}"
        )
    dist.init_process_group(BACKENDS[target.type])
    try:
        setup = prepare_training(recipe, target, math.ceil(len(train_split) / recipe.batch_size), cuda_graphs=False)
        model = DistributedDataParallel(setup.model)
        generator = torch.Generator().manual_seed(recipe.seed)  # the order TensorBatches draws
        rows = []
        for epoch in range(1, recipe.epochs + 1):
            start = time.perf_counter()
            model.train()
            order = torch.randperm(len(train_split), generator=generator).to(target)
            total = torch.zeros((), device=target)
            shown = show_progress(progress) and me == 0
            for index in tqdm(order.split(recipe.batch_size), desc=f"epoch {epoch}", disable=not shown, leave=False):
                mine = index[me::world]
                images = train_split.images.index_select(0, mine)
                if setup.augment is not None:
                    images = setup.augment(images)
                labels = train_split.labels.index_select(0, mine)
                total += _step(model, images, labels, setup.optimizer, world / len(index), recipe.label_smoothing)
                if setup.scheduler is not None:
                    setup.scheduler.step()
            dist.all_reduce(total)
            row = {"epoch": epoch, "train_loss": total.item() / len(train_split)}
            if me == 0:
                result = evaluate(setup.model, TensorBatches(val_split, EVAL_BATCH_SIZE))
                row |= {"val_loss": result.loss, "val_accuracy": result.accuracy}
            else:
                row |= {"val_loss": math.nan, "val_accuracy": math.nan}
            rows.append(row | {"seconds": time.perf_counter() - start})
        dist.barrier()  # rank 0 has evaluated before anyone leaves
    finally:
        dist.destroy_process_group()
    return TrainingRun(setup.model.to(memory_format=torch.contiguous_format), pd.DataFrame(rows))
