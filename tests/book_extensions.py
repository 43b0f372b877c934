"""The book's extension modules in ``book/_ext``, imported by the tests as the build imports them."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

EXTENSIONS = Path(__file__).resolve().parent.parent / "book" / "_ext"


def load_extension(name: str) -> ModuleType:
    """Import ``book/_ext/<name>.py`` under its own name, with ``book/_ext`` on ``sys.path``.

    That is how jupyter-book's ``local_extensions`` (and ``python book/_ext/colab.py``) import them,
    so that one extension module finds another it imports (``colab`` imports ``toc``).
    """
    if str(EXTENSIONS) not in sys.path:
        sys.path.append(str(EXTENSIONS))
    module = importlib.import_module(name)
    if Path(module.__file__ or "").resolve() != EXTENSIONS / f"{name}.py":
        raise ImportError(f"{name} was imported from {module.__file__}, not from {EXTENSIONS}")
    return module
