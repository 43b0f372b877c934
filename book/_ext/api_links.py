"""Link the API names that the prose writes as inline code (```nn.Linear```) to their documentation.

sphinx-codeautolink links the names in the code cells; this extension links inline code in the text
that is a name, with no edit of the chapters, when

- it names, with the chapters' aliases (:data:`ALIASES`), an object of the intersphinx inventories
  (``book/_inventories``) or of the API page: ```F.cross_entropy```, ```mt.evaluate```;
- or the page's code has the same name, which sphinx-codeautolink resolved: ```loss.backward()```
  where a cell calls ``loss.backward()``;
- or, written alone (```DataLoader```, ```backward()```), it is the last part of exactly one name that
  the page's code resolved, or a public name of the package (```ConvClassifier```).

A trailing call, ```torch.no_grad()``` or ```F.cross_entropy(logits, y)```, is linked as its name.
Inline code that is no name (```x + 1```, ```1e-3```), names nothing known, or lies in a heading or
a link, stays as it is.
"""

from __future__ import annotations

import re
from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.ext.intersphinx import InventoryAdapter
from sphinx_codeautolink.extension import resolve
from sphinx_codeautolink.extension.block import CodeBlockAnalyser

#: The names the chapters import modules as.
ALIASES = {
    "torch": "torch",
    "nn": "torch.nn",
    "F": "torch.nn.functional",
    "optim": "torch.optim",
    "torchvision": "torchvision",
    "np": "numpy",
    "numpy": "numpy",
    "pd": "pandas",
    "pandas": "pandas",
    "plt": "matplotlib.pyplot",
    "matplotlib": "matplotlib",
    "mt": "mnist_tutorial",
    "mnist_tutorial": "mnist_tutorial",
}

#: A dotted name, perhaps called: ``a.b``, ``a.b()``, ``a.b(x, y)``.
NAME = re.compile(r"^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(?:\([^()]*\))?$")

#: Where inline code is left alone.
SKIP = (nodes.reference, nodes.title, nodes.literal_block, addnodes.desc_signature, addnodes.pending_xref)


def external_names(app: Sphinx) -> dict[str, str]:
    """The Python objects of the intersphinx inventories, each with its address."""
    found: dict[str, str] = {}
    for kind, items in InventoryAdapter(app.env).main_inventory.items():
        if kind.startswith("py:"):
            for name, item in items.items():
                found.setdefault(name, item[2])
    return found


def code_names(app: Sphinx, docname: str) -> dict[str, set[str]]:
    """What sphinx-codeautolink resolved the names of the page's code to, by the name as the code writes it."""
    found: dict[str, set[str]] = {}
    for transform in getattr(app.env, "sphinx_codeautolink_transforms", {}).get(docname, []):
        for name in transform.names:
            if name.resolved_location:
                found.setdefault(name.code_str, set()).add(name.resolved_location)
    return found


def target(text: str, known: dict[str, str], code: dict[str, set[str]]) -> str | None:
    """The full name that inline code `text` stands for, if known; None otherwise."""
    match = NAME.match(text)
    if not match:
        return None
    name = match.group(1)
    head, _, rest = name.partition(".")
    if head in ALIASES:
        full = ALIASES[head] + (f".{rest}" if rest else "")
        if full in known:
            return full
    if "." not in name and f"mnist_tutorial.{name}" in known:
        return f"mnist_tutorial.{name}"
    if len(code.get(name, ())) == 1:
        (full,) = code[name]
        if full.rsplit(".", 1)[-1] == name.rsplit(".", 1)[-1] and full in known:
            return full
    if "." not in name:
        ending = {full for fulls in code.values() for full in fulls if full.rsplit(".", 1)[-1] == name}
        if len(ending) == 1 and (full := ending.pop()) in known:
            return full
    return None


def link_prose_names(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Turn inline code that names a documented object into a link to its documentation."""
    if app.builder.format != "html":
        return
    external = external_names(app)
    local = {
        name: f"{app.builder.get_relative_uri(docname, entry.docname)}#{entry.node_id}"
        for name, entry in app.env.get_domain("py").objects.items()
        if name.startswith("mnist_tutorial.")
    }
    known = external | local
    code = code_names(app, docname)
    for literal in list(doctree.findall(nodes.literal)):
        if any(isinstance(parent, SKIP) for parent in _ancestors(literal)):
            continue
        full = target(literal.astext(), known, code)
        if full is None:
            continue
        reference = nodes.reference("", "", refuri=known[full], reftitle=full, internal=full in local)
        reference["classes"].append("api-link")
        literal.replace_self(reference)
        reference.append(literal)


def _ancestors(node: nodes.Node) -> list[nodes.Node]:
    found = []
    while node.parent is not None:
        node = node.parent
        found.append(node)
    return found


_depart_section = CodeBlockAnalyser.depart_section


def _depart_titled_section(self: CodeBlockAnalyser, node: nodes.section) -> None:
    """Leave a section as sphinx-codeautolink does, which pops the title it pushed: only if it has one.

    sphinx-exercise puts each exercise's and solution's body in a section without a title, and
    sphinx-codeautolink 0.20 then pops from an empty list ("IndexError: pop from empty list").
    """
    if node.children and isinstance(node.children[0], nodes.title):
        _depart_section(self, node)


_get_type_hints = resolve.get_type_hints


def _type_hints_or_none(value: object) -> dict[str, Any]:
    """The type hints sphinx-codeautolink follows, or none where they cannot be evaluated.

    sphinx-codeautolink 0.20 catches only ``NameError`` and ``TypeError`` from ``get_type_hints``;
    Pillow's ``ImageDraw.Draw`` has hints that name ``PIL._imaging._Outline``, which the compiled module
    lacks, and the ``AttributeError`` stopped the build. Such a name is left unlinked instead.
    """
    try:
        return _get_type_hints(value)
    except AttributeError:
        return {}


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the transform, and let sphinx-codeautolink read sphinx-exercise's sections and Pillow's hints."""
    CodeBlockAnalyser.depart_section = _depart_titled_section
    resolve.get_type_hints = _type_hints_or_none
    app.connect("doctree-resolved", link_prose_names)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
