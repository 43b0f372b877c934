"""Saving a trained model with what it is, and loading it back safely."""

from __future__ import annotations

import os
import pickle
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ._version import __version__
from .recipes import MODELS, architecture_name, build_model

FORMAT_VERSION = 1


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable, or does not fit the model asked for."""


@dataclass(frozen=True)
class Checkpoint:
    """A model loaded from disk together with the metadata saved beside its weights."""

    model: nn.Module
    metadata: dict[str, Any]


def library_versions() -> dict[str, str]:
    """Return the versions of Python and of the libraries a checkpoint depends on."""
    import torchvision

    return {
        "python": platform.python_version(),
        "torch": str(torch.__version__),  # TorchVersion is a str subclass that weights_only refuses
        "torchvision": str(torchvision.__version__),
        "mnist_tutorial": __version__,
    }


def save_checkpoint(model: nn.Module, path: str | os.PathLike[str], **metadata: Any) -> Path:
    """Save ``model``'s weights, its architecture name, library versions and ``metadata``.

    ``metadata`` holds plain values such as ``epochs=10, accuracy=0.99``.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT_VERSION,
        "architecture": architecture_name(model),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "metadata": {**metadata, "versions": library_versions()},
    }
    temporary = target.with_name(target.name + ".tmp")
    torch.save(payload, temporary)
    temporary.replace(target)
    return target


def load_checkpoint(
    path: str | os.PathLike[str], model: nn.Module | None = None, device: str | torch.device = "cpu"
) -> Checkpoint:
    """Load a checkpoint written by :func:`save_checkpoint` onto ``device``.

    Without ``model`` the architecture recorded in the file is built; with one, the file must
    hold that architecture, otherwise :class:`CheckpointError` says which it holds.
    """
    source = Path(path)
    if not source.is_file():
        raise CheckpointError(f"no checkpoint at {source}")
    try:
        payload = torch.load(source, map_location="cpu", weights_only=True)
        architecture, state = payload["architecture"], payload["state_dict"]
        metadata = dict(payload.get("metadata", {}))
    except pickle.UnpicklingError:  # PyTorch's message would advise weights_only=False: unsafe here
        raise CheckpointError(f"{source} is not a checkpoint written by mnist_tutorial") from None
    except KeyError as error:
        raise CheckpointError(f"{source} is not a checkpoint written by mnist_tutorial (no {error} entry)") from None
    except (RuntimeError, EOFError, TypeError, IndexError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"{source} is not a checkpoint written by mnist_tutorial ({reason})") from None
    if architecture not in MODELS:
        raise CheckpointError(f"{source} holds an unknown architecture {architecture!r}")
    if model is None:
        model = build_model(architecture)
    elif architecture_name(model) != architecture:
        raise CheckpointError(
            f"{source} holds a {architecture!r} model ({MODELS[architecture].architecture.__name__}); "
            f"it cannot be loaded into a {type(model).__name__}"
        )
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise CheckpointError(f"the weights in {source} do not fit {type(model).__name__}: {error}") from None
    return Checkpoint(model.to(device), metadata)
