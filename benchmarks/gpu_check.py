"""The GPU check: the book's most important results on a machine with one NVIDIA GPU, in a few minutes.

The GPU machines this project gets are lent for about 15 minutes at a time, start-up included, so
``make gpu-check`` runs the steps that matter most first, each with a time budget of its own, the
whole within ``--deadline`` (7 minutes by default, leaving room for the installation and a second
try). With a model cache of its own (the reader's cache is untouched), in this order:

1. ``nbval-cuda``: ``make nbval`` on the GPU against the committed references (the CPU's); it
   trains on the GPU the models the chapters need;
2. ``cuda-tests``: the tests that need CUDA (``tests/test_cuda_graphs.py``);
3. ``bench``: ``make bench`` on the GPU, the convolutional epoch of the original notebook's
   pipeline against the package's;
4. ``book``: a cold ``make book`` (``_build`` removed first; the models nbval trained stay cached);
5. ``distributed``: the distributed chapter's script with ``nccl`` (the package's module
   ``mnist_tutorial.train_ddp``, which the chapter prints whole), on every GPU;
6. ``nbval-cpu`` (not by default): ``make nbval`` forced onto the machine's CPU, beside the GPU
   steps from the start, on ``--cpu-threads`` threads.

It prints each step's wall time and exit status and writes them, with each chapter's execution
time from the build, to ``benchmarks/results/gpu_check.json`` (``--results``) after every step, so
that a run cut short keeps what it measured. Each step runs in a process group of its own and is
stopped with its whole group when its budget or the deadline runs out (exit ``"deadline"``), so a
hung kernel cannot hang the check. ``--rehearse`` runs the same steps on this machine's CPU
(``CUDA_VISIBLE_DEVICES=`` and ``--device cpu`` for the bench), to try the check before GPU time
is spent on it. It exits 1 if any step failed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
CACHED_ONLY = "MNIST_TUTORIAL_CACHED_ONLY"


def stop(process: subprocess.Popen[bytes]) -> None:
    """Kill ``process`` and every process it started (its process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``command`` from the repository root in a process group of its own, logging to ``log``."""
    with log.open("w") as output:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )


def finish(process: subprocess.Popen[bytes], deadline: float) -> int | str:
    """Wait for ``process`` until ``deadline`` (a ``time.monotonic`` value); its exit status or "deadline"."""
    try:
        return process.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        stop(process)
        return "deadline"


def step(name: str, command: list[str], env: dict[str, str], log: Path, deadline: float) -> dict[str, object]:
    """Run ``command`` until it ends or the deadline passes; return its figures."""
    print(f"{name}: {' '.join(command)}", flush=True)
    began = time.perf_counter()
    status = finish(start(command, env, log), deadline)
    seconds = time.perf_counter() - began
    print(f"{name}: exit {status} after {seconds:.1f} s (log {log.name})", flush=True)
    return {"name": name, "command": command, "seconds": round(seconds, 1), "exit": status, "log": log.name}


def chapter_seconds(cache: Path) -> dict[str, float]:
    """Each chapter's execution time in the build, from jupyter-cache's records."""
    from jupyter_cache import get_cache

    return {
        Path(record.uri).stem: round(record.data.get("execution_seconds", float("nan")), 1)
        for record in get_cache(cache).list_cache_records()
    }


STEPS = ("nbval-cuda", "cuda-tests", "bench", "book", "distributed", "nbval-cpu")
DEFAULT_STEPS = STEPS[:-1]

#: Seconds each step may take at most (the deadline may leave it less).
BUDGETS = {"nbval-cuda": 150, "cuda-tests": 30, "bench": 60, "book": 120, "distributed": 30, "nbval-cpu": 420}


def plan(args: argparse.Namespace, env: dict[str, str]) -> dict[str, tuple[str, list[str], dict[str, str]]]:
    """Return the name, command and environment of each step, by its key."""
    # a rehearsal on the CPU runs the script with gloo in two processes, on the chapter's 4,000 images
    rehearsal = ["--nproc-per-node", "2"], ["--backend", "gloo", "--train-size", "4000"]
    processes, options = rehearsal if args.rehearse else (["--nproc-per-node", "gpu"], ["--backend", "nccl"])
    torchrun = [sys.executable, "-m", "torch.distributed.run", *processes, "--standalone"]
    ddp = [*torchrun, "-m", "mnist_tutorial.train_ddp", *options, "--epochs", "1"]
    return {
        "nbval-cuda": ("nbval (GPU)", ["make", "nbval"], env),
        "cuda-tests": ("CUDA tests", [sys.executable, "-m", "pytest", "-q", "tests/test_cuda_graphs.py"], env),
        "bench": ("bench (GPU)", ["make", "bench", f"BENCH_ARGS={args.bench_args}"], env),
        "book": ("book (cold)", ["make", "book"], env),
        "distributed": (f"distributed script ({options[1]})", ddp, env),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the steps, print and save their figures; exit 1 if one failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deadline", type=float, default=420, help="seconds for all steps together (default 420)")
    parser.add_argument("--steps", nargs="+", choices=STEPS, default=list(DEFAULT_STEPS), help="steps, in order")
    parser.add_argument(
        "--budget", nargs="+", default=[], metavar="STEP=SECONDS", help="change a step's budget, e.g. book=200"
    )
    parser.add_argument(
        "--cpu-threads", type=int, default=max(1, (os.cpu_count() or 2) - 4), help="threads of the nbval-cpu step"
    )
    parser.add_argument(
        "--bench-args", default="--device cuda --models conv --repeats 2", help="arguments of training_speed.py"
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder for the JSON file and the logs")
    parser.add_argument("--rehearse", action="store_true", help="run the steps on this machine's CPU")
    args = parser.parse_args(argv)
    budgets = dict(BUDGETS)
    for item in args.budget:
        name, _, seconds = item.partition("=")
        if name not in budgets or not seconds.replace(".", "", 1).isdigit():
            parser.error(f"--budget wants STEP=SECONDS with STEP one of {', '.join(STEPS)}, got {item!r}")
        budgets[name] = float(seconds)

    import torch

    if args.rehearse:
        args.bench_args = args.bench_args.replace("--device cuda", "--device cpu").replace("--repeats 2", "--repeats 1")
    elif not torch.cuda.is_available():
        print("gpu-check: PyTorch sees no CUDA device (--rehearse runs the steps on the CPU)", file=sys.stderr)
        return 2
    results: Path = args.results.resolve()
    results.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + args.deadline
    cache = ROOT / ".cache" / "gpu-check"
    shutil.rmtree(cache, ignore_errors=True)  # trained models of this check only: nbval trains them
    if "book" in args.steps:  # a cold build: no execution cache
        shutil.rmtree(ROOT / "_build", ignore_errors=True)
    cpu_threads = args.cpu_threads if "nbval-cpu" in args.steps else 0
    env = {**os.environ, "MNIST_TUTORIAL_CACHE": str(cache), "PYTHONUNBUFFERED": "1"}
    if args.rehearse:
        env["CUDA_VISIBLE_DEVICES"] = ""
    gpu_env = {**env, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 2) - cpu_threads))}
    report: dict[str, object] = {
        "gpu": "none (rehearsal on the CPU)" if args.rehearse else torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "deadline": args.deadline,
        "budgets": {name: budgets[name] for name in args.steps},
    }
    print(json.dumps(report), flush=True)
    steps: list[dict[str, object]] = []
    report["steps"] = steps

    def save() -> None:
        (results / "gpu_check.json").write_text(json.dumps(report, indent=1))

    began = time.perf_counter()
    cpu_nbval = None
    if cpu_threads:  # beside the GPU steps, from the start
        cpu_env = {**env, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": str(cpu_threads)}
        cpu_nbval = start(["make", "nbval"], cpu_env, results / "gpu_check_nbval_cpu.log")
    commands = plan(args, gpu_env)
    for key in (key for key in args.steps if key in commands):  # in the order given
        name, command, step_env = commands[key]
        step_deadline = min(deadline, time.monotonic() + budgets[key])
        steps.append(step(name, command, step_env, results / f"gpu_check_{key}.log", step_deadline))
        if key == "book":
            report["chapter_seconds"] = chapter_seconds(ROOT / "_build" / ".jupyter_cache")
        if key == "bench":
            device = "cpu" if args.rehearse else "cuda"
            speed = ROOT / "benchmarks" / "results" / f"training_speed_{device}.json"
            if speed.exists():
                report["bench"] = json.loads(speed.read_text())
        save()
    if cpu_nbval is not None:
        status = finish(cpu_nbval, min(deadline, time.monotonic() + budgets["nbval-cpu"]))
        name = f"nbval (cpu, {cpu_threads} threads, beside the steps above)"
        steps.append({"name": name, "seconds": round(time.perf_counter() - began, 1), "exit": status})
    report["seconds"] = round(time.perf_counter() - began, 1)
    save()
    for entry in steps:
        print(f"{entry['name']:55} {entry['seconds']:7.1f} s  exit {entry['exit']}")
    return 1 if any(entry["exit"] != 0 for entry in steps) else 0


if __name__ == "__main__":
    sys.exit(main())
