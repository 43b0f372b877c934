"""The training loop, evaluation, fit, recipes, devices, progress bars and the trained-model cache."""

from __future__ import annotations

import dataclasses
import functools

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mnist_tutorial import runs, runtime
from mnist_tutorial.cuda_graphs import graphs_apply
from mnist_tutorial.data import Split, TensorBatches, load_split
from mnist_tutorial.evaluation import evaluate
from mnist_tutorial.recipes import OPTIMIZERS, Recipe, build_model
from mnist_tutorial.runs import NotCachedError, compare, prepare_training, train, trained_model
from mnist_tutorial.runtime import seed_everything, show_progress
from mnist_tutorial.training import fit, train_epoch, training_step


def batches_of(blobs, batch_size=32, shuffle=True):
    return TensorBatches(Split(*blobs), batch_size, shuffle=shuffle, seed=1)


def textbook_epoch(model, batches, optimizer, scheduler=None):
    """The loop the training chapter writes out by hand."""
    model.train()
    for images, labels in batches:
        loss = F.nll_loss(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()


@pytest.mark.parametrize("name", ["linear", "mlp", "conv", "strong"])
def test_train_epoch_is_the_textbook_loop_bit_for_bit(blobs, name):
    torch.manual_seed(0)
    ours, reference = build_model(name), build_model(name)
    reference.load_state_dict(ours.state_dict())
    calls = []
    ours.register_forward_hook(lambda *_: calls.append(1))  # the model itself runs, hooks and all
    make = lambda model: torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.5)  # noqa: E731
    torch.manual_seed(1)  # the same dropout masks for both
    mean_loss = train_epoch(ours, batches_of(blobs), make(ours), progress=False)
    torch.manual_seed(1)
    textbook_epoch(reference, batches_of(blobs), make(reference))
    for mine, theirs in zip(ours.state_dict().values(), reference.state_dict().values(), strict=True):
        assert torch.equal(mine, theirs)
    assert len(calls) == len(batches_of(blobs)) == 16
    assert all(p.grad is not None for p in ours.parameters())
    assert mean_loss > 0


def test_train_epoch_lowers_the_loss_and_returns_the_mean_batch_loss(blobs):
    torch.manual_seed(0)
    model = build_model("linear")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    before = evaluate(model, batches_of(blobs, 512, shuffle=False))
    mean_loss = train_epoch(model, batches_of(blobs), optimizer, progress=False)
    after = evaluate(model, batches_of(blobs, 512, shuffle=False))
    assert after.loss < before.loss / 2
    assert after.accuracy > 0.9
    assert before.loss > mean_loss > after.loss


def test_the_scheduler_steps_after_every_batch_and_augmentation_sees_every_batch(blobs):
    torch.manual_seed(0)
    model = build_model("linear")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=4, gamma=0.5)
    seen = []
    augment = lambda images: seen.append(len(images)) or images.flip(-1)  # noqa: E731
    train_epoch(model, batches_of(blobs), optimizer, scheduler=scheduler, augment=augment, progress=False)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.2 * 0.5**4)  # 16 batches, 4 halvings
    assert seen == [32] * 16


def test_a_step_returns_the_loss_before_its_update_with_pytorchs_label_smoothing(blobs):
    images, labels = blobs[0][:32], blobs[1][:32]
    for smoothing in (0.0, 0.1):
        torch.manual_seed(0)
        model = build_model("mlp")
        expected = F.cross_entropy(model(images), labels, label_smoothing=smoothing)
        if not smoothing:
            expected = F.nll_loss(model(images), labels)
            torch.testing.assert_close(F.cross_entropy(model(images), labels), expected)  # log_softmax: no change
        before = [p.detach().clone() for p in model.parameters()]
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        loss = training_step(model, images, labels, optimizer, label_smoothing=smoothing)
        assert torch.equal(loss, expected)
        assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_train_epoch_weighs_a_short_last_batch_by_its_images(blobs):
    torch.manual_seed(0)
    model = build_model("linear")
    seen = []

    def recording_step(*args, **kwargs):
        loss = training_step(*args, **kwargs)
        seen.append((loss.item(), len(args[2])))
        return loss

    batches = batches_of(blobs, batch_size=100)  # 512 images: five batches of 100 and one of 12
    mean_loss = train_epoch(model, batches, torch.optim.SGD(model.parameters(), lr=0.05), step=recording_step)
    assert [size for _, size in seen] == [100] * 5 + [12]
    assert mean_loss == pytest.approx(sum(loss * size for loss, size in seen) / 512, rel=1e-6)
    assert mean_loss != pytest.approx(sum(loss for loss, _ in seen) / 6, rel=1e-6)  # not the mean of batch means


def test_label_smoothing_reaches_the_loss(blobs):
    losses = []
    for smoothing in (0.0, 0.3):
        torch.manual_seed(0)
        model = build_model("linear")
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
        step = functools.partial(training_step, label_smoothing=smoothing)
        losses.append(train_epoch(model, batches_of(blobs), optimizer, step=step, progress=False))
    assert losses[1] > losses[0]  # a softened target can never be met exactly


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
    assert (result.correct, len(result)) == (threes, 512)
    assert result.accuracy == threes / 512
    expected = (threes * -torch.tensor(0.5).log() + (512 - threes) * -torch.tensor(0.5 / 9).log()) / 512
    assert result.loss == pytest.approx(expected.item(), rel=1e-6)
    assert torch.equal(result.labels, blobs[1]) and torch.equal(result.predicted, torch.full((512,), 3))
    assert result.confidence == pytest.approx(torch.full((512,), 0.5))


def test_fit_returns_one_history_row_per_epoch(blobs):
    torch.manual_seed(0)
    model = build_model("linear")
    seen = []
    history = fit(
        model, batches_of(blobs), batches_of(blobs, 256, False), torch.optim.SGD(model.parameters(), lr=0.05),
        epochs=3, progress=False, on_epoch=seen.append,
    )  # fmt: skip
    assert isinstance(history, pd.DataFrame)
    assert list(history.columns) == ["epoch", "train_loss", "val_loss", "val_accuracy", "seconds"]
    assert history["epoch"].tolist() == [1, 2, 3] and len(seen) == 3
    assert history["train_loss"].is_monotonic_decreasing
    assert (history["seconds"] > 0).all()
    with pytest.raises(ValueError, match="epochs must be positive"):
        fit(model, batches_of(blobs), batches_of(blobs), torch.optim.SGD(model.parameters(), lr=0.1), epochs=0)


def test_seeding_makes_a_cpu_run_repeat_bit_for_bit(blobs):
    def run() -> list[torch.Tensor]:
        seed_everything(11)
        model = build_model("conv")
        fit(model, batches_of(blobs), batches_of(blobs), torch.optim.SGD(model.parameters(), lr=0.05), 1)
        return [p.detach().clone() for p in model.parameters()]

    first, second = run(), run()
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))


def test_recipes_reject_bad_values():
    for field, value in [("epochs", 0), ("batch_size", -1), ("train_size", 0)]:
        with pytest.raises(ValueError, match=f"{field} must be positive"):
            Recipe("conv", **{field: value})
    for lr in (0, -0.1, float("inf"), float("nan"), 11.0):
        with pytest.raises(ValueError, match=r"lr must be a number in \(0, 10\]"):
            Recipe("conv", lr=lr)
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\)"):
        Recipe("conv", momentum=1.0)
    with pytest.raises(ValueError, match="momentum is SGD's; adam takes none"):
        Recipe("conv", optimizer="adam", momentum=0.9)
    with pytest.raises(ValueError, match="weight_decay must be a finite number"):
        Recipe("conv", weight_decay=float("inf"))
    for size in (0, -5):
        with pytest.raises(ValueError, match="val_size must be positive"):
            Recipe("conv", val_size=size)
    with pytest.raises(ValueError, match="val_size must be below the 60,000 training images"):
        Recipe("conv", val_size=60_000)
    with pytest.raises(ValueError, match="train_size 56000 exceeds the 55,000 training images left"):
        Recipe("conv", train_size=56_000)
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'; choose one of sgd, adam, adagrad"):
        Recipe("conv", optimizer="rmsprop")
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\)"):
        Recipe("conv", label_smoothing=1.0)


def test_a_recipe_trains_conv_models_channels_last_on_the_cpu_and_without_cuda_graphs():
    conv = prepare_training(Recipe("conv"), torch.device("cpu"), steps_per_epoch=10)
    assert conv.model.block_2[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert conv.step.func is training_step and conv.step.keywords == {"label_smoothing": 0.0}
    assert conv.scheduler is None and conv.augment is None
    linear = prepare_training(Recipe("linear"), torch.device("cpu"), 10)
    assert linear.model.layer_1.weight.is_contiguous()
    strong = prepare_training(
        Recipe("strong", schedule="one_cycle", augment=True, momentum=0.9, label_smoothing=0.1), torch.device("cpu"), 10
    )
    assert strong.scheduler is not None and strong.augment is not None
    assert strong.step.keywords == {"label_smoothing": 0.1}


def test_cuda_graphs_are_used_only_where_the_step_is_fixed():
    parameters = [nn.Parameter(torch.zeros(2))]
    sgd, adam = torch.optim.SGD(parameters, lr=0.1), torch.optim.Adam(parameters)
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert graphs_apply(sgd, cuda, scheduler=None, augment=None)
    assert not graphs_apply(sgd, cpu, scheduler=None, augment=None)
    assert not graphs_apply(adam, cuda, scheduler=None, augment=None)
    assert not graphs_apply(sgd, cuda, scheduler=object(), augment=None)
    assert not graphs_apply(sgd, cuda, scheduler=None, augment=object())
    assert not graphs_apply(
        torch.optim.SGD(parameters, lr=0.1, momentum=0.9, dampening=0.1), cuda, scheduler=None, augment=None
    )


def test_progress_bars_follow_the_argument_then_the_environment_then_the_terminal(monkeypatch):
    monkeypatch.delenv(runtime.PROGRESS_ENV, raising=False)
    assert show_progress(True) and not show_progress(False)
    monkeypatch.setattr(runtime.sys.stderr, "isatty", lambda: True, raising=False)
    assert show_progress(None)
    monkeypatch.setenv(runtime.PROGRESS_ENV, "0")
    assert not show_progress(None)
    monkeypatch.setenv(runtime.PROGRESS_ENV, "1")
    assert show_progress(None) and not show_progress(False)


SMALL = Recipe("linear", epochs=1, batch_size=100, lr=0.05, train_size=3000, val_size=1000)


def test_a_trained_model_is_found_again_in_the_cache(mnist_root, monkeypatch):
    run = train(SMALL, "cpu", mnist_root, progress=False)
    assert run.history["val_accuracy"].iloc[-1] > 0.7 and not run.cached

    def no_training(*args, **kwargs):
        raise AssertionError("trained again instead of loading the cached model")

    monkeypatch.setattr(runs, "train", no_training)
    cached = trained_model(SMALL, "cpu", mnist_root)
    assert cached.cached
    assert all(torch.equal(a, b) for a, b in zip(run.model.parameters(), cached.model.parameters(), strict=True))
    pd.testing.assert_frame_equal(cached.history, run.history)
    assert cached.seconds == pytest.approx(run.history["seconds"].sum())


def test_a_recipe_trains_on_the_first_images_it_does_not_hold_out(mnist_root):
    train_split, val_split = runs.recipe_splits(SMALL, torch.device("cpu"), mnist_root)
    assert (len(train_split), len(val_split)) == (3000, 1000)
    full_train, full_val = runs.recipe_splits(Recipe("linear"), torch.device("cpu"), mnist_root)
    assert (len(full_train), len(full_val)) == (55_000, 5000)
    kept, held = runs.hold_out(load_split(True, "cpu", mnist_root), 1000)
    assert torch.equal(train_split.images, kept.images[:3000]) and torch.equal(val_split.labels, held.labels)


def test_the_held_out_images_are_fixed_disjoint_and_nested():
    split = Split(torch.arange(100.0).view(100, 1, 1, 1), torch.arange(100))
    kept, held = runs.hold_out(split, 10)
    assert (len(kept), len(held)) == (90, 10)
    assert sorted(kept.labels.tolist() + held.labels.tolist()) == list(range(100))
    assert kept.labels.tolist() == sorted(kept.labels.tolist())  # the original order
    assert torch.equal(runs.hold_out(split, 10)[1].labels, held.labels)  # the same every time
    torch.manual_seed(99)  # ... whatever the global seed
    assert torch.equal(runs.hold_out(split, 10)[1].labels, held.labels)
    generator = torch.Generator().manual_seed(runs.HOLD_OUT_SEED)  # PyTorch's random_split, seeded
    _, pytorchs = torch.utils.data.random_split(range(100), [90, 10], generator=generator)
    assert held.labels.tolist() == sorted(pytorchs.indices)
    assert torch.equal(held.images.flatten(), held.labels.float())  # images travel with their labels
    for count in (0, 100):
        with pytest.raises(ValueError, match=f"cannot hold out {count} of 100 images"):
            runs.hold_out(split, count)


def test_with_cached_only_a_missing_model_is_an_error_not_a_training_run(mnist_root, monkeypatch):
    monkeypatch.setenv(runs.CACHED_ONLY_ENV, "1")
    monkeypatch.setattr(runs, "train", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(NotCachedError, match="is not in the cache"):
        trained_model(dataclasses.replace(SMALL, seed=99), "cpu", mnist_root)


def test_a_cached_model_is_keyed_by_recipe_device_torch_version_and_package_source(monkeypatch):
    recipe, cpu = Recipe("conv"), torch.device("cpu")
    before = runs._cached_checkpoint(recipe, cpu)
    assert runs._cached_checkpoint(Recipe("conv"), cpu) == before
    assert runs._cached_checkpoint(Recipe("conv", seed=1), cpu) != before
    assert runs._cached_checkpoint(recipe, torch.device("cuda")) != before
    monkeypatch.setattr(torch, "__version__", "0.0.0")
    assert runs._cached_checkpoint(recipe, cpu) != before
    monkeypatch.undo()
    monkeypatch.setattr(runs, "_source_digest", lambda: "changed source")
    assert runs._cached_checkpoint(recipe, cpu) != before


def test_the_cache_key_reads_the_modules_training_imports_and_not_the_others():
    names = {path.name for path in runs.training_sources()}
    assert {"runs.py", "training.py", "models.py", "recipes.py", "data.py", "cuda_graphs.py"} <= names
    assert not names & {"plots.py", "cli.py", "handwriting.py", "__init__.py"}


def test_compare_trains_each_recipe_once_and_reports_it(mnist_root, monkeypatch):
    recipes = {"sgd": SMALL, "adam": dataclasses.replace(SMALL, optimizer="adam", lr=0.001)}
    summary, histories = compare(recipes, "cpu", mnist_root, progress=False)
    assert list(summary.index) == ["sgd", "adam"]
    assert {"optimizer", "lr", "batch_size", "val_loss", "val_accuracy", "seconds"} <= set(summary.columns)
    assert not {"test_loss", "test_accuracy"} & set(summary.columns)  # choices are made on validation data
    assert summary.loc["adam", "optimizer"] == "adam"
    assert (summary["val_accuracy"] > 0.7).all()
    assert len(histories) == 2 and set(histories["run"]) == {"sgd", "adam"}
    monkeypatch.setenv(runs.CACHED_ONLY_ENV, "1")  # a second comparison trains nothing
    again, _ = compare(recipes, "cpu", mnist_root)
    pd.testing.assert_frame_equal(again, summary)


def test_a_missing_image_is_named():
    from mnist_tutorial.paths import image_path

    assert image_path("nn.png").is_file()
    with pytest.raises(FileNotFoundError, match="image 'absent.png' not found"):
        image_path("absent.png")


def test_one_table_of_optimizers_builds_each_recipes_optimizer():
    model = nn.Linear(2, 2)
    assert list(OPTIMIZERS) == ["sgd", "adam", "adagrad"]
    sgd = Recipe("linear", lr=0.05, momentum=0.5, weight_decay=0.01).make_optimizer(model)
    assert type(sgd) is torch.optim.SGD
    assert (sgd.defaults["lr"], sgd.defaults["momentum"], sgd.defaults["weight_decay"]) == (0.05, 0.5, 0.01)
    for name, kind in [("adam", torch.optim.Adam), ("adagrad", torch.optim.Adagrad)]:
        built = Recipe("linear", optimizer=name, lr=0.002, weight_decay=0.1).make_optimizer(model)
        assert type(built) is kind and (built.defaults["lr"], built.defaults["weight_decay"]) == (0.002, 0.1)


def test_fit_trains_each_batch_with_the_step_it_is_given(blobs):
    torch.manual_seed(0)
    model = build_model("linear")
    calls = []

    def counting_step(*args, **kwargs):
        calls.append(1)
        return training_step(*args, **kwargs)

    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    fit(model, batches_of(blobs), batches_of(blobs, 256, False), optimizer, 2, step=counting_step, progress=False)
    assert len(calls) == 2 * 16


def test_a_freshly_trained_model_predicts_exactly_as_its_reloaded_copy(mnist_root):
    recipe = Recipe("conv", epochs=1, batch_size=100, lr=0.05, train_size=1000, val_size=1000)
    fresh = train(recipe, "cpu", mnist_root, progress=False)
    assert all(p.is_contiguous() for p in fresh.model.parameters())  # channels_last was for training only
    reloaded = trained_model(recipe, "cpu", mnist_root)
    assert reloaded.cached
    batches = TensorBatches(load_split(False, "cpu", mnist_root)[:500], 250)
    assert torch.equal(
        evaluate(fresh.model, batches).log_probabilities, evaluate(reloaded.model, batches).log_probabilities
    )
