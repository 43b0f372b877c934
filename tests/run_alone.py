"""Execute one notebook in its own folder, as a reader would, and write what happened as JSON.

``python run_alone.py NOTEBOOK REPORT [--timeout S]``, run by the fresh environment's Python (tests/cold.py
copies this file out of the repository first): NOTEBOOK is a MyST chapter or an ``.ipynb``, read by Jupytext
and executed by nbclient in the ``python3`` kernel with NOTEBOOK's folder as the working directory. A last
cell reports which Python and which ``mnist_tutorial`` the kernel ran. The executed notebook is written
beside REPORT. This file imports only what requirements.txt installs, and nothing of the repository.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import jupytext
import nbformat
from nbclient import NotebookClient

#: The last cell: what the kernel ran, as one JSON line.
PROBE = """\
import json as _json, sys as _sys
import mnist_tutorial as _mt
print(_json.dumps({"executable": _sys.executable, "prefix": _sys.prefix, "package": _mt.__file__}))"""


def first_lines(source: str, count: int = 3) -> str:
    """The first lines of a cell's source, to name the cell in a report."""
    return "\n".join(source.splitlines()[:count])


def error_of(notebook: nbformat.NotebookNode, index: int | None, exc: BaseException) -> dict[str, Any]:
    """Where and what the error was: the cell, its first lines, the exception's name, value and traceback."""
    failed = [
        (position, output)
        for position, cell in enumerate(notebook.cells)
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    if failed:
        index, output = failed[0]
        name, value, traceback = output["ename"], output["evalue"], "\n".join(output["traceback"])
    else:  # a timeout or a dead kernel: the cell that was running
        name, value, traceback = type(exc).__name__, str(exc), ""
    source = notebook.cells[index].source if index is not None else ""
    return {"cell": index, "source": first_lines(source), "ename": name, "evalue": value, "traceback": traceback}


def execute(path: Path, timeout: int) -> tuple[nbformat.NotebookNode, dict[str, Any]]:
    """Run the notebook at `path` in its folder; return it executed and the report."""
    notebook = jupytext.read(path)
    notebook.cells.append(nbformat.v4.new_code_cell(PROBE))
    current: dict[str, Any] = {"index": None, "started": 0.0}
    seconds: dict[int, float] = {}

    def start(cell: nbformat.NotebookNode, cell_index: int) -> None:
        current.update(index=cell_index, started=time.perf_counter())

    def executed(cell: nbformat.NotebookNode, cell_index: int, execute_reply: dict[str, Any]) -> None:
        seconds[cell_index] = time.perf_counter() - current["started"]

    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.on_cell_start = start
    client.on_cell_executed = executed
    began = time.perf_counter()
    error = None
    try:
        client.execute()
    except Exception as exc:  # a cell's error, a timeout, a dead kernel: all are the chapter's failure
        error = error_of(notebook, current["index"], exc)
    report: dict[str, Any] = {"seconds": round(time.perf_counter() - began, 1), "error": error}
    report["stderr"] = [
        {"cell": index, "source": first_lines(cell.source), "text": output["text"]}
        for index, cell in enumerate(notebook.cells)
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream" and output.get("name") == "stderr"
    ]
    slowest = sorted(seconds.items(), key=lambda item: -item[1])[:3]
    report["slowest_cells"] = [
        {"cell": index, "seconds": round(took, 1), "source": first_lines(notebook.cells[index].source, 1)}
        for index, took in slowest
    ]
    probe = [output for output in notebook.cells[-1].get("outputs", []) if output.get("name") == "stdout"]
    report["kernel"] = json.loads(probe[0]["text"]) if probe and error is None else None
    return notebook, report


def main() -> None:
    """Execute the notebook named on the command line and write its report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("report", type=Path)
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = parser.parse_args()
    notebook, report = execute(args.notebook.resolve(), args.timeout)
    nbformat.write(notebook, args.report.with_suffix(".ipynb"))
    args.report.write_text(json.dumps(report, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
