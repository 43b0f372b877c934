"""Saving a trained model with what it is, and loading it back safely."""

from __future__ import annotations

import os
import pickle
import platform
import zipfile
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


def _what_it_holds(source: Path) -> str:
    """Say what a file that ``torch.save`` did not write holds, for an error message."""
    with source.open("rb") as handle:
        head = handle.read(4096)
    if not head:
        return "it is empty"
    if b"\0" not in head and head.decode("utf-8", errors="replace").count("\ufffd") <= 3:
        return "it holds text"
    return "it is not a file written by torch.save"


def _read_payload(source: Path) -> dict[str, Any]:
    """Return the dictionary :func:`save_checkpoint` wrote to ``source``, refusing anything else."""
    not_ours = f"{source} is not a checkpoint written by mnist_tutorial"
    if not zipfile.is_zipfile(source):  # torch.save has written zip archives since PyTorch 1.6
        raise CheckpointError(f"{not_ours} ({_what_it_holds(source)})")
    try:
        payload = torch.load(source, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # PyTorch's message would advise weights_only=False: unsafe here
        raise CheckpointError(not_ours) from None
    except (RuntimeError, EOFError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"{not_ours} ({reason})") from None
    if not isinstance(payload, dict):
        raise CheckpointError(f"{not_ours} (it holds a {type(payload).__name__})")
    for key in ("architecture", "state_dict"):
        if key not in payload:
            raise CheckpointError(f"{not_ours} (no {key!r} entry)")
    for key, kind in (("architecture", str), ("state_dict", dict), ("metadata", dict)):
        if not isinstance(payload.get(key, {}), kind):
            raise CheckpointError(f"{not_ours} (its {key!r} entry is a {type(payload[key]).__name__})")
    return payload


def _misfit(model: nn.Module, state: dict[str, Any]) -> str:
    """Say how ``state`` fails to fit ``model``'s weights (missing, unexpected, reshaped), or ``""``."""
    expected = model.state_dict()
    missing = expected.keys() - state.keys()
    unexpected = state.keys() - expected.keys()
    reshaped = [
        key
        for key in expected.keys() & state.keys()
        if not isinstance(state[key], torch.Tensor) or state[key].shape != expected[key].shape
    ]
    counts = [(len(missing), "missing"), (len(unexpected), "unexpected"), (len(reshaped), "of another shape")]
    return ", ".join(f"{count} {'weight' if count == 1 else 'weights'} {what}" for count, what in counts if count)


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
    payload = _read_payload(source)
    architecture, state = payload["architecture"], payload["state_dict"]
    if architecture not in MODELS:
        raise CheckpointError(f"{source} holds an unknown architecture {architecture!r}")
    class_name = MODELS[architecture].architecture.__name__
    if model is None:
        model = build_model(architecture)
    elif architecture_name(model) != architecture:
        raise CheckpointError(
            f"{source} holds a {architecture!r} model ({class_name}); it cannot be loaded into a {type(model).__name__}"
        )
    misfit = _misfit(model, state)
    if misfit:
        raise CheckpointError(
            f"the weights in {source} do not fit the architecture it records, {architecture!r} ({class_name}): {misfit}"
        )
    try:
        model.load_state_dict(state)
    except RuntimeError as error:  # what _misfit does not foresee, such as a dtype that cannot be copied
        reason = str(error).strip().splitlines()[-1].strip()
        raise CheckpointError(f"the weights in {source} do not fit {class_name}: {reason}") from None
    return Checkpoint(model.to(device), dict(payload.get("metadata", {})))
