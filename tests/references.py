"""The executed reference notebooks that nbval compares the chapters against.

``python -m tests.references write [CHAPTER ...]`` (``make references``) executes the MyST
chapters listed in ``_toc.yml`` and stores them, outputs included, as
``tests/notebooks/<chapter>.ipynb``. ``check`` reports chapters whose code has drifted from
their reference.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

from tests.book_extensions import load_extension

toc = load_extension("toc")

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
REFERENCES = ROOT / "tests" / "notebooks"
REFRESH = "make references"
#: Metadata that changes from run to run without meaning anything.
VOLATILE_CELL_METADATA = ("execution",)


def chapters() -> list[Path]:
    """The chapters that are notebooks (MyST files with a kernel), in reading order."""
    return [toc.source(name) for name in toc.notebooks()]


def reference_for(chapter: Path) -> Path:
    """Where the executed reference of ``chapter`` is stored."""
    return REFERENCES / f"{chapter.stem}.ipynb"


def code_cells(notebook: nbformat.NotebookNode) -> list[tuple[str, list[str]]]:
    """The source and tags of every code cell: what must agree between chapter and reference."""
    return [(cell.source, sorted(cell.metadata.get("tags", []))) for cell in notebook.cells if cell.cell_type == "code"]


def execute(chapter: Path, timeout: int = 1800) -> nbformat.NotebookNode:
    """Run ``chapter`` in a fresh kernel of this environment, from the ``book/`` folder."""
    notebook = jupytext.read(chapter)
    NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(BOOK)}}
    ).execute()
    for cell in notebook.cells:
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
    notebook.metadata.pop("widgets", None)
    return with_stable_ids(notebook)


def with_stable_ids(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Number the cells' ids (jupytext draws random ones), so a rewrite only shows real changes."""
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index}"
    return notebook


def write(names: list[str]) -> None:
    """Execute the chapters named (all when none) and store them as references."""
    selected = [c for c in chapters() if not names or c.stem in names]
    unknown = set(names) - {c.stem for c in selected}
    if unknown:
        raise SystemExit(f"no notebook chapter named {', '.join(sorted(unknown))}")
    REFERENCES.mkdir(parents=True, exist_ok=True)
    for chapter in selected:
        start = time.perf_counter()
        notebook = execute(chapter)
        nbformat.write(notebook, reference_for(chapter))
        print(f"{reference_for(chapter).relative_to(ROOT)}: {time.perf_counter() - start:.1f} s", flush=True)


def drifted(pairs: list[tuple[Path, Path]] | None = None) -> list[str]:
    """Describe each (chapter, reference) pair whose code cells differ, or whose reference is missing."""
    problems = []
    for chapter, reference in pairs or [(c, reference_for(c)) for c in chapters()]:
        if not reference.is_file():
            problems.append(f"{chapter.name}: no reference {reference.name}")
            continue
        ours = code_cells(jupytext.read(chapter))
        theirs = code_cells(nbformat.reads(reference.read_text(), as_version=4))
        if ours != theirs:
            same = [a == b for a, b in zip(ours, theirs, strict=False)]
            first = same.index(False) if False in same else min(len(ours), len(theirs))
            problems.append(f"{chapter.name}: code cell {first + 1} differs from its reference {reference.name}")
    return problems


def main(argv: list[str]) -> int:
    """Command line: ``write [CHAPTER ...]`` or ``check``."""
    if argv[:1] == ["write"]:
        write(argv[1:])
        return 0
    if argv == ["check"]:
        problems = drifted()
        for problem in problems:
            print(problem)
        if problems:
            print(f"refresh the references with: {REFRESH}")
        return 1 if problems else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
