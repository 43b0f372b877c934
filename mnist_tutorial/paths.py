"""Where the project keeps its data, its caches and its images.

In a checkout of the repository (where ``make venv`` installs the package editable), data go to
``data/`` and caches to ``.cache/`` beside the code, and images are read from ``img/``. Installed
from a wheel (``pip install .``, ``pip install git+…``, Colab), data and caches go to the user's
cache folder, and the images are the package data ``mnist_tutorial/img/`` (pyproject.toml maps
``img/`` there), found through :mod:`importlib.resources`.
"""

from __future__ import annotations

import os
import sys
from importlib.resources import files
from pathlib import Path

#: The folder above the package: the repository in a checkout, ``site-packages`` once installed.
REPO_ROOT = Path(__file__).resolve().parent.parent

#: Environment variable naming the folder that holds ``MNIST/raw/``.
DATA_ENV = "MNIST_TUTORIAL_DATA"

#: Environment variable naming the folder for caches (verification records, checkpoints).
CACHE_ENV = "MNIST_TUTORIAL_CACHE"


def in_checkout() -> bool:
    """Whether the package runs from a checkout of its repository (``pyproject.toml`` beside it)."""
    return (REPO_ROOT / "pyproject.toml").is_file()


def user_cache() -> Path:
    """Return this package's folder in the user's cache folder (XDG on Linux, as macOS and Windows expect)."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mnist_tutorial"


def data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """Return the MNIST data root: ``root``, else ``$MNIST_TUTORIAL_DATA``, else ``data/`` or the user cache."""
    if root is not None:
        return Path(root).expanduser().resolve()
    from_env = os.environ.get(DATA_ENV)
    if from_env:
        return Path(from_env).expanduser().resolve()
    return REPO_ROOT / "data" if in_checkout() else user_cache() / "data"


def cache_dir() -> Path:
    """Return (and create) the cache folder: ``$MNIST_TUTORIAL_CACHE``, else ``.cache/`` or the user cache."""
    from_env = os.environ.get(CACHE_ENV)
    default = REPO_ROOT / ".cache" if in_checkout() else user_cache()
    path = Path(from_env).expanduser() if from_env else default
    path.mkdir(parents=True, exist_ok=True)
    return path


def image_path(name: str) -> Path:
    """Return the path of one of the book's images, failing clearly if absent."""
    folder = REPO_ROOT / "img" if in_checkout() else Path(str(files("mnist_tutorial") / "img"))
    path = folder / name
    if not path.is_file():
        raise FileNotFoundError(f"image {name!r} not found in {folder}")
    return path
