"""`make lab`: JupyterLab from the project's environment opens a chapter as a notebook, not as Markdown text.

The test runs `make lab` itself on a free port of 127.0.0.1 with a token, with Jupyter's user folders in a
scratch directory (so a reader's own settings cannot help or hinder), opens a chapter's URL in headless
Chromium and waits for notebook cells; then it shuts the server down. About 30 seconds. Without Chromium
and chromedriver it fails when `CI` is set and skips otherwise, as the browser suite does.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jupytext
import pytest

from tests.browser_support import REPO, missing_browser, start_chrome

pytestmark = pytest.mark.integration

CHAPTER = "book/01_tensors.md"
STARTUP_SECONDS = 60

# What the main area shows once the document is open: a notebook's cells, or a text editor.
_OPENED = """
const panel = document.querySelector('.jp-MainAreaWidget.jp-Document');
const tab = document.querySelector('.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel');
if (!panel) return null;
const notebook = panel.classList.contains('jp-NotebookPanel');
const cells = panel.querySelectorAll('.jp-Notebook .jp-Cell');
if (notebook ? cells.length < 3 : !panel.querySelector('.cm-editor')) return null;  // still rendering
return {
  notebook: notebook,
  tab: tab ? tab.textContent : '',
  cells: cells.length,
  code: panel.querySelectorAll('.jp-Notebook .jp-CodeCell').length,
  text: panel.innerText.slice(0, 2000),
};
"""


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab server."""

    base: str
    token: str

    def url(self, path: str) -> str:
        return f"{self.base}{path}?token={self.token}"


def _unavailable(reason: str) -> None:
    """Fail in CI, skip elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _stop(process: subprocess.Popen[bytes], lab: Lab) -> None:
    """Ask the server to shut down (it stops its kernels), then end what is left of `make lab`."""
    request = urllib.request.Request(lab.url("api/shutdown"), method="POST")
    try:
        urllib.request.urlopen(request, timeout=5).close()
        process.wait(timeout=20)
    except (urllib.error.URLError, ConnectionError, TimeoutError, subprocess.TimeoutExpired):
        pass
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """`make lab` on a free port, with a fresh token and scratch Jupyter user folders."""
    if shutil.which("make") is None:
        pytest.fail("make is not installed", pytrace=False)
    scratch = tmp_path_factory.mktemp("jupyter")
    env = dict(os.environ)
    for variable, folder in [
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTERLAB_SETTINGS_DIR", "user-settings"),
        ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
    ]:
        env[variable] = str(scratch / folder)
    for inherited in ("JUPYTERLAB_DIR", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"):  # `make test` runs this test
        env.pop(inherited, None)
    lab = Lab(f"http://127.0.0.1:{_free_port()}/", secrets.token_hex(16))
    port = lab.base.rsplit(":", 1)[1].strip("/")
    options = (
        f"--no-browser --ip=127.0.0.1 --port={port} --ServerApp.port_retries=0 --IdentityProvider.token={lab.token}"
    )
    if os.geteuid() == 0:  # containers; Jupyter refuses root unless told
        options += " --allow-root"
    venv = Path(sys.prefix)
    # -o: never reinstall the environment from here, only what `lab` itself adds.
    command = ["make", "--no-print-directory", "-o", str(venv / ".installed-stamp"), "lab", f"VENV={venv}"]
    log = scratch / "lab.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, f"LAB_ARGS={options}"], cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _answers(lab.url("api/status")):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"make lab did not start a server:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)
        yield lab
    finally:
        _stop(process, lab)


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One headless Chromium, or a skip (a failure in CI) without it."""
    if problem := missing_browser():
        _unavailable(problem)
    from selenium.common.exceptions import WebDriverException

    try:
        chrome = start_chrome(tmp_path_factory.mktemp("chromium-profile"))
    except WebDriverException as error:
        _unavailable(f"Chromium could not be started: {error.msg}")
    try:
        yield chrome
    finally:
        chrome.quit()


def _idle_session(lab: Lab) -> dict | None:
    """The chapter's notebook session once its kernel has started and is idle (a clean shutdown needs that)."""
    with urllib.request.urlopen(lab.url("api/sessions"), timeout=5) as response:
        sessions = json.load(response)
    for session in sessions:
        if session["path"] == CHAPTER and session["kernel"]["execution_state"] == "idle":
            return session
    return None


def test_make_lab_installs_the_jupytext_viewer_setting(lab: Lab):
    installed = Path(sys.prefix) / "share/jupyter/lab/settings/overrides.d/mnist-tutorial.json"
    assert json.loads(installed.read_text()) == json.loads((REPO / "binder" / "overrides.json").read_text())
    with urllib.request.urlopen(lab.url("lab/api/settings/@jupyterlab/docmanager-extension:plugin")) as response:
        viewers = json.load(response)["schema"]["properties"]["defaultViewers"]["default"]  # overrides set defaults
    assert viewers.get("markdown") == "Jupytext Notebook", viewers


def test_a_chapter_opens_as_a_notebook(lab: Lab, driver):
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(lab.url(f"lab/tree/{CHAPTER}"))
    opened = WebDriverWait(driver, STARTUP_SECONDS, poll_frequency=0.5).until(lambda d: d.execute_script(_OPENED))
    assert opened["notebook"], f"{CHAPTER} opened as text, not as a notebook: {opened['text'][:200]!r}"
    assert opened["tab"] == Path(CHAPTER).name
    source = jupytext.read(REPO / CHAPTER)
    assert opened["code"] >= 1 and opened["cells"] >= 3, opened
    assert opened["cells"] <= len(source.cells)
    session = WebDriverWait(driver, STARTUP_SECONDS, poll_frequency=0.5).until(lambda _: _idle_session(lab))
    assert session["kernel"]["name"] == "python3", "the chapter's kernelspec names the environment's Python"
    first_code = next(cell.source for cell in source.cells if cell.cell_type == "code").splitlines()[0]
    assert first_code in opened["text"], f"the chapter's first code line {first_code!r} is not in the notebook"
