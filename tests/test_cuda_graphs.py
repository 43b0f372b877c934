"""CUDA graphs give the training loop's results (needs a CUDA device; skipped elsewhere)."""

from __future__ import annotations

import pytest
import torch

from mnist_tutorial.cuda_graphs import GraphedEpochs
from mnist_tutorial.data import Split, TensorBatches
from mnist_tutorial.evaluation import evaluate
from mnist_tutorial.recipes import Recipe, build_model
from mnist_tutorial.runs import prepare_training
from mnist_tutorial.training import train_epoch

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


@pytest.mark.parametrize("name", ["linear", "mlp"])
def test_graphed_epochs_give_the_loops_weights(blobs, name):
    torch.manual_seed(0)
    eager, graphed = build_model(name).cuda(), build_model(name).cuda()
    graphed.load_state_dict(eager.state_dict())
    split = on_gpu(blobs)
    optimizers = [torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9) for m in (eager, graphed)]
    runner = GraphedEpochs()
    for _ in range(2):  # the second epoch replays the graph captured in the first
        eager_loss = train_epoch(eager, TensorBatches(split, 32, shuffle=True, seed=3), optimizers[0], progress=False)
        graphed_loss = runner(graphed, TensorBatches(split, 32, shuffle=True, seed=3), optimizers[1], progress=False)
        assert graphed_loss == pytest.approx(eager_loss, rel=1e-4)
    for mine, theirs in zip(graphed.state_dict().values(), eager.state_dict().values(), strict=True):
        torch.testing.assert_close(mine, theirs, rtol=1e-4, atol=1e-5)


def test_the_capture_leaves_weights_and_momentum_as_they_were(blobs):
    torch.manual_seed(0)
    model = build_model("conv").cuda()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    split = on_gpu(blobs, 32)  # one batch: the capture and a single replay
    runner = GraphedEpochs()
    runner._capture(model, optimizer, split.images, split.labels, 0.0)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert all(torch.count_nonzero(s["momentum_buffer"]) == 0 for s in optimizer.state.values())


def test_a_graphed_convolutional_model_learns(blobs):
    torch.manual_seed(0)
    model = build_model("conv").cuda()
    split = on_gpu(blobs, 512)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    runner = GraphedEpochs()
    for _ in range(3):
        runner(model, TensorBatches(split, 32, shuffle=True), optimizer, progress=False)
    assert evaluate(model, TensorBatches(split, 256)).accuracy > 0.9


def test_recipes_use_graphs_on_cuda_only_for_sgd_at_a_constant_rate():
    cuda = torch.device("cuda")
    assert isinstance(prepare_training(Recipe("conv"), cuda, 10).run_epoch, GraphedEpochs)
    assert prepare_training(Recipe("conv"), cuda, 10, cuda_graphs=False).run_epoch is train_epoch
    assert prepare_training(Recipe("conv", optimizer="adam"), cuda, 10).run_epoch is train_epoch
    assert prepare_training(Recipe("strong", schedule="one_cycle"), cuda, 10).run_epoch is train_epoch
    with pytest.raises(ValueError, match="CUDA graphs need"):
        GraphedEpochs()(build_model("linear"), [], torch.optim.SGD(build_model("linear").parameters(), lr=0.1))
