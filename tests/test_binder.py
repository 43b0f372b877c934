"""Binder: what repo2docker reads in binder/ agrees with the project's pins, and the launch links open chapters.

repo2docker reads only binder/ when it exists: runtime.txt for the Python version, requirements.txt for
pip, postBuild afterwards. The last test needs the built book (`make book`).
"""

from __future__ import annotations

import html.parser
import os
import subprocess
import tomllib
import urllib.parse
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tests.browser_support import HTML, NOTEBOOK_PAGES
from tests.requirements_support import PYTHON, READER, REPO, includes, options, pinned, pins

BINDER = REPO / "binder"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# Files repo2docker acts on (https://repo2docker.readthedocs.io/en/latest/configuration/).
REPO2DOCKER_FILES = {
    "environment.yml", "Pipfile", "Pipfile.lock", "requirements.txt", "setup.py", "Project.toml", "REQUIRE",
    "install.R", "apt.txt", "DESCRIPTION", "manifest.xml", "postBuild", "start", "runtime.txt", "default.nix",
    "Dockerfile", "pyproject.toml",
}  # fmt: skip
BINDER_URL = "https://mybinder.org/v2/gh/mnist-tutorial/mnist-tutorial/main"


def test_binder_states_python_3_11_which_the_package_accepts():
    assert (BINDER / "runtime.txt").read_text(encoding="utf-8").strip() == f"python-{PYTHON}"
    requires = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    assert PYTHON in SpecifierSet(requires)


def test_binder_reads_pip_files_only():
    read = {path.name for path in BINDER.iterdir()} & REPO2DOCKER_FILES
    assert read == {"runtime.txt", "requirements.txt", "postBuild"}, "conda or other files would change the build"


def test_binder_installs_the_pinned_requirements_with_the_cpu_build_of_torch():
    assert includes(BINDER / "requirements.txt") == [READER]
    assert options(BINDER / "requirements.txt", "--extra-index-url") == [CPU_INDEX]
    own = [pin for pin in pins(BINDER / "requirements.txt") if pin.file == BINDER / "requirements.txt"]
    top = pinned(READER)
    assert {pin.name for pin in own} == {"torch", "torchvision"}, "only the PyTorch pair differs on Binder"
    for pin in own:
        version = Version(pin.version)
        assert version.local == "cpu", f"{pin.name}: Binder has no GPU, so the CPU build"
        # pip merges this pin with requirements.txt's; both must admit the same release.
        assert version in SpecifierSet(f"=={top[pin.name]}"), f"{pin.name} {version} drifted from {top[pin.name]}"


def test_post_build_installs_the_package_and_the_viewer_setting_where_make_lab_does(tmp_path: Path):
    assert os.access(BINDER / "postBuild", os.X_OK)
    stub = tmp_path / "bin"
    stub.mkdir()
    (stub / "python").write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/python-args\n', encoding="utf-8")
    (stub / "python").chmod(0o755)
    prefix = tmp_path / "prefix"
    env = {**os.environ, "PATH": f"{stub}:{os.environ['PATH']}", "NB_PYTHON_PREFIX": str(prefix)}
    result = subprocess.run(["bash", "binder/postBuild"], cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "python-args").read_text().split() == [
        "-m", "pip", "install", "--no-cache-dir", "--no-deps", "--no-build-isolation", "-e", ".",
    ]  # fmt: skip

    venv = tmp_path / "venv"
    dry_run = ["make", "--dry-run", "-o", f"{venv}/.installed-stamp", "lab", f"VENV={venv}"]
    plain = {key: value for key, value in os.environ.items() if key not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    result = subprocess.run(dry_run, cwd=REPO, env=plain, capture_output=True, text=True, check=True)
    commands = result.stdout.splitlines()
    (copy,) = [line.split() for line in commands if line.startswith("cp ")]
    assert copy[1] == "binder/overrides.json"
    installed = prefix / Path(copy[2]).relative_to(venv)
    assert installed.read_bytes() == (BINDER / "overrides.json").read_bytes(), "not where `make lab` puts it"


def test_the_readme_launches_a_chapter_in_jupyterlab():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"{BINDER_URL}?urlpath=lab/tree/book/01_tensors.md" in readme


def unavailable(reason: str) -> None:
    """Fail in CI, skip elsewhere (as the browser suite does without a built book)."""
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


class _Links(html.parser.HTMLParser):
    """Every href of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [value for key, value in attrs if tag == "a" and key == "href" and value]


def launch_links(page: str, prefix: str) -> list[str]:
    """The links of a built page that start with `prefix`."""
    parser = _Links()
    parser.feed((HTML / f"{page}.html").read_text(encoding="utf-8"))
    return [href for href in parser.hrefs if href.startswith(prefix)]


@pytest.mark.book
@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_every_chapter_page_launches_itself_on_binder_in_jupyterlab(page: str):
    if not (HTML / f"{page}.html").is_file():
        unavailable(f"{HTML} has no {page}.html: run `make book` first")
    (link,) = launch_links(page, "https://mybinder.org/")
    url = urllib.parse.urlsplit(link)
    assert f"{url.scheme}://{url.netloc}{url.path}" == BINDER_URL
    (urlpath,) = urllib.parse.parse_qs(url.query)["urlpath"]
    assert urlpath == f"lab/tree/{page}.md" and (REPO / f"{page}.md").is_file()
