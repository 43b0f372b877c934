"""Scripts only where they are needed: MathJax loads on the built pages that have formulas, and on no other.

Sphinx adds MathJax to a page only when its document holds math (``html_assets_policy`` "per_page");
this checks the built site against that, page by page, so that a theme, an extension or a setting
that loads it everywhere (1.2 MB before compression) is caught. Needs ``_build/html`` (``make book``).
"""

from __future__ import annotations

import re

import pytest

from tests.browser_support import HTML, PAGES

MATHJAX = re.compile(r'<script[^>]+src="[^"]*mathjax/tex-mml-chtml\.js')
# What Sphinx writes for inline and display math: a span or div of class "math".
FORMULA = re.compile(r'<(?:span|div) class="math[ "]')

pytestmark = pytest.mark.book


def _page(document: str) -> str:
    path = HTML / f"{document}.html"
    if not path.is_file():
        pytest.skip(f"{path} not built: run `make book`")
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("document", PAGES)
def test_mathjax_loads_exactly_where_there_are_formulas(document: str):
    html = _page(document)
    assert bool(MATHJAX.search(html)) == bool(FORMULA.search(html))


def test_some_pages_have_formulas_and_some_do_not():
    with_formulas = {document for document in PAGES if FORMULA.search(_page(document))}
    assert with_formulas and set(PAGES) - with_formulas
