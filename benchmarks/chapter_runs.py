"""How many times a command executes each chapter: ``python benchmarks/chapter_runs.py -- make test``.

Runs the command with an IPython start-up file (in a temporary ``IPYTHONDIR``) that makes every
kernel the command starts log the cells it runs; then matches each kernel's cells with the chapters'
code cells and prints, per chapter, how many kernels ran it and how many of its cells each ran. A
kernel that ran no cell of any chapter (a test's tiny notebook, JupyterLab) is counted as "other".
Exits with the command's status; ``--json FILE`` also writes the counts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT / "book" / "_ext"))
import toc  # noqa: E402

LOG_ENV = "CHAPTER_RUNS_LOG"
STARTUP = f"""\
import hashlib, json, os

def _log_cell(result, _path=os.environ.get({LOG_ENV!r})):
    digest = hashlib.sha256(result.info.raw_cell.encode()).hexdigest()
    with open(_path, "a", encoding="utf-8") as log:
        log.write(json.dumps({{"pid": os.getpid(), "cell": digest}}) + "\\n")

if os.environ.get({LOG_ENV!r}):
    get_ipython().events.register("post_run_cell", _log_cell)
"""


def digest(source: str) -> str:
    """Return what the start-up file logs of a cell: the SHA-256 of its source."""
    return hashlib.sha256(source.encode()).hexdigest()


def chapter_cells() -> dict[str, set[str]]:
    """Each chapter's code cells, as digests."""
    cells = {}
    for document in toc.notebooks():
        notebook = jupytext.read(toc.source(document))
        cells[Path(document).name] = {digest(cell.source) for cell in notebook.cells if cell.cell_type == "code"}
    return cells


def kernels(log: Path) -> dict[int, list[str]]:
    """Return the cells each kernel ran, by process id, in order."""
    ran: dict[int, list[str]] = defaultdict(list)
    for line in log.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        ran[entry["pid"]].append(entry["cell"])
    return ran


def executions(ran: dict[int, list[str]], chapters: dict[str, set[str]]) -> dict[str, list[int]]:
    """Per chapter, the number of its cells that each kernel running it ran ("other": kernels of no chapter)."""
    found: dict[str, list[int]] = defaultdict(list)
    for cells in ran.values():
        overlap = Counter({name: len(set(cells) & digests) for name, digests in chapters.items()})
        (name, count), *_ = overlap.most_common(1) or [("other", 0)]
        found[name if count else "other"].append(count if count else len(cells))
    return found


def main(argv: list[str] | None = None) -> int:
    """Run the command, then print the executions of each chapter."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the counts to this file")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    with tempfile.TemporaryDirectory() as folder:
        startup = Path(folder) / "profile_default" / "startup"
        startup.mkdir(parents=True)
        (startup / "00-log-cells.py").write_text(STARTUP, encoding="utf-8")
        log = Path(folder) / "cells.jsonl"
        log.touch()
        status = subprocess.call(command, env={**os.environ, "IPYTHONDIR": folder, LOG_ENV: str(log)})
        chapters = chapter_cells()
        found = executions(kernels(log), chapters)
    print(f"{'chapter':24} {'kernels':>7}  cells run by each (of the chapter's)")
    for name in [*chapters, "other"]:
        runs = found.get(name, [])
        total = f" (of {len(chapters[name])})" if name in chapters else ""
        print(f"{name:24} {len(runs):>7}  {', '.join(map(str, sorted(runs, reverse=True)))}{total}")
    if args.json:
        args.json.write_text(json.dumps({"command": command, "status": status, "kernels": found}, indent=2) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
