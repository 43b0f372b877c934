"""book/_ext/toc.py: the table of contents' documents in reading order, and which are notebooks."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tests.book_extensions import load_extension

toc = load_extension("toc")

NOTEBOOK = "---\njupytext:\n  formats: md:myst\nkernelspec:\n  display_name: Python 3\n  name: python3\n---\n\n# A\n"
PLAIN = "# A plain page\n\nNo front matter, no kernel.\n"
FRONT_MATTER_ONLY = "---\ntitle: Not a notebook\n---\n\n# B\n"

TOC = """\
format: jb-book
root: intro
parts:
  - caption: One
    chapters:
      - file: part1/a
        sections:
          - file: part1/a_section
            sections:
              - file: part1/a_subsection.ipynb
      - file: part1/b.md
  - caption: Two
    chapters:
      - url: https://example.org
        title: a link, no document
      - file: part2/c
"""


@pytest.fixture()
def book(tmp_path: Path) -> Path:
    """A small book: nested sections, an .ipynb, a link, plain pages and MyST notebooks; returns its _toc.yml."""
    (tmp_path / "_toc.yml").write_text(TOC, encoding="utf-8")
    sources = {
        "intro.md": PLAIN,
        "part1/a.md": NOTEBOOK,
        "part1/a_section.md": FRONT_MATTER_ONLY,
        "part1/b.md": PLAIN,
        "part2/c.md": NOTEBOOK,
    }
    for name, text in sources.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "part1" / "a_subsection.ipynb")
    return tmp_path / "_toc.yml"


def test_documents_come_in_reading_order_root_first_sections_after_their_chapter(book: Path):
    assert toc.documents(book) == ["intro", "part1/a", "part1/a_section", "part1/a_subsection", "part1/b", "part2/c"]


def test_notebooks_are_ipynb_files_and_myst_pages_whose_front_matter_names_a_kernel(book: Path):
    assert toc.notebooks(book) == ["part1/a", "part1/a_subsection", "part2/c"]


def test_a_source_is_found_with_its_suffix_or_reported_missing(book: Path):
    assert toc.source("part1/a_subsection", book.parent) == book.parent / "part1" / "a_subsection.ipynb"
    assert toc.source("part1/b", book.parent) == book.parent / "part1" / "b.md"
    with pytest.raises(FileNotFoundError, match="nowhere"):
        toc.source("nowhere", book.parent)


def test_the_book_itself_its_chapters_are_the_notebooks_and_its_reference_pages_are_not():
    documents, notebooks = toc.documents(), toc.notebooks()
    assert documents[0] == "book/intro"
    assert documents[-2:] == ["book/api", "book/execution_statistics"]
    assert notebooks == [name for name in documents if name.split("/")[-1][:2].isdigit()]
    assert len(notebooks) == len(list((toc.ROOT / "book").glob("[0-9][0-9]_*.md")))
