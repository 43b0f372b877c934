"""Colab: the chapters as notebooks made for readers, published by the workflow, and the buttons that open them.

The notebooks are built into a scratch folder by book/_ext/colab.py, as the publishing workflow does (with the
reference notebooks' values here, the build's there); tests/test_reader_notebooks.py checks what is in them.
The last tests need the built book (`make book`): each chapter page's Colab link must name a generated
notebook, and its ".ipynb" download must be the notebook for readers.
"""

from __future__ import annotations

import ast
import re
import shlex
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
import yaml
from IPython.core.inputtransformer2 import TransformerManager

from tests.book_extensions import load_extension
from tests.browser_support import HTML, NOTEBOOK_PAGES
from tests.cold import copy_of_the_working_tree
from tests.test_binder import launch_links, unavailable

REPO = Path(__file__).resolve().parent.parent
REF = "0123456789abcdef0123456789abcdef01234567"
CONFIG = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
REPOSITORY = CONFIG["repository"]["url"]
ON_MAIN = "github.event_name == 'push' && github.ref == 'refs/heads/main'"

colab = load_extension("colab")


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the workflow pushes to the branch: the script's output for commit REF."""
    out = tmp_path_factory.mktemp("colab")
    command = [sys.executable, "book/_ext/colab.py", str(out), "--ref", REF, "--values", "references"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return out


def test_every_chapter_page_gets_a_notebook_and_nothing_else(published: Path):
    generated = sorted(str(path.relative_to(published)) for path in published.rglob("*.ipynb"))
    assert generated == sorted(colab.notebook_path(page) for page in NOTEBOOK_PAGES)
    assert REF in (published / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_the_notebook_is_the_chapters_notebook_for_readers(published: Path, page: str):
    notebook = nbformat.read(published / colab.notebook_path(page), as_version=4)
    nbformat.validate(notebook)
    expected = colab.colab_notebook(page, REF, REPO, values="references")
    assert [(c.cell_type, c.source) for c in notebook.cells] == [(c.cell_type, c.source) for c in expected.cells]
    assert notebook.metadata["kernelspec"]["name"] == "python3" and "jupytext" not in notebook.metadata
    assert len({cell.id for cell in notebook.cells}) == len(notebook.cells)

    setup = notebook.cells[0]
    assert setup.cell_type == "code"
    python = TransformerManager().transform_cell(setup.source)
    ast.parse(python)  # the magics are well formed
    assert f'%pip install --quiet "mnist_tutorial @ git+{REPOSITORY}@{REF}"' in setup.source.splitlines()
    assert "get_ipython().system('{sys.executable} -m mnist_tutorial data')" in python
    assert f"{CONFIG['html']['baseurl']}{page}.html" in setup.source


def test_pip_accepts_the_setup_cells_requirement_from_a_git_repository(published: Path, tmp_path: Path):
    """The cell's `mnist_tutorial @ git+URL@COMMIT`, with a local repository standing in for GitHub."""
    repository = copy_of_the_working_tree(tmp_path / "repository")
    git = ["git", "-C", str(repository), "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run([*git, "init", "--quiet"], check=True)
    subprocess.run([*git, "add", "--all"], check=True)
    subprocess.run([*git, "commit", "--quiet", "--message", "snapshot"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    setup = nbformat.read(published / colab.notebook_path(NOTEBOOK_PAGES[0]), as_version=4).cells[0].source
    (line,) = [line for line in setup.splitlines() if line.startswith("%pip install")]
    (requirement,) = [word for word in shlex.split(line) if "@" in word]
    requirement = requirement.replace(f"{REPOSITORY}@{REF}", f"{repository.as_uri()}@{commit}")
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--no-build-isolation", "--no-index"]
    result = subprocess.run([*command, "--target", str(tmp_path / "site"), requirement], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Would install mnist_tutorial-" in result.stdout, result.stdout


def test_the_colab_button_is_sent_to_the_chapters_notebook():
    binder = {"text": "Binder", "url": "https://mybinder.org/x"}
    button = {"text": "Colab", "url": f"https://colab.research.google.com/github/o/r/blob/main/{NOTEBOOK_PAGES[0]}.md"}
    context = {"header_buttons": [{"label": "launch-buttons", "buttons": [binder, button]}]}
    app = SimpleNamespace(config=SimpleNamespace(html_theme_options={"repository_url": REPOSITORY}))
    colab.point_colab_button(app, NOTEBOOK_PAGES[0], "page.html", context, None)
    org_repo = REPOSITORY.removeprefix("https://github.com/")
    expected = f"https://colab.research.google.com/github/{org_repo}/blob/colab/{NOTEBOOK_PAGES[0]}.ipynb"
    assert button["url"] == expected
    assert binder["url"] == "https://mybinder.org/x"


def test_the_workflow_publishes_the_notebooks_of_the_checked_build_to_the_branch_the_buttons_open():
    """The cpu job writes them from its build, once `make test` passed; the colab job pushes that folder."""
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    cpu, job = workflow["jobs"]["cpu"], workflow["jobs"]["colab"]
    names = [step.get("run") or step.get("uses", "") for step in cpu["steps"]]
    (convert_at,) = [index for index, name in enumerate(names) if "book/_ext/colab.py" in name]
    assert names.index("bash .ci/run") < convert_at  # .ci/run runs make test
    words = shlex.split(cpu["steps"][convert_at]["run"])
    assert words[:2] == [".venv/bin/python", "book/_ext/colab.py"] and words[words.index("--ref") + 1] == "$GITHUB_SHA"
    assert "--values" not in words, "the numbers of the book that is published, not the references'"
    upload = cpu["steps"][convert_at + 1]
    assert upload["uses"].startswith("actions/upload-artifact@") and upload["with"]["path"] == words[2]
    assert " ".join(cpu["steps"][convert_at]["if"].split()) == ON_MAIN == " ".join(upload["if"].split())

    assert job["needs"] == "cpu" and job["permissions"] == {"contents": "write"}
    (download,) = [step for step in job["steps"] if step.get("uses", "").startswith("actions/download-artifact@")]
    assert download["with"]["name"] == upload["with"]["name"]
    (push,) = [step for step in job["steps"] if "git push" in step.get("run", "")]
    assert push["working-directory"] == download["with"]["path"], "it must push the folder the build wrote"
    assert push["run"].split()[-1] == colab.BRANCH and f"--initial-branch {colab.BRANCH}" in push["run"]


@pytest.mark.book
@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_every_chapter_page_opens_its_generated_notebook_in_colab(published: Path, page: str):
    if not (HTML / f"{page}.html").is_file():
        unavailable(f"{HTML} has no {page}.html: run `make book` first")
    (link,) = launch_links(page, "https://colab.research.google.com/")
    org_repo = REPOSITORY.removeprefix("https://github.com/")
    prefix = f"https://colab.research.google.com/github/{org_repo}/blob/{colab.BRANCH}/"
    assert link.startswith(prefix), link
    assert (published / link.removeprefix(prefix)).is_file(), f"{link} names no generated notebook"


@pytest.mark.book
@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_every_chapter_page_downloads_its_notebook_for_readers(page: str):
    if not (HTML / f"{page}.html").is_file():
        unavailable(f"{HTML} has no {page}.html: run `make book` first")
    downloads = [href for href in launch_links(page, "../") if href.endswith(".ipynb")]
    assert downloads and all(href.endswith(f"_sources/{colab.notebook_path(page)}") for href in downloads), downloads
    notebook = nbformat.read(HTML / "_sources" / colab.notebook_path(page), as_version=4)
    (install,) = [line for line in notebook.cells[0].source.splitlines() if line.startswith("%pip install")]
    assert re.fullmatch(rf'%pip install --quiet "mnist_tutorial @ git\+{REPOSITORY}@[0-9a-f]{{40}}"', install), install
    # the notebook of the build's own chapter, which may be older than the working tree's: its form, not its cells
    assert not [cell for cell in notebook.cells if "remove-cell" in cell.metadata.get("tags", [])]
    assert not [cell for cell in notebook.cells if "{glue" in cell.source or "myst_nb" in cell.source]
