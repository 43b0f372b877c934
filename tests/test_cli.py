"""The command line, run as a reader runs it: ``python -m mnist_tutorial``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mnist_tutorial.data import raw_folder


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mnist_tutorial", *args],
        capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_help_lists_the_commands_and_options():
    result = cli("--help")
    assert result.returncode == 0
    assert all(word in result.stdout for word in ("train", "evaluate", "data"))
    train_help = cli("train", "--help").stdout
    for option in ("--model", "--epochs", "--batch-size", "--lr", "--device", "--save", "--data"):
        assert option in train_help


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--model", "resnet"], "invalid choice: 'resnet'"),
        (["train", "--epochs", "0"], "--epochs: must be at least 1, got 0"),
        (["train", "--batch-size", "-4"], "--batch-size: must be at least 1, got -4"),
        (["train", "--epochs", "ten"], "--epochs: 'ten' is not a whole number"),
        (["train", "--lr", "0"], "--lr: must be positive"),
        (["evaluate"], "the following arguments are required: --checkpoint"),
    ],
)
def test_bad_options_exit_with_usage_and_a_specific_message(args, message):
    result = cli(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_checkpoint_is_a_clear_error(tmp_path):
    result = cli("evaluate", "--checkpoint", str(tmp_path / "nope.pt"), "--device", "cpu")
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: no checkpoint at {tmp_path / 'nope.pt'}"


def test_an_unknown_device_is_a_clear_error():
    result = cli("train", "--device", "tpu")
    assert result.returncode == 1
    assert "error: unknown device 'tpu'" in result.stderr and "Traceback" not in result.stderr


def test_unreadable_data_is_a_clear_error(mnist_copy: Path):
    damaged = raw_folder(mnist_copy) / "t10k-labels-idx1-ubyte"
    damaged.write_bytes(b"\0" * 10)
    result = cli("train", "--model", "linear", "--epochs", "1", "--device", "cpu", "--data", str(mnist_copy))
    assert result.returncode == 1
    assert "t10k-labels-idx1-ubyte is not the published MNIST file" in result.stderr
    assert "Traceback" not in result.stderr
    check = cli("data", "--data", str(mnist_copy))
    assert check.returncode == 1 and "t10k-labels-idx1-ubyte" in check.stderr


def test_data_command_reports_verified_files(mnist_root):
    result = cli("data", "--data", str(mnist_root))
    assert result.returncode == 0, result.stderr
    assert f"MNIST verified in {raw_folder(mnist_root)}" in result.stdout


def test_train_conv_one_epoch_then_evaluate_the_checkpoint(mnist_root, tmp_path):
    """The issue's bar: one epoch of the convolutional model reaches at least 97 %."""
    checkpoint = tmp_path / "model.pt"
    trained = cli(
        "train", "--model", "conv", "--epochs", "1", "--batch-size", "32", "--lr", "0.1",
        "--device", "cpu", "--save", str(checkpoint), "--no-progress",
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    accuracy = float(re.search(r"test accuracy (\d+\.\d+)%", trained.stdout).group(1))
    assert accuracy >= 97.0
    assert f"saved {checkpoint}" in trained.stdout

    evaluated = cli("evaluate", "--checkpoint", str(checkpoint), "--device", "cpu")
    assert evaluated.returncode == 0, evaluated.stderr
    assert "ConvClassifier, trained 1 epochs" in evaluated.stdout
    assert f"test accuracy {accuracy:.2f}%" in evaluated.stdout
