"""A reader who starts cold: every chapter alone, from an empty model cache, in a fresh environment.

``make test-cold`` (and the workflow's cold job) runs this module with ``MNIST_TUTORIAL_COLD=1``; elsewhere it
skips. One fresh virtual environment per run (tests/cold.py): requirements.txt's pins, or those of the file
``MNIST_TUTORIAL_COLD_REQUIREMENTS`` names (binder/requirements.txt, with PyTorch's CPU build, in the
workflow), then the package from the wheel built from the working tree. Each chapter is then copied alone
into an empty folder and executed there, its hidden checks included, with a new empty model cache: it trains
every model it uses (about half an hour on two cores for the whole book). Two notebooks made for readers
(book/_ext/reader_notebooks.py), one that trains, run the same way, their first cell installing the package
from a local git repository that stands in for GitHub. Reports and executed notebooks go to _build/cold/.
The module imports nothing of the package or of PyTorch, so that it runs with ``--noconftest`` from a Python
that has only pytest, Jupytext, nbformat and PyYAML.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests import cold

REPO = cold.REPO
sys.path.insert(0, str(REPO / "book" / "_ext"))
import colab  # noqa: E402  (book/_ext is not a package)

CHAPTERS = colab.chapters(REPO)
#: Reader notebooks run cold: the first chapter, and the first that trains a model (a tiny one).
READER_CHAPTERS = ["book/01_tensors", "book/04_linear_regression"]
RESULTS = REPO / "_build" / "cold"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        os.environ.get(cold.COLD_ENV) != "1", reason=f"the cold check: make test-cold ({cold.COLD_ENV}=1)"
    ),
]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The Python of one fresh environment with the package from its wheel; removed after the module.

    ``MNIST_TUTORIAL_COLD_VENV`` names the folder of one that :func:`cold.fresh_environment` made before, to
    use again (and keep) while working on these tests.
    """
    RESULTS.mkdir(parents=True, exist_ok=True)
    if os.environ.get(cold.REUSE_ENV):
        yield cold.venv_python(Path(os.environ[cold.REUSE_ENV]) / "venv")
        return
    requirements = REPO / os.environ.get(cold.REQUIREMENTS_ENV, "requirements.txt")
    folder = tmp_path_factory.mktemp("fresh")
    try:
        yield cold.fresh_environment(folder, requirements)
    finally:
        if (folder / "install.log").is_file():
            shutil.copy2(folder / "install.log", RESULTS / "install.log")
        shutil.rmtree(folder, ignore_errors=True)


def keep(name: str, work: Path, report: dict[str, Any]) -> None:
    """Keep a run's report and executed notebook in _build/cold/ (the workflow uploads them on failure)."""
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    if (work / "report.ipynb").is_file():
        shutil.copy2(work / "report.ipynb", RESULTS / f"{name}.ipynb")


def check(report: dict[str, Any], fresh: Path) -> None:
    """The run raised nothing, wrote nothing to stderr, and ran the fresh environment's installed package."""
    assert report["error"] is None and not report["stderr"], cold.describe(report)
    kernel = report["kernel"]
    assert Path(kernel["prefix"]) == fresh.parent.parent, f"the kernel ran {kernel['executable']}"
    assert "site-packages" in Path(kernel["package"]).parts, f"imported {kernel['package']}, not the wheel's"


def test_the_package_comes_from_its_wheel_with_its_images(fresh: Path, tmp_path: Path):
    probe = "import json, mnist_tutorial as mt; print(json.dumps([mt.__file__, str(mt.image_path('nn.png'))]))"
    env = cold.reader_environment(fresh, tmp_path / "home", tmp_path / "cache")
    result = subprocess.run([fresh, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    package, image = map(Path, json.loads(result.stdout))
    site = package.parent.parent
    assert site.name == "site-packages" and site.is_relative_to(fresh.parent.parent), package
    assert image == site / "mnist_tutorial" / "img" / "nn.png" and image.is_file()
    (direct_url,) = site.glob("mnist_tutorial-*.dist-info/direct_url.json")
    origin = json.loads(direct_url.read_text(encoding="utf-8"))
    assert origin["url"].endswith(".whl") and not origin.get("dir_info", {}).get("editable"), origin


def test_mnist_is_fetched_and_verified_as_a_reader_does(fresh: Path, tmp_path: Path):
    env = cold.reader_environment(fresh, tmp_path / "home", tmp_path / "cache")
    result = subprocess.run(
        [fresh, "-m", "mnist_tutorial", "data"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "MNIST verified" in result.stdout


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda chapter: Path(chapter).name)
def test_the_chapter_runs_alone_from_an_empty_cache(fresh: Path, chapter: str, tmp_path: Path):
    report = cold.run_alone(fresh, REPO / f"{chapter}.md", tmp_path)
    keep(Path(chapter).name, tmp_path, report)
    print(f"{chapter}: {report['seconds']} s; slowest cells {report['slowest_cells']}")
    check(report, fresh)


def local_repository(destination: Path) -> tuple[str, str]:
    """A git repository of the working tree, standing in for GitHub: its address and its one commit."""
    repository = cold.copy_of_the_working_tree(destination)
    git = ["git", "-C", str(repository), "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run([*git, "init", "--quiet"], check=True)
    subprocess.run([*git, "add", "--all"], check=True)
    subprocess.run([*git, "commit", "--quiet", "--message", "snapshot"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    # file://localhost/..., not file:///...: the pip that Python 3.11's venv brings (23.2) refuses an empty host
    return f"file://localhost{repository.as_posix()}", commit


@pytest.mark.parametrize("chapter", READER_CHAPTERS, ids=lambda chapter: Path(chapter).name)
def test_the_reader_notebook_runs_alone_from_an_empty_cache(fresh: Path, chapter: str, tmp_path: Path):
    """The notebook Colab opens, set-up cell included; runs after the chapters (it reinstalls the package)."""
    url, commit = local_repository(tmp_path / "repository")
    notebook = colab.colab_notebook(chapter, commit, REPO, values="references")
    repository = colab.Book.read(REPO, CHAPTERS).repository.removesuffix("/")
    setup = notebook.cells[0]
    assert f"git+{repository}@{commit}" in setup.source
    setup.source = setup.source.replace(f"git+{repository}@{commit}", f"git+{url}@{commit}")
    source = tmp_path / f"{Path(chapter).name}.ipynb"
    nbformat.write(notebook, source)
    report = cold.run_alone(fresh, source, tmp_path / "run")
    keep(f"reader-{Path(chapter).name}", tmp_path / "run", report)
    check(report, fresh)
    executed = nbformat.read(tmp_path / "run" / "report.ipynb", as_version=4)
    printed = "".join(output.get("text", "") for output in executed.cells[0].outputs)
    assert "ERROR" not in printed and "MNIST verified" in printed, printed
