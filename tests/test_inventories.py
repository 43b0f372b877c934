"""The inventories that API names link with (book/_inventories): right addresses, and every name the book uses.

The addresses are generated from the installed packages against each project's URL scheme
(book/_ext/make_inventories.py) until the scheduled CI job replaces them with the published ones;
KNOWN holds addresses copied from the projects' documentation, which both must give.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import io
import sys
import typing
import zlib
from pathlib import Path

import jupytext
import pytest

import mnist_tutorial
from tests.book_extensions import load_extension

REPO = Path(__file__).resolve().parent.parent


make_inventories = load_extension("make_inventories")
api_links = load_extension("api_links")

#: Addresses as the projects' documentation has them (copied from their pages).
KNOWN = {
    "len": "https://docs.python.org/3/library/functions.html#len",
    "list": "https://docs.python.org/3/library/stdtypes.html#list",
    "str.join": "https://docs.python.org/3/library/stdtypes.html#str.join",
    "ValueError": "https://docs.python.org/3/library/exceptions.html#ValueError",
    "pathlib.Path": "https://docs.python.org/3/library/pathlib.html#pathlib.Path",
    "dataclasses.dataclass": "https://docs.python.org/3/library/dataclasses.html#dataclasses.dataclass",
    "torch": "https://docs.pytorch.org/docs/stable/torch.html#module-torch",
    "torch.tensor": "https://docs.pytorch.org/docs/stable/generated/torch.tensor.html#torch.tensor",
    "torch.Tensor": "https://docs.pytorch.org/docs/stable/tensors.html#torch.Tensor",
    "torch.Tensor.backward": "https://docs.pytorch.org/docs/stable/generated/torch.Tensor.backward.html#torch.Tensor.backward",
    "torch.nn.Linear": "https://docs.pytorch.org/docs/stable/generated/torch.nn.Linear.html#torch.nn.Linear",
    "torch.nn.Module.parameters": "https://docs.pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.parameters",
    "torch.nn.functional.cross_entropy": "https://docs.pytorch.org/docs/stable/generated/torch.nn.functional.cross_entropy.html#torch.nn.functional.cross_entropy",
    "torch.no_grad": "https://docs.pytorch.org/docs/stable/generated/torch.no_grad.html#torch.no_grad",
    "torch.optim.SGD": "https://docs.pytorch.org/docs/stable/generated/torch.optim.SGD.html#torch.optim.SGD",
    "torch.utils.data.DataLoader": "https://docs.pytorch.org/docs/stable/data.html#torch.utils.data.DataLoader",
    "torchvision.datasets.MNIST": "https://docs.pytorch.org/vision/stable/generated/torchvision.datasets.MNIST.html#torchvision.datasets.MNIST",
    "torchvision.transforms.ToTensor": "https://docs.pytorch.org/vision/stable/generated/torchvision.transforms.ToTensor.html#torchvision.transforms.ToTensor",
    "numpy.mean": "https://numpy.org/doc/stable/reference/generated/numpy.mean.html#numpy.mean",
    "numpy.ndarray.reshape": "https://numpy.org/doc/stable/reference/generated/numpy.ndarray.reshape.html#numpy.ndarray.reshape",
    "pandas.DataFrame": "https://pandas.pydata.org/docs/reference/api/pandas.DataFrame.html#pandas.DataFrame",
    "pandas.DataFrame.groupby": "https://pandas.pydata.org/docs/reference/api/pandas.DataFrame.groupby.html#pandas.DataFrame.groupby",
    "matplotlib.pyplot.subplots": "https://matplotlib.org/stable/api/_as_gen/matplotlib.pyplot.subplots.html#matplotlib.pyplot.subplots",
    "matplotlib.axes.Axes.imshow": "https://matplotlib.org/stable/api/_as_gen/matplotlib.axes.Axes.imshow.html#matplotlib.axes.Axes.imshow",
}


def committed() -> dict[str, str]:
    """Every name of the committed inventories with its address."""
    found: dict[str, str] = {}
    for project in make_inventories.PROJECTS.values():
        path = make_inventories.TARGET / f"{project.name}.inv"
        for items in make_inventories.read(path, project.url).values():
            for name, item in items.items():
                assert found.get(name, item[2]) == item[2], f"{name} has two addresses"
                found[name] = item[2]
    return found


@pytest.fixture(scope="module")
def inventory() -> dict[str, str]:
    return committed()


def test_the_known_names_have_their_documented_address_in_the_committed_inventories(inventory):
    wrong = {name: inventory.get(name) for name, url in KNOWN.items() if inventory.get(name) != url}
    assert not wrong, f"addresses that differ from the documentation's: {wrong}"


@pytest.mark.parametrize("project", ["python", "torch", "torchvision", "numpy", "pandas", "matplotlib"])
def test_the_url_schemes_give_the_documented_addresses(project):
    generated = {name: base for name, _, base in make_inventories.generated(project)}
    base = make_inventories.PROJECTS[project].url
    sample = {name: url for name, url in KNOWN.items() if url.startswith(base)}
    assert sample, f"no known address of {project}"
    for name, url in sample.items():
        where = generated[name]
        assert base + (where[:-1] + name if where.endswith("$") else where) == url


def test_classes_are_also_found_under_the_name_python_gives_them(inventory):
    """sphinx-codeautolink and autodoc's bases look classes and their members up under that name."""
    assert inventory["torch.nn.modules.linear.Linear"] == KNOWN["torch.nn.Linear"]
    assert inventory["torch.nn.modules.module.Module.parameters"] == KNOWN["torch.nn.Module.parameters"]


def test_the_inventories_are_small(inventory):
    sizes = {path.name: path.stat().st_size for path in make_inventories.TARGET.glob("*.inv")}
    assert len(sizes) == len(make_inventories.PROJECTS)
    assert sum(sizes.values()) < 300_000, sizes


def chapters_code() -> list[str]:
    cells = []
    for path in sorted((REPO / "book").glob("*.md")):
        notebook = jupytext.read(path)
        if "kernelspec" in notebook.metadata:
            for cell in notebook.cells:
                if cell.cell_type == "code":
                    lines = cell.source.splitlines()
                    cells.append("\n".join(line for line in lines if not line.lstrip().startswith(("%", "!"))))
    return cells


def used_names() -> set[str]:
    """The dotted names the chapters' code reaches through the aliases and `from ... import` (six projects)."""
    projects = set(make_inventories.PROJECTS) - {"python"}
    found: set[str] = set()
    for source in chapters_code():
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in projects:
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Attribute):
                parts = []
                value: ast.expr = node
                while isinstance(value, ast.Attribute):
                    parts.append(value.attr)
                    value = value.value
                if isinstance(value, ast.Name) and value.id in api_links.ALIASES:
                    full = api_links.ALIASES[value.id]
                    if full.split(".")[0] in projects:
                        found.add(".".join([full, *reversed(parts)]))
    return found


def documented(name: str) -> bool:
    """Whether the inventories are meant to hold `name`: a public module, class or function, not a constant."""
    if any(part.startswith("_") for part in name.split(".")):
        return False  # private: PyTorch documents no torch._inductor
    try:
        value = make_inventories.find(name)
    except (LookupError, AttributeError):
        return False
    return make_inventories.role(value) is not None


def test_the_inventories_hold_the_names_the_chapters_use(inventory):
    names = {name for name in used_names() if documented(name)}
    assert {"torch.nn.Linear", "torch.nn.functional.cross_entropy", "matplotlib.pyplot.subplots"} <= names
    missing = sorted(names - set(inventory))
    assert not missing, f"used by the chapters, missing from book/_inventories: {missing}"


def annotation_classes(hint: object) -> set[type]:
    found = {hint} if inspect.isclass(hint) else set()
    for argument in typing.get_args(hint):
        found |= annotation_classes(argument)
    return found


def test_the_inventories_hold_the_types_and_bases_of_the_api_page(inventory):
    projects = set(make_inventories.PROJECTS)
    modules = {name: importlib.import_module(name) for name in projects - {"python"}}
    classes: set[type] = set()
    for name in mnist_tutorial.__all__:
        value = getattr(mnist_tutorial, name)
        if inspect.isclass(value):
            classes.update(value.__bases__)
            value = value.__init__
        if inspect.isfunction(value):
            # names the package imports only for type checkers are looked up among the projects' modules
            namespace = {**modules, **vars(sys.modules[value.__module__])}
            for hint in typing.get_type_hints(value, globalns=namespace).values():
                classes |= annotation_classes(hint)
    wanted = {
        f"{cls.__module__}.{cls.__qualname__}" if cls.__module__ != "builtins" else cls.__qualname__
        for cls in classes
        if cls.__module__.split(".")[0] in projects or cls.__module__ == "builtins"
    }
    assert {"torch.Tensor", "torch.nn.modules.module.Module", "int"} <= wanted
    missing = sorted(wanted - set(inventory) - {"NoneType"})
    assert not missing, f"types on the API page missing from book/_inventories: {missing}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nn.Linear", "torch.nn.Linear"),
        ("torch.no_grad()", "torch.no_grad"),
        ("F.cross_entropy(logits, y)", "torch.nn.functional.cross_entropy"),
        ("mt.evaluate", "mnist_tutorial.evaluate"),
        ("ConvClassifier", "mnist_tutorial.ConvClassifier"),
        ("loss.backward()", "torch.Tensor.backward"),  # as the page's code resolved it
        ("backward()", "torch.Tensor.backward"),  # the only name of the page's code that ends so
        ("DataLoader", "torch.utils.data.DataLoader"),
        ("model", None),  # the code's `model` is an nn.Sequential: not what the prose names
        ("zero_grad()", None),  # two of the page's names end so
        ("x + 1", None),
        ("1e-3", None),
        ("nn.NoSuchLayer", None),
        ("w", None),
    ],
)
def test_inline_code_links_only_to_the_name_it_writes(text, expected):
    known = dict.fromkeys(
        [
            "torch.nn.Linear",
            "torch.no_grad",
            "torch.nn.functional.cross_entropy",
            "torch.Tensor.backward",
            "torch.utils.data.DataLoader",
            "torch.nn.Sequential",
            "torch.optim.Optimizer.zero_grad",
            "torch.nn.Module.zero_grad",
            "mnist_tutorial.evaluate",
            "mnist_tutorial.ConvClassifier",
        ],
        "url",
    )
    code = {
        "loss.backward": {"torch.Tensor.backward"},
        "DataLoader": {"torch.utils.data.DataLoader"},
        "model": {"torch.nn.Sequential"},
        "optimizer.zero_grad": {"torch.optim.Optimizer.zero_grad"},
        "model.zero_grad": {"torch.nn.Module.zero_grad"},
    }
    assert api_links.target(text, known, code) == expected


def test_the_published_inventories_are_read_for_the_same_names(monkeypatch):
    """The scheduled job's path, offline: a "published" objects.inv with an extra name and a moved page."""
    base = make_inventories.PROJECTS["pandas"].url
    entries = make_inventories.generated("pandas")
    moved = [(n, k, "moved.html#$" if n == "pandas.DataFrame" else w) for n, k, w in entries]
    published = [*moved, ("pandas.not_selected", "py:function", "elsewhere.html#$")]

    class Response(io.BytesIO):
        def __enter__(self) -> Response:
            return self

        def __exit__(self, *args: object) -> None:
            self.close()

    def fake_urlopen(url: str, timeout: float) -> Response:
        assert url == base + "objects.inv"
        header = "# Sphinx inventory version 2\n# Project: pandas\n# Version: 1\n"
        header += "# The remainder of this file is compressed using zlib.\n"
        lines = "".join(f"{n} {k} 1 {w} -\n" for n, k, w in published)
        return Response(header.encode() + zlib.compress(lines.encode()))

    monkeypatch.setattr(make_inventories.urllib.request, "urlopen", fake_urlopen)
    found = {name: where for name, _, where in make_inventories.published("pandas")}
    assert "pandas.not_selected" not in found
    assert found["pandas.DataFrame"] == "moved.html#pandas.DataFrame"
    assert found["pandas.DataFrame.groupby"] == KNOWN["pandas.DataFrame.groupby"].removeprefix(base)
