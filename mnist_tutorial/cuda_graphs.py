"""The training chapter's step, captured once as a CUDA graph and replayed for every batch.

At batch size 32 a GPU finishes each of a step's few dozen kernels long before Python has
launched the next, so an epoch takes as long as its launches. A CUDA graph records the whole
step (forward pass, loss, backward pass, SGD update) once; each batch is then copied into the
graph's input tensors and the step runs as a single launch. This is PyTorch's "whole network
capture" (``torch.cuda.graph``); the operations are those of :func:`~.training.train_epoch`.
"""

from __future__ import annotations

import torch
from torch import nn
from tqdm import tqdm

from .data import Batches
from .runtime import show_progress
from .training import Augment, smoothed_nll_loss


def graphs_apply(optimizer: torch.optim.Optimizer, device: torch.device, *, scheduler: object, augment: object) -> bool:
    """Whether :class:`GraphedEpochs` can train with ``optimizer`` on ``device``.

    It needs a CUDA device, SGD without dampening at a constant learning rate (a scheduler
    would change the rate, a number the graph holds fixed), and no augmentation (it draws its
    random transforms on the CPU).
    """
    plain_sgd = type(optimizer) is torch.optim.SGD and all(not g["dampening"] for g in optimizer.param_groups)
    return device.type == "cuda" and plain_sgd and scheduler is None and augment is None


class GraphedEpochs:
    """Runs epochs like :func:`~.training.train_epoch`, each full-sized batch as one graph replay.

    The graph is captured at the first batch and reused for every later batch and epoch of
    the same model and optimizer; a batch of another size (the last, short one) takes an
    ordinary step.
    """

    def __init__(self) -> None:
        self._graph: torch.cuda.CUDAGraph | None = None
        self._images = self._labels = self._loss = torch.empty(0)

    def __call__(
        self,
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
        """Run one epoch; return the mean batch loss (the signature of ``train_epoch``)."""
        device = next(model.parameters()).device
        if not graphs_apply(optimizer, device, scheduler=scheduler, augment=augment):
            raise ValueError("CUDA graphs need a CUDA device, SGD, no scheduler and no augmentation")
        model.train()
        total = torch.zeros((), device=device)
        for images, labels in tqdm(batches, desc=description, disable=not show_progress(progress), leave=False):
            images, labels = images.to(device), labels.to(device)
            if self._graph is None:
                self._capture(model, optimizer, images, labels, label_smoothing)
            if images.shape == self._images.shape:
                self._images.copy_(images)
                self._labels.copy_(labels)
                self._graph.replay()
                loss = self._loss
            else:
                loss = smoothed_nll_loss(model(images), labels, label_smoothing)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            total += loss.detach()
        return total.item() / len(batches)

    def _capture(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        images: torch.Tensor,
        labels: torch.Tensor,
        smoothing: float,
    ) -> None:
        """Record one training step on copies of the first batch, leaving model and optimizer as they were."""
        self._images, self._labels = images.clone(), labels.clone()
        weights = {name: value.clone() for name, value in model.state_dict().items()}
        momenta = {p: {k: v.clone() for k, v in s.items() if torch.is_tensor(v)} for p, s in optimizer.state.items()}
        random_state = torch.cuda.get_rng_state(images.device)

        def step() -> torch.Tensor:
            loss = smoothed_nll_loss(model(self._images), self._labels, smoothing)
            loss.backward()
            optimizer.step()
            return loss

        # Capture needs warmed-up libraries and the optimizer's state tensors to exist already.
        side = torch.cuda.Stream(images.device)
        side.wait_stream(torch.cuda.current_stream(images.device))
        with torch.cuda.stream(side):
            for _ in range(3):
                optimizer.zero_grad(set_to_none=True)
                step()
        torch.cuda.current_stream(images.device).wait_stream(side)
        optimizer.zero_grad(set_to_none=True)
        self._graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self._graph):
            loss = step()
        # Keep the loss's memory (each replay writes it) but not its autograd graph: that graph would
        # keep the parameters' gradient accumulators, recorded on the capture stream, alive into the
        # ordinary steps of short batches, which run on the default stream.
        self._loss = loss.detach()
        # Undo the warm-up steps in place: the graph reads and writes these very tensors.
        with torch.no_grad():
            for name, value in model.state_dict().items():
                value.copy_(weights[name])
            for parameter, state in optimizer.state.items():
                for key, value in state.items():
                    if torch.is_tensor(value):  # SGD's momentum: a fresh buffer acts as zero
                        value.copy_(momenta[parameter][key]) if parameter in momenta else value.zero_()
        torch.cuda.set_rng_state(random_state, images.device)
