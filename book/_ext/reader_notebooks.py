"""Notebooks made for readers: the book's MyST chapters as plain Jupyter notebooks for Colab and JupyterLab.

A chapter is read by Jupytext, then:

- the hidden check cells (tagged ``remove-cell``) go, and so do ``from myst_nb import glue`` and every
  statement that calls ``glue(...)`` (a loop or block that only glues goes whole): a reader's run on other
  hardware must not fail on the book's tolerances, nor need myst-nb;
- each ``{glue:text}`` / ``{glue:md}`` / ``{glue}`` role becomes the value the book's run glued, formatted as
  the role asks (as myst-nb formats it); numbers in bold, and a note under the title says they are the book's;
- exercises become a bold line numbered as the book numbers them ("**Exercise 7.3: When to stop**"), each
  solution's prose is folded in ``<details>`` with its code cells kept, runnable, after it; images and
  figures become Markdown images from the repository at the notebook's commit; admonitions become quotes;
  links to chapters, ``{ref}``, ``{numref}`` and ``{doc}`` become links to the published pages; directives a
  notebook cannot show (the drawing pad, ``{eval-rst}``) become a sentence with a link to the page;
- a first cell installs the package at the notebook's commit and fetches and verifies MNIST.

book/_ext/colab.py writes these notebooks for the branch Colab opens and, during the HTML build, where the
page's ".ipynb" download button points. This module needs only Jupytext, nbformat and PyYAML.
"""

from __future__ import annotations

import ast
import json
import posixpath
import re
import unicodedata
from ast import literal_eval
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jupytext
import nbformat
import yaml

#: A glued value's MIME bundle (``text/plain``, ``text/markdown``), by name.
Glued = Mapping[str, Mapping[str, str]]

BOLD_NOTE = (
    "> Numbers in **bold** are those of the book's own run, as on [the chapter's page]({page});"
    " yours may differ a little."
)
SETUP = """\
# Run this cell first: it installs the book's package, mnist_tutorial, from GitHub at the commit this
# notebook was made from (Colab keeps its own PyTorch); then it downloads MNIST and verifies
# its checksums. The chapter as a web page:
# {page}
%pip install --quiet "mnist_tutorial @ git+{repository}@{ref}"
import sys

!{{sys.executable}} -m mnist_tutorial data"""

#: What a notebook says in place of a directive it cannot show, with a link to the page.
ON_THE_PAGE = {
    "drawpad": "The book's page has a drawing pad here: [draw a digit there]({url}) and watch the model read it.",
    "eval-rst": "The book's page shows the package's documentation here, from its docstrings: [read it there]({url}).",
}
ON_THE_PAGE_DEFAULT = "The book's page shows more here than a notebook can: [see it there]({url})."
ADMONITIONS = {
    "note", "tip", "hint", "important", "warning", "caution", "attention", "danger", "error", "seealso", "admonition",
}  # fmt: skip
CODE_DIRECTIVES = {"code", "code-block", "sourcecode"}

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|:{3,})[ \t]*(?P<info>.*?)[ \t]*$")
DIRECTIVE = re.compile(r"^\{(?P<name>[\w:.-]+)\}[ \t]*(?P<argument>.*)$")
OPTION = re.compile(r"^:(?P<key>[\w-]+):[ \t]*(?P<value>.*)$")
HEADING = re.compile(r"^(?P<level>#{1,6})[ \t]+(?P<title>.+?)[ \t]*#*[ \t]*$")
TARGET = re.compile(r"^\((?P<label>[^()\s]+)\)=[ \t]*$")
GLUE_ROLE = re.compile(r"\{glue(?::(?P<kind>[a-z]+))?\}`(?P<content>[^`]+)`")
XREF_ROLE = re.compile(r"\{(?P<role>ref|numref|doc|download)\}`(?P<content>[^`]+)`")
LINK = re.compile(
    r"(?P<bang>!?)\[(?P<text>(?:[^\[\]]|\[[^\[\]]*\])*)\]\((?P<target>[^()\s]+)(?P<title>[ \t]+\"[^\"]*\")?\)"
)
EXPLICIT_TARGET = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.DOTALL)
MARKDOWN_FORMATS = {"commonmark", "gfm", "myst"}


def make_id(text: str) -> str:
    """The HTML id docutils gives a section or a target named `text` (``docutils.nodes.make_id``)."""
    ascii_text = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"^[-0-9]+|-+$", "", re.sub(r"[^a-z0-9]+", "-", " ".join(ascii_text.split())))


def myst_slug(title: str) -> str:
    """The anchor MyST gives a heading (``myst_heading_anchors``), which ``[text](page.md#anchor)`` links name."""
    return re.sub(r"[^\w\u4e00-\u9fff\- ]", "", title.lower().replace(" ", "-"))


def plain_title(title: str) -> str:
    """A heading's text without its inline markup: code, emphasis, links and roles."""
    title = re.sub(r"\{[\w:-]+\}`([^`]*)`", r"\1", title)
    title = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", title)
    return title.replace("`", "").replace("**", "").replace("*", "").strip()


def format_glued_text(plain: str, spec: str) -> str:
    """A glued ``text/plain`` value formatted by `spec`, as myst-nb's ``{glue:text}`name:spec``` formats it."""
    try:
        value: Any = literal_eval(plain)
    except (SyntaxError, ValueError):
        value = plain
    if spec == "":
        return str(value)
    kind = spec[-1]
    if kind == "s":
        value = str(value)
    elif kind in "bcdoxX":
        value = int(value)
    elif kind in "eEfFgGn%":
        value = float(value)
    return format(value, spec)


# ---------------------------------------------------------------------------------------------- the book


@dataclass(frozen=True)
class Target:
    """Where a label points: a page, an anchor on it, and the text a reference to it shows."""

    docname: str
    anchor: str
    text: str


@dataclass(frozen=True)
class Book:
    """What the conversion needs to know of the whole book: its addresses, chapter numbers and labels."""

    root: Path
    baseurl: str
    repository: str
    numbers: Mapping[str, int]
    labels: Mapping[str, Target]
    titles: Mapping[str, str]
    anchors: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @classmethod
    def read(cls, root: Path, docnames: Sequence[str]) -> Book:
        """The book at `root`, from ``_config.yml``, ``_toc.yml`` and the MyST files `docnames`."""
        config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
        toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
        multitoc = bool(config.get("html", {}).get("use_multitoc_numbering", True))
        labels: dict[str, Target] = {}
        titles: dict[str, str] = {}
        anchors: dict[str, dict[str, str]] = {}
        numbers = chapter_numbers(toc, multitoc)
        for docname in docnames:
            text = (root / f"{docname}.md").read_text(encoding="utf-8")
            titles[docname], anchors[docname], found = scan_labels(text, docname, numbers.get(docname))
            labels.update(found)
        return cls(
            root=root,
            baseurl=str(config["html"]["baseurl"]).rstrip("/") + "/",
            repository=str(config["repository"]["url"]).rstrip("/"),
            numbers=numbers,
            labels=labels,
            titles=titles,
            anchors=anchors,
        )

    def page(self, docname: str, anchor: str = "") -> str:
        """The published address of a page, and of an anchor on it."""
        return f"{self.baseurl}{docname}.html" + (f"#{anchor}" if anchor else "")

    def raw(self, path: str, ref: str) -> str:
        """The address of a file of the repository at `ref`, as GitHub serves its bytes."""
        org_repo = self.repository.removeprefix("https://github.com/")
        return f"https://raw.githubusercontent.com/{org_repo}/{ref}/{path}"

    def blob(self, path: str, ref: str) -> str:
        """The address of a file of the repository at `ref`, as GitHub shows it."""
        return f"{self.repository}/blob/{ref}/{path}"


def chapter_numbers(toc: Mapping[str, Any], multitoc: bool = True) -> dict[str, int]:
    """The chapter number of each file of the numbered parts of a Jupyter Book ``_toc.yml``.

    With ``use_multitoc_numbering`` (Jupyter Book's default), numbers run on from one numbered part to the next.
    """
    numbers: dict[str, int] = {}
    count = 0
    for part in toc.get("parts", []):
        if not multitoc:
            count = 0
        if not part.get("numbered"):
            continue
        for chapter in part.get("chapters", []):
            if "file" in chapter:
                count += 1
                numbers[str(chapter["file"])] = count
    return numbers


def scan_labels(text: str, docname: str, number: int | None) -> tuple[str, dict[str, str], dict[str, Target]]:
    """A MyST file's title, the HTML id of each heading by its MyST anchor, and its labels.

    Labels are the exercises' (``:label:``, numbered in order as sphinx-exercise numbers them) and the
    ``(label)=`` targets, which point at the heading after them.
    """
    title, anchors, labels = "", {}, {}
    pending: list[str] = []
    exercises = 0
    for kind, block in blocks(text.split("\n")):
        if kind == "text":
            for line in block:
                if match := TARGET.match(line):
                    pending.append(match["label"])
                elif match := HEADING.match(line):
                    heading = plain_title(match["title"])
                    title = title or heading
                    anchors[myst_slug(heading)] = make_id(heading)
                    labels.update({label: Target(docname, make_id(heading), heading) for label in pending})
                    pending = []
        elif kind == "directive" and block.name == "exercise" and "nonumber" not in block.options:
            exercises += 1
            if "label" in block.options:
                name = exercise_name(number, exercises)
                labels[block.options["label"]] = Target(docname, block.options["label"], name)
    return title, anchors, labels


def exercise_name(chapter: int | None, index: int) -> str:
    """An exercise's name as the book prints it: "Exercise 7.3" in chapter 7, "Exercise 3" outside chapters."""
    return f"Exercise {chapter}.{index}" if chapter is not None else f"Exercise {index}"


# ----------------------------------------------------------------------------------------- glued values


def glue_of_notebook(notebook: nbformat.NotebookNode) -> dict[str, dict[str, str]]:
    """The values an executed notebook glued, by name: its outputs tagged ``scrapbook``, without the MIME prefix."""
    found: dict[str, dict[str, str]] = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            scrapbook = output.get("metadata", {}).get("scrapbook")
            if scrapbook:
                prefix = len(scrapbook.get("mime_prefix", ""))
                found[scrapbook["name"]] = {mime[prefix:]: value for mime, value in output["data"].items()}
    return found


def glue_of_build(folder: Path, docname: str) -> dict[str, dict[str, str]]:
    """The values a myst-nb build glued in `docname`, from ``<docname>.glue.json`` in its ``jupyter_execute``.

    myst-nb writes that file beside the executed notebook only where the chapter glues something.
    """
    path = folder / f"{docname}.glue.json"
    if not path.is_file():
        return {}
    return {name: output["data"] for name, output in json.loads(path.read_text(encoding="utf-8")).items()}


def glued_names(text: str) -> list[str]:
    """The names a MyST chapter's glue roles show, in order."""
    return [glue_key(match["kind"], match["content"]) for match in GLUE_ROLE.finditer(text)]


def glue_key(kind: str | None, content: str) -> str:
    """The name in a glue role's content (``name:format`` for ``glue:text``, ``name:commonmark`` for ``glue:md``)."""
    if "::" in content:
        raise ValueError(f"{content!r}: glue from another document is not supported")
    name, _, suffix = content.rpartition(":")
    if kind == "text" and name:
        return name
    if kind == "md" and name and suffix in MARKDOWN_FORMATS:
        return name
    return content


# ------------------------------------------------------------------------------------------ glue in code


def calls_glue(node: ast.expr) -> bool:
    """Whether an expression is a call of ``glue`` (or ``something.glue``)."""
    if not isinstance(node, ast.Call):
        return False
    function = node.func
    return (isinstance(function, ast.Name) and function.id == "glue") or (
        isinstance(function, ast.Attribute) and function.attr == "glue"
    )


def only_glues(statement: ast.stmt) -> bool:
    """Whether a statement does nothing but glue: an import of myst_nb, a ``glue(...)`` call, a block of them."""
    if isinstance(statement, ast.ImportFrom):
        return (statement.module or "").split(".")[0] == "myst_nb"
    if isinstance(statement, ast.Import):
        return all(alias.name.split(".")[0] == "myst_nb" for alias in statement.names)
    if isinstance(statement, ast.Expr):
        return calls_glue(statement.value)
    if isinstance(statement, ast.For | ast.AsyncFor | ast.While | ast.If | ast.With | ast.AsyncWith):
        return all(map(only_glues, statement.body)) and all(map(only_glues, getattr(statement, "orelse", [])))
    return False


def glue_lines(body: Sequence[ast.stmt]) -> tuple[set[int], dict[int, int]]:
    """The lines (1-based) of the statements in `body` that only glue, and blocks left empty (line: indent)."""
    drop: set[int] = set()
    emptied: dict[int, int] = {}
    for statement in body:
        if only_glues(statement):
            drop.update(range(statement.lineno, statement.end_lineno + 1))
            continue
        for name in ("body", "orelse", "finalbody"):
            block = getattr(statement, name, None)
            if block:
                inner, empty = glue_lines(block)
                drop |= inner
                emptied |= empty
                if all(map(only_glues, block)):
                    emptied[block[0].lineno] = block[0].col_offset
        for handler in getattr(statement, "handlers", []):
            inner, empty = glue_lines(handler.body)
            drop |= inner
            emptied |= empty
    return drop, emptied


def without_glue(source: str) -> str:
    """A code cell's source without myst_nb's import and the statements that only glue.

    A comment right above a removed statement (no blank line between) goes with it; a block left empty
    becomes ``pass``.
    """
    if "glue" not in source and "myst_nb" not in source:
        return source
    drop, emptied = glue_lines(ast.parse(source).body)
    lines = source.split("\n")
    for number in sorted(drop):
        above = number - 1
        while above >= 1 and above not in drop and lines[above - 1].strip().startswith("#"):
            drop.add(above)
            above -= 1
    kept = []
    for number, line in enumerate(lines, start=1):
        if number in emptied:
            kept.append(" " * emptied[number] + "pass")
        if number not in drop:
            kept.append(line)
    result = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip("\n")
    ast.parse(result)
    return result


# ---------------------------------------------------------------------------------------- MyST blocks


@dataclass
class Directive:
    """A fenced MyST directive: ``:::{name} argument``, its ``:key: value`` options and its body lines."""

    name: str
    argument: str
    options: dict[str, str]
    body: list[str]


def blocks(lines: Sequence[str]) -> Iterator[tuple[str, Any]]:
    """Split Markdown lines into ("text", lines), ("fence", lines) of plain code fences, and ("directive", Directive).

    A fence closes on a line of at least as many of its characters; nested directives use shorter fences.
    """
    text: list[str] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening or (opening["fence"][0] == ":" and not DIRECTIVE.match(opening["info"])):
            text.append(lines[index])
            index += 1
            continue
        fence = opening["fence"]
        closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        end = index + 1
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        if text:
            yield "text", text
            text = []
        directive = DIRECTIVE.match(opening["info"])
        if directive is None:
            yield "fence", lines[index : end + 1]
        else:
            body = list(lines[index + 1 : end])
            options: dict[str, str] = {}
            while body and (option := OPTION.match(body[0])):
                options[option["key"]] = option["value"]
                body.pop(0)
            yield "directive", Directive(directive["name"], directive["argument"], options, body)
        index = end + 1
    if text:
        yield "text", text


# --------------------------------------------------------------------------------------- the converter


@dataclass
class Converter:
    """Turns one chapter's MyST Markdown cells into plain Markdown, cell by cell, in order.

    It keeps what spans cells: the exercise count, the solution being written (its prose may be cut by its
    code cells), and the last heading, whose anchor a sentence in place of a directive links to.
    """

    book: Book
    docname: str
    ref: str
    glued: Glued
    exercises: int = 0
    solution: str | None = None
    anchor: str = ""
    used: set[str] = field(default_factory=set)

    # ----------------------------------------------------------------- cells

    def markdown_cell(self, source: str) -> str:
        """One Markdown cell converted; a solution still open at its end is folded up to there."""
        parts: list[str] = []
        opened: int | None = None
        if self.solution is not None:
            opened = len(parts)
            parts.append(f"<details>\n<summary>Solution to {self.solution}, continued</summary>\n")
        for kind, block in blocks(source.split("\n")):
            if kind == "directive" and block.name == "solution-start":
                self.solution = self.label_text(block.argument.strip())
                opened = len(parts)
                parts.append(f"<details>\n<summary>Solution to {self.solution}</summary>\n")
            elif kind == "directive" and block.name == "solution-end":
                if opened is not None:
                    self.fold(parts, opened)
                opened, self.solution = None, None
            else:
                parts.append(self.render(kind, block))
        if opened is not None:
            self.fold(parts, opened)
        return re.sub(r"\n{3,}", "\n\n", "\n".join(parts)).strip("\n")

    def fold(self, parts: list[str], opened: int) -> None:
        """Close the ``<details>`` opened at ``parts[opened]``; with nothing in it, say in bold what follows."""
        if "".join(parts[opened + 1 :]).strip():
            parts.append("\n</details>")
        elif "continued" in parts[opened]:
            del parts[opened:]
        else:
            del parts[opened:]
            parts.append(f"**Solution to {self.solution}** (the code below)")

    # ---------------------------------------------------------------- blocks

    def render(self, kind: str, block: Any) -> str:
        """A block of Markdown: text, a plain code fence (kept), or a directive."""
        if kind == "text":
            return self.text(block)
        if kind == "fence":
            return "\n".join(block)
        return self.directive(block)

    def text(self, lines: Sequence[str]) -> str:
        """Plain Markdown lines: targets dropped, headings noted, roles and links resolved."""
        kept = []
        for line in lines:
            if TARGET.match(line):
                continue
            if match := HEADING.match(line):
                self.anchor = make_id(plain_title(match["title"]))
            kept.append(line)
        return self.inline("\n".join(kept))

    def inline(self, text: str) -> str:
        """Glued values pasted, then cross-references and links pointed at the published pages."""
        text = GLUE_ROLE.sub(self.paste, text)
        text = XREF_ROLE.sub(self.xref, text)
        return LINK.sub(self.link, text)

    def body(self, lines: Sequence[str]) -> str:
        """A directive's body, converted as Markdown of its own."""
        return "\n".join(self.render(kind, block) for kind, block in blocks(lines)).strip("\n")

    def directive(self, directive: Directive) -> str:
        """A directive as plain Markdown."""
        name = directive.name
        if name == "exercise":
            return self.exercise(directive)
        if name == "solution":
            title = self.label_text(directive.argument.strip())
            return f"<details>\n<summary>Solution to {title}</summary>\n\n{self.body(directive.body)}\n\n</details>"
        if name in ("image", "figure"):
            return self.image(directive)
        if name in ADMONITIONS or name == "dropdown":
            return self.admonition(directive)
        if name in CODE_DIRECTIVES:
            return "\n".join([f"```{directive.argument}", *directive.body, "```"])
        if name == "math":
            return "\n".join(["$$", *directive.body, "$$"])
        sentence = ON_THE_PAGE.get(name, ON_THE_PAGE_DEFAULT)
        return "*" + sentence.format(url=self.book.page(self.docname, self.anchor)) + "*"

    def exercise(self, directive: Directive) -> str:
        """An exercise: its number and title in bold, then its text."""
        if "nonumber" in directive.options:
            name = "Exercise"
        else:
            self.exercises += 1
            name = exercise_name(self.book.numbers.get(self.docname), self.exercises)
        title = self.inline(directive.argument.strip())
        heading = f"**{name}: {title}**" if title else f"**{name}**"
        return f"{heading}\n\n{self.body(directive.body)}"

    def image(self, directive: Directive) -> str:
        """An image or a figure from the repository at the notebook's commit, its caption in italics below."""
        url = self.file_url(directive.argument.strip(), raw=True)
        image = f"![{directive.options.get('alt', '')}]({url})"
        caption = self.body(directive.body) if directive.name == "figure" else ""
        return f"{image}\n\n*{caption}*" if caption else image

    def admonition(self, directive: Directive) -> str:
        """An admonition as a quote under its title in bold (a dropdown as ``<details>``)."""
        title = directive.argument.strip() if directive.name in ("admonition", "dropdown") else ""
        title = title or directive.name.replace("seealso", "see also").capitalize()
        body = self.body(directive.body)
        if directive.name == "dropdown":
            return f"<details>\n<summary>{self.inline(title)}</summary>\n\n{body}\n\n</details>"
        quoted = "\n".join(f"> {line}" if line else ">" for line in body.split("\n"))
        return f"> **{self.inline(title)}**\n>\n{quoted}"

    # ----------------------------------------------------------------- roles

    def paste(self, match: re.Match[str]) -> str:
        """A glue role's value: text formatted as asked, in bold; Markdown as it is."""
        kind, content = match["kind"], match["content"]
        key = glue_key(kind, content)
        if key not in self.glued:
            raise KeyError(f"{self.docname} shows the glued value {key!r}, which its executed notebook lacks")
        self.used.add(key)
        data = self.glued[key]
        if kind == "md" or (kind is None and "text/markdown" in data):
            return self.inline(data["text/markdown"])
        spec = content.rpartition(":")[2] if kind == "text" and ":" in content else ("s" if kind == "text" else "")
        return f"**{format_glued_text(data['text/plain'], spec)}**"

    def xref(self, match: re.Match[str]) -> str:
        """A ``{ref}``, ``{numref}``, ``{doc}`` or ``{download}`` role as a Markdown link."""
        role, content = match["role"], match["content"].strip()
        explicit = EXPLICIT_TARGET.match(content)
        text, target = (explicit["text"], explicit["target"]) if explicit else ("", content)
        if role == "doc":
            docname = self.docname_of(target)
            return f"[{text or self.book.titles.get(docname, docname)}]({self.book.page(docname)})"
        if role == "download":
            return f"[{text or posixpath.basename(target)}]({self.file_url(target, raw=True)})"
        found = self.book.labels.get(target)
        if found is None:
            raise KeyError(f"{self.docname}: no label {target!r} in the book's chapters")
        text = (text or found.text).replace("{number}", found.text).replace("%s", found.text)
        return f"[{text}]({self.book.page(found.docname, found.anchor)})"

    def link(self, match: re.Match[str]) -> str:
        """A Markdown link or image whose target is inside the book, pointed at the published page or file."""
        target = match["target"]
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
            return match[0]
        path, _, anchor = target.partition("#")
        if match["bang"]:
            url = self.file_url(target, raw=True)
        elif not path or path.endswith((".md", ".ipynb")):
            docname = self.docname_of(path) if path else self.docname
            url = self.page_url(docname, anchor)
        else:
            url = self.file_url(target, raw=False)
        return f"{match['bang']}[{match['text']}]({url}{match['title'] or ''})"

    # --------------------------------------------------------------- targets

    def label_text(self, label: str) -> str:
        """What a label's reference shows: "Exercise 7.3" for an exercise's."""
        found = self.book.labels.get(label)
        return found.text if found else label

    def docname_of(self, path: str) -> str:
        """The document a path names, relative to this one (or to the book's root when it starts with /)."""
        base = "" if path.startswith("/") else posixpath.dirname(self.docname)
        joined = posixpath.normpath(posixpath.join(base, path.lstrip("/")))
        return re.sub(r"\.(md|ipynb)$", "", joined)

    def page_url(self, docname: str, anchor: str) -> str:
        """A page's address, its anchor made the page's own: a label's, or a heading's HTML id."""
        if anchor in self.book.labels:
            found = self.book.labels[anchor]
            return self.book.page(found.docname, found.anchor)
        return self.book.page(docname, self.book.anchors.get(docname, {}).get(anchor, anchor))

    def file_url(self, path: str, raw: bool) -> str:
        """A file of the repository, relative to this document, at the notebook's commit."""
        base = "" if path.startswith("/") else posixpath.dirname(self.docname)
        joined = posixpath.normpath(posixpath.join(base, path.lstrip("/")))
        return self.book.raw(joined, self.ref) if raw else self.book.blob(joined, self.ref)


# ------------------------------------------------------------------------------------------ notebooks


def setup_cell(book: Book, docname: str, ref: str) -> str:
    """The first cell: install the package at `ref` from the repository, then fetch and verify MNIST."""
    return SETUP.format(page=book.page(docname), repository=book.repository, ref=ref)


def reader_notebook(book: Book, docname: str, ref: str, glued: Glued) -> nbformat.NotebookNode:
    """The chapter `docname` as a notebook for readers (see the module's docstring); cells numbered."""
    notebook = jupytext.read(book.root / f"{docname}.md")
    converter = Converter(book, docname, ref, glued)
    cells = []
    for cell in notebook.cells:
        if "remove-cell" in cell.metadata.get("tags", []):
            continue
        if cell.cell_type == "code":
            cell.source = without_glue(cell.source)
        elif cell.cell_type == "markdown":
            cell.source = converter.markdown_cell(cell.source)
        if cell.source.strip():
            cells.append(cell)
    if converter.used:
        first = next(cell for cell in cells if cell.cell_type == "markdown")
        title, _, rest = first.source.partition("\n")
        note = BOLD_NOTE.format(page=book.page(docname))
        first.source = f"{title}\n\n{note}\n{rest}" if HEADING.match(title) else f"{note}\n\n{first.source}"
    cells.insert(0, nbformat.v4.new_code_cell(setup_cell(book, docname, ref)))
    for index, cell in enumerate(cells):
        cell.id = f"cell-{index}"
    notebook.cells = cells
    notebook.metadata.pop("jupytext", None)
    return notebook
