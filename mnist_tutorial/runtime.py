"""Choosing a device, seeding, and deciding whether to show progress bars."""

from __future__ import annotations

import os
import random
import sys

import numpy as np
import torch

#: Environment variable that forces progress bars on (``1``) or off (``0``).
PROGRESS_ENV = "MNIST_TUTORIAL_PROGRESS"

DEVICE_NAMES = ("auto", "cpu", "cuda", "mps")

#: Seed used wherever the package shuffles or initialises and no seed is given.
DEFAULT_SEED = 1234


def pick_device(name: str | torch.device = "auto") -> torch.device:
    """Return the device called ``name``; ``"auto"`` picks CUDA, then Apple MPS, then CPU.

    A named accelerator that is not available raises ``ValueError`` instead of silently
    falling back to the CPU.
    """
    if isinstance(name, torch.device):
        return name
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind = name.split(":")[0]
    if kind not in DEVICE_NAMES:
        raise ValueError(f"unknown device {name!r}; choose one of {', '.join(DEVICE_NAMES)}")
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if not available[kind]:
        raise ValueError(f"device {name!r} is not available on this machine")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch so that a CPU run repeats bit for bit."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def show_progress(progress: bool | None) -> bool:
    """Resolve a ``progress`` argument: ``None`` means on for a terminal, off otherwise.

    ``$MNIST_TUTORIAL_PROGRESS`` (``0`` or ``1``) overrides the automatic choice, so a
    reader can turn bars on in Jupyter while the built book stays quiet.
    """
    if progress is not None:
        return progress
    forced = os.environ.get(PROGRESS_ENV)
    if forced in ("0", "1"):
        return forced == "1"
    return sys.stderr.isatty()
