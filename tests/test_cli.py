"""The command line: options, messages and exit codes, run in-process through ``cli.main``."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

from mnist_tutorial import __version__, cli, runs
from mnist_tutorial.checkpoint import load_checkpoint, save_checkpoint
from mnist_tutorial.data import raw_folder
from mnist_tutorial.models import LinearClassifier
from mnist_tutorial.recipes import MODELS


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the command line in this process; return the exit status, stdout and stderr."""
    try:
        status = cli.main(list(args))
    except SystemExit as exit_:  # argparse exits for --help, --version and usage errors
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


def test_python_dash_m_runs_the_command_line():
    result = subprocess.run([sys.executable, "-m", "mnist_tutorial", "--version"], capture_output=True, text=True)
    assert (result.returncode, result.stdout.strip()) == (0, f"mnist_tutorial {__version__}")


def test_help_is_plain_text_listing_the_commands_options_and_models(capsys):
    status, out, _ = run(capsys, "--help")
    assert status == 0
    assert all(word in out for word in ("train", "evaluate", "models", "data", "--version"))
    assert "``" not in out and ":func:" not in out
    status, train_help, _ = run(capsys, "train", "--help")
    for option in ("--model", "--epochs", "--batch-size", "--lr", "--device", "--save", "--data"):
        assert option in train_help
    assert all(name in train_help for name in MODELS)
    assert "``" not in train_help


def test_models_lists_every_model_of_the_table_with_its_recipe(capsys):
    status, out, _ = run(capsys, "models")
    assert status == 0
    assert [line.split()[0] for line in out.splitlines() if not line.startswith(" ")] == list(MODELS)
    assert "12 epochs, batch 256, sgd lr 0.2, momentum 0.9, one_cycle schedule, augmentation" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--model", "resnet"], "invalid choice: 'resnet'"),
        (["train", "--epochs", "0"], "--epochs: must be at least 1, got 0"),
        (["train", "--batch-size", "-4"], "--batch-size: must be at least 1, got -4"),
        (["train", "--epochs", "ten"], "--epochs: 'ten' is not a whole number"),
        (["train", "--lr", "0"], "--lr: must be positive and finite, got 0"),
        (["train", "--lr", "inf"], "--lr: must be positive and finite, got inf"),
        (["train", "--lr", "nan"], "--lr: must be positive and finite, got nan"),
        (["train", "--lr", "-0.5"], "--lr: must be positive and finite, got -0.5"),
        (["evaluate"], "the following arguments are required: --checkpoint"),
    ],
)
def test_bad_options_exit_with_usage_and_a_specific_message(capsys, args, message, monkeypatch):
    monkeypatch.setattr(runs, "train", lambda *a, **k: pytest.fail("trained despite a bad option"))
    status, _, err = run(capsys, *args)
    assert status == 2
    assert message in err.splitlines()[-1]


def test_a_missing_checkpoint_is_a_clear_error(capsys, tmp_path):
    status, _, err = run(capsys, "evaluate", "--checkpoint", str(tmp_path / "nope.pt"), "--device", "cpu")
    assert (status, err.strip()) == (1, f"error: no checkpoint at {tmp_path / 'nope.pt'}")


def not_checkpoints(folder: Path) -> dict[str, tuple[Path, str]]:
    """Files that are no checkpoints of the package, each with what the error must say it holds."""
    tensor, text = folder / "tensor.pt", folder / "notes.pt"
    torch.save(torch.zeros(3), tensor)
    text.write_text("epochs: 3\n")
    relabelled = folder / "relabelled.pt"
    torch.save({"format": 1, "architecture": "conv", "state_dict": LinearClassifier().state_dict()}, relabelled)
    return {
        "tensor": (tensor, f"{tensor} is not a checkpoint written by mnist_tutorial (it holds a Tensor)"),
        "text": (text, f"{text} is not a checkpoint written by mnist_tutorial (it holds text)"),
        "relabelled": (
            relabelled,
            f"the weights in {relabelled} do not fit the architecture it records, 'conv' (ConvClassifier): "
            "8 weights missing, 6 weights unexpected",
        ),
    }


@pytest.mark.parametrize("kind", ["tensor", "text", "relabelled"])
def test_evaluating_a_file_that_is_no_checkpoint_of_ours_is_one_clear_line(capsys, tmp_path, kind):
    path, message = not_checkpoints(tmp_path)[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        status, out, err = run(capsys, "evaluate", "--checkpoint", str(path), "--device", "cpu")
    assert (status, out, err) == (1, "", f"error: {message}\n")


def test_evaluating_a_checkpoint_that_records_no_epochs_does_not_say_none(capsys, mnist_root, tmp_path):
    path = save_checkpoint(LinearClassifier(), tmp_path / "bare.pt")
    status, out, err = run(capsys, "evaluate", "--checkpoint", str(path), "--device", "cpu", "--data", str(mnist_root))
    assert status == 0, err
    assert out.splitlines()[0] == f"{path}: LinearClassifier"


@pytest.mark.parametrize("absent", [["train-labels-idx1-ubyte"], ["train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]])
def test_the_data_command_names_each_missing_file(capsys, mnist_copy: Path, absent, monkeypatch):
    from torchvision.datasets import MNIST

    monkeypatch.setattr(MNIST, "mirrors", ["http://127.0.0.1:9/"])  # offline, wherever the tests run
    for name in absent:
        (raw_folder(mnist_copy) / name).unlink()
    status, out, err = run(capsys, "data", "--data", str(mnist_copy))
    first_line = f"error: MNIST is not available: missing {', '.join(absent)}; the download failed"
    assert (status, out) == (1, f"Downloading MNIST into {raw_folder(mnist_copy)}\n")
    assert err.splitlines()[0].startswith(first_line)
    assert "Traceback" not in err and f"in {raw_folder(mnist_copy)}." in err


def test_an_unknown_device_is_a_clear_error(capsys):
    status, _, err = run(capsys, "train", "--device", "tpu")
    assert status == 1 and err.startswith("error: unknown device 'tpu'")


def test_an_unwritable_save_path_fails_before_training(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "train", lambda *a, **k: pytest.fail("trained before checking --save"))
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for target, reason in [(blocker / "sub" / "model.pt", f"{blocker} is not a folder"), (tmp_path, "it is a folder")]:
        status, out, err = run(capsys, "train", "--model", "linear", "--save", str(target), "--device", "cpu")
        assert status == 1 and out == ""
        assert err.strip() == f"error: cannot save to {target}: {reason}"


def test_unreadable_data_is_a_clear_error(capsys, mnist_copy: Path):
    damaged = raw_folder(mnist_copy) / "t10k-labels-idx1-ubyte"
    damaged.write_bytes(b"\0" * 10)
    status, _, err = run(capsys, "train", "--model", "linear", "--device", "cpu", "--data", str(mnist_copy))
    assert status == 1 and "t10k-labels-idx1-ubyte is not the published MNIST file" in err
    status, _, err = run(capsys, "data", "--data", str(mnist_copy))
    assert status == 1 and "t10k-labels-idx1-ubyte" in err


def test_data_command_reports_verified_files(capsys, mnist_root):
    status, out, err = run(capsys, "data", "--data", str(mnist_root))
    assert status == 0, err
    assert f"MNIST verified in {raw_folder(mnist_root)}" in out


@pytest.mark.parametrize("model", list(MODELS))
def test_every_model_trains_with_its_defaults_through_the_cache(capsys, mnist_root, model, monkeypatch):
    """Each model's default recipe, shortened to one epoch on a tenth of the data, trains and is cached."""
    real = runs.recipe_splits
    monkeypatch.setattr(
        runs,
        "recipe_splits",
        lambda recipe, *a: tuple(s[:n] for s, n in zip(real(recipe, *a), (6000, 1000), strict=True)),
    )
    status, out, err = run(capsys, "train", "--model", model, "--epochs", "1", "--device", "cpu", "--no-progress")
    assert status == 0, err
    assert out.startswith(f"training Recipe(model='{model}', epochs=1")
    assert re.search(r"epoch   1 .* validation accuracy \d+\.\d\d%", out) and "from the cache" not in out
    assert "test" not in out.split("\n", 1)[1]  # training reports validation figures only
    status, again, err = run(capsys, "train", "--model", model, "--epochs", "1", "--device", "cpu")
    assert status == 0 and "taken from the cache" in again


def test_train_then_evaluate_a_saved_checkpoint(capsys, mnist_root, tmp_path):
    checkpoint = tmp_path / "model.pt"
    args = ["--model", "linear", "--epochs", "1", "--batch-size", "128", "--lr", "0.05", "--device", "cpu"]
    status, out, err = run(capsys, "train", *args, "--save", str(checkpoint), "--no-progress")
    assert status == 0, err
    val_accuracy = float(re.search(r"validation accuracy (\d+\.\d+)%", out).group(1))
    assert val_accuracy >= 88.0 and f"saved {checkpoint}" in out
    assert load_checkpoint(checkpoint).metadata["val_accuracy"] == pytest.approx(val_accuracy / 100, abs=5e-5)
    status, out, err = run(capsys, "evaluate", "--checkpoint", str(checkpoint), "--device", "cpu")
    assert status == 0, err
    assert "LinearClassifier, trained 1 epochs" in out
    test_accuracy = float(re.search(r"test accuracy (\d+\.\d+)% \(\d+/10000\)", out).group(1))
    assert test_accuracy >= 88.0
