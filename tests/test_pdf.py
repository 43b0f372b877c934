"""The PDF of the whole book (``make pdf``): every chapter in it, its figures and formulas rendered.

``make pdf`` is not part of ``make test`` (it needs TeX, ``bash .ci/install-tex.sh``); CI runs these
tests on main after building the PDF it publishes. Without a built PDF they skip, saying so.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
PDF = REPO / "_build" / "latex" / "mnist-tutorial.pdf"
LOG = PDF.with_suffix(".log")
REFERENCES = REPO / "tests" / "notebooks"  # the chapters executed, with their outputs (make references)

pytestmark = [
    pytest.mark.book,
    pytest.mark.skipif(not PDF.is_file(), reason="no PDF of the book: `make pdf` has not run"),
    pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils missing: bash .ci/install-tex.sh"),
]


def _chapters() -> list[str]:
    """The chapters in the table of contents, as book/NAME."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf-8"))
    return [chapter["file"] for part in toc["parts"] for chapter in part["chapters"]]


def _title(chapter: str) -> str:
    """A chapter's first heading."""
    text = (REPO / f"{chapter}.md").read_text(encoding="utf-8")
    return re.search(r"^# (.+)$", text, re.MULTILINE).group(1).strip()


def _text() -> str:
    """The PDF's text, its whitespace collapsed."""
    result = subprocess.run(["pdftotext", "-enc", "UTF-8", str(PDF), "-"], capture_output=True, text=True, check=True)
    return " ".join(result.stdout.split())


def test_every_chapter_is_in_the_pdf():
    text = _text()
    missing = [chapter for chapter in _chapters() if _title(chapter) not in text]
    assert missing == []


def test_the_pdf_holds_every_figure_the_chapters_draw():
    drawn = 0
    for notebook in REFERENCES.glob("*.ipynb"):
        for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
            if "remove-cell" in cell.get("metadata", {}).get("tags", []):
                continue
            drawn += sum("image/png" in output.get("data", {}) for output in cell.get("outputs", []))
    listing = subprocess.run(["pdfimages", "-list", str(PDF)], capture_output=True, text=True, check=True)
    images = sum(line.split()[2] == "image" for line in listing.stdout.splitlines()[2:])  # not their masks
    assert drawn > 0, "no reference notebooks: run make references"
    assert images >= drawn


def test_latex_found_every_reference_and_every_character():
    log = LOG.read_text(encoding="utf-8", errors="replace")
    assert "There were undefined references" not in log
    missing = sorted(set(re.findall(r"Missing character: There is no (.+?) in font", log)))
    assert missing == [], "characters the fonts lack, left out of the PDF"
