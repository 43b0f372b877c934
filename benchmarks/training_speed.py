"""Training speed: the original notebook's pipeline against the package's, model by model.

Both pipelines train the same model class (``mnist_tutorial.build_model``) with the same loop
(``mnist_tutorial.train_epoch``, the training chapter's), at batch size 32 with the notebook's
learning rates. They differ only in what PyTorch's public switches the package turns on:

* notebook: a torchvision ``Dataset`` that converts each image with ``ToTensor`` and
  ``Normalize`` as it is read, and a shuffled ``DataLoader``; tests at batch size 32;
* package: what ``mnist_tutorial.train`` uses (``runs.prepare_training``): each split held once
  as a normalised tensor on the device and served by index (``TensorBatches``), convolutional
  models in the ``channels_last`` layout on a CPU, each step replayed as a CUDA graph on a GPU;
  tests at batch size 1000.

Each measurement runs in its own process, so that peak resident memory belongs to one
pipeline; notebook and package runs alternate, so that a machine that slows down or speeds up
treats both alike. Run ``python benchmarks/training_speed.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
MODELS = ("linear", "mlp", "conv")
TARGETS = {"cpu": {"linear": 10.0, "conv": 3.0}, "cuda": {"conv": 10.0}}  # speed-up of a training epoch


def measure(model_name: str, pipeline: str, device_name: str) -> dict[str, float]:
    """Train one epoch and run one test pass; return seconds, images per second and peak memory."""
    import torch

    import mnist_tutorial as mt
    from mnist_tutorial.runs import prepare_training

    device = mt.pick_device(device_name)
    recipe = mt.default_recipe(model_name, epochs=1)
    if pipeline == "notebook":
        train_batches = mt.mnist_loader(True, batch_size=32)
        test_batches = mt.mnist_loader(False, batch_size=32)
        torch.manual_seed(recipe.seed)
        model = mt.build_model(model_name).to(device)
        optimizer = recipe.make_optimizer(model)
        step = mt.training_step
    else:
        train_batches = mt.TensorBatches(mt.load_split(True, device), 32, shuffle=True)
        test_batches = mt.TensorBatches(mt.load_split(False, device), mt.EVAL_BATCH_SIZE)
        setup = prepare_training(recipe, device, len(train_batches))
        model, optimizer, step = setup.model, setup.optimizer, setup.step

    def synchronise() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    synchronise()
    start = time.perf_counter()
    mt.train_epoch(model, train_batches, optimizer, step=step, progress=False)
    synchronise()
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    result = mt.evaluate(model, test_batches)
    synchronise()
    test_seconds = time.perf_counter() - start
    return {
        "train_seconds": train_seconds,
        "images_per_second": 60_000 / train_seconds,
        "test_seconds": test_seconds,
        "test_accuracy": result.accuracy,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_child(model_name: str, pipeline: str, device: str) -> dict[str, float]:
    """Measure in a fresh process and return its figures."""
    command = [sys.executable, __file__, "--child", model_name, pipeline, "--device", device]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table and the targets, save JSON; exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--repeats", type=int, default=3, help="measurements of each pipeline (default 3)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (default cpu)")
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "PIPELINE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(*args.child, args.device)))
        return 0

    import torch

    import mnist_tutorial as mt

    device_type = mt.pick_device(args.device).type
    targets = TARGETS.get(device_type, {})
    gpu = f", {torch.cuda.get_device_name()}" if device_type == "cuda" else ""
    processor = platform.processor() or platform.machine()
    print(f"{processor}, {torch.get_num_threads()} threads{gpu}, torch {torch.__version__}")
    print(f"device {args.device}, batch size 32, one training epoch (60,000 images) and one test pass per run,")
    print(f"median of {args.repeats} runs per pipeline, notebook and package alternating\n")
    columns = ("train s/epoch", "images/s", "test s", "peak MiB", "accuracy")
    print(f"{'model':7} {'pipeline':9} " + " ".join(f"{c:>13}" for c in columns))
    report, missed = {}, []
    for model_name in args.models:
        runs: dict[str, list[dict[str, float]]] = {"notebook": [], "package": []}
        for _ in range(args.repeats):
            for pipeline in runs:
                runs[pipeline].append(run_child(model_name, pipeline, args.device))
        medians = {
            pipeline: {key: statistics.median(run[key] for run in measured) for key in measured[0]}
            for pipeline, measured in runs.items()
        }
        for pipeline, m in medians.items():
            print(
                f"{model_name:7} {pipeline:9} {m['train_seconds']:13.2f} {m['images_per_second']:13.0f} "
                f"{m['test_seconds']:13.2f} {m['peak_rss_mib']:13.0f} {m['test_accuracy']:13.2%}"
            )
        pairs = zip(runs["notebook"], runs["package"], strict=True)
        ratios = [notebook["train_seconds"] / package["train_seconds"] for notebook, package in pairs]
        ratio = statistics.median(ratios)
        test_ratio = medians["notebook"]["test_seconds"] / medians["package"]["test_seconds"]
        target = targets.get(model_name)
        verdict = "no target" if target is None else f"target {target:.0f}x " + ("met" if ratio >= target else "MISSED")
        print(
            f"{model_name:7} speed-up of a training epoch: {ratio:.1f}x (pairs {min(ratios):.1f}-{max(ratios):.1f}), "
            f"{verdict}; test pass {test_ratio:.1f}x\n"
        )
        report[model_name] = {"runs": runs, "medians": medians, "speedup": ratio, "target": target}
        if target is not None and ratio < target:
            missed.append(model_name)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"training_speed_{device_type}.json").write_text(json.dumps(report, indent=1))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
