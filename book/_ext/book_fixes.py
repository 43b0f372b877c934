"""Sphinx fixes for the book's HTML, loaded through ``local_extensions`` in ``_config.yml``."""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


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


def setup(app: Sphinx) -> dict[str, bool]:
    """Register the fixes."""
    app.connect("html-page-context", drop_repeated_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
