"""The Sphinx extension in book/_ext: the site gets MathJax from the pinned npm package, or the build stops."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from sphinx.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("book_fixes", REPO / "book" / "_ext" / "book_fixes.py")
assert _spec and _spec.loader
book_fixes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(book_fixes)


def _book(root: Path, installed: str | None, pinned: str = "3.2.2") -> SimpleNamespace:
    """A fake Sphinx app for a book in `root` whose package-lock pins MathJax `pinned` and node_modules holds
    `installed` (None: no MathJax there)."""
    lock = {"packages": {"node_modules/mathjax": {"version": pinned}}}
    (root / "package-lock.json").write_text(json.dumps(lock))
    if installed:
        es5 = root / "node_modules" / "mathjax" / "es5"
        for part in book_fixes.MATHJAX_PARTS:
            (es5 / part).mkdir(parents=True)
            (es5 / part / "part.js").write_text("// part")
        (es5 / "tex-mml-chtml.js").write_text("// MathJax")
        (es5.parent / "package.json").write_text(json.dumps({"version": installed}))
    config = SimpleNamespace(mathjax_path="mathjax/tex-mml-chtml.js")
    return SimpleNamespace(builder=SimpleNamespace(format="html"), config=config, srcdir=root, outdir=root / "html")


def test_the_pinned_mathjax_is_copied_into_the_site(tmp_path: Path) -> None:
    app = _book(tmp_path, installed="3.2.2")
    book_fixes.check_mathjax(app)
    book_fixes.copy_mathjax(app, None)
    target = tmp_path / "html" / "_static" / "mathjax"
    assert (target / "tex-mml-chtml.js").read_text() == "// MathJax"
    assert all((target / part / "part.js").is_file() for part in book_fixes.MATHJAX_PARTS)


@pytest.mark.parametrize("installed", [None, "3.2.0"])
def test_the_build_stops_saying_what_to_run_without_the_pinned_mathjax(tmp_path: Path, installed: str | None) -> None:
    with pytest.raises(ConfigError, match=r"instead of 3\.2\.2 \(package-lock\.json\): run `npm ci`"):
        book_fixes.check_mathjax(_book(tmp_path, installed))


def test_a_mathjax_from_the_web_needs_no_copy(tmp_path: Path) -> None:
    app = _book(tmp_path, installed=None)
    app.config.mathjax_path = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"
    book_fixes.check_mathjax(app)
    book_fixes.copy_mathjax(app, None)
    assert not (tmp_path / "html").exists()


def _page_context() -> dict:
    """What the book theme leaves in a page's context: its download menu, then another button."""
    download = {"type": "group", "label": "download-buttons", "buttons": [{"label": "download-source-button"}]}
    return {"header_buttons": [download, {"label": "fullscreen-button"}], "pathto": lambda name, relative: f"../{name}"}


def test_with_the_pdf_every_download_menu_offers_it_and_the_site_holds_it(tmp_path: Path) -> None:
    pdf = tmp_path / "latex" / "mnist-tutorial.pdf"
    pdf.parent.mkdir()
    pdf.write_bytes(b"%PDF-1.5")
    app = _book(tmp_path, installed=None)
    app.config.book_pdf = str(pdf)
    (tmp_path / "html").mkdir()
    book_fixes.check_book_pdf(app)
    context = _page_context()
    book_fixes.offer_book_pdf(app, "book/01_tensors", "page.html", context, None)
    menu = context["header_buttons"][0]["buttons"]
    assert [button["label"] for button in menu] == ["download-source-button", "download-book-pdf-button"]
    assert menu[1]["url"] == "../mnist-tutorial.pdf" and menu[1]["type"] == "link"
    book_fixes.copy_book_pdf(app, None)
    assert (tmp_path / "html" / "mnist-tutorial.pdf").read_bytes() == b"%PDF-1.5"


def test_without_the_pdf_the_menus_are_the_themes(tmp_path: Path) -> None:
    app = _book(tmp_path, installed=None)
    app.config.book_pdf = ""
    book_fixes.check_book_pdf(app)
    context = _page_context()
    book_fixes.offer_book_pdf(app, "book/01_tensors", "page.html", context, None)
    assert context == {**_page_context(), "pathto": context["pathto"]}
    book_fixes.copy_book_pdf(app, None)
    assert not (tmp_path / "html").exists()


def test_a_pdf_that_is_not_there_stops_the_build_saying_what_to_run(tmp_path: Path) -> None:
    app = _book(tmp_path, installed=None)
    app.config.book_pdf = str(tmp_path / "missing.pdf")
    with pytest.raises(ConfigError, match=r"names no file: run `make pdf`"):
        book_fixes.check_book_pdf(app)
