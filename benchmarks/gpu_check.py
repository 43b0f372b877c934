"""The GPU check: the book and its nbval checks on a machine with one NVIDIA GPU, timed.

``make gpu-check`` runs, against the committed references and with a model cache of its own
(so the reader's cache is untouched):

1. a cold ``make book`` on the GPU (``_build`` removed first, empty model cache);
2. ``make nbval`` on the GPU, with ``MNIST_TUTORIAL_CACHED_ONLY=1``: the build trained every model,
   so nbval must train none;
3. the tests that need CUDA (``tests/test_cuda_graphs.py``);
4. ``make bench`` on the GPU (the original notebook's pipeline against the package's, conv model);
5. ``make nbval`` forced onto the machine's CPU (``CUDA_VISIBLE_DEVICES=``), which trains the CPU
   models; it runs in the background from the start, beside the GPU steps, on ``--cpu-threads``
   threads, and the GPU steps get the other cores.

It prints each step's wall time and exit status and writes them, with each chapter's execution
time from the build, to ``benchmarks/results/gpu_check.json`` (``--results``), after every step, so
that a run cut short keeps what it measured. Each step runs in a process group of its own; with
``--deadline`` a step still running at the deadline is stopped with its whole group (exit
``"deadline"``), so that a hung kernel cannot hang the check. ``--steps`` runs some steps only
(after a first run, on the same machine). It exits 1 if any step failed.
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


STEPS = ("book", "nbval-cuda", "cuda-tests", "bench", "nbval-cpu")


def main(argv: list[str] | None = None) -> int:
    """Run the steps, print and save their figures; exit 1 if one failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cpu-threads",
        type=int,
        default=max(1, (os.cpu_count() or 2) - 4),
        help="threads of the CPU nbval run beside the GPU steps, which get the other cores (0: leave it out)",
    )
    parser.add_argument(
        "--bench-args", default="--device cuda --models conv --repeats 2", help="arguments of training_speed.py"
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder for the JSON file and the logs")
    parser.add_argument("--deadline", type=float, help="seconds after which a step still running is stopped")
    parser.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS), help="steps, in order")
    args = parser.parse_args(argv)

    import torch

    if not torch.cuda.is_available():
        print("gpu-check: PyTorch sees no CUDA device", file=sys.stderr)
        return 2
    results: Path = args.results.resolve()
    results.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + (args.deadline if args.deadline is not None else float("inf"))
    cache = ROOT / ".cache" / "gpu-check"
    if "book" in args.steps:  # a cold build: no execution cache, no trained models
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(ROOT / "_build", ignore_errors=True)
    cpu_threads = args.cpu_threads if "nbval-cpu" in args.steps else 0
    gpu_threads = max(1, (os.cpu_count() or 2) - cpu_threads)
    env = {**os.environ, "MNIST_TUTORIAL_CACHE": str(cache), "PYTHONUNBUFFERED": "1"}
    gpu_env = {**env, "OMP_NUM_THREADS": str(gpu_threads)}
    cpu_env = {**env, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": str(cpu_threads)}
    report: dict[str, object] = {
        "gpu": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "gpu_steps_threads": gpu_threads,
        "cpu_nbval_threads": cpu_threads,
    }
    print(json.dumps(report), flush=True)
    steps: list[dict[str, object]] = []
    report["steps"] = steps

    def save() -> None:
        (results / "gpu_check.json").write_text(json.dumps(report, indent=1))

    began = time.perf_counter()
    cpu_nbval = None
    if cpu_threads:  # beside the GPU steps, from the start: it trains the CPU models
        cpu_nbval = start(["make", "nbval"], cpu_env, results / "gpu_check_nbval_cpu.log")
    plan = {
        "book": ("book (cuda, cold)", ["make", "book"], gpu_env),
        "nbval-cuda": ("nbval (cuda, cached models only)", ["make", "nbval"], {**gpu_env, CACHED_ONLY: "1"}),
        "cuda-tests": ("CUDA tests", [sys.executable, "-m", "pytest", "-q", "tests/test_cuda_graphs.py"], gpu_env),
        "bench": ("bench (cuda)", ["make", "bench", f"BENCH_ARGS={args.bench_args}"], gpu_env),
    }
    for key in (key for key in args.steps if key in plan):  # in the order given
        name, command, step_env = plan[key]
        steps.append(step(name, command, step_env, results / f"gpu_check_{key}.log", deadline))
        if key == "book":
            report["chapter_seconds"] = chapter_seconds(ROOT / "_build" / ".jupyter_cache")
        if key == "bench":
            speed = ROOT / "benchmarks" / "results" / "training_speed_cuda.json"
            if speed.exists():
                report["bench"] = json.loads(speed.read_text())
        save()
    if cpu_nbval is not None:
        status = finish(cpu_nbval, deadline)
        name = f"nbval (cpu, {cpu_threads} threads, beside the steps above)"
        steps.append({"name": name, "seconds": round(time.perf_counter() - began, 1), "exit": status})
        print(f"{name}: exit {status} after {steps[-1]['seconds']} s", flush=True)
    save()
    for entry in steps:
        print(f"{entry['name']:55} {entry['seconds']:7.1f} s  exit {entry['exit']}")
    return 1 if any(entry["exit"] for entry in steps) else 0


if __name__ == "__main__":
    sys.exit(main())
