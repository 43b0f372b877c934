"""The GPU check: the book and its nbval checks on a machine with one NVIDIA GPU, timed.

``make gpu-check`` runs, against the committed references and with a model cache of its own
(so the reader's cache is untouched):

1. a cold ``make book`` on the GPU (``_build`` removed first, empty model cache);
2. ``make nbval`` on the GPU, with ``MNIST_TUTORIAL_CACHED_ONLY=1``: the build trained every model,
   so nbval must train none;
3. ``make nbval`` forced onto the machine's CPU (``CUDA_VISIBLE_DEVICES=``), which trains the CPU
   models; it runs in the background from the start, beside the GPU steps, with the CPU cores the
   GPU steps leave (``--cpu-threads``);
4. ``make bench`` on the GPU (the original notebook's pipeline against the package's);
5. the tests that need CUDA (``tests/test_cuda_graphs.py``).

It prints each step's wall time and exit status and writes them, with each chapter's execution
time from the build, to ``benchmarks/results/gpu_check.json``. It exits 1 if any step failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def step(name: str, command: list[str], env: dict[str, str], log: Path) -> dict[str, object]:
    """Run ``command`` from the repository root, logging its output; return its figures."""
    print(f"{name}: {' '.join(command)}", flush=True)
    start = time.perf_counter()
    with log.open("w") as output:
        status = subprocess.run(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT).returncode
    seconds = time.perf_counter() - start
    print(f"{name}: exit {status} after {seconds:.1f} s (log {log.relative_to(ROOT)})", flush=True)
    return {"name": name, "command": command, "seconds": round(seconds, 1), "exit": status, "log": str(log)}


def chapter_seconds(cache: Path) -> dict[str, float]:
    """Each chapter's execution time in the build, from jupyter-cache's records."""
    from jupyter_cache import get_cache

    return {
        Path(record.uri).stem: round(record.data.get("execution_seconds", float("nan")), 1)
        for record in get_cache(cache).list_cache_records()
    }


def main(argv: list[str] | None = None) -> int:
    """Run the steps, print and save their figures; exit 1 if one failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cpu-threads",
        type=int,
        default=max(1, (os.cpu_count() or 2) - 4),
        help="threads of the CPU nbval run beside the GPU steps (0: leave it out)",
    )
    parser.add_argument(
        "--bench-args", default="--device cuda --models conv linear --repeats 2", help="arguments of training_speed.py"
    )
    args = parser.parse_args(argv)

    import torch

    if not torch.cuda.is_available():
        print("gpu-check: PyTorch sees no CUDA device", file=sys.stderr)
        return 2
    RESULTS.mkdir(parents=True, exist_ok=True)
    cache = ROOT / ".cache" / "gpu-check"
    shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(ROOT / "_build", ignore_errors=True)
    env = {**os.environ, "MNIST_TUTORIAL_CACHE": str(cache), "PYTHONUNBUFFERED": "1"}
    cpu_env = {**env, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": str(args.cpu_threads)}
    report: dict[str, object] = {
        "gpu": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "cpu_nbval_threads": args.cpu_threads,
    }
    print(json.dumps(report), flush=True)

    start = time.perf_counter()
    cpu_log = RESULTS / "gpu_check_nbval_cpu.log"
    cpu_nbval = None
    if args.cpu_threads:
        cpu_nbval = subprocess.Popen(
            ["make", "nbval"], cwd=ROOT, env=cpu_env, stdout=cpu_log.open("w"), stderr=subprocess.STDOUT
        )
    plan = [
        ("book (cuda, cold)", ["make", "book"], env, "book"),
        (
            "nbval (cuda, cached models only)",
            ["make", "nbval"],
            {**env, "MNIST_TUTORIAL_CACHED_ONLY": "1"},
            "nbval_cuda",
        ),
        ("bench (cuda)", ["make", "bench", f"BENCH_ARGS={args.bench_args}"], env, "bench"),
        ("CUDA tests", [sys.executable, "-m", "pytest", "-q", "tests/test_cuda_graphs.py"], env, "cuda_tests"),
    ]
    steps: list[dict[str, object]] = []
    report["steps"] = steps
    for name, command, step_env, log in plan:
        steps.append(step(name, command, step_env, RESULTS / f"gpu_check_{log}.log"))
        if log == "book":
            report["chapter_seconds"] = chapter_seconds(ROOT / "_build" / ".jupyter_cache")
        (RESULTS / "gpu_check.json").write_text(json.dumps(report, indent=1))  # what has run so far
    if cpu_nbval is not None:
        status = cpu_nbval.wait()
        steps.append(
            {
                "name": f"nbval (cpu, {args.cpu_threads} threads, beside the steps above)",
                "seconds": round(time.perf_counter() - start, 1),
                "exit": status,
                "log": str(cpu_log),
            }
        )
        print(f"nbval on the CPU: exit {status} after {steps[-1]['seconds']} s", flush=True)
    (RESULTS / "gpu_check.json").write_text(json.dumps(report, indent=1))
    for entry in steps:
        print(f"{entry['name']:55} {entry['seconds']:7.1f} s  exit {entry['exit']}")
    return 1 if any(entry["exit"] for entry in steps) else 0


if __name__ == "__main__":
    sys.exit(main())
