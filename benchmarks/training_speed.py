"""Training speed: the original notebook's pipeline against the package's, model by model.

The notebook's pipeline is a torchvision ``Dataset`` that converts each image with
``ToTensor`` and ``Normalize`` as it is read, a shuffled ``DataLoader``, and the model as the
notebook wrote it (ReLU before pooling, ``nn.Dropout``, default memory layout). The package's
pipeline holds each split as one normalised tensor, serves batches by index
(``TensorBatches``), and uses ``mnist_tutorial``'s models (pooling before ReLU, channels-last,
a cheaper dropout mask) and its training loop. Both train at batch size 32 with the notebook's
learning rates.

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
TARGETS = {"linear": 10.0, "conv": 3.0}  # required speed-up of a training epoch
LEARNING_RATES = {"linear": 0.01, "conv": 0.1}


def notebook_model(name: str) -> object:
    """Build the notebook's architecture, with the book's fix (log-softmax over the classes)."""
    import torch
    from torch import nn

    if name == "linear":
        return nn.Sequential(
            nn.Flatten(), nn.Linear(784, 100), nn.Linear(100, 100), nn.Linear(100, 10), nn.LogSoftmax(dim=1)
        )
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.5),
        nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10), nn.LogSoftmax(dim=1),
    ).to(torch.device("cpu"))  # fmt: skip


def measure(model_name: str, pipeline: str, device_name: str) -> dict[str, float]:
    """Train one epoch and run one test pass; return seconds, images per second and peak memory."""
    import torch
    import torch.nn.functional as F

    import mnist_tutorial as mt

    device = mt.pick_device(device_name)
    torch.manual_seed(0)
    if pipeline == "notebook":
        model = notebook_model(model_name).to(device)
        train_batches = mt.mnist_loader(True, batch_size=32)
        test_batches = mt.mnist_loader(False, batch_size=32)
    else:
        model = mt.build_model(model_name).to(device)
        train_batches = mt.TensorBatches(mt.load_split(True, device), 32, shuffle=True)
        test_batches = mt.TensorBatches(mt.load_split(False, device), mt.EVAL_BATCH_SIZE)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATES[model_name])

    def one_epoch() -> None:
        if pipeline == "package":
            mt.train_epoch(model, train_batches, optimizer, progress=False)
            return
        model.train()  # the notebook's loop, as the training chapter writes it
        for images, labels in train_batches:
            images, labels = images.to(device), labels.to(device)
            loss = F.nll_loss(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    def synchronise() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    synchronise()
    start = time.perf_counter()
    one_epoch()
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
    parser.add_argument("--models", nargs="+", choices=sorted(TARGETS), default=["linear", "conv"])
    parser.add_argument("--repeats", type=int, default=3, help="measurements of each pipeline (default 3)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (default cpu)")
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "PIPELINE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(*args.child, args.device)))
        return 0

    import torch

    print(f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}")
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
        verdict = "met" if ratio >= TARGETS[model_name] else "MISSED"
        print(
            f"{model_name:7} speed-up of a training epoch: {ratio:.1f}x (pairs {min(ratios):.1f}-{max(ratios):.1f}), "
            f"target {TARGETS[model_name]:.0f}x {verdict}; test pass {test_ratio:.1f}x\n"
        )
        report[model_name] = {"runs": runs, "medians": medians, "speedup": ratio, "target": TARGETS[model_name]}
        if ratio < TARGETS[model_name]:
            missed.append(model_name)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "training_speed.json").write_text(json.dumps(report, indent=1))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
