"""Colab notebooks of the chapters, and the Colab button that opens them.

Colab opens notebooks from GitHub (``github.com/ORG/REPO/blob/BRANCH/PATH.ipynb``), not MyST Markdown.
The publishing job of .github/workflows/ci.yml runs ``python book/_ext/colab.py OUT --ref SHA``:
every chapter of ``_toc.yml`` that is a notebook becomes ``OUT/book/<chapter>.ipynb`` through Jupytext,
with a first cell that installs the package from the repository at that commit and downloads and
verifies MNIST; the workflow then pushes OUT to the branch :data:`BRANCH`. Loaded as a Sphinx extension
(``local_extensions`` in ``_config.yml``), the module points sphinx-book-theme's Colab button, which would
open the chapter's ``.md``, at that notebook.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jupytext
import nbformat
import yaml
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


def book_config(root: Path = ROOT) -> dict[str, Any]:
    """The book's ``_config.yml``."""
    return yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))


def notebook_path(docname: str) -> str:
    """Where a chapter's notebook lies on :data:`BRANCH`: its source path, as ``.ipynb``."""
    return f"{docname}.ipynb"


def colab_url(repository: str, docname: str) -> str:
    """The Colab address of a chapter's notebook, for a ``https://github.com/ORG/REPO`` repository."""
    org_repo = repository.removeprefix("https://github.com/").strip("/")
    return f"{COLAB}/{org_repo}/blob/{BRANCH}/{notebook_path(docname)}"


def setup_cell(repository: str, ref: str, page: str, myst_nb: bool) -> str:
    """The first cell: install the package at `ref` (and myst-nb where the chapter glues), fetch MNIST."""
    extra = " myst-nb" if myst_nb else ""
    also = ", and myst-nb, whose `glue` the chapter calls;" if myst_nb else ";"
    return "\n".join(
        [
            "# Run this cell first: it installs the book's helper package from GitHub, at the commit this",
            f"# notebook was made from (Colab keeps its own PyTorch){also}",
            "# then it downloads MNIST and verifies its checksums. The chapter as a web page:",
            f"# {page}",
            f'%pip install --quiet "mnist_tutorial @ git+{repository}@{ref}"{extra}',
            "import sys",
            "",
            "!{sys.executable} -m mnist_tutorial data",
        ]
    )


def colab_notebook(docname: str, ref: str, root: Path = ROOT) -> nbformat.NotebookNode:
    """A chapter converted by Jupytext, its setup cell first, cells numbered, without Jupytext's metadata."""
    config = book_config(root)
    repository = str(config["repository"]["url"]).rstrip("/")
    page = f"{str(config['html']['baseurl']).rstrip('/')}/{docname}.html"
    notebook = jupytext.read(root / f"{docname}.md")
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    notebook.cells.insert(0, nbformat.v4.new_code_cell(setup_cell(repository, ref, page, "myst_nb" in code)))
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index}"
    notebook.metadata.pop("jupytext", None)
    return notebook


def write_notebooks(out: Path, ref: str, root: Path = ROOT) -> list[Path]:
    """Write every chapter's Colab notebook under `out`, at :func:`notebook_path`; return the files."""
    written = []
    for docname in notebooks(root / "_toc.yml"):
        path = out / notebook_path(docname)
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(colab_notebook(docname, ref, root), path)
        written.append(path)
    return written


def point_colab_button(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """Send the theme's Colab button (it would open the page's ``.md`` on the book's branch) to the notebook."""
    repository = str(app.config.html_theme_options.get("repository_url", ""))
    for group in context.get("header_buttons", []):
        if group.get("label") == "launch-buttons":
            for button in group.get("buttons", []):
                if button.get("text") == "Colab":
                    button["url"] = colab_url(repository, pagename)


def setup(app: Sphinx) -> dict[str, bool]:
    """Register the button fix after sphinx-book-theme's launch buttons (priority 501)."""
    app.connect("html-page-context", point_colab_button, priority=502)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: list[str] | None = None) -> int:
    """``python book/_ext/colab.py OUT [--ref REF]``: write the Colab notebooks into OUT."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write book/<chapter>.ipynb into")
    parser.add_argument("--ref", default="main", help="commit or branch the notebooks install the package from")
    args = parser.parse_args(argv)
    for path in write_notebooks(args.out, args.ref):
        print(path)
    (args.out / "README.md").write_text(BRANCH_README.format(ref=args.ref), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
