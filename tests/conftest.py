"""Shared fixtures: the real MNIST files, an isolated cache, small synthetic data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from mnist_tutorial.data import RAW_FILES, raw_folder
from mnist_tutorial.paths import CACHE_ENV, cache_dir, data_root
from mnist_tutorial.runs import CACHED_ONLY_ENV

#: The cache the book was built with, and how it was to be used, before the tests isolate theirs.
BOOK_CACHE_ENV = {CACHE_ENV: str(cache_dir()), CACHED_ONLY_ENV: os.environ.get(CACHED_ONLY_ENV, "0")}

#: The cache folder the book was built with (the tests otherwise use their own, see isolated_cache).
BUILD_CACHE = BOOK_CACHE_ENV[CACHE_ENV]


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Give the whole test session its own cache folder (verification records, models).

    The unit tests train small models of their own, so ``$MNIST_TUTORIAL_CACHED_ONLY`` does not
    apply to them; tests that run the book's chapters get it back with :data:`BOOK_CACHE_ENV`.
    """
    path = tmp_path_factory.mktemp("cache")
    previous = {name: os.environ.get(name) for name in (CACHE_ENV, CACHED_ONLY_ENV)}
    os.environ[CACHE_ENV] = str(path)
    os.environ.pop(CACHED_ONLY_ENV, None)
    yield path
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


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
