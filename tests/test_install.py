"""Installed without `-e` (`pip install .`, `pip install git+…`, Colab), the package finds its images and its data.

The install test builds the working tree as a fresh clone would (its tracked and new, not ignored files) and
installs it non-editable into a scratch folder; a Python started elsewhere with that folder on its path then runs
the image-loading and data-finding code. About 20 seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mnist_tutorial import paths
from mnist_tutorial.data import RAW_FILES, raw_folder
from tests.cold import copy_of_the_working_tree

REPO = Path(__file__).resolve().parent.parent
IMAGES = sorted(p.name for p in (REPO / "img").iterdir() if p.suffix in {".png", ".jpg"})

PROBE = """
import json, sys
import mnist_tutorial
from mnist_tutorial import image_path, mnist_like, paths
from PIL import Image

print(json.dumps({
    "file": mnist_tutorial.__file__,
    "data_root": str(paths.data_root()),
    "cache_dir": str(paths.cache_dir()),
    "images": {name: str(image_path(name)) for name in sys.argv[1:]},
    "photo": Image.open(image_path("grace_hopper.jpg")).size,
    "digit": list(mnist_like(image_path("handwritten_4.png")).shape),
}))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package built from a copy of the working tree and installed, not editable, into a scratch folder."""
    source = copy_of_the_working_tree(tmp_path_factory.mktemp("clone"))
    target = tmp_path_factory.mktemp("site-packages")
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index"]
    result = subprocess.run([*command, "--target", str(target), str(source)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    return target


def run_installed(site: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Python with only the scratch install on its path, from a folder outside any checkout."""
    env = {key: value for key, value in os.environ.items() if key not in (paths.DATA_ENV, paths.CACHE_ENV)}
    env.update(PYTHONPATH=str(site), HOME=str(home), XDG_CACHE_HOME=str(home / "cache"))
    home.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=home, env=env, timeout=300)


@pytest.mark.integration
def test_the_installed_package_finds_its_images_and_keeps_data_in_the_user_cache(installed: Path, tmp_path: Path):
    result = run_installed(installed, tmp_path / "home", "-c", PROBE, *IMAGES)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout)
    assert Path(found["file"]).is_relative_to(installed), f"imported {found['file']}, not the scratch install"
    user_cache = tmp_path / "home" / "cache" / "mnist_tutorial"
    assert Path(found["data_root"]) == user_cache / "data"
    assert Path(found["cache_dir"]) == user_cache and user_cache.is_dir()
    for name, path in found["images"].items():
        assert Path(path) == installed / "mnist_tutorial" / "img" / name
        assert Path(path).read_bytes() == (REPO / "img" / name).read_bytes(), f"{name} differs from img/{name}"
    assert found["photo"] == [512, 600]
    assert found["digit"] == [1, 28, 28]


@pytest.mark.integration
def test_the_wheel_states_its_licence_and_python(installed: Path):
    (metadata,) = installed.glob("mnist_tutorial-*.dist-info/METADATA")
    fields = metadata.read_text(encoding="utf-8").split("\n\n", 1)[0].splitlines()
    assert "License-Expression: MIT" in fields
    assert "License-File: LICENSE" in fields and (metadata.parent / "licenses" / "LICENSE").is_file()
    assert "Requires-Python: >=3.11" in fields
    assert "Requires-Dist: pillow>=9.2" in fields


@pytest.mark.integration
def test_the_installed_command_finds_mnist_in_the_user_cache(installed: Path, mnist_root: Path, tmp_path: Path):
    home = tmp_path / "home"
    raw = raw_folder(home / "cache" / "mnist_tutorial" / "data")
    raw.mkdir(parents=True)
    for spec in RAW_FILES:
        (raw / spec.name).symlink_to(raw_folder(mnist_root) / spec.name)
    result = run_installed(installed, home, "-m", "mnist_tutorial", "data")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert f"MNIST verified in {raw}" in result.stdout


@pytest.mark.parametrize(
    ("platform", "env", "expected"),
    [
        ("linux", {"XDG_CACHE_HOME": "/xdg"}, Path("/xdg/mnist_tutorial")),
        ("linux", {}, Path("~/.cache/mnist_tutorial")),
        ("darwin", {}, Path("~/Library/Caches/mnist_tutorial")),
        ("win32", {"LOCALAPPDATA": "/local"}, Path("/local/mnist_tutorial")),
    ],
)
def test_the_user_cache_is_where_each_system_keeps_caches(monkeypatch, platform, env, expected):
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("LOCALAPPDATA", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert paths.user_cache() == expected.expanduser()


def test_a_checkout_keeps_data_and_caches_beside_the_code(monkeypatch, tmp_path):
    monkeypatch.delenv(paths.DATA_ENV, raising=False)
    monkeypatch.delenv(paths.CACHE_ENV, raising=False)
    monkeypatch.setattr(paths, "REPO_ROOT", tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    (tmp_path / "pyproject.toml").write_text("[project]\n", encoding="utf-8")
    assert paths.in_checkout()
    assert (paths.data_root(), paths.cache_dir()) == (tmp_path / "data", tmp_path / ".cache")
    (tmp_path / "pyproject.toml").unlink()
    assert not paths.in_checkout()
    assert (paths.data_root(), paths.cache_dir()) == (
        tmp_path / "user-cache/mnist_tutorial/data",
        tmp_path / "user-cache/mnist_tutorial",
    )
