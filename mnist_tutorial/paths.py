"""Where the project keeps its data, its caches and its images."""

from __future__ import annotations

import os
from pathlib import Path

#: The repository this package lives in (the package is installed in editable mode).
REPO_ROOT = Path(__file__).resolve().parent.parent

#: Environment variable naming the folder that holds ``MNIST/raw/``.
DATA_ENV = "MNIST_TUTORIAL_DATA"

#: Environment variable naming the folder for caches (verification records, checkpoints).
CACHE_ENV = "MNIST_TUTORIAL_CACHE"


def data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """Return the MNIST data root: ``root``, else ``$MNIST_TUTORIAL_DATA``, else ``data/``."""
    if root is not None:
        return Path(root).expanduser().resolve()
    from_env = os.environ.get(DATA_ENV)
    if from_env:
        return Path(from_env).expanduser().resolve()
    return REPO_ROOT / "data"


def cache_dir() -> Path:
    """Return (and create) the cache folder: ``$MNIST_TUTORIAL_CACHE``, else ``.cache/``."""
    from_env = os.environ.get(CACHE_ENV)
    path = Path(from_env).expanduser() if from_env else REPO_ROOT / ".cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


def image_path(name: str) -> Path:
    """Return the path of one of the book's images in ``img/``, failing clearly if absent."""
    path = REPO_ROOT / "img" / name
    if not path.is_file():
        raise FileNotFoundError(f"image {name!r} not found in {path.parent}")
    return path
