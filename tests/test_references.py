"""The committed reference notebooks match the chapters they were executed from."""

from __future__ import annotations

import shutil
from pathlib import Path

import jupytext
import nbformat

from tests import nbval_visible, references


def test_every_chapter_has_a_reference_with_the_same_code():
    problems = references.drifted()
    assert not problems, "\n".join([*problems, f"refresh the references with: {references.REFRESH}"])


def test_references_hold_executed_outputs():
    for chapter in references.chapters():
        notebook = nbformat.reads(references.reference_for(chapter).read_text(), as_version=4)
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        assert all(cell.execution_count for cell in code), f"{chapter.stem}: a code cell was never executed"
        assert any(cell.outputs for cell in code), f"{chapter.stem}: no outputs stored"
        assert not [o for cell in code for o in cell.outputs if o.output_type == "error"], (
            f"{chapter.stem}: error output"
        )


def test_references_number_their_cells_so_that_rewrites_diff_cleanly():
    for chapter in references.chapters():
        notebook = nbformat.reads(references.reference_for(chapter).read_text(), as_version=4)
        assert [cell.id for cell in notebook.cells] == [f"cell-{i}" for i in range(len(notebook.cells))], chapter.stem


def test_no_hidden_cell_has_an_output_that_nbval_compares():
    """`make test`'s nbval leaves the hidden cells out (tests/nbval_visible.py): it must lose no comparison."""
    not_compared = {"nbval-ignore-output", "nbval-skip"}
    for chapter in references.chapters():
        notebook = nbformat.reads(references.reference_for(chapter).read_text(), as_version=4)
        compared = [
            cell.source[:60]
            for cell in notebook.cells
            if cell.cell_type == "code"
            and nbval_visible.is_hidden(cell)
            and cell.outputs
            and not not_compared & set(cell.metadata.get("tags", []))
        ]
        assert not compared, f"{chapter.stem}: hidden cells with outputs nbval would compare: {compared}"


def test_every_captioned_figure_has_an_image_in_its_reference():
    for chapter in references.chapters():
        notebook = nbformat.reads(references.reference_for(chapter).read_text(), as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code" and "figure" in cell.metadata.get("mystnb", {}):
                kinds = {key for output in cell.outputs for key in output.get("data", {})}
                assert "image/png" in kinds, f"{chapter.stem}: figure cell without an image: {cell.source[:60]!r}"


def test_markers_are_tags_not_comments():
    for chapter in references.chapters():
        for cell in jupytext.read(chapter).cells:
            assert "NBVAL_" not in cell.source, f"{chapter.name}: use an nbval-* tag, not a comment"


def test_a_drifted_chapter_is_reported_with_the_refresh_command(tmp_path: Path):
    chapter = references.chapters()[0]
    copy = tmp_path / chapter.name
    shutil.copy(chapter, copy)
    reference = references.reference_for(chapter)
    assert references.drifted([(copy, reference)]) == []
    copy.write_text(copy.read_text().replace("import torch", "import torch  # changed", 1))
    assert references.drifted([(copy, reference)]) == [
        f"{chapter.name}: code cell 1 differs from its reference {reference.name}"
    ]
    assert references.drifted([(copy, tmp_path / "missing.ipynb")]) == [f"{chapter.name}: no reference missing.ipynb"]


def test_nbval_md_lists_every_ignored_cell():
    table = {}
    for line in (references.ROOT / "tests" / "NBVAL.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[1].isdigit():
            table[cells[0]] = int(cells[1])
    ignored = {}
    for chapter in references.chapters():
        tags = [cell.metadata.get("tags", []) for cell in jupytext.read(chapter).cells if cell.cell_type == "code"]
        count = sum("nbval-ignore-output" in t for t in tags)
        if count:
            ignored[chapter.stem] = count
    assert table == ignored, "tests/NBVAL.md and the nbval-ignore-output tags in book/ disagree"
