"""The training chapter's step, captured once as a CUDA graph and replayed for every batch.

At batch size 32 a GPU finishes each of a step's few dozen kernels long before Python has
launched the next, so an epoch takes as long as its launches. A CUDA graph records the whole
step (forward pass, loss, backward pass, SGD update) once; each batch is then copied into the
graph's input tensors and the step runs as a single launch. This is PyTorch's "whole network
capture" (``torch.cuda.graph``) of :func:`~.training.training_step` itself.
"""

from __future__ import annotations

import torch
from torch import nn

from .training import training_step


def graphs_apply(optimizer: torch.optim.Optimizer, device: torch.device, *, scheduler: object, augment: object) -> bool:
    """Whether :class:`GraphedStep` can train with ``optimizer`` on ``device``.

    It needs a CUDA device, SGD without dampening at a constant learning rate (a scheduler
    would change the rate, a number the graph holds fixed), and no augmentation (it draws its
    random transforms on the CPU).
    """
    plain_sgd = type(optimizer) is torch.optim.SGD and all(not g["dampening"] for g in optimizer.param_groups)
    return device.type == "cuda" and plain_sgd and scheduler is None and augment is None


class GraphedStep:
    """A :func:`~.training.training_step` that replays a CUDA graph of itself for full-sized batches.

    The graph is captured at the first batch and reused for every later batch and epoch of
    the same model and optimizer; a batch of another shape (the last, short one) takes an
    ordinary :func:`~.training.training_step`. Pass it as ``step`` to ``train_epoch`` or ``fit``;
    the graph holds ``label_smoothing`` and the learning rate fixed, so no scheduler may change it.
    """

    def __init__(self, label_smoothing: float = 0.0) -> None:
        self.label_smoothing = label_smoothing
        self._graph: torch.cuda.CUDAGraph | None = None
        self._images = self._labels = self._loss = torch.empty(0)

    def __call__(
        self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor, optimizer: torch.optim.Optimizer
    ) -> torch.Tensor:
        """Train on one batch; return its mean loss (a :data:`~.training.Step`)."""
        if not graphs_apply(optimizer, images.device, scheduler=None, augment=None):
            raise ValueError("CUDA graphs need a CUDA device and SGD without dampening")
        if self._graph is None:
            self._capture(model, images, labels, optimizer)
        if images.shape != self._images.shape:
            return training_step(model, images, labels, optimizer, label_smoothing=self.label_smoothing)
        self._images.copy_(images)
        self._labels.copy_(labels)
        self._graph.replay()
        return self._loss

    def _capture(
        self,
        model: nn.Module,
        images: torch.Tensor,
        labels: torch.Tensor,
        optimizer: torch.optim.Optimizer,
    ) -> None:
        """Record one training step on copies of the first batch, leaving model and optimizer as they were."""
        self._images, self._labels = images.clone(), labels.clone()
        weights = {name: value.clone() for name, value in model.state_dict().items()}
        momenta = {p: {k: v.clone() for k, v in s.items() if torch.is_tensor(v)} for p, s in optimizer.state.items()}
        random_state = torch.cuda.get_rng_state(images.device)

        def step() -> torch.Tensor:
            return training_step(model, self._images, self._labels, optimizer, label_smoothing=self.label_smoothing)

        # Capture needs warmed-up libraries and the optimizer's state tensors to exist already.
        side = torch.cuda.Stream(images.device)
        side.wait_stream(torch.cuda.current_stream(images.device))
        with torch.cuda.stream(side):
            for _ in range(3):
                step()
        torch.cuda.current_stream(images.device).wait_stream(side)
        # No gradients at the capture: the graph's backward pass writes them afresh at every replay
        # (the step's zero_grad sets them to None, which records nothing).
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
