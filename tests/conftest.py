"""Shared fixtures: the real MNIST files, an isolated cache, small synthetic data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from mnist_tutorial.data import RAW_FILES, raw_folder
from mnist_tutorial.paths import CACHE_ENV, REPO_ROOT, data_root

#: The cache the book was built with (the tests otherwise use their own, see isolated_cache).
BUILD_CACHE = os.environ.get(CACHE_ENV) or str(REPO_ROOT / ".cache")


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Give the whole test session its own cache folder (verification records, models)."""
    path = tmp_path_factory.mktemp("cache")
    previous = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(path)
    yield path
    if previous is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = previous


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """The real MNIST data root; its absence fails the run in CI and skips it elsewhere."""
    root = data_root()
    raw = raw_folder(root)
    missing = [f.name for f in RAW_FILES if not (raw / f.name).is_file()]
    if missing:
        message = f"real MNIST not found in {raw} (missing {', '.join(missing)}); set MNIST_TUTORIAL_DATA"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return root


@pytest.fixture()
def mnist_copy(mnist_root: Path, tmp_path: Path) -> Path:
    """A private, writable copy of the four raw files, for tests that damage them."""
    raw = raw_folder(tmp_path)
    raw.mkdir(parents=True)
    for spec in RAW_FILES:
        (raw / spec.name).write_bytes((raw_folder(mnist_root) / spec.name).read_bytes())
    return tmp_path


@pytest.fixture()
def blobs() -> tuple[torch.Tensor, torch.Tensor]:
    """512 synthetic 28×28 images whose class is written as a bright row band: easy to learn."""
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(512) % 10
    images = torch.randn(512, 1, 28, 28, generator=generator) * 0.3
    for index, label in enumerate(labels.tolist()):
        images[index, 0, 2 * label + 4, :] += 3.0
    return images, labels


@pytest.fixture(scope="session")
def built_model(isolated_cache: Path) -> torch.nn.Module:
    """The model the built book's drawing pad runs, on the CPU: from the cache `make book` filled.

    Found in the build's trained-model cache, not the tests' own, so the comparison is with the
    very model that was exported; where that cache lacks it, it is trained there (minutes).
    """
    from mnist_tutorial.export import book_model

    os.environ[CACHE_ENV] = BUILD_CACHE
    try:
        return book_model().cpu()
    finally:
        os.environ[CACHE_ENV] = str(isolated_cache)
