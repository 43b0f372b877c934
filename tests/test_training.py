"""Training and evaluation loops, seeding, devices, progress bars and the model cache."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim import optimizer as torch_optimizer

from mnist_tutorial import runtime, training
from mnist_tutorial.data import Split, TensorBatches
from mnist_tutorial.models import LinearClassifier
from mnist_tutorial.runtime import pick_device, seed_everything, show_progress
from mnist_tutorial.training import Recipe, evaluate, fit, train, train_epoch, trained_model


def batches_of(blobs, batch_size=32, shuffle=True):
    return TensorBatches(Split(*blobs), batch_size, shuffle=shuffle, seed=1)


def test_train_epoch_lowers_the_loss_and_returns_the_mean_batch_loss(blobs):
    torch.manual_seed(0)
    model = LinearClassifier()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    before = evaluate(model, batches_of(blobs, 512, shuffle=False))
    mean_loss = train_epoch(model, batches_of(blobs), optimizer, progress=False)
    after = evaluate(model, batches_of(blobs, 512, shuffle=False))
    assert after.loss < before.loss / 2
    assert after.accuracy > 0.9
    assert before.loss > mean_loss > after.loss


class AutogradLinear(LinearClassifier):
    """A linear classifier that train_epoch trains through autograd (it is not the exact class)."""


def textbook_epoch(model, batches, lr):
    """The five-step loop the training chapter writes out by hand."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for images, labels in batches:
        loss = F.nll_loss(model(images), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()


@pytest.mark.parametrize("by_hand", [False, True], ids=["autograd", "gradients by hand"])
def test_train_epoch_is_the_textbook_loop(blobs, by_hand, monkeypatch):
    """Same weights as the textbook loop: bit for bit through autograd, to rounding by hand."""
    calls = []
    by_hand_gradients = training.linear_gradients_by_hand
    spy = lambda *a, **k: calls.append(k["learning_rate"]) or by_hand_gradients(*a, **k)  # noqa: E731
    monkeypatch.setattr(training, "linear_gradients_by_hand", spy)
    torch.manual_seed(0)
    ours = LinearClassifier() if by_hand else AutogradLinear()
    reference = LinearClassifier()
    reference.load_state_dict(ours.state_dict())
    train_epoch(ours, batches_of(blobs), torch.optim.SGD(ours.parameters(), lr=0.05), progress=False)
    textbook_epoch(reference, batches_of(blobs), lr=0.05)
    for mine, theirs in zip(ours.parameters(), reference.parameters(), strict=True):
        if by_hand:
            torch.testing.assert_close(mine, theirs, rtol=1e-5, atol=1e-6)
        else:
            assert torch.equal(mine, theirs)
    assert calls == ([0.05] * len(batches_of(blobs)) if by_hand else [])  # plain SGD: the step is fused
    assert all((p.grad is None) == by_hand for p in ours.parameters())  # and no gradient is stored


def sgd_with_a_hook(parameters, calls):
    optimizer = torch.optim.SGD(parameters, lr=0.05)
    optimizer.register_step_post_hook(lambda *_: calls.append(1))
    return optimizer


NOT_PLAIN_SGD = {
    "momentum": lambda parameters, calls: torch.optim.SGD(parameters, lr=0.05, momentum=0.9),
    "weight decay": lambda parameters, calls: torch.optim.SGD(parameters, lr=0.05, weight_decay=0.01),
    "maximize": lambda parameters, calls: torch.optim.SGD(parameters, lr=0.01, maximize=True),
    "step hook": sgd_with_a_hook,
    "adam": lambda parameters, calls: torch.optim.Adam(parameters, lr=1e-3),
    "last layer only": lambda parameters, calls: torch.optim.SGD(list(parameters)[-2:], lr=0.05),
}


@pytest.mark.parametrize("make_optimizer", NOT_PLAIN_SGD.values(), ids=NOT_PLAIN_SGD.keys())
def test_gradients_by_hand_leave_other_optimizers_their_step(blobs, make_optimizer):
    """Anything but plain SGD over the whole model gets .grad and its own optimizer.step()."""
    torch.manual_seed(0)
    ours, reference = LinearClassifier(), AutogradLinear()
    reference.load_state_dict(ours.state_dict())
    calls, reference_calls = [], []
    optimizer = make_optimizer(ours.parameters(), calls)
    assert training.plain_sgd_group(optimizer, ours) is None
    train_epoch(ours, batches_of(blobs), optimizer, progress=False)
    train_epoch(reference, batches_of(blobs), make_optimizer(reference.parameters(), reference_calls), progress=False)
    for mine, theirs in zip(ours.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(mine, theirs, rtol=1e-4, atol=1e-5)
    assert calls == reference_calls


def test_a_global_step_hook_keeps_the_optimizers_step():
    model = LinearClassifier()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    assert training.plain_sgd_group(optimizer, model) is optimizer.param_groups[0]
    handle = torch_optimizer.register_optimizer_step_post_hook(lambda *_: None)
    try:
        assert training.plain_sgd_group(optimizer, model) is None
    finally:
        handle.remove()


def test_with_a_scheduler_the_optimizer_takes_its_own_steps(blobs):
    """A scheduler counts optimizer.step() calls (and warns without them): no fused step then."""
    torch.manual_seed(0)
    ours, reference = LinearClassifier(), AutogradLinear()
    reference.load_state_dict(ours.state_dict())
    losses = []
    for model in (ours, reference):
        optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=4, gamma=0.5)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            losses.append(train_epoch(model, batches_of(blobs), optimizer, scheduler=scheduler, progress=False))
        assert optimizer.param_groups[0]["lr"] == pytest.approx(0.2 * 0.5**4)  # 16 batches, 4 halvings
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)
    for mine, theirs in zip(ours.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(mine, theirs, rtol=1e-5, atol=1e-6)
        assert mine.grad is not None


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_linear_gradients_by_hand_are_autograds(smoothing):
    torch.manual_seed(0)
    model = LinearClassifier()
    images, labels = torch.randn(32, 1, 28, 28), torch.randint(0, 10, (32,))
    loss = training.smoothed_nll_loss(model(images), labels, smoothing)
    loss.backward()
    expected = [p.grad.clone() for p in model.parameters()]
    model.zero_grad(set_to_none=True)
    hand_loss = training.linear_gradients_by_hand(model, images, labels, smoothing)
    assert hand_loss.item() == pytest.approx(loss.item(), rel=1e-6)
    assert not hand_loss.requires_grad
    for parameter, gradient in zip(model.parameters(), expected, strict=True):
        torch.testing.assert_close(parameter.grad, gradient, rtol=1e-5, atol=1e-7)


class FixedGuess(nn.Module):
    """Predicts class 3 for every image, with probability 1/2."""

    def __init__(self) -> None:
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(()))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        probs = torch.full((len(images), 10), 0.5 / 9)
        probs[:, 3] = 0.5
        return probs.log() + self.anchor


def test_evaluate_counts_correct_images_and_averages_the_loss_per_image(blobs):
    result = evaluate(FixedGuess(), batches_of(blobs, 100, shuffle=False))
    threes = int((blobs[1] == 3).sum())
    assert (result.correct, result.total) == (threes, 512)
    assert result.accuracy == threes / 512
    expected = (threes * -torch.tensor(0.5).log() + (512 - threes) * -torch.tensor(0.5 / 9).log()) / 512
    assert result.loss == pytest.approx(expected.item(), rel=1e-6)


def test_fit_returns_one_history_row_per_epoch(blobs):
    torch.manual_seed(0)
    model = LinearClassifier()
    seen = []
    history = fit(
        model, batches_of(blobs), batches_of(blobs, 256, False), torch.optim.SGD(model.parameters(), lr=0.05),
        epochs=3, progress=False, on_epoch=seen.append,
    )  # fmt: skip
    assert isinstance(history, pd.DataFrame)
    assert list(history.columns) == ["epoch", "train_loss", "test_loss", "test_accuracy", "seconds"]
    assert history["epoch"].tolist() == [1, 2, 3] and len(seen) == 3
    assert history["train_loss"].is_monotonic_decreasing
    assert (history["seconds"] > 0).all()
    with pytest.raises(ValueError, match="epochs must be positive"):
        fit(model, batches_of(blobs), batches_of(blobs), torch.optim.SGD(model.parameters(), lr=0.1), epochs=0)


def test_seeding_makes_a_cpu_run_repeat_bit_for_bit(blobs):
    def run() -> list[torch.Tensor]:
        seed_everything(11)
        model = training.build_model("conv")
        fit(model, batches_of(blobs), batches_of(blobs), torch.optim.SGD(model.parameters(), lr=0.05), 1)
        return [p.detach().clone() for p in model.parameters()]

    first, second = run(), run()
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))


def test_recipes_reject_bad_values():
    with pytest.raises(ValueError, match="unknown model"):
        Recipe("mlp")
    with pytest.raises(ValueError, match="epochs must be positive"):
        Recipe("conv", epochs=0)
    with pytest.raises(ValueError, match="batch_size must be positive"):
        Recipe("conv", batch_size=-1)
    with pytest.raises(ValueError, match="lr must be positive"):
        Recipe("conv", lr=0)


def test_pick_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert pick_device() == torch.device("cpu")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert pick_device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("auto") == torch.device("cuda")
    assert pick_device("cpu") == torch.device("cpu")


def test_pick_device_refuses_unknown_or_absent_devices(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        pick_device("tpu")
    with pytest.raises(ValueError, match="'cuda' is not available"):
        pick_device("cuda")


def test_progress_bars_follow_the_argument_then_the_environment_then_the_terminal(monkeypatch):
    monkeypatch.delenv(runtime.PROGRESS_ENV, raising=False)
    assert show_progress(True) and not show_progress(False)
    monkeypatch.setattr(runtime.sys.stderr, "isatty", lambda: True, raising=False)
    assert show_progress(None)
    monkeypatch.setenv(runtime.PROGRESS_ENV, "0")
    assert not show_progress(None)
    monkeypatch.setenv(runtime.PROGRESS_ENV, "1")
    assert show_progress(None) and not show_progress(False)


def test_a_trained_model_is_found_again_in_the_cache(mnist_root, monkeypatch):
    recipe = Recipe("linear", epochs=1, batch_size=128, lr=0.05)
    run = train(recipe, "cpu", mnist_root, progress=False)
    assert run.history["test_accuracy"].iloc[-1] > 0.85

    def no_training(*args, **kwargs):
        raise AssertionError("trained again instead of loading the cached model")

    monkeypatch.setattr(training, "train", no_training)
    cached = trained_model(recipe, "cpu", mnist_root)
    assert all(torch.equal(a, b) for a, b in zip(run.model.parameters(), cached.model.parameters(), strict=True))
    pd.testing.assert_frame_equal(cached.history, run.history)


def test_a_cached_model_is_keyed_by_the_package_source(monkeypatch):
    recipe = Recipe("conv")
    before = training._cached_checkpoint(recipe, torch.device("cpu"))
    monkeypatch.setattr(training, "_source_digest", lambda: "changed source")
    assert training._cached_checkpoint(recipe, torch.device("cpu")) != before
    assert training._cached_checkpoint(Recipe("conv", seed=1), torch.device("cpu")) != before


def test_freed_memory_is_kept_for_reuse_on_linux():
    import sys

    assert runtime.keep_freed_memory() is sys.platform.startswith("linux")


def test_a_missing_image_is_named():
    from mnist_tutorial.paths import image_path

    assert image_path("nn.png").is_file()
    with pytest.raises(FileNotFoundError, match="image 'absent.png' not found"):
        image_path("absent.png")
