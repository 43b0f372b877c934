"""Command line: ``python -m mnist_tutorial train|evaluate|data``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import asdict

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .data import DEFAULT_SEED, MNISTDataError, TensorBatches, ensure_mnist, load_split, raw_folder
from .models import MODELS
from .paths import DATA_ENV
from .runtime import DEVICE_NAMES, pick_device
from .training import EVAL_BATCH_SIZE, NOTEBOOK_RECIPES, Recipe, evaluate, train


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
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", metavar="DIR", help=f"folder holding MNIST/raw/ (default: ${DATA_ENV}, else data/)")
    parser.add_argument("--device", default="auto", help=f"one of {', '.join(DEVICE_NAMES)} (default: auto)")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the command line."""
    parser = argparse.ArgumentParser(prog="python -m mnist_tutorial", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    train_cmd = commands.add_parser("train", help="train a classifier on MNIST")
    train_cmd.add_argument("--model", choices=sorted(MODELS), default="conv", help="architecture (default: conv)")
    train_cmd.add_argument("--epochs", type=_positive_int, default=10, help="passes over the data (default: 10)")
    train_cmd.add_argument("--batch-size", type=_positive_int, default=32, help="images per step (default: 32)")
    train_cmd.add_argument(
        "--lr", type=_positive_float, help="SGD learning rate (default: the notebook's, 0.01 linear, 0.1 conv)"
    )
    train_cmd.add_argument("--momentum", type=float, default=0.0, help="SGD momentum (default: 0)")
    train_cmd.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default: {DEFAULT_SEED})")
    train_cmd.add_argument("--save", metavar="PATH", help="write the trained model to this checkpoint file")
    train_cmd.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None, help="progress bars (default: on a terminal)"
    )
    _common(train_cmd)

    evaluate_cmd = commands.add_parser("evaluate", help="evaluate a saved checkpoint on the MNIST test set")
    evaluate_cmd.add_argument("--checkpoint", required=True, metavar="PATH", help="file written by train --save")
    _common(evaluate_cmd)

    data_cmd = commands.add_parser("data", help="check (and if needed download) the MNIST files")
    data_cmd.add_argument("--data", metavar="DIR", help=f"folder holding MNIST/raw/ (default: ${DATA_ENV}, else data/)")
    return parser


def _train(args: argparse.Namespace) -> None:
    recipe = Recipe(
        args.model,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr or NOTEBOOK_RECIPES[args.model].lr,
        momentum=args.momentum,
        seed=args.seed,
    )
    device = pick_device(args.device)
    print(f"training {recipe} on {device}", flush=True)
    run = train(recipe, device, args.data, progress=args.progress)
    for row in run.history.itertuples():
        print(
            f"epoch {row.epoch:3d}  train loss {row.train_loss:.4f}  test loss {row.test_loss:.4f}  "
            f"test accuracy {row.test_accuracy:.2%}  ({row.seconds:.1f} s)"
        )
    if args.save:
        final = run.history.iloc[-1]
        path = save_checkpoint(
            run.model, args.save, recipe=asdict(recipe), epochs=recipe.epochs, accuracy=float(final["test_accuracy"])
        )
        print(f"saved {path}")


def _evaluate(args: argparse.Namespace) -> None:
    device = pick_device(args.device)
    checkpoint = load_checkpoint(args.checkpoint, device=device)
    result = evaluate(checkpoint.model, TensorBatches(load_split(False, device, args.data), EVAL_BATCH_SIZE))
    print(f"{args.checkpoint}: {type(checkpoint.model).__name__}, trained {checkpoint.metadata.get('epochs')} epochs")
    print(f"test loss {result.loss:.4f}  test accuracy {result.accuracy:.2%} ({result.correct}/{result.total})")


def _data(args: argparse.Namespace) -> None:
    root = ensure_mnist(args.data)
    print(f"MNIST verified in {raw_folder(root)}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    handlers = {"train": _train, "evaluate": _evaluate, "data": _data}
    try:
        handlers[args.command](args)
    except (MNISTDataError, CheckpointError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0
