"""Where a chapter's execution time goes: ``python benchmarks/section_times.py book/11_stronger_model.md``.

Executes the chapter in a fresh kernel from its folder, as the build does (hidden cells included),
with nbclient's cell timing on, and prints the seconds of each section (the cells under each
``##`` heading) and of the whole chapter. The model cache is the one the environment names
(``MNIST_TUTORIAL_CACHE``); ``--keep MODEL_RECIPES`` copies only the cached models of the package's
default recipes named (``--keep linear mlp conv``) into an empty temporary cache first, so that every
other model the chapter uses is trained, as in a cold build after the training chapter.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import jupytext
from nbclient import NotebookClient


def section_times(notebook) -> list[tuple[str, float]]:
    """Seconds per section, in order, from the executed cells' timing metadata."""
    sections: list[tuple[str, float]] = [("(before the first section)", 0.0)]
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("## "):
                    sections.append((line[3:].strip(), 0.0))
        elif cell.cell_type == "code":
            timing = cell.metadata.get("execution", {})
            if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
                start = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
                end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
                name, seconds = sections[-1]
                sections[-1] = (name, seconds + (end - start).total_seconds())
    return sections


def keep_default_models(names: list[str], cache: Path) -> None:
    """Copy the cached models of the default recipes ``names`` from the current cache into ``cache``."""
    import mnist_tutorial as mt
    from mnist_tutorial.runs import _cached_checkpoint

    device = mt.pick_device()
    for name in names:
        source = _cached_checkpoint(mt.default_recipe(name), device)
        if not source.is_file():
            sys.exit(f"section_times: no cached model for the default {name!r} recipe ({source}); build the book first")
        target = cache / "models" / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapter", type=Path, help="a chapter's MyST Markdown file")
    parser.add_argument("--keep", nargs="*", metavar="MODEL", help="start from a cache with only these default models")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds a cell may take (default 1800)")
    args = parser.parse_args()
    if not args.chapter.is_file():
        parser.error(f"{args.chapter} is not a file")
    with tempfile.TemporaryDirectory() as scratch:
        if args.keep is not None:
            keep_default_models(args.keep, Path(scratch))
            os.environ["MNIST_TUTORIAL_CACHE"] = scratch
        notebook = jupytext.read(args.chapter)
        client = NotebookClient(
            notebook,
            timeout=args.timeout,
            record_timing=True,
            resources={"metadata": {"path": str(args.chapter.parent)}},
        )
        client.execute()
    sections = section_times(notebook)
    for name, seconds in sections:
        print(f"{seconds:8.1f} s  {name}")
    print(f"{sum(seconds for _, seconds in sections):8.1f} s  {args.chapter} in all")


if __name__ == "__main__":
    main()
