"""nbval must be able to fail: regressions planted in a scratch copy are each reported.

Each plant changes one thing in a copy of the package or of a reference notebook, runs nbval
on the chapter that shows it, and expects a failure. A control run of the unchanged copy must
pass, so that the failures come from the plants. The repository itself is never touched.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
NBVAL = ["--nbval", "--nbval-current-env", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg"]


@dataclass(frozen=True)
class Plant:
    """Replace ``old`` by ``new`` (``count`` times) in ``path``; nbval on ``notebook`` must fail."""

    name: str
    path: str
    old: str
    new: str
    notebook: str
    count: int = 1


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
        "tests/notebooks/01_tensors.ipynb",
        "twos = torch.full((3, 3), 2)",
        "twos = torch.full((3, 3), 3)",
        "01_tensors",
    ),
    Plant(
        "a figure no longer drawn",
        "tests/notebooks/05_mnist_data.ipynb",
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


def scratch_copy(target: Path) -> Path:
    """Copy what the notebooks need — package, images, references, sanitize file — to ``target``."""
    for folder in ("mnist_tutorial", "img", "tests/notebooks"):
        shutil.copytree(ROOT / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "tests/nbval_sanitize.cfg", target / "tests/nbval_sanitize.cfg")
    return target


def run_nbval(scratch: Path, notebooks: list[str], cache: Path) -> subprocess.CompletedProcess[str]:
    """Run nbval on ``notebooks`` of ``scratch``, importing the scratch copy of the package."""
    env = {**os.environ, "PYTHONPATH": str(scratch), "MNIST_TUTORIAL_CACHE": str(cache)}
    paths = [f"tests/notebooks/{name}.ipynb" for name in notebooks]
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *NBVAL, *paths]
    return subprocess.run(command, cwd=scratch, env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, mnist_root: Path) -> Path:
    """An unchanged scratch copy, whose nbval run must pass."""
    return scratch_copy(tmp_path_factory.mktemp("pristine"))


def test_the_unchanged_copy_passes(pristine: Path, tmp_path: Path):
    notebooks = sorted({plant.notebook for plant in PLANTS})
    result = run_nbval(pristine, notebooks, tmp_path / "cache")
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.parametrize("plant", PLANTS, ids=[plant.name for plant in PLANTS])
def test_nbval_reports_each_planted_regression(plant: Plant, pristine: Path, tmp_path: Path):
    before = tree_digest([ROOT / "mnist_tutorial", ROOT / "tests" / "notebooks"])
    scratch = tmp_path / "scratch"
    shutil.copytree(pristine, scratch)
    target = scratch / plant.path
    text = target.read_text()
    assert text.count(plant.old) == plant.count, f"{plant.path} no longer contains {plant.old!r}: update the plant"
    target.write_text(text.replace(plant.old, plant.new))

    result = run_nbval(scratch, [plant.notebook], tmp_path / "cache")

    assert result.returncode == 1, f"nbval missed the planted {plant.name}:\n{result.stdout[-3000:]}"
    assert f"{plant.notebook}.ipynb::Cell" in result.stdout
    assert tree_digest([ROOT / "mnist_tutorial", ROOT / "tests" / "notebooks"]) == before
