"""Exporting a trained classifier to ONNX, so that a web page can run it (the drawing pad).

The exported graph takes a batch of prepared images ``(N, 1, 28, 28)`` (float32, normalised
like the training images) and returns the ten class probabilities ``(N, 10)``. PyTorch's exporter
needs onnx and onnxscript, which the package's ``export`` extra installs.
"""

from __future__ import annotations

import copy
import importlib.util
import os
from pathlib import Path

import torch
from torch import nn

#: The names of the exported graph's input and output.
INPUT_NAME, OUTPUT_NAME = "images", "probabilities"

#: The modules PyTorch's ONNX exporter imports, which ``pip install "mnist_tutorial[export]"`` brings.
EXPORTER_MODULES = ("onnx", "onnxscript")


def book_model(device: str | torch.device = "auto") -> nn.Module:
    """Return the model the drawing pad runs: the notebook recipe's convolutional model, cached.

    This is the one place that says which model the page ships; it trains the model (a few
    minutes on a CPU) only if the trained-model cache does not hold it.
    """
    from .recipes import default_recipe
    from .runs import trained_model

    return trained_model(default_recipe("conv"), device).model.eval()


class _Probabilities(nn.Module):
    """Wrap a classifier that returns log-probabilities so that it returns probabilities."""

    def __init__(self, classifier: nn.Module) -> None:
        super().__init__()
        self.classifier = classifier

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Map ``(N, 1, 28, 28)`` images to ``(N, 10)`` probabilities."""
        return self.classifier(images).exp()


def _require_exporter() -> None:
    """Fail with the command that installs them if the exporter's modules are missing."""
    missing = [name for name in EXPORTER_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise ImportError(
            f'export_onnx needs {" and ".join(missing)}, not installed here: pip install "mnist_tutorial[export]"'
        )


def export_onnx(model: nn.Module, path: str | os.PathLike[str]) -> Path:
    """Write ``model`` (a classifier returning log-probabilities) to ``path`` as one ONNX file.

    The batch size is left free; the model itself is not changed (a CPU copy is exported, in
    evaluation mode). Returns the path written. Needs the ``export`` extra (onnx, onnxscript).
    """
    _require_exporter()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wrapped = _Probabilities(copy.deepcopy(model).cpu().eval()).eval()
    example = torch.zeros(2, 1, 28, 28)  # not 1: a batch of one would fix the size
    program = torch.onnx.export(
        wrapped,
        (example,),
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_shapes={"images": {0: torch.export.Dim("batch")}},
        dynamo=True,
        verbose=False,
    )
    program.save(path, external_data=False)
    return path
