"""Sphinx fixes for the book's HTML, loaded through ``local_extensions`` in ``_config.yml``."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.errors import ConfigError

# What the pages use of MathJax's npm package, besides the component that `mathjax_path` names:
# TeX and MathML extensions that load on first use, the CHTML fonts, and the accessibility
# tools (explorer, speech) that a reader can switch on from MathJax's menu.
MATHJAX_PARTS = ("input/tex/extensions", "input/mml/extensions", "output/chtml/fonts/woff-v2", "a11y", "sre", "ui")


def drop_repeated_scripts(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """Keep one copy of each inline script.

    Sphinx 7.4 writes an inline script added after the builder starts (sphinx-thebe's
    ``const THEBE_JS_URL = ...``) twice, once as file name ``None`` and once as ``''``, which
    browsers report as "Identifier 'THEBE_JS_URL' has already been declared". Fixed in Sphinx
    8.2, which Jupyter Book 1 cannot use.
    """
    seen: set[tuple[object, ...]] = set()
    unique = []
    for script in context.get("script_files", []):
        key = (script.filename or "", script.priority, *sorted(script.attributes.items()))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


#: The ids sphinx-exercise gives the body of every exercise and solution, the same on every one.
REPEATED_IDS = ("exercise-content", "solution-content")


def number_repeated_ids(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Make the ids of exercises' and solutions' bodies unique within their page.

    sphinx-exercise 1.x gives each of them the same id (``exercise-content``,
    ``solution-content``), which is invalid HTML once a page has two exercises. Nothing links to
    these ids; the n-th on a page becomes ``exercise-content-n``.
    """
    counts = dict.fromkeys(REPEATED_IDS, 0)
    for node in doctree.findall(nodes.Element):
        ids = node.get("ids", [])
        for index, name in enumerate(ids):
            if name in counts:
                counts[name] += 1
                ids[index] = f"{name}-{counts[name]}"


def _local_mathjax(app: Sphinx) -> tuple[Path, Path] | None:
    """MathJax's npm copy (``node_modules/mathjax/es5``) and the component ``mathjax_path`` names in
    ``_static``; None when ``mathjax_path`` is a web address."""
    path = str(app.config.mathjax_path)
    if "://" in path or path.startswith("//"):
        return None
    return Path(app.srcdir) / "node_modules" / "mathjax" / "es5", Path(path)


def check_mathjax(app: Sphinx) -> None:
    """Fail at once, saying what to run, unless ``node_modules`` holds the MathJax of ``package-lock.json``."""
    if app.builder.format != "html" or (local := _local_mathjax(app)) is None:
        return
    es5, component = local
    root = Path(app.srcdir)
    pinned = json.loads((root / "package-lock.json").read_text())["packages"]["node_modules/mathjax"]["version"]
    installed = es5.parent / "package.json"
    found = json.loads(installed.read_text())["version"] if installed.is_file() else None
    if found != pinned or not (es5 / component.name).is_file():
        raise ConfigError(
            f"the pages load MathJax from _static/{component}, copied from node_modules/mathjax, "
            f"which holds {found or 'no MathJax'} instead of {pinned} (package-lock.json): run `npm ci`"
        )


def copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    """Copy MathJax into ``_static`` so that formulas render without internet, also from ``file://``."""
    if exception is not None or app.builder.format != "html" or (local := _local_mathjax(app)) is None:
        return
    es5, component = local
    target = Path(app.outdir) / "_static" / component.parent
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(es5 / component.name, target / component.name)
    for part in MATHJAX_PARTS:
        shutil.copytree(es5 / part, target / part, dirs_exist_ok=True)


#: The variable that names the PDF of the whole book (``make pdf``) for an HTML build to offer.
BOOK_PDF_ENV = "BOOK_PDF"
#: The PDF's name in the site, beside index.html.
BOOK_PDF_NAME = "mnist-tutorial.pdf"


def check_book_pdf(app: Sphinx) -> None:
    """Fail at once when ``book_pdf`` names a file that is not there."""
    if app.builder.format == "html" and app.config.book_pdf and not Path(app.config.book_pdf).is_file():
        raise ConfigError(f"{BOOK_PDF_ENV}={app.config.book_pdf} names no file: run `make pdf`, which builds it")


def offer_book_pdf(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """Add the whole book's PDF to the page's download menu, after the theme's own entries."""
    if not app.config.book_pdf:
        return
    for group in context.get("header_buttons", []):
        if group.get("label") == "download-buttons":
            group["buttons"].append(
                {
                    "type": "link",
                    "url": context["pathto"](BOOK_PDF_NAME, 1),
                    "text": "book .pdf",
                    "tooltip": "Download the whole book as a PDF",
                    "icon": "fas fa-book",
                    "label": "download-book-pdf-button",
                }
            )


def copy_book_pdf(app: Sphinx, exception: Exception | None) -> None:
    """Copy the book's PDF into the site, where the download menus point."""
    if exception is None and app.builder.format == "html" and app.config.book_pdf:
        shutil.copyfile(app.config.book_pdf, Path(app.outdir) / BOOK_PDF_NAME)


def setup(app: Sphinx) -> dict[str, bool]:
    """Register the fixes."""
    # A change of the PDF's path re-renders every page (rebuild "html"), so that every menu says the same.
    app.add_config_value("book_pdf", os.environ.get(BOOK_PDF_ENV, ""), "html", str)
    app.connect("builder-inited", check_book_pdf)
    app.connect("html-page-context", offer_book_pdf, priority=600)  # after the theme's buttons (501)
    app.connect("build-finished", copy_book_pdf)
    app.connect("html-page-context", drop_repeated_scripts)
    app.connect("doctree-resolved", number_repeated_ids)
    app.connect("builder-inited", check_mathjax)
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
