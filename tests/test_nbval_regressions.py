"""nbval must be able to fail: regressions planted in scratch copies are each reported.

Each plant changes one thing in a copy of the package or of a reference notebook, and nbval, run
as ``make test`` runs it (hidden cells left out, see tests/nbval_visible.py), must fail the chapter
that shows it. A copy left unchanged must pass, so that the failures come from the plants. Every
copy lies in a folder of its own, with the package beside its notebooks: a kernel runs in its
notebook's folder and imports the package from there, so one nbval run covers every copy, and each
failure names its copy (``<copy>/<chapter>.ipynb::Cell N``). The repository itself is never touched.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

# One run serves every test here: xdist's loadgroup keeps them on one worker (make test).
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("nbval-regressions")]

ROOT = Path(__file__).resolve().parent.parent
REFERENCES = ROOT / "tests" / "notebooks"
#: nbval as `make test` runs it.
NBVAL = ["--nbval", "--nbval-current-env", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg"]
NBVAL += ["-p", "tests.nbval_visible"]
#: What the nbval run itself needs in the folder it runs from: the sanitize file and the plugin.
RUNNER_FILES = ("tests/__init__.py", "tests/nbval_sanitize.cfg", "tests/nbval_visible.py")
UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Plant:
    """Replace ``old`` by ``new`` (``count`` times) in ``path`` of a copy; nbval on ``notebook`` must fail.

    ``path`` is a module of the package (``mnist_tutorial/...``) or a reference notebook (``<chapter>.ipynb``).
    """

    name: str
    path: str
    old: str
    new: str
    notebook: str
    count: int = 1

    @property
    def folder(self) -> str:
        """The name of the plant's copy."""
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")


PLANTS = [
    Plant(
        "normalisation constant",
        "mnist_tutorial/data.py",
        "MNIST_MEAN = 0.1307",
        "MNIST_MEAN = 0.1317",
        "05_mnist_data",
    ),
    Plant(
        "log-softmax over the batch",
        "mnist_tutorial/models.py",
        "F.log_softmax(self.logits(images), dim=1)",
        "F.log_softmax(self.logits(images), dim=0)",
        "06_models",
        count=4,  # every classifier
    ),
    Plant(
        "a layer size",
        "mnist_tutorial/models.py",
        "nn.Linear(28 * 28, 100)",
        "nn.Linear(28 * 28, 120)",
        "06_models",
        count=2,  # the linear classifier and the perceptron
    ),
    Plant("default seed", "mnist_tutorial/runtime.py", "DEFAULT_SEED = 1234", "DEFAULT_SEED = 4321", "06_models"),
    Plant(
        "chapter code",
        "01_tensors.ipynb",
        "twos = torch.full((3, 3), 2)",
        "twos = torch.full((3, 3), 3)",
        "01_tensors",
    ),
    Plant(
        "a figure no longer drawn",
        "05_mnist_data.ipynb",
        "mt.show_digits(train_images.data[:18], train_images.targets[:18])",
        "figure = mt.show_digits(train_images.data[:18], train_images.targets[:18])",
        "05_mnist_data",
    ),
]


def tree_digest(paths: list[Path]) -> str:
    """A digest of the files under ``paths``, to show the repository is left unchanged."""
    digest = hashlib.sha256()
    for path in paths:
        for file in sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(str(file.relative_to(ROOT)).encode() + file.read_bytes())
    return digest.hexdigest()


def scratch_copy(target: Path, notebooks: list[str]) -> Path:
    """Copy the package, the images and the references of ``notebooks`` side by side into ``target``."""
    for folder in ("mnist_tutorial", "img"):
        shutil.copytree(ROOT / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in notebooks:
        shutil.copy(REFERENCES / f"{name}.ipynb", target / f"{name}.ipynb")
    return target


def plant(copy: Path, plant: Plant) -> str | None:
    """Make ``plant``'s change in ``copy``; or say why it cannot be made (the text is gone or changed)."""
    target = copy / plant.path
    text = target.read_text()
    if text.count(plant.old) != plant.count:
        return f"{plant.path} no longer contains {plant.old!r} {plant.count} times: update the plant"
    target.write_text(text.replace(plant.old, plant.new))
    return None


def run_nbval(scratch: Path, notebooks: list[Path], cache: Path) -> subprocess.CompletedProcess[str]:
    """Run nbval once on ``notebooks`` (paths under ``scratch``), from ``scratch``, listing every outcome."""
    for name in RUNNER_FILES:
        (scratch / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, scratch / name)
    env = {**os.environ, "MNIST_TUTORIAL_CACHE": str(cache)}
    env.pop("PYTHONPATH", None)
    paths = [str(path.relative_to(scratch)) for path in notebooks]
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA", *NBVAL, *paths]
    return subprocess.run(command, cwd=scratch, env=env, capture_output=True, text=True, timeout=1800)


@dataclass(frozen=True)
class Outcome:
    """What the one nbval run reported, by copy."""

    stdout: str
    returncode: int
    passed: dict[str, list[str]]
    failed: dict[str, list[str]]
    not_planted: dict[str, str]
    repository_unchanged: bool


def by_copy(stdout: str, word: str) -> dict[str, list[str]]:
    """The test ids that ``-rA`` reports with ``word`` (PASSED, FAILED), grouped by the copy they lie in."""
    found: dict[str, list[str]] = {}
    for copy, test in re.findall(rf"^{word} ([^/\s]+)/(\S+)", stdout, re.MULTILINE):
        found.setdefault(copy, []).append(test)
    return found


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory, mnist_root: Path) -> Outcome:
    """One unchanged copy and one copy per plant, all checked by a single nbval run."""
    before = tree_digest([ROOT / "mnist_tutorial", REFERENCES])
    scratch = tmp_path_factory.mktemp("plants")
    unchanged = sorted({p.notebook for p in PLANTS})
    control = scratch_copy(scratch / UNCHANGED, unchanged)
    notebooks = [control / f"{name}.ipynb" for name in unchanged]
    not_planted = {}
    for each in PLANTS:
        copy = scratch_copy(scratch / each.folder, [each.notebook])
        problem = plant(copy, each)
        if problem:
            not_planted[each.name] = problem
        else:
            notebooks.append(copy / f"{each.notebook}.ipynb")
    result = run_nbval(scratch, notebooks, tmp_path_factory.mktemp("cache"))
    after = tree_digest([ROOT / "mnist_tutorial", REFERENCES])
    return Outcome(
        result.stdout + result.stderr,
        result.returncode,
        by_copy(result.stdout, "PASSED"),
        by_copy(result.stdout, "FAILED"),
        not_planted,
        before == after,
    )


def test_the_unchanged_copy_passes(outcome: Outcome):
    assert UNCHANGED not in outcome.failed, f"the unchanged copy fails:\n{outcome.stdout[-3000:]}"
    for name in sorted({p.notebook for p in PLANTS}):
        assert any(test.startswith(f"{name}.ipynb::") for test in outcome.passed.get(UNCHANGED, [])), (
            f"no cell of the unchanged {name} ran:\n{outcome.stdout[-3000:]}"
        )


def test_the_plants_copies_do_not_share_a_package():
    assert len({p.folder for p in PLANTS}) == len(PLANTS)
    assert UNCHANGED not in {p.folder for p in PLANTS}


@pytest.mark.parametrize("plant", PLANTS, ids=[plant.name for plant in PLANTS])
def test_nbval_reports_each_planted_regression(plant: Plant, outcome: Outcome):
    assert plant.name not in outcome.not_planted, outcome.not_planted.get(plant.name)
    failed = outcome.failed.get(plant.folder, [])
    assert failed, f"nbval missed the planted {plant.name}:\n{outcome.stdout[-3000:]}"
    assert all(test.startswith(f"{plant.notebook}.ipynb::Cell") for test in failed), failed
    assert outcome.returncode == 1
    assert outcome.repository_unchanged
