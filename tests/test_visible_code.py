"""What a reader sees runs on its own: every chapter, without its hidden cells, in a fresh kernel.

Hidden cells (tagged ``remove-cell`` or ``remove-input``) hold the build's checks and glue; the
code a reader copies from the page must not depend on them. Each chapter runs from ``book/`` with
the book's trained-model cache, so nothing is trained that the build did not train.
"""

from __future__ import annotations

import os
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tests import references
from tests.conftest import BOOK_CACHE_ENV

pytestmark = pytest.mark.integration

HIDDEN = {"remove-cell", "remove-input"}


def visible_only(chapter: Path) -> nbformat.NotebookNode:
    """The chapter as a notebook without the cells whose code the page does not show."""
    notebook = jupytext.read(chapter)
    notebook.cells = [cell for cell in notebook.cells if not HIDDEN & set(cell.metadata.get("tags", []))]
    return notebook


def test_hidden_cells_are_left_out():
    chapter = references.BOOK / "07_training.md"
    all_code = [c for c in jupytext.read(chapter).cells if c.cell_type == "code"]
    shown = [c for c in visible_only(chapter).cells if c.cell_type == "code"]
    assert 0 < len(shown) < len(all_code)
    assert not any("assert final" in cell.source for cell in shown)


@pytest.mark.parametrize("chapter", references.chapters(), ids=lambda path: path.stem)
def test_the_visible_code_of_each_chapter_runs_on_its_own(chapter: Path, mnist_root: Path):
    notebook = visible_only(chapter)
    previous = {name: os.environ.get(name) for name in BOOK_CACHE_ENV}
    os.environ.update(BOOK_CACHE_ENV)  # the kernel inherits the book's cache, and whether to train
    try:
        NotebookClient(
            notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(references.BOOK)}}
        ).execute()
    except CellExecutionError as error:
        pytest.fail(f"{chapter.name}, with its hidden cells left out:\n{str(error)[-3000:]}", pytrace=False)
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
