"""The book's table of contents, ``_toc.yml``: its documents in reading order, and which of them are notebooks.

The Colab extension (:mod:`colab`), the reference notebooks of the tests and the browser tests all read
the table of contents through this module, so that they agree on which pages the book has.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TOC = ROOT / "_toc.yml"
#: The keys under which ``_toc.yml`` nests entries (jb-book: parts, then chapters, then sections).
NESTED = ("parts", "chapters", "sections")
#: The suffixes a document's source may have, in the order they are looked for.
SUFFIXES = (".md", ".ipynb")


def documents(toc: Path = TOC) -> list[str]:
    """The toc's documents without suffix: ``root``, then every ``file`` of its parts, chapters and sections."""
    data = yaml.safe_load(toc.read_text(encoding="utf-8"))
    found = [data["root"]]

    def walk(entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            if "file" in entry:
                found.append(entry["file"])
            for key in NESTED:
                walk(entry.get(key, []))

    walk([data])
    return [re.sub(r"\.(md|ipynb)$", "", str(name)) for name in found]


def source(document: str, root: Path = ROOT) -> Path:
    """The source file of a toc document (``book/intro`` is ``book/intro.md``) under the book's `root`."""
    for suffix in SUFFIXES:
        path = root / f"{document}{suffix}"
        if path.is_file():
            return path
    raise FileNotFoundError(f"no source for toc entry {document!r} in {root}")


def is_notebook(path: Path) -> bool:
    """Whether a source is a notebook: an ``.ipynb``, or MyST Markdown whose front matter names a kernelspec."""
    if path.suffix == ".ipynb":
        return True
    match = re.match(r"---\n(.*?)\n---\n", path.read_text(encoding="utf-8"), re.DOTALL)
    front = yaml.safe_load(match.group(1)) if match else None
    return isinstance(front, dict) and "kernelspec" in front


def notebooks(toc: Path = TOC) -> list[str]:
    """The toc's documents that are notebooks (see :func:`is_notebook`), in reading order."""
    return [document for document in documents(toc) if is_notebook(source(document, toc.parent))]
