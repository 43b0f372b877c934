"""Notebooks made for readers (book/_ext/reader_notebooks.py): every chapter converted, and the converter's parts.

Each chapter is converted with the values glued in its reference notebook (tests/notebooks), as
``python book/_ext/colab.py OUT --values references`` does, and checked for what a reader on Colab or in
JupyterLab needs: no hidden check, no myst-nb, no MyST left, every glued value written in, every name a
cell uses defined by a cell the reader has, links to the published pages. tests/test_cold.py runs two of
them cold. About ten seconds.
"""

from __future__ import annotations

import ast
import builtins
import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import jupytext
import nbformat
import pytest
from docutils.nodes import make_id as docutils_make_id
from IPython.core.inputtransformer2 import TransformerManager
from myst_nb.core.variables import format_plain_text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "book" / "_ext"))
import colab  # noqa: E402  (book/_ext is not a package)
import reader_notebooks as rn  # noqa: E402

REF = "0123456789abcdef0123456789abcdef01234567"
CHAPTERS = colab.chapters(REPO)
BOOK = rn.Book.read(REPO, CHAPTERS)
#: What a reader's notebook may import: the standard library, IPython, and what the package brings.
IMPORTABLE = set(sys.stdlib_module_names) | {
    "IPython", "mnist_tutorial", "torch", "torchvision", "numpy", "pandas", "matplotlib", "PIL", "tqdm",
}  # fmt: skip
PLACEHOLDER = {"text/plain": "-1", "text/markdown": "(missing)"}


def chapter_of(page: str) -> nbformat.NotebookNode:
    """The chapter as Jupytext reads it."""
    return jupytext.read(REPO / f"{page}.md")


@pytest.fixture(scope="module", params=CHAPTERS, ids=lambda page: Path(page).name)
def page(request: pytest.FixtureRequest) -> str:
    return request.param


def with_placeholders(page: str, values: rn.Glued) -> dict[str, dict[str, str]]:
    """`values`, and a placeholder for each value the chapter shows that they lack (one test checks there is none)."""
    shown = rn.glued_names((REPO / f"{page}.md").read_text(encoding="utf-8"))
    return {**{name: PLACEHOLDER for name in shown}, **values}


@pytest.fixture(scope="module")
def glued(page: str) -> rn.Glued:
    return colab.glued_values(page, "references", REPO)


@pytest.fixture(scope="module")
def reader(page: str, glued: rn.Glued) -> nbformat.NotebookNode:
    """The chapter's notebook for readers, with its reference notebook's values."""
    return rn.reader_notebook(BOOK, page, REF, with_placeholders(page, glued))


def markdown_of(notebook: nbformat.NotebookNode) -> str:
    return "\n\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")


def code_of(notebook: nbformat.NotebookNode) -> list[str]:
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def undefined_names(notebook: nbformat.NotebookNode) -> dict[str, int]:
    """Names some cell reads that no cell of the notebook binds (with the first cell reading each)."""
    bound = set(dir(builtins)) | {"display", "get_ipython"}
    read: dict[str, int] = {}
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(TransformerManager().transform_cell(cell.source))):
            if isinstance(node, ast.Name):
                if isinstance(node.ctx, ast.Load):
                    read.setdefault(node.id, index)
                else:
                    bound.add(node.id)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                bound.add(node.name)
            elif isinstance(node, ast.arg):
                bound.add(node.arg)
            elif isinstance(node, ast.Import | ast.ImportFrom):
                bound.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                bound.add(node.name)
    return {name: index for name, index in read.items() if name not in bound}


# ------------------------------------------------------------------------------------ every chapter


def test_no_hidden_check_and_no_glue_remains(reader: nbformat.NotebookNode):
    nbformat.validate(reader)
    assert not [cell for cell in reader.cells if "remove-cell" in cell.metadata.get("tags", [])]
    for source in code_of(reader):
        assert "myst_nb" not in source
        calls = [
            node for node in ast.walk(ast.parse(TransformerManager().transform_cell(source))) if rn.calls_glue(node)
        ]
        assert not calls, source
    assert "{glue" not in markdown_of(reader)


def test_every_visible_code_cell_is_kept_in_order(page: str, reader: nbformat.NotebookNode):
    visible = [
        rn.without_glue(cell.source)
        for cell in chapter_of(page).cells
        if cell.cell_type == "code" and "remove-cell" not in cell.metadata.get("tags", [])
    ]
    assert code_of(reader)[1:] == [source for source in visible if source.strip()]


def test_no_myst_syntax_remains(reader: nbformat.NotebookNode):
    text = markdown_of(reader)
    assert not re.findall(r"^\s*(?::{3,}|`{3,})\{", text, re.MULTILINE), "a MyST directive is left"
    assert not re.findall(r"\{(?:ref|numref|doc|eq|download|glue[a-z:]*)\}`", text), "a MyST role is left"
    assert not re.findall(r"^\([^()\s]+\)=\s*$", text, re.MULTILINE), "a MyST target is left"
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    assert not [link for link in links if not link.startswith("https://")], "links must leave the notebook"


def test_the_set_up_cell_installs_the_package_at_the_commit_and_fetches_mnist(page: str, reader):
    setup = reader.cells[0]
    assert setup.cell_type == "code"
    python = TransformerManager().transform_cell(setup.source)
    ast.parse(python)  # the magics are well formed
    install = f'%pip install --quiet "mnist_tutorial @ git+{BOOK.repository}@{REF}"'
    assert [line for line in setup.source.splitlines() if line.startswith("%pip")] == [install]
    assert "get_ipython().system('{sys.executable} -m mnist_tutorial data')" in python
    assert "myst" not in setup.source and BOOK.page(page) in setup.source


def test_every_import_is_one_the_set_up_cell_provides(reader: nbformat.NotebookNode):
    imported = set()
    for source in code_of(reader):
        for node in ast.walk(ast.parse(TransformerManager().transform_cell(source))):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(str(node.module).split(".")[0])
    assert imported <= IMPORTABLE, imported - IMPORTABLE


def test_every_name_a_cell_reads_is_bound_by_a_cell_the_reader_has(reader: nbformat.NotebookNode):
    """A name bound only in a hidden check cell would be a NameError for the reader."""
    assert undefined_names(reader) == {}


def test_every_glued_value_is_written_in_bold_as_the_role_formats_it(page: str, glued, reader):
    source = (REPO / f"{page}.md").read_text(encoding="utf-8")
    missing = sorted(set(rn.glued_names(source)) - set(glued))
    assert not missing, f"tests/notebooks lacks {missing}, which the chapter shows: run `make references`"
    text = markdown_of(reader)
    roles = list(rn.GLUE_ROLE.finditer(source))
    for role in roles:
        key = rn.glue_key(role["kind"], role["content"])
        if role["kind"] == "text":
            spec = role["content"].rpartition(":")[2] if ":" in role["content"] else "s"
            assert f"**{format_plain_text(glued[key]['text/plain'], spec)}**" in text, role[0]
        else:
            assert rn.Converter(BOOK, page, REF, glued).inline(glued[key]["text/markdown"]) in text, role[0]
    if roles:
        title, note = reader.cells[1].source.split("\n\n")[:2]
        assert title.startswith("# ") and note == rn.BOLD_NOTE.format(page=BOOK.page(page))


def test_exercises_are_numbered_as_the_book_numbers_them_and_solutions_fold(page: str, reader):
    source = (REPO / f"{page}.md").read_text(encoding="utf-8")
    titles = re.findall(r"^:{3,}\{exercise\}[ \t]*(.*)$", source, re.MULTILINE)
    number = BOOK.numbers[page]
    expected = [f"**Exercise {number}.{index}: {title}**" for index, title in enumerate(titles, start=1)]
    text = markdown_of(reader)
    assert re.findall(r"^\*\*Exercise [^*]+\*\*$", text, re.MULTILINE) == expected
    assert text.count("<details>") == text.count("</details>")
    solutions = len(re.findall(r"^:{3,}\{solution-start\}", source, re.MULTILINE))
    assert (
        len(re.findall(r"^(?:<summary>|\*\*)Solution to Exercise [\d.]+(?:</summary>|\*\*)", text, re.M)) == solutions
    )


def test_links_name_pages_and_anchors_the_book_has(reader: nbformat.NotebookNode):
    for url in re.findall(rf"\]\(({re.escape(BOOK.baseurl)}[^)\s]*)\)", markdown_of(reader)):
        page, _, anchor = url.removeprefix(BOOK.baseurl).partition("#")
        docname = page.removesuffix(".html")
        assert (REPO / f"{docname}.md").is_file(), url
        ids = set(BOOK.anchors.get(docname, {}).values()) | {
            target.anchor for target in BOOK.labels.values() if target.docname == docname
        }
        assert not anchor or anchor in ids or docname not in BOOK.anchors, url


# ----------------------------------------------------------------------------------- the converter


def test_glue_statements_go_and_the_code_around_them_stays():
    source = """\
import torch
from myst_nb import glue

x = 1
# the value the text shows
glue("x", x, display=False)
for name in ("a", "b"):
    glue(name, 2, display=False)
for name in ("a", "b"):
    print(name)
    glue(name, 3, display=False)
if x:
    glue("y", x, display=False)
else:
    print("no")"""
    assert (
        rn.without_glue(source)
        == """\
import torch

x = 1
for name in ("a", "b"):
    print(name)
if x:
    pass
else:
    print("no")"""
    )
    assert rn.without_glue("print('unglued')  # no glue here") == "print('unglued')  # no glue here"


@pytest.mark.parametrize(
    ("plain", "spec"),
    [("91.39", ".1f"), ("0.98765", ".2%"), ("1234567", ","), ("12", "d"), ("'text'", "s"), ("2", "s"), ("3.5", "")],
)
def test_glued_text_is_formatted_as_myst_nb_formats_it(plain: str, spec: str):
    assert rn.format_glued_text(plain, spec) == format_plain_text(plain, spec)


def test_heading_ids_are_those_docutils_gives():
    headings = ["Ten epochs of each model", "The same classes in `mnist_tutorial`", "What 2 × 3 means: ça va?"]
    for page in CHAPTERS:
        lines = (REPO / f"{page}.md").read_text(encoding="utf-8").split("\n")
        texts = [block for kind, block in rn.blocks(lines) if kind == "text"]
        headings += [match["title"] for text in texts for line in text if (match := rn.HEADING.match(line))]
    for heading in headings:
        assert rn.make_id(rn.plain_title(heading)) == docutils_make_id(rn.plain_title(heading)), heading


TINY_CONFIG = """\
html:
  baseurl: https://example.org/book/
repository:
  url: https://github.com/org/repo
"""
TINY_TOC = """\
format: jb-book
root: intro
parts:
  - caption: Part
    numbered: true
    chapters:
      - file: book/one
      - file: book/two
"""
TINY_ONE = """\
# One

## A section

::::{exercise} First try
:label: ex-one

Do it, with a {glue:text}`rate:.1f` % rate, {glue:md}`verdict`.

:::{note}
A note in the exercise.
:::
::::

:::{solution-start} ex-one
:class: dropdown
:::

The prose of the solution, then its code.

```{code-cell} ipython3
answer = 42
```

More of the solution.

```{code-cell} ipython3
print(answer)
```

:::{solution-end}
:::

```{image} ../img/picture.png
:alt: A picture
:width: 50%
```

```{drawpad}
```

See {ref}`ex-one`, [the other chapter](two.md#the-section-of-two), [this one](#a-section) and
[the licence](../LICENSE).

```python
:::{not-a-directive}
```
"""
TINY_TWO = """\
# Two

## The section of two

:::{exercise}
:label: ex-two
Nothing.
:::
"""


def test_a_tiny_chapter_becomes_plain_markdown(tmp_path: Path):
    (tmp_path / "book").mkdir()
    (tmp_path / "_config.yml").write_text(TINY_CONFIG, encoding="utf-8")
    (tmp_path / "_toc.yml").write_text(TINY_TOC, encoding="utf-8")
    for name, text in {"one": TINY_ONE, "two": TINY_TWO}.items():
        notebook = jupytext.reads(text, fmt="md:myst")
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        jupytext.write(notebook, tmp_path / "book" / f"{name}.md", fmt="md:myst")
    book = rn.Book.read(tmp_path, ["book/one", "book/two"])
    assert book.labels["ex-two"] == rn.Target("book/two", "ex-two", "Exercise 2.1")
    glued = {"rate": {"text/plain": "12.345"}, "verdict": {"text/markdown": "see [two](two.md)"}}
    notebook = rn.reader_notebook(book, "book/one", "abc", glued)
    cells = [(cell.cell_type, cell.source) for cell in notebook.cells]
    assert [kind for kind, _ in cells] == ["code", "markdown", "code", "markdown", "code", "markdown"]
    exercise = cells[1][1]
    assert exercise.startswith("# One\n\n> Numbers in **bold**")
    pasted = "Do it, with a **12.3** % rate, see [two](https://example.org/book/book/two.html)."
    assert f"**Exercise 1.1: First try**\n\n{pasted}" in exercise
    assert "> **Note**\n>\n> A note in the exercise." in exercise
    assert exercise.endswith(
        "<details>\n<summary>Solution to Exercise 1.1</summary>\n\n"
        "The prose of the solution, then its code.\n\n</details>"
    )
    assert cells[2][1] == "answer = 42"
    assert cells[3][1] == (
        "<details>\n<summary>Solution to Exercise 1.1, continued</summary>\n\nMore of the solution.\n\n</details>"
    )
    assert cells[4][1] == "print(answer)"
    rest = cells[5][1]
    assert "![A picture](https://raw.githubusercontent.com/org/repo/abc/img/picture.png)" in rest
    assert "[draw a digit there](https://example.org/book/book/one.html#a-section)" in rest
    assert "See [Exercise 1.1](https://example.org/book/book/one.html#ex-one)" in rest
    assert "[the other chapter](https://example.org/book/book/two.html#the-section-of-two)" in rest
    assert "[this one](https://example.org/book/book/one.html#a-section)" in rest
    assert "[the licence](https://github.com/org/repo/blob/abc/LICENSE)" in rest
    assert "```python\n:::{not-a-directive}\n```" in rest, "a plain code fence is kept as it is"


def test_values_come_from_a_reference_notebook_or_a_builds_glue_file(tmp_path: Path):
    reference = nbformat.read(REPO / "tests" / "notebooks" / "04_linear_regression.ipynb", as_version=4)
    from_reference = rn.glue_of_notebook(reference)
    assert set(from_reference) == {"fitted_slope", "fitted_intercept", "gradient_agreement", "update_agreement"}
    assert all(set(bundle) == {"text/plain"} for bundle in from_reference.values())
    # what myst-nb writes beside the executed notebook: the outputs, their MIME prefix gone
    outputs = {
        name: {"output_type": "display_data", "metadata": {"scrapbook": {"name": name}}, "data": bundle}
        for name, bundle in from_reference.items()
    }
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "04_linear_regression.glue.json").write_text(json.dumps(outputs), encoding="utf-8")
    assert rn.glue_of_build(tmp_path, "book/04_linear_regression") == from_reference
    assert rn.glue_of_build(tmp_path, "book/01_tensors") == {}


def test_a_missing_value_names_the_chapter_and_the_value():
    with pytest.raises(KeyError, match="book/04_linear_regression shows the glued value 'fitted_slope'"):
        rn.reader_notebook(BOOK, "book/04_linear_regression", REF, {})


def test_the_html_build_writes_the_reader_notebooks_where_the_download_button_points(tmp_path: Path):
    executed = tmp_path / "jupyter_execute"
    for page in CHAPTERS:
        values = with_placeholders(page, colab.glued_values(page, "references", REPO))
        outputs = {name: {"output_type": "display_data", "data": bundle} for name, bundle in values.items()}
        (executed / page).parent.mkdir(parents=True, exist_ok=True)
        if outputs:
            (executed / f"{page}.glue.json").write_text(json.dumps(outputs), encoding="utf-8")
    app = SimpleNamespace(builder=SimpleNamespace(format="html"), srcdir=str(REPO), outdir=str(tmp_path / "html"))
    colab.write_download_notebooks(app, None)
    for page in CHAPTERS:
        notebook = nbformat.read(tmp_path / "html" / "_sources" / f"{page}.ipynb", as_version=4)
        assert notebook.cells[0].source.startswith("# Run this cell first")
        assert not [cell for cell in notebook.cells if "remove-cell" in cell.metadata.get("tags", [])]
