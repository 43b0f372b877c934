"""Command line: python -m mnist_tutorial train | evaluate | models | data."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path

from . import distributed
from ._version import __version__
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .data import MNISTDataError, TensorBatches, ensure_mnist, load_split, raw_folder
from .evaluation import evaluate
from .paths import DATA_ENV
from .recipes import MODELS, OPTIMIZERS, default_recipe
from .runs import EVAL_BATCH_SIZE, NotCachedError, trained_model
from .runtime import DEVICE_NAMES, pick_device

DESCRIPTION = "Train and evaluate the book's MNIST classifiers."


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < float("inf"):  # nan fails both comparisons
        raise argparse.ArgumentTypeError(f"must be positive and finite, got {text}")
    return value


def _common(parser: argparse.ArgumentParser, *, device: bool = True) -> None:
    parser.add_argument(
        "--data",
        metavar="DIR",
        help=f"folder holding MNIST/raw/ (default: ${DATA_ENV}, else data/ in a checkout, else the user cache)",
    )
    if device:
        parser.add_argument("--device", default="auto", help=f"one of {', '.join(DEVICE_NAMES)} (default: auto)")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the command line."""
    parser = argparse.ArgumentParser(prog="python -m mnist_tutorial", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"mnist_tutorial {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train_cmd = commands.add_parser(
        "train",
        help="train a model on MNIST (or take it from the cache)",
        description="Train a model by its default recipe, with any of the options below changed, and "
        "print its loss and accuracy on held-out validation images after each epoch (the test set is "
        "left for `evaluate`). A model trained by the same recipe before is taken from the cache.",
        epilog="models: " + "; ".join(f"{name} ({entry.summary})" for name, entry in MODELS.items()),
    )
    train_cmd.add_argument("--model", choices=list(MODELS), default="conv", help="which model (default: conv)")
    train_cmd.add_argument("--epochs", type=_positive_int, help="passes over the data (default: the model's recipe)")
    train_cmd.add_argument(
        "--batch-size",
        type=_positive_int,
        help="images per step, of all processes together under torchrun (default: the recipe)",
    )
    train_cmd.add_argument("--lr", type=_positive_float, help="learning rate (default: the model's recipe)")
    train_cmd.add_argument("--optimizer", choices=list(OPTIMIZERS), help="optimizer (default: the model's recipe)")
    train_cmd.add_argument("--momentum", type=float, help="SGD momentum (default: the model's recipe)")
    train_cmd.add_argument(
        "--val-size", type=_positive_int, help="training images held out for validation (default: the recipe's)"
    )
    train_cmd.add_argument("--seed", type=int, help="random seed (default: the model's recipe)")
    train_cmd.add_argument("--save", metavar="PATH", help="write the trained model to this checkpoint file")
    train_cmd.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None, help="progress bars (default: on a terminal)"
    )
    _common(train_cmd)

    evaluate_cmd = commands.add_parser("evaluate", help="evaluate a saved checkpoint on the MNIST test set")
    evaluate_cmd.add_argument("--checkpoint", required=True, metavar="PATH", help="file written by train --save")
    _common(evaluate_cmd)

    commands.add_parser("models", help="list the models and their default recipes")

    data_cmd = commands.add_parser("data", help="check (and if needed download) the MNIST files")
    _common(data_cmd, device=False)
    return parser


def _check_writable(path: str) -> None:
    """Fail before any training if a checkpoint cannot be written to ``path``."""
    target = Path(path)
    if target.is_dir():
        raise ValueError(f"cannot save to {target}: it is a folder")
    nearest = next(folder for folder in target.absolute().parents if folder.exists())
    if not nearest.is_dir():
        raise ValueError(f"cannot save to {target}: {nearest} is not a folder")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=target.parent):
            pass
    except OSError as error:
        raise ValueError(f"cannot save to {target}: {error.strerror or error}") from None
    if target.exists() and not os.access(target, os.W_OK):
        raise ValueError(f"cannot save to {target}: the file is not writable")


def _train(args: argparse.Namespace) -> None:
    if args.save:
        _check_writable(args.save)
    names = ("epochs", "batch_size", "lr", "optimizer", "momentum", "val_size", "seed")
    options = {name: getattr(args, name) for name in names}
    recipe = replace(default_recipe(args.model), **{k: v for k, v in options.items() if v is not None})
    device = pick_device(args.device)
    ensure_mnist(args.data)
    say = (lambda *_, **__: None) if distributed.quiet() else print  # under torchrun, rank 0 alone
    if distributed.launched():
        device = distributed.process_device(device)
        say(f"training {recipe} with DistributedDataParallel, {os.environ['WORLD_SIZE']} processes", flush=True)
        run = distributed.train(recipe, device, args.data, progress=args.progress)
    else:
        print(f"training {recipe} on {device}", flush=True)
        run = trained_model(recipe, device, args.data, progress=args.progress)
    for row in run.history.itertuples():
        say(
            f"epoch {row.epoch:3d}  train loss {row.train_loss:.4f}  validation loss {row.val_loss:.4f}  "
            f"validation accuracy {row.val_accuracy:.2%}  ({row.seconds:.1f} s)"
        )
    if run.cached:
        say("(taken from the cache: this recipe was trained before on this kind of device)")
    if args.save and not distributed.quiet():
        val_accuracy = float(run.history["val_accuracy"].iloc[-1])
        metadata = {"recipe": asdict(recipe), "epochs": recipe.epochs, "val_accuracy": val_accuracy}
        path = save_checkpoint(run.model, args.save, **metadata)
        print(f"saved {path}; `evaluate --checkpoint {path}` scores it on the test set")


def _evaluate(args: argparse.Namespace) -> None:
    device = pick_device(args.device)
    checkpoint = load_checkpoint(args.checkpoint, device=device)
    result = evaluate(checkpoint.model, TensorBatches(load_split(False, device, args.data), EVAL_BATCH_SIZE))
    epochs = checkpoint.metadata.get("epochs")
    trained = "" if epochs is None else f", trained {epochs} epochs"  # a checkpoint may not record them
    print(f"{args.checkpoint}: {type(checkpoint.model).__name__}{trained}")
    print(f"test loss {result.loss:.4f}  test accuracy {result.accuracy:.2%} ({result.correct}/{len(result)})")


def _models(args: argparse.Namespace) -> None:
    for name, entry in MODELS.items():
        recipe = default_recipe(name)
        print(f"{name:7} {entry.architecture.__name__}: {entry.summary}")
        extras = [f"momentum {recipe.momentum:g}"] if recipe.momentum else []
        extras += [f"{recipe.schedule} schedule"] if recipe.schedule != "constant" else []
        extras += ["augmentation"] if recipe.augment else []
        extras += [f"label smoothing {recipe.label_smoothing:g}"] if recipe.label_smoothing else []
        settings = [f"{recipe.epochs} epochs", f"batch {recipe.batch_size}", f"{recipe.optimizer} lr {recipe.lr:g}"]
        print("        " + ", ".join(settings + extras))


def _data(args: argparse.Namespace) -> None:
    root = ensure_mnist(args.data)
    print(f"MNIST verified in {raw_folder(root)}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    handlers = {"train": _train, "evaluate": _evaluate, "models": _models, "data": _data}
    try:
        handlers[args.command](args)
    except (MNISTDataError, CheckpointError, NotCachedError, ValueError) as error:
        if not distributed.quiet():  # under torchrun every rank fails alike; rank 0 says why
            print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0
