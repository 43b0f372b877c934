"""CUDA graphs give the training loop's results (needs a CUDA device; skipped elsewhere)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mnist_tutorial.cuda_graphs import GraphedStep
from mnist_tutorial.data import Split, TensorBatches
from mnist_tutorial.evaluation import evaluate
from mnist_tutorial.recipes import Recipe, build_model
from mnist_tutorial.runs import prepare_training
from mnist_tutorial.training import train_epoch, training_step

pytestmark = [
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
    # a warning here is a bug: PyTorch warns when a captured graph's autograd state leaks into
    # ordinary steps (AccumulateGrad stream mismatch), and in a chapter it fails the -W build
    pytest.mark.filterwarnings("error"),
]


def on_gpu(blobs, count=500):
    """Blobs on the GPU; 500 images make 15 full batches of 32 and a short one of 20."""
    images, labels = blobs
    return Split(images[:count].cuda(), labels[:count].cuda())


def without_dropout(model: nn.Module) -> nn.Module:
    """The model with every dropout probability set to zero, so that eager and graphed steps see the same masks."""
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0
    return model


@pytest.mark.parametrize("name", ["linear", "mlp", "conv", "strong"])
def test_graphed_steps_give_the_loops_weights(blobs, name):
    torch.manual_seed(0)
    eager, graphed = without_dropout(build_model(name).cuda()), without_dropout(build_model(name).cuda())
    graphed.load_state_dict(eager.state_dict())
    split = on_gpu(blobs)
    optimizers = [torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9) for m in (eager, graphed)]
    step = GraphedStep()
    for _ in range(2):  # the second epoch replays the graph captured in the first
        batches = [TensorBatches(split, 32, shuffle=True, seed=3) for _ in range(2)]
        eager_loss = train_epoch(eager, batches[0], optimizers[0], progress=False)
        graphed_loss = train_epoch(graphed, batches[1], optimizers[1], step=step, progress=False)
        assert graphed_loss == pytest.approx(eager_loss, rel=1e-4)
    for mine, theirs in zip(graphed.state_dict().values(), eager.state_dict().values(), strict=True):
        torch.testing.assert_close(mine, theirs, rtol=1e-4, atol=1e-5)


def test_the_capture_leaves_weights_and_momentum_as_they_were(blobs):
    torch.manual_seed(0)
    model = build_model("conv").cuda()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    split = on_gpu(blobs, 32)  # one batch: the capture and a single replay
    GraphedStep()._capture(model, split.images, split.labels, optimizer)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert all(torch.count_nonzero(s["momentum_buffer"]) == 0 for s in optimizer.state.values())


def test_a_graphed_convolutional_model_learns(blobs):
    torch.manual_seed(0)
    model = build_model("conv").cuda()
    split = on_gpu(blobs, 512)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    step = GraphedStep()
    for _ in range(3):
        train_epoch(model, TensorBatches(split, 32, shuffle=True), optimizer, step=step, progress=False)
    assert evaluate(model, TensorBatches(split, 256)).accuracy > 0.9


def test_recipes_use_graphs_on_cuda_only_for_sgd_at_a_constant_rate():
    cuda = torch.device("cuda")
    assert isinstance(prepare_training(Recipe("conv"), cuda, 10).step, GraphedStep)
    assert prepare_training(Recipe("conv"), cuda, 10, cuda_graphs=False).step.func is training_step
    assert prepare_training(Recipe("conv", optimizer="adam"), cuda, 10).step.func is training_step
    assert prepare_training(Recipe("strong", schedule="one_cycle"), cuda, 10).step.func is training_step
    assert prepare_training(Recipe("conv", label_smoothing=0.1), cuda, 10).step.label_smoothing == 0.1
    model = build_model("linear").cuda()
    images, labels = torch.zeros(4, 1, 28, 28, device=cuda), torch.zeros(4, dtype=torch.long, device=cuda)
    with pytest.raises(ValueError, match="CUDA graphs need"):
        GraphedStep()(model, images, labels, torch.optim.Adam(model.parameters()))
