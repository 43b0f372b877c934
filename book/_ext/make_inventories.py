"""Make the intersphinx inventories that the book links API names with, ``book/_inventories/*.inv``.

``python book/_ext/make_inventories.py`` writes one inventory (Sphinx's ``objects.inv`` format,
version 2, zlib-compressed) for each project of :data:`PROJECTS`, so that the build links names
without internet. Each holds a selection of the project's API: the modules the book uses, their
public functions and classes, and the members of the classes the chapters call methods on
(:data:`MEMBERS_OF`), about what the chapters and the API page use, and no more: the published
inventories hold tens of thousands of entries (several MB together).

By default the addresses are generated from the installed packages against each project's URL
scheme (:func:`location`); ``--published`` takes the addresses, for the same names, from the
projects' published ``objects.inv`` instead (a scheduled CI job does, and reports what changed),
leaving out what they do not document. ``--list`` prints the committed inventories as text, one
``name role address`` per line, to compare two versions.

Classes are also entered under the name Python gives them (``torch.nn.modules.linear.Linear`` for
``torch.nn.Linear``), with their members, because sphinx-codeautolink and autodoc's base classes
look them up under that name.
"""

from __future__ import annotations

import argparse
import builtins
import importlib
import importlib.metadata
import inspect
import io
import posixpath
import re
import sys
import urllib.request
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sphinx.util.inventory import InventoryFile

REPO = Path(__file__).resolve().parents[2]
TARGET = REPO / "book" / "_inventories"


@dataclass(frozen=True)
class Project:
    """A documented project: its intersphinx name, distribution and documentation's address."""

    name: str
    distribution: str
    url: str


PROJECTS = {
    project.name: project
    for project in (
        Project("python", "", "https://docs.python.org/3/"),
        Project("torch", "torch", "https://docs.pytorch.org/docs/stable/"),
        Project("torchvision", "torchvision", "https://docs.pytorch.org/vision/stable/"),
        Project("numpy", "numpy", "https://numpy.org/doc/stable/"),
        Project("pandas", "pandas", "https://pandas.pydata.org/docs/"),
        Project("matplotlib", "matplotlib", "https://matplotlib.org/stable/"),
    )
}

#: The modules whose public functions and classes each inventory holds.
MODULES = {
    "torch": (
        "torch",
        "torch.nn",
        "torch.nn.functional",
        "torch.nn.init",
        "torch.optim",
        "torch.optim.lr_scheduler",
        "torch.utils.data",
        "torch.autograd",
        "torch.cuda",
        "torch.accelerator",
        "torch.linalg",
        "torch.onnx",
        "torch.nn.parallel",
        "torch.distributed",
        "torch.profiler",
        "torch.backends",
        "torch.backends.cudnn",
    ),
    "torchvision": (
        "torchvision",
        "torchvision.datasets",
        "torchvision.transforms",
        "torchvision.transforms.v2",
        "torchvision.transforms.functional",
        "torchvision.utils",
    ),
    "numpy": ("numpy", "numpy.random", "numpy.linalg"),
    "pandas": ("pandas",),
    "matplotlib": ("matplotlib", "matplotlib.pyplot", "matplotlib.ticker", "matplotlib.lines", "matplotlib.colors"),
}

#: The classes whose members the inventories hold too (methods the chapters call on their instances).
MEMBERS_OF = {
    "torch": (
        "torch.Tensor",
        "torch.nn.Module",
        "torch.optim.Optimizer",
        "torch.utils.data.Dataset",
        "torch.utils.data.DataLoader",
    ),
    "torchvision": (),
    "numpy": ("numpy.ndarray", "numpy.random.Generator"),
    "pandas": ("pandas.DataFrame", "pandas.Series"),
    "matplotlib": ("matplotlib.axes.Axes", "matplotlib.figure.Figure"),
    "python": ("str", "dict", "list", "tuple", "set", "pathlib.Path"),
}

#: Built-in classes that Python documents in "Built-in Types" rather than "Built-in Functions".
STDTYPES = {"bytes", "dict", "frozenset", "list", "memoryview", "range", "set", "str", "tuple"}


def stdlib_modules() -> list[str]:
    """The standard-library modules that the chapters' code and the package import."""
    import jupytext  # only this step needs it

    sources = [path.read_text(encoding="utf-8") for path in sorted((REPO / "mnist_tutorial").glob("*.py"))]
    for path in sorted((REPO / "book").glob("*.md")):
        notebook = jupytext.read(path)
        if "kernelspec" in notebook.metadata:
            sources += [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    found = set(re.findall(r"^\s*(?:from|import)\s+([A-Za-z_][\w.]*)", "\n".join(sources), flags=re.MULTILINE))
    return sorted(name for name in found if name.split(".")[0] in sys.stdlib_module_names and name != "__future__")


def find(name: str) -> object:
    """The object a dotted name names, importing the longest module prefix."""
    parts = name.split(".")
    if len(parts) == 1 and hasattr(builtins, name):
        return getattr(builtins, name)
    for cut in range(len(parts), 0, -1):
        try:
            value: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:]:
            value = getattr(value, part)
        return value
    raise LookupError(name)


def public(module: object) -> list[str]:
    """A module's public names: its ``__all__``, or what ``dir`` lists without a leading underscore."""
    names = getattr(module, "__all__", None) or dir(module)
    return sorted({name for name in names if not name.startswith("_")})


def role(value: object) -> str | None:
    """The Sphinx role an object is documented with; None for what the inventories leave out (constants)."""
    if inspect.ismodule(value):
        return "py:module"
    if inspect.isclass(value):
        return "py:exception" if issubclass(value, BaseException) else "py:class"
    if callable(value):
        return "py:function"
    return None


def location(project: str, name: str, kind: str) -> str:
    """Where the project's documentation has `name`, relative to its address (``$`` stands for the name)."""
    if project == "python":
        if "." not in name:
            if kind == "py:exception":
                return "library/exceptions.html#$"
            return f"library/{'stdtypes' if name in STDTYPES else 'functions'}.html#$"
        if name.split(".")[0] in STDTYPES:
            return "library/stdtypes.html#$"
        module = name if kind == "py:module" else owner_module(name)
        return f"library/{module}.html#{'module-$' if kind == 'py:module' else '$'}"
    if project == "torch":
        pages = {"torch": "torch", "torch.nn": "nn", "torch.nn.functional": "nn.functional", "torch.optim": "optim"}
        pages |= {"torch.utils.data": "data", "torch.cuda": "cuda", "torch.nn.init": "nn.init"}
        pages |= {"torch.autograd": "autograd", "torch.linalg": "linalg", "torch.onnx": "onnx"}
        pages |= {"torch.accelerator": "accelerator", "torch.optim.lr_scheduler": "optim"}
        pages |= {"torch.nn.parallel": "nn", "torch.distributed": "distributed", "torch.profiler": "profiler"}
        pages |= {"torch.backends": "backends", "torch.backends.cudnn": "backends"}
        if kind == "py:module":
            return f"{pages[name]}.html#module-$"
        if name == "torch.Tensor":
            return "tensors.html#$"
        for module in ("torch.utils.data", "torch.nn.init", "torch.onnx", "torch.distributed", "torch.profiler"):
            if name.startswith(module + "."):
                return f"{pages[module]}.html#$"
        if name.startswith("torch.backends."):
            return "backends.html#$"
        if name.startswith("torch.nn.Module."):
            return "generated/torch.nn.Module.html#$"
        return "generated/$.html#$"
    if project == "torchvision":
        if kind == "py:module":
            return f"{name.split('.')[1] if '.' in name else 'index'}.html#module-$"
        return "generated/$.html#$"
    if project == "numpy":
        if kind == "py:module":
            return "reference/index.html#module-$" if name == "numpy" else f"reference/{name[6:]}.html#module-$"
        if name in ("numpy.random.Generator", "numpy.random.default_rng"):
            return "reference/random/generator.html#$"
        if name.startswith("numpy.random."):
            return "reference/random/generated/$.html#$"
        return "reference/generated/$.html#$"
    if project == "pandas":
        return "reference/index.html#module-$" if kind == "py:module" else "reference/api/$.html#$"
    if project == "matplotlib":
        if kind == "py:module":
            pages = {"matplotlib": "matplotlib_configuration_api", "matplotlib.pyplot": "pyplot_summary"}
            page = pages.get(name, f"{name.removeprefix('matplotlib.')}_api")
            return f"api/{page}.html#module-$"
        if name == "matplotlib.axes.Axes":
            return "api/axes_api.html#$"
        return "api/_as_gen/$.html#$"
    raise ValueError(f"no URL scheme for {project}")


def owner_module(name: str) -> str:
    """The longest importable module prefix of a dotted name (``os.path`` of ``os.path.join``)."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        candidate = ".".join(parts[:cut])
        try:
            importlib.import_module(candidate)
        except ImportError:
            continue
        return candidate
    return parts[0]


#: Classes a module documents although they are defined elsewhere in the same project.
DOCUMENTED_HERE = {"torch.profiler": {"record_function", "ProfilerActivity"}}


def belongs(project: str, module_name: str, value: object) -> bool:
    """Whether `value`, found in `module_name`, is the project's own, and no class that another module documents.

    ``torchvision.transforms.functional.Tensor`` is ``torch.Tensor``: only the torch inventory names it.
    """
    defined_in = getattr(value, "__module__", None)
    if project == "python" or not isinstance(defined_in, str):
        return True
    if inspect.isclass(value):
        if getattr(value, "__name__", None) in DOCUMENTED_HERE.get(module_name, ()):
            return True
        return defined_in == module_name or defined_in.startswith(module_name + ".")
    return defined_in.split(".")[0] == project


def selection(project: str) -> dict[str, str]:
    """The names the project's inventory holds, each with its role."""
    entries: dict[str, str] = {}
    if project == "python":
        for name in dir(builtins):
            value = getattr(builtins, name)
            if not name.startswith("_") and (kind := role(value)):
                entries[name] = kind
        entries |= dict.fromkeys(("True", "False", "None"), "py:data")
        modules: tuple[str, ...] = tuple(stdlib_modules())
    else:
        modules = MODULES[project]
    for module_name in modules:
        module = importlib.import_module(module_name)
        entries[module_name] = "py:module"
        for name in public(module):
            value = getattr(module, name, None)
            if value is None or inspect.ismodule(value) or not belongs(project, module_name, value):
                continue
            if kind := role(value):
                entries[f"{module_name}.{name}"] = kind
    for class_name in MEMBERS_OF[project]:
        cls = find(class_name)
        entries[class_name] = role(cls) or "py:class"
        for name in dir(cls):
            if name.startswith("_"):
                continue
            value = inspect.getattr_static(cls, name)
            entries[f"{class_name}.{name}"] = "py:method" if callable(value) else "py:attribute"
    return entries


Entry = tuple[str, str, str]  # name, role, location relative to the project's address


def generated(project: str) -> list[Entry]:
    """The project's inventory made from the installed package and its URL scheme."""
    entries = []
    for name, kind in sorted(selection(project).items()):
        where = location(project, name, kind)
        # Sphinx reads a `$` at the end as the name, and only there
        entries.append((name, kind, where[:-1].replace("$", name) + "$" if where.endswith("$") else where))
    return entries


def published(project: str) -> list[Entry]:
    """The entries of the project's published ``objects.inv`` for the names of :func:`selection`."""
    base = PROJECTS[project].url
    with urllib.request.urlopen(base + "objects.inv", timeout=60) as response:
        data = response.read()
    inventory = InventoryFile.load(io.BytesIO(data), base, posixpath.join)
    wanted = selection(project)
    found: dict[str, Entry] = {}
    for kind, items in inventory.items():
        if not kind.startswith("py:"):
            continue
        for name, item in items.items():
            if name in wanted and (name not in found or kind == wanted[name]):
                found[name] = (name, kind, item[2].removeprefix(base))
    return sorted(found.values())


def with_python_names(entries: list[Entry]) -> list[Entry]:
    """`entries` and, for each class entered under another name than Python's, that name and its members."""
    names = {name for name, _, _ in entries}
    renamed: dict[str, str] = {}
    for name, kind, _ in entries:
        if kind in ("py:class", "py:exception"):
            try:
                value = find(name)
            except (LookupError, AttributeError, ImportError):
                continue
            qualified = f"{value.__module__}.{value.__qualname__}" if value.__module__ != "builtins" else name
            if qualified != name and qualified not in names:
                renamed[name] = qualified
    extra = []
    for name, kind, where in entries:
        owner, _, member = name.rpartition(".")
        if name in renamed:
            extra.append((renamed[name], kind, where.replace("$", name)))
        elif owner in renamed:
            extra.append((f"{renamed[owner]}.{member}", kind, where.replace("$", name)))
    return sorted({*entries, *extra})


def write(project: str, entries: list[Entry], path: Path) -> None:
    """Write `entries` as an ``objects.inv`` (version 2) of the project at its installed version."""
    distribution = PROJECTS[project].distribution
    version = importlib.metadata.version(distribution) if distribution else ".".join(map(str, sys.version_info[:2]))
    header = (
        f"# Sphinx inventory version 2\n# Project: {project}\n# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    lines = "".join(f"{name} {kind} 1 {where} -\n" for name, kind, where in entries)
    path.write_bytes(header.encode() + zlib.compress(lines.encode(), 9))


def read(path: Path, base: str) -> dict[str, dict[str, tuple[str, str, str, str]]]:
    """An inventory file as Sphinx reads it: ``{role: {name: (project, version, address, display name)}}``."""
    with path.open("rb") as stream:
        return InventoryFile.load(stream, base, posixpath.join)


def listing() -> Iterator[str]:
    """The committed inventories as text lines, ``name role address``."""
    for project in PROJECTS.values():
        inventory = read(TARGET / f"{project.name}.inv", project.url)
        for kind, items in sorted(inventory.items()):
            for name, item in sorted(items.items()):
                yield f"{name} {kind} {item[2]}"


def main(argv: list[str] | None = None) -> int:
    """Write the inventories, or list them."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--published", action="store_true", help="take the addresses from the published inventories")
    parser.add_argument("--list", action="store_true", help="print the committed inventories as text")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(listing()))
        return 0
    TARGET.mkdir(exist_ok=True)
    for project in PROJECTS:
        entries = with_python_names(published(project) if args.published else generated(project))
        path = TARGET / f"{project}.inv"
        write(project, entries, path)
        print(f"{path.relative_to(REPO)}: {len(entries)} names, {path.stat().st_size / 1000:.0f} kB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
