"""Colab: the chapters as notebooks with a setup cell, published by the workflow, and a Colab button that opens them.

The notebooks are built into a scratch folder by book/_ext/colab.py, as the publishing workflow does. The
last test needs the built book (`make book`): each chapter page's Colab link must name a generated notebook.
"""

from __future__ import annotations

import ast
import shlex
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import jupytext
import nbformat
import pytest
import yaml
from IPython.core.inputtransformer2 import TransformerManager

from tests.book_extensions import load_extension
from tests.browser_support import HTML, NOTEBOOK_PAGES
from tests.test_binder import launch_links, unavailable
from tests.test_install import clone_of_the_working_tree

REPO = Path(__file__).resolve().parent.parent
REF = "0123456789abcdef0123456789abcdef01234567"
CONFIG = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
REPOSITORY = CONFIG["repository"]["url"]


colab = load_extension("colab")


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the workflow pushes to the branch: the script's output for commit REF."""
    out = tmp_path_factory.mktemp("colab")
    result = subprocess.run(
        [sys.executable, "book/_ext/colab.py", str(out), "--ref", REF], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return out


def test_every_chapter_page_gets_a_notebook_and_nothing_else(published: Path):
    generated = sorted(str(path.relative_to(published)) for path in published.rglob("*.ipynb"))
    assert generated == sorted(colab.notebook_path(page) for page in NOTEBOOK_PAGES)
    assert REF in (published / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_the_notebook_is_the_chapter_after_a_setup_cell(published: Path, page: str):
    notebook = nbformat.read(published / colab.notebook_path(page), as_version=4)
    nbformat.validate(notebook)
    chapter = jupytext.read(REPO / f"{page}.md")
    setup, *rest = notebook.cells
    assert [(c.cell_type, c.source, c.metadata.get("tags")) for c in rest] == [
        (c.cell_type, c.source, c.metadata.get("tags")) for c in chapter.cells
    ], "the chapter's cells must follow unchanged"
    assert notebook.metadata["kernelspec"]["name"] == "python3" and "jupytext" not in notebook.metadata
    assert len({cell.id for cell in notebook.cells}) == len(notebook.cells)

    assert setup.cell_type == "code"
    python = TransformerManager().transform_cell(setup.source)
    ast.parse(python)  # the magics are well formed
    uses_glue = any("myst_nb" in cell.source for cell in chapter.cells if cell.cell_type == "code")
    install = f'%pip install --quiet "mnist_tutorial @ git+{REPOSITORY}@{REF}"' + (" myst-nb" if uses_glue else "")
    assert install in setup.source.splitlines()
    assert "get_ipython().system('{sys.executable} -m mnist_tutorial data')" in python
    assert f"{CONFIG['html']['baseurl']}{page}.html" in setup.source


def test_pip_accepts_the_setup_cells_requirement_from_a_git_repository(published: Path, tmp_path: Path):
    """The cell's `mnist_tutorial @ git+URL@COMMIT`, with a local repository standing in for GitHub."""
    repository = clone_of_the_working_tree(tmp_path / "repository")
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


def test_the_workflow_publishes_the_notebooks_to_the_branch_the_buttons_open():
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    job = workflow["jobs"]["colab"]
    assert job["needs"] == "cpu" and job["permissions"] == {"contents": "write"}
    runs = {step["name"]: step for step in job["steps"] if "run" in step}
    (convert,) = [step["run"] for step in runs.values() if "book/_ext/colab.py" in step["run"]]
    words = shlex.split(convert)
    assert words[:2] == ["python", "book/_ext/colab.py"] and words[words.index("--ref") + 1] == "$GITHUB_SHA"
    (push,) = [step for step in runs.values() if "git push" in step["run"]]
    assert push["working-directory"] == words[2], "it must push the folder the script wrote"
    assert push["run"].split()[-1] == colab.BRANCH and f"--initial-branch {colab.BRANCH}" in push["run"]
    assert "--constraint requirements.txt" in " ".join(step["run"] for step in runs.values())


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
