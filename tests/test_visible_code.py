"""What a reader sees runs on its own: nbval leaves out the hidden cells, and fails on visible code that needs them.

Hidden cells (tagged ``remove-cell`` or ``remove-input``) hold the build's checks and glue; the
code a reader copies from the page must not depend on them. ``make book`` runs every chapter whole,
hidden cells included; ``make test`` then runs nbval with ``-p tests.nbval_visible``, which leaves
the hidden cells out, so that each chapter's visible code runs in a fresh kernel and its outputs
are compared with the reference in one execution. These tests show that the plugin leaves out
those cells and no others, and that nbval with it fails a chapter whose visible code uses a name
only a hidden cell defines.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests import nbval_visible, references

ROOT = Path(__file__).resolve().parent.parent


def code_cells(path: Path) -> list[nbformat.NotebookNode]:
    return [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]


def test_the_training_chapters_checks_are_left_out_and_its_code_is_not():
    cells = code_cells(references.REFERENCES / "07_training.ipynb")
    shown = [cell for cell in cells if not nbval_visible.is_hidden(cell)]
    assert 0 < len(shown) < len(cells)
    assert not any("assert final" in cell.source for cell in shown)
    assert any("assert final" in cell.source for cell in cells)


def test_only_cells_tagged_remove_cell_or_remove_input_are_hidden():
    tagged = {
        (): False,
        ("remove-output",): False,
        ("hide-input",): False,
        ("nbval-ignore-output",): False,
        ("remove-cell",): True,
        ("remove-input",): True,
        ("remove-input", "nbval-ignore-output"): True,
    }
    for tags, hidden in tagged.items():
        cell = nbformat.v4.new_code_cell("x = 1", metadata={"tags": list(tags)})
        assert nbval_visible.is_hidden(cell) is hidden, tags


def chapter_with_a_hidden_definition(folder: Path) -> Path:
    """A tiny executed chapter whose visible cell prints a name that only its hidden cell defines."""
    hidden = nbformat.v4.new_code_cell("secret = 41", metadata={"tags": ["remove-cell"]}, execution_count=1)
    shown = nbformat.v4.new_code_cell("print(secret + 1)", execution_count=2)
    shown.outputs = [nbformat.v4.new_output("stream", name="stdout", text="42\n")]
    notebook = nbformat.v4.new_notebook(cells=[hidden, shown])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "tiny_chapter.ipynb"
    nbformat.write(notebook, path)
    return path


def nbval(notebook: Path, *options: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA", "--nbval", "--nbval-current-env"]
    return subprocess.run([*command, *options, str(notebook)], cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.integration
def test_visible_code_that_needs_a_hidden_cell_fails_nbval_without_hidden_cells(tmp_path: Path):
    chapter = chapter_with_a_hidden_definition(tmp_path)

    whole = nbval(chapter)
    visible = nbval(chapter, "-p", "tests.nbval_visible")

    assert whole.returncode == 0, f"with the hidden cell the tiny chapter should pass:\n{whole.stdout[-3000:]}"
    assert visible.returncode == 1, f"nbval missed visible code that needs a hidden cell:\n{visible.stdout[-3000:]}"
    assert "NameError" in visible.stdout
    assert "SKIPPED" in visible.stdout and nbval_visible.REASON in visible.stdout
    assert "FAILED" in visible.stdout and "tiny_chapter.ipynb::Cell 1" in visible.stdout
