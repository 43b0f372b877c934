"""Colab notebooks of the chapters, the page's ".ipynb" download, and the Colab button that opens them.

Both are the notebooks made for readers of book/_ext/reader_notebooks.py: no hidden checks, no myst-nb, the
book's glued numbers written in, a first cell that installs the package at the notebook's commit and fetches
MNIST. Loaded as a Sphinx extension (``local_extensions`` in ``_config.yml``), this module writes each chapter's
over the executed notebook that sphinx-book-theme copies to ``_sources/<chapter>.ipynb`` for the download
button, with the values of that build's run, and points the theme's Colab button, which would open the
chapter's ``.md``, at the notebook on the branch :data:`BRANCH`.

Colab opens notebooks from GitHub (``github.com/ORG/REPO/blob/BRANCH/PATH.ipynb``), not MyST Markdown. After
the book is built and checked, .github/workflows/ci.yml runs ``python book/_ext/colab.py OUT --ref SHA``,
which writes ``OUT/book/<chapter>.ipynb`` for every chapter of ``_toc.yml`` that is a notebook, with the
values of the build in ``_build/jupyter_execute`` (``--values references`` takes those of the reference
notebooks in tests/notebooks instead); the workflow then pushes OUT to the branch :data:`BRANCH`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
from reader_notebooks import Book, Glued, glue_of_build, glue_of_notebook, reader_notebook
from toc import notebooks

if TYPE_CHECKING:
    from sphinx.application import Sphinx

#: The branch the workflow publishes the notebooks to; Colab buttons open them there.
BRANCH = "colab"
COLAB = "https://colab.research.google.com/github"
BRANCH_README = """# Colab notebooks of the book's chapters

Generated from the chapters in `book/` at {ref} by `book/_ext/colab.py` (the publishing workflow
replaces this branch on every publication): do not edit them here. Each opens in Colab from the
Colab button of its chapter page.
"""
ROOT = Path(__file__).resolve().parents[2]


def chapters(root: Path = ROOT) -> list[str]:
    """The documents of ``_toc.yml`` that are notebooks, in reading order."""
    return notebooks(root / "_toc.yml")


def notebook_path(docname: str) -> str:
    """Where a chapter's notebook lies on :data:`BRANCH`: its source path, as ``.ipynb``."""
    return f"{docname}.ipynb"


def colab_url(repository: str, docname: str) -> str:
    """The Colab address of a chapter's notebook, for a ``https://github.com/ORG/REPO`` repository."""
    org_repo = repository.removeprefix("https://github.com/").strip("/")
    return f"{COLAB}/{org_repo}/blob/{BRANCH}/{notebook_path(docname)}"


def executed_folder(root: Path = ROOT) -> Path:
    """Where the book's build keeps its executed notebooks and glued values (myst-nb's ``jupyter_execute``)."""
    return root / "_build" / "jupyter_execute"


def glued_values(docname: str, values: str, root: Path = ROOT) -> Glued:
    """The values `docname` glued: in the build's run (`values` "build") or in its reference notebook."""
    if values == "references":
        return glue_of_notebook(nbformat.read(root / "tests" / "notebooks" / f"{Path(docname).name}.ipynb", 4))
    folder = executed_folder(root)
    if not (folder / f"{docname}.ipynb").is_file():
        raise FileNotFoundError(f"{folder} has no executed {docname}: build the book first, or use the references")
    return glue_of_build(folder, docname)


def colab_notebook(docname: str, ref: str, root: Path = ROOT, values: str = "build") -> nbformat.NotebookNode:
    """A chapter as a notebook for readers, installing the package at `ref`, with the glued `values`."""
    return reader_notebook(Book.read(root, chapters(root)), docname, ref, glued_values(docname, values, root))


def write_notebooks(out: Path, ref: str, root: Path = ROOT, values: str = "build") -> list[Path]:
    """Write every chapter's notebook for readers under `out`, at :func:`notebook_path`; return the files."""
    docnames = chapters(root)
    book = Book.read(root, docnames)
    written = []
    for docname in docnames:
        path = out / notebook_path(docname)
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(reader_notebook(book, docname, ref, glued_values(docname, values, root)), path)
        written.append(path)
    return written


def current_commit(root: Path) -> str:
    """The commit being built: ``$GITHUB_SHA`` in a workflow, else the checkout's HEAD, else ``main``."""
    if os.environ.get("GITHUB_SHA"):
        return os.environ["GITHUB_SHA"]
    result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else "main"


def write_download_notebooks(app: Sphinx, exception: Exception | None) -> None:
    """After an HTML build, make each chapter's ``_sources/<chapter>.ipynb`` the notebook for readers.

    sphinx-book-theme's ".ipynb" download button links that file, where it copies the executed notebook
    (hidden checks and all); the values written in are those of this build's run.
    """
    if exception is not None or app.builder.format != "html":
        return
    from sphinx.util import logging  # here: the command line and tests/test_cold.py run without Sphinx

    logger = logging.getLogger(__name__)
    root = Path(app.srcdir)
    docnames = chapters(root)
    book = Book.read(root, docnames)
    folder, ref = Path(app.outdir).parent / "jupyter_execute", current_commit(root)
    for docname in docnames:
        try:
            notebook = reader_notebook(book, docname, ref, glue_of_build(folder, docname))
        except KeyError as missing:  # a build that did not execute the chapter: its glue roles warn already
            logger.warning(f"{missing.args[0]}: its download stays the executed notebook", type="colab")
            continue
        path = Path(app.outdir) / "_sources" / notebook_path(docname)
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, path)


def point_colab_button(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """Send the theme's Colab button (it would open the page's ``.md`` on the book's branch) to the notebook."""
    repository = str(app.config.html_theme_options.get("repository_url", ""))
    for group in context.get("header_buttons", []):
        if group.get("label") == "launch-buttons":
            for button in group.get("buttons", []):
                if button.get("text") == "Colab":
                    button["url"] = colab_url(repository, pagename)


def setup(app: Sphinx) -> dict[str, bool]:
    """Register the button fix after sphinx-book-theme's launch buttons (priority 501), and the downloads."""
    app.connect("html-page-context", point_colab_button, priority=502)
    app.connect("build-finished", write_download_notebooks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: list[str] | None = None) -> int:
    """``python book/_ext/colab.py OUT [--ref REF] [--values build|references]``: write the Colab notebooks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write book/<chapter>.ipynb into")
    parser.add_argument("--ref", default="main", help="commit or branch the notebooks install the package from")
    parser.add_argument(
        "--values",
        choices=("build", "references"),
        default="build",
        help="glued values of the built book (_build/jupyter_execute, the default) or of tests/notebooks",
    )
    args = parser.parse_args(argv)
    for path in write_notebooks(args.out, args.ref, values=args.values):
        print(path)
    (args.out / "README.md").write_text(BRANCH_README.format(ref=args.ref), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
