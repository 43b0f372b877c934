"""tests/CLAIMS.md maps each sentence of the book that states a result to what guards it; the guards exist.

A guard is ``glue:NAME`` (the number is glued from the executed value: the chapter's reference
notebook holds a glued output of that name) or ``check:TEXT`` (an ``assert`` line of one of the
chapter's code cells contains TEXT, so the build fails when the claim stops holding).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jupytext
import nbformat
import pytest

from tests import references

CLAIMS = Path(__file__).resolve().parent / "CLAIMS.md"
GUARD = re.compile(r"`(glue|check):([^`]+)`")


def rows() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """The table's rows: chapter, claim, and its guards as (kind, text) pairs."""
    found = []
    for line in CLAIMS.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("chapter", "---"):
            found.append((cells[0], cells[1], GUARD.findall(cells[2])))
    return found


def reference_outputs(chapter: str) -> list[dict]:
    """Every output of a chapter's executed reference notebook."""
    notebook = json.loads((references.REFERENCES / f"{chapter}.ipynb").read_text())
    return [output for cell in notebook["cells"] for output in cell.get("outputs", [])]


def chapter_cells(chapter: str) -> list[nbformat.NotebookNode]:
    """The cells of a chapter's MyST source."""
    return jupytext.read(references.BOOK / f"{chapter}.md").cells


def glued_names(chapter: str) -> set[str]:
    """The names glued in a chapter's executed reference notebook."""
    return {
        output["metadata"]["scrapbook"]["name"]
        for output in reference_outputs(chapter)
        if "scrapbook" in output.get("metadata", {})
    }


def assert_lines(chapter: str) -> list[str]:
    """Every ``assert`` statement line in the chapter's code cells."""
    code = "\n".join(cell.source for cell in chapter_cells(chapter) if cell.cell_type == "code")
    return [line.strip() for line in code.splitlines() if line.strip().startswith("assert ")]


def test_the_table_covers_every_chapter_and_every_row_names_a_guard():
    table = rows()
    assert {chapter for chapter, _, _ in table} == {path.stem for path in references.chapters()}
    assert all(guards for _, _, guards in table), [claim for _, claim, guards in table if not guards]


@pytest.mark.parametrize(("chapter", "claim", "guards"), rows(), ids=lambda value: str(value)[:40])
def test_every_guard_the_table_names_exists(chapter: str, claim: str, guards: list[tuple[str, str]]):
    for kind, text in guards:
        if kind == "glue":
            assert text in glued_names(chapter), f"{chapter}: nothing glued as {text!r} ({claim})"
        else:
            assert any(text in line for line in assert_lines(chapter)), f"{chapter}: no assert with {text!r} ({claim})"


def test_a_guard_that_does_not_exist_is_reported():
    assert "no_such_name" not in glued_names("07_training")
    assert not any("no such check" in line for line in assert_lines("07_training"))


@pytest.mark.parametrize("chapter", [path.stem for path in references.chapters()])
def test_errors_are_shown_by_cells_that_catch_them(chapter: str):
    cells = chapter_cells(chapter)
    tagged = [cell.source[:60] for cell in cells if "raises-exception" in cell.metadata.get("tags", [])]
    assert not tagged, f"{chapter}: cells tagged raises-exception: {tagged}"
    errors = [output.get("ename") for output in reference_outputs(chapter) if output.get("output_type") == "error"]
    assert not errors, f"{chapter}: the reference holds uncaught errors {errors}"
