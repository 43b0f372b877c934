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
    """Return the device called ``name``; ``"auto"`` is the machine's accelerator, else the CPU.

    ``"auto"`` asks :func:`torch.accelerator.current_accelerator` for an accelerator that is
    available now (CUDA, Apple's MPS, ...), as PyTorch's own tutorials do. What this adds: a
    device named by the reader (``"cuda"``, ``"cuda:1"``, ``"mps"``) or given as a
    :class:`torch.device` that this machine does not have raises ``ValueError`` at once, instead
    of an error at the first tensor moved there, and never falls back to the CPU silently.
    """
    if isinstance(name, str) and name == "auto":
        return torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
    if isinstance(name, str):
        if name.split(":")[0] not in DEVICE_NAMES[1:]:
            raise ValueError(f"unknown device {name!r}; choose one of {', '.join(DEVICE_NAMES)}")
        try:
            device = torch.device(name)
        except RuntimeError:
            raise ValueError(f"unknown device {name!r}; write a kind and an index, such as 'cuda:0'") from None
    elif isinstance(name, torch.device):
        device = name
    else:
        raise TypeError(f"a device is a name or a torch.device, got {type(name).__name__}")
    if device.type != "cpu":
        accelerator = torch.accelerator.current_accelerator(check_available=True)
        count = torch.accelerator.device_count() if accelerator is not None else 0
        if accelerator is None or accelerator.type != device.type or (device.index or 0) >= count:
            raise ValueError(f"device {str(device)!r} is not available on this machine")
    return device


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
