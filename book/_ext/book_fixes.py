"""Sphinx fixes for the book's HTML, loaded through ``local_extensions`` in ``_config.yml``."""

from __future__ import annotations

import json
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


def setup(app: Sphinx) -> dict[str, bool]:
    """Register the fixes."""
    app.connect("html-page-context", drop_repeated_scripts)
    app.connect("doctree-resolved", number_repeated_ids)
    app.connect("builder-inited", check_mathjax)
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
