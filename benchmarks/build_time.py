"""Build time: a cold ``make book`` and an unchanged rebuild, timed as whole processes.

The book is built in a scratch copy of the repository (so that the working tree's ``_build``
is left alone) with the existing virtual environment: "cold" means no ``_build`` (no execution
cache) and an empty model cache; the rebuild then runs ``make book`` again with nothing
changed. Peak resident memory is that of the largest single process of the build (the Sphinx
process or a notebook's kernel), as the operating system accounts it.
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
SKIP = {".venv", "_build", ".cache", "node_modules", "data", ".git", ".pytest_cache", ".ruff_cache", "results"}


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Run ``command`` and return its wall seconds and the peak RSS (MiB) of its processes."""
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    """Build cold, then unchanged; print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rebuilds", type=int, default=3, help="unchanged rebuilds to time (default 3)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "book"
        shutil.copytree(ROOT, copy, ignore=lambda folder, names: [n for n in names if n in SKIP])
        env = {**os.environ, "MNIST_TUTORIAL_CACHE": str(Path(scratch) / "cache")}
        make = ["make", "book", f"VENV={ROOT / '.venv'}"]
        cold, peak = timed(make, copy, env)
        print(f"cold make book:      {cold:7.1f} s   peak resident memory {peak:6.0f} MiB", flush=True)
        rebuilds = [timed(make, copy, env)[0] for _ in range(args.rebuilds)]
        median = sorted(rebuilds)[len(rebuilds) // 2]
        print(
            f"unchanged rebuild:   {median:7.1f} s   (median of {rebuilds and len(rebuilds)}: "
            + ", ".join(f"{r:.1f}" for r in rebuilds)
            + ")"
        )
    RESULTS.mkdir(exist_ok=True)
    figures = {"cold_seconds": cold, "rebuild_seconds": rebuilds, "peak_rss_mib": peak}
    (RESULTS / "build_time.json").write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
