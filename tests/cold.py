"""A reader who starts cold: a fresh environment with the package from its wheel, and one notebook in an empty folder.

tests/test_cold.py (``make test-cold``) builds one such environment per run, with :func:`fresh_environment`:
``python -m venv``, ``pip install -r`` the requirements (requirements.txt, or binder/requirements.txt for
PyTorch's CPU build), then the wheel that ``pip wheel --no-deps`` builds from a copy of the working tree, so
nothing is editable and nothing of the checkout is on the path. :func:`run_alone` copies one chapter (or
notebook) into a new empty folder and executes it there with tests/run_alone.py, under a new empty home and
model cache (``MNIST_TUTORIAL_CACHE``): every model the chapter uses, it trains. Only MNIST's raw files are
shared, through ``MNIST_TUTORIAL_DATA``, since they cannot be downloaded everywhere.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RUNNER = Path(__file__).with_name("run_alone.py")

#: ``1`` turns the cold tests on (``make test-cold``); they skip otherwise.
COLD_ENV = "MNIST_TUTORIAL_COLD"
#: The requirements file the fresh environment installs, relative to the repository (default requirements.txt).
REQUIREMENTS_ENV = "MNIST_TUTORIAL_COLD_REQUIREMENTS"
#: The folder of a fresh environment made before, to use again instead of making one (while working on the tests).
REUSE_ENV = "MNIST_TUTORIAL_COLD_VENV"
#: Variables of this process that a reader's fresh shell would not have: they would point into the checkout.
NOT_PASSED = (
    "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "IPYTHONDIR", "MPLCONFIGDIR", "MPLBACKEND",
    "MNIST_TUTORIAL_CACHE", "MNIST_TUTORIAL_CACHED_ONLY", "JUPYTER_PATH", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR",
    "JUPYTER_RUNTIME_DIR", "PYTEST_CURRENT_TEST", "PYTEST_XDIST_WORKER", "COV_CORE_SOURCE", REUSE_ENV,
)  # fmt: skip


def run(command: list[str | Path], log: Path, **options: Any) -> None:
    """Run a command, its output appended to `log`; fail with the log's end if it fails."""
    with log.open("a", encoding="utf-8") as out:
        out.write(f"$ {' '.join(map(str, command))}\n")
        out.flush()
        result = subprocess.run([str(part) for part in command], stdout=out, stderr=subprocess.STDOUT, **options)
    if result.returncode != 0:
        tail = log.read_text(encoding="utf-8")[-4000:]
        raise RuntimeError(f"{command[0]} ... failed (exit {result.returncode}), {log}:\n{tail}")


def copy_of_the_working_tree(destination: Path) -> Path:
    """Copy what a clone of the working tree holds: tracked files and new ones git does not ignore."""
    command = ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"]
    listed = subprocess.run(command, cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (REPO / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, destination / name)
    return destination


def venv_python(venv: Path) -> Path:
    """The Python of a virtual environment."""
    return venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def fresh_environment(folder: Path, requirements: Path) -> Path:
    """A new virtual environment in `folder`/venv with `requirements` and the package's wheel; its Python.

    The wheel is built by the new environment's own pip and setuptools (the pinned ones) from a copy of the
    working tree, without build isolation, so that no index beyond the requirements' is needed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "install.log"
    venv = folder / "venv"
    run([sys.executable, "-m", "venv", venv], log)
    python = venv_python(venv)
    pip = [python, "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "install", "--quiet", "-r", requirements], log)
    source = copy_of_the_working_tree(folder / "source")
    run([*pip, "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir", folder / "wheel", source], log)
    (wheel,) = (folder / "wheel").glob("mnist_tutorial-*.whl")
    run([*pip, "install", "--quiet", wheel], log)
    shutil.rmtree(source)
    return python


def reader_environment(python: Path, home: Path, cache: Path) -> dict[str, str]:
    """The variables of a reader's shell with the fresh environment activated, a new home and an empty cache."""
    env = {key: value for key, value in os.environ.items() if key not in NOT_PASSED}
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        PATH=os.pathsep.join([str(python.parent), env.get("PATH", "")]),
        VIRTUAL_ENV=str(python.parent.parent),
        MNIST_TUTORIAL_CACHE=str(cache),
        MNIST_TUTORIAL_PROGRESS="0",  # as the book is built: no progress bars on stderr
        PYTHONHASHSEED="0",
    )
    return env


def run_alone(python: Path, source: Path, work: Path, timeout: int = 3600) -> dict[str, Any]:
    """Execute `source` alone in `work`/folder (nothing else there), from an empty cache; return the report.

    `work` gets ``folder/`` (the copy of `source` and whatever it writes), ``home/``, ``cache/`` (empty at the
    start), the runner, and ``report.json`` with the executed ``report.ipynb`` beside it.
    """
    folder, cache = work / "folder", work / "cache"
    folder.mkdir(parents=True)
    cache.mkdir()
    shutil.copy2(source, folder / source.name)
    runner = shutil.copy2(RUNNER, work / RUNNER.name)
    report = work / "report.json"
    command = [python, runner, folder / source.name, report, "--timeout", str(timeout)]
    result = subprocess.run(
        [str(part) for part in command],
        cwd=folder,
        env=reader_environment(python, work / "home", cache),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0 or not report.is_file():
        raise RuntimeError(f"the runner failed (exit {result.returncode}):\n{result.stderr[-4000:]}")
    return json.loads(report.read_text(encoding="utf-8"))


def describe(report: dict[str, Any]) -> str:
    """A failed run in a few lines: the cell, its first lines, the error and the end of its traceback."""
    lines = []
    if error := report["error"]:
        lines += [f"cell {error['cell']}: {error['ename']}: {error['evalue']}", error["source"]]
        lines.append(error["traceback"][-3000:])
    for output in report["stderr"]:
        lines += [f"cell {output['cell']} wrote to stderr:", output["source"], output["text"][-1000:]]
    return re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(lines))  # without the traceback's colours
