"""Build and test time: a cold ``make book``, then ``make test``, then unchanged rebuilds.

Everything runs in a scratch copy of the repository (the working tree's ``_build`` and model
cache are left alone) with the existing virtual environment and ``node_modules``: "cold" means
no ``_build`` (no execution cache) and an empty model cache, as on a fresh clone. ``make test``
then runs right after the build, as the README's two commands do. Peak resident memory is that
of the largest single process (the Sphinx process or a notebook's kernel).

The targets on the project's two-core machine: ``make book`` and ``make test`` together in at
most 12 minutes, ``make test`` right after ``make book`` in at most 4. The script prints whether
each was met and exits 1 if one was missed; nothing else fails on a clock.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
SKIP = {".venv", "_build", ".cache", "node_modules", "data", ".pytest_cache", ".ruff_cache", "results", ".gpu"}
TARGETS = {"make book + make test": 12 * 60.0, "make test after make book": 4 * 60.0}


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Run ``command`` and return its wall seconds and the peak RSS (MiB) of its processes."""
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    """Build cold, test, rebuild unchanged; print and save the figures and the targets."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rebuilds", type=int, default=3, help="unchanged rebuilds to time (default 3)")
    parser.add_argument("--no-test", action="store_true", help="time the build only")
    args = parser.parse_args(argv)
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "book"
        shutil.copytree(ROOT, copy, ignore=lambda folder, names: [n for n in names if n in SKIP])
        for installed in (".venv", "node_modules"):  # what `make venv` and `npm ci` made, shared
            if (ROOT / installed).is_dir():
                (copy / installed).symlink_to(ROOT / installed)
        env = {**os.environ, "MNIST_TUTORIAL_CACHE": str(Path(scratch) / "cache")}
        cold, peak = timed(["make", "book"], copy, env)
        figures.update(cold_book_seconds=cold, peak_rss_mib=peak)
        print(f"cold make book:             {cold:7.1f} s   peak resident memory {peak:6.0f} MiB", flush=True)
        if not args.no_test:
            test, _ = timed(["make", "test"], copy, env)
            figures["test_after_book_seconds"] = test
            print(f"make test after make book:  {test:7.1f} s", flush=True)
        rebuilds = [timed(["make", "book"], copy, env)[0] for _ in range(args.rebuilds)]
        figures["rebuild_seconds"] = rebuilds
        if rebuilds:
            median = sorted(rebuilds)[len(rebuilds) // 2]
            print(f"unchanged rebuild:          {median:7.1f} s   (runs: {', '.join(f'{r:.1f}' for r in rebuilds)})")
    missed = []
    if "test_after_book_seconds" in figures:
        measured = {"make book + make test": cold + figures["test_after_book_seconds"]}
        measured["make test after make book"] = figures["test_after_book_seconds"]
        for name, seconds in measured.items():
            verdict = "met" if seconds <= TARGETS[name] else "MISSED"
            print(f"{name}: {seconds / 60:.1f} min, target {TARGETS[name] / 60:.0f} min {verdict}")
            if verdict == "MISSED":
                missed.append(name)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "build_time.json").write_text(json.dumps(figures, indent=1))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
