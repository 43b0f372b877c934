"""Dependencies split by who needs them, every imported library declared, and Python 3.11 wherever it is stated.

requirements.txt pins what a reader needs to build, run and check the book; requirements-dev.txt adds
the developers' tools; pyproject.toml names the package's own dependencies as ranges.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path

import jupytext
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tests.requirements_support import DEVELOPER, PYTHON, READER, REPO, canonical, includes, pinned

DEVELOPER_TOOLS = {"ruff", "selenium", "zizmor", "check-jsonschema"}


def project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def tracked(*patterns: str) -> list[Path]:
    """The repository's files (tracked, or new and not ignored) that match `patterns`."""
    command = ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *patterns]
    listed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    return sorted({REPO / name for name in listed if (REPO / name).is_file()})


def code_of(path: Path) -> str:
    """A Python file's source, or the code cells of a MyST notebook without their IPython magics."""
    if path.suffix == ".py":
        return path.read_text(encoding="utf-8")
    cells = [cell.source for cell in jupytext.read(path).cells if cell.cell_type == "code"]
    return "\n".join(line for cell in cells for line in cell.splitlines() if not line.lstrip().startswith(("%", "!")))


def imports(paths: Iterable[Path]) -> dict[str, set[str]]:
    """Top-level module names imported by `paths` (absolute imports only), each with the files that import it."""
    found: dict[str, set[str]] = {}
    for path in paths:
        for node in ast.walk(ast.parse(code_of(path), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(REPO)))
    return found


def third_party(found: dict[str, set[str]]) -> dict[str, set[str]]:
    """The imported distributions (PEP 503 names) that are neither the standard library nor this repository's code."""
    local = {"mnist_tutorial", "tests"} | {path.stem for path in tracked("*.py")}
    distributions = importlib.metadata.packages_distributions()
    result: dict[str, set[str]] = {}
    for module, files in found.items():
        if module in sys.stdlib_module_names or module in local:
            continue
        assert module in distributions, f"{module} (imported by {sorted(files)}) is not installed"
        for distribution in distributions[module]:
            result.setdefault(canonical(distribution), set()).update(files)
    return result


def chapters() -> list[Path]:
    return [path for path in tracked("book/*.md") if "kernelspec" in jupytext.read(path).metadata]


def test_the_reader_file_has_no_developer_tools_and_the_developer_file_includes_it():
    reader, developer = pinned(READER), pinned(DEVELOPER)
    assert includes(DEVELOPER) == [READER]
    assert not DEVELOPER_TOOLS & set(reader), "readers would install tools only developers use"
    assert set(developer) >= DEVELOPER_TOOLS
    assert {"pytest", "nbval", "jupyterlab", "jupytext"} <= set(reader)


def test_the_package_declares_what_it_imports_as_ranges():
    declared = {canonical(Requirement(spec).name): Requirement(spec) for spec in project()["dependencies"]}
    assert all(not any(s.operator == "==" for s in req.specifier) for req in declared.values()), "ranges, not pins"
    used = third_party(imports(tracked("mnist_tutorial/*.py")))
    missing = {name: sorted(files) for name, files in used.items() if name not in declared}
    assert not missing, f"imported by the package but not in pyproject.toml's dependencies: {missing}"
    assert set(declared) <= set(pinned(READER)), "requirements.txt must pin every dependency of the package"


def test_what_readers_run_is_pinned_in_requirements_txt():
    readers_code = [*tracked("mnist_tutorial/*.py", "book/_ext/*.py", "tests/references.py"), *chapters()]
    used = third_party(imports(readers_code))
    missing = {name: sorted(files) for name, files in used.items() if name not in pinned(READER)}
    assert not missing, f"imported but not pinned in requirements.txt: {missing}"


def test_every_imported_library_is_pinned_in_one_of_the_files():
    used = third_party(imports([*tracked("*.py"), *chapters()]))
    missing = {name: sorted(files) for name, files in used.items() if name not in pinned(DEVELOPER)}
    assert not missing, f"imported but pinned in neither requirements file: {missing}"


def test_the_environment_has_the_pinned_versions():
    wrong = {}
    for name, version in pinned(DEVELOPER).items():
        installed = importlib.metadata.version(name)
        if Version(installed).public != Version(version).public:  # a CPU build is `2.14.1+cpu`
            wrong[name] = f"{installed} installed, {version} pinned"
    assert not wrong, f"run `make venv`: {wrong}"


def test_requires_python_is_what_the_pins_need():
    needs = {name: importlib.metadata.metadata(name).get("Requires-Python") or "" for name in pinned(DEVELOPER)}
    refused = {name: spec for name, spec in needs.items() if PYTHON not in SpecifierSet(spec)}
    assert not refused, f"pins that do not run on Python {PYTHON}: {refused}"
    need_311 = {name for name, spec in needs.items() if "3.10" not in SpecifierSet(spec)}
    assert {"numpy", "pandas", "matplotlib"} <= need_311
    stated = SpecifierSet(project()["requires-python"])
    assert PYTHON in stated and "3.10" not in stated, f"requires-python {stated} should start at {PYTHON}"


def test_ci_sets_up_the_python_the_pins_need():
    versions = set()
    for workflow in (REPO / ".github" / "workflows").glob("*.yml"):
        for job in yaml.safe_load(workflow.read_text(encoding="utf-8"))["jobs"].values():
            for step in job.get("steps", []):
                if "actions/setup-python@" in step.get("uses", ""):
                    versions.add(str(step["with"]["python-version"]))
    assert versions == {PYTHON}


@pytest.mark.parametrize("path", [REPO / "README.md", REPO / "book" / "intro.md"], ids=lambda path: path.name)
def test_readers_learn_how_to_install_the_cpu_build_and_its_size(path: Path):
    text = " ".join(path.read_text(encoding="utf-8").split())
    torch, torchvision = pinned(READER)["torch"], pinned(READER)["torchvision"]
    assert "--index-url https://download.pytorch.org/whl/cpu" in text
    assert f"torch=={torch} torchvision=={torchvision}" in text, "the CPU command must install the pinned pair"
    assert re.search(r"\d,\d{3} MiB", text) and re.search(r"\d{3} MiB", text), "say how large each build is (du -sm)"
