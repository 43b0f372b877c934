"""The drawing pad of "Your own digit": a ``drawpad`` directive, its script, and the model it runs.

For the HTML builder, a page with the directive (and no other page) loads ``drawpad.js`` and
``drawpad.css``. When the build finishes, onnxruntime-web's WebAssembly build is copied from
``node_modules`` (``npm ci``) into ``_static/drawpad/ort/``, and the model the pad runs
(:func:`mnist_tutorial.export.book_model`) is exported to ``_static/drawpad/mnist-conv.onnx``
whenever the pad's page was read again (that is, re-executed or edited) or the file is missing.
The page fetches both only when the reader starts drawing.
"""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

LOGGER = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "drawpad_static"
#: The files of onnxruntime-web's WebAssembly-only build that the page loads.
RUNTIME_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
MODEL = "mnist-conv.onnx"

_PAD = """\
<div class="drawpad" data-drawpad data-mean="{mean}" data-std="{std}" data-threshold="{threshold}">
  <div class="drawpad-paper">
    <div class="drawpad-sheet">
      <canvas width="560" height="560" role="img"
        aria-label="Drawing area: draw one digit here with the mouse, a finger or a pen"></canvas>
    </div>
    <button type="button" class="drawpad-clear">Clear</button>
  </div>
  <div class="drawpad-result">
    <p class="drawpad-reads">The network reads <span class="drawpad-digit">?</span></p>
    <p class="drawpad-status" role="status">Draw a digit in the box.</p>
    <table class="drawpad-bars">
      <caption>Probability of each digit</caption>
      <thead><tr><th scope="col">digit</th><th scope="col">probability</th></tr></thead>
      <tbody></tbody>
    </table>
    <noscript><p>The drawing pad needs JavaScript.</p></noscript>
  </div>
</div>
"""


def runtime_dir(app: Sphinx) -> Path:
    """Where ``npm ci`` puts onnxruntime-web's browser files."""
    return Path(app.srcdir) / "node_modules" / "onnxruntime-web" / "dist"


class DrawPad(SphinxDirective):
    """Place the drawing pad (HTML only); the preparation's constants come from the package."""

    def run(self) -> list[nodes.Node]:
        """Return the pad's HTML, and note the page as one that holds a pad."""
        from mnist_tutorial.data import MNIST_MEAN, MNIST_STD
        from mnist_tutorial.handwriting import INK_THRESHOLD

        self.env.metadata[self.env.docname]["drawpad"] = True
        # Sphinx copies static files only when some page is rebuilt: tie this page to the pad's
        # script, style and HTML, so that a change to any of them rebuilds it.
        for path in [Path(__file__), *sorted(STATIC.rglob("*.*"))]:
            self.env.note_dependency(str(path))
        html = _PAD.format(mean=MNIST_MEAN, std=MNIST_STD, threshold=INK_THRESHOLD)
        return [nodes.raw("", html, format="html")]


def add_static_path(app: Sphinx, config: Any) -> None:
    """Serve ``drawpad_static/drawpad/`` as ``_static/drawpad/``."""
    config.html_static_path.append(str(STATIC))


def check_runtime(app: Sphinx) -> None:
    """Fail at once, before any chapter runs, when ``node_modules`` lacks onnxruntime-web."""
    if app.builder.format != "html":
        return
    missing = [name for name in RUNTIME_FILES if not (runtime_dir(app) / name).is_file()]
    if missing:
        raise ExtensionError(
            f"the drawing pad needs onnxruntime-web, but {runtime_dir(app)} lacks {', '.join(missing)}: "
            "run `npm ci` in the repository (or .ci/install-browser.sh)"
        )


def add_assets(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """Load the pad's script and style on the pages that hold a pad, and only there."""
    if app.env.metadata.get(pagename, {}).get("drawpad"):
        app.add_css_file("drawpad/drawpad.css")
        app.add_js_file("drawpad/drawpad.js", loading_method="defer")


def ship_model_and_runtime(app: Sphinx, exception: Exception | None) -> None:
    """Copy onnxruntime-web into the site, and export the model when its page was read again."""
    if exception is not None or app.builder.format != "html":
        return
    pages = [name for name, data in app.env.metadata.items() if data.get("drawpad")]
    if not pages:
        return
    target = Path(app.outdir) / "_static" / "drawpad"
    (target / "ort").mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_FILES:
        source, copy = runtime_dir(app) / name, target / "ort" / name
        if not (copy.is_file() and filecmp.cmp(source, copy, shallow=False)):
            shutil.copyfile(source, copy)
    model = target / MODEL
    read_at = max(app.env.all_docs.get(name, 0) for name in pages)  # microseconds since the epoch
    if model.is_file() and model.stat().st_mtime_ns // 1000 > read_at:
        return
    from mnist_tutorial.export import book_model, export_onnx

    LOGGER.info(f"drawpad: exporting the model to {model.relative_to(app.outdir)}")
    export_onnx(book_model(), model)


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the directive and the build steps."""
    app.add_directive("drawpad", DrawPad)
    app.connect("config-inited", add_static_path)
    app.connect("builder-inited", check_runtime)
    # Before book_fixes' drop_repeated_scripts, which copies the page's script list.
    app.connect("html-page-context", add_assets, priority=400)
    app.connect("build-finished", ship_model_and_runtime)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
