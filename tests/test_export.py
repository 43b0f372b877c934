"""The ONNX export of the drawing pad's model, run with onnxruntime against PyTorch."""

from __future__ import annotations

import sys

import numpy as np
import onnxruntime
import pytest
import torch

from mnist_tutorial.data import load_split
from mnist_tutorial.export import INPUT_NAME, export_onnx
from mnist_tutorial.recipes import build_model
from tests.browser_support import HTML

SHIPPED = HTML / "_static" / "drawpad" / "mnist-conv.onnx"


def probabilities(session: onnxruntime.InferenceSession, images: torch.Tensor, batch: int = 500) -> np.ndarray:
    """The session's output for ``images``, a batch at a time."""
    parts = [session.run(None, {INPUT_NAME: chunk.cpu().numpy()})[0] for chunk in images.split(batch)]
    return np.concatenate(parts)


@pytest.mark.parametrize("name", ["linear", "conv"])
def test_export_gives_pytorch_probabilities_for_any_batch_size(tmp_path, name):
    torch.manual_seed(0)
    model = build_model(name).eval()
    path = export_onnx(model, tmp_path / "model.onnx")
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"], "the weights must be inside the one file"
    session = onnxruntime.InferenceSession(str(path))
    for batch in (1, 7):
        images = torch.randn(batch, 1, 28, 28)
        with torch.no_grad():
            expected = model(images).exp().numpy()
        np.testing.assert_allclose(probabilities(session, images), expected, atol=1e-6)


def test_export_leaves_the_model_as_it_was(tmp_path):
    model = build_model("conv").train()
    before = {key: value.clone() for key, value in model.state_dict().items()}
    export_onnx(model, tmp_path / "model.onnx")
    assert model.training
    assert all(torch.equal(before[key], value) for key, value in model.state_dict().items())


@pytest.mark.parametrize("absent", [["onnxscript"], ["onnx", "onnxscript"]])
def test_export_without_the_extra_names_what_is_missing_and_how_to_install_it(tmp_path, monkeypatch, absent):
    for name in absent:
        monkeypatch.setitem(sys.modules, name, None)  # what an environment without it imports
    with pytest.raises(ImportError) as error:
        export_onnx(build_model("linear"), tmp_path / "out" / "model.onnx")
    assert str(error.value) == (
        f'export_onnx needs {" and ".join(absent)}, not installed here: pip install "mnist_tutorial[export]"'
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.book
def test_shipped_model_agrees_with_pytorch_on_the_test_set(built_model, mnist_root):
    """The model in the built site reads all 10,000 test images as PyTorch does, to 1e-4 in probability."""
    if not SHIPPED.is_file():
        pytest.skip(f"{SHIPPED} not found: run `make book` first")
    images = load_split(False, "cpu", mnist_root).images
    session = onnxruntime.InferenceSession(str(SHIPPED))
    model = built_model.cpu()
    with torch.no_grad():
        expected = torch.cat([model(chunk).exp() for chunk in images.split(500)]).numpy()
    shipped = probabilities(session, images)
    differ = np.flatnonzero(shipped.argmax(1) != expected.argmax(1))
    assert len(differ) == 0, f"{len(differ)} test images read differently, first {differ[:10]}: is the build stale?"
    worst = np.abs(shipped - expected).max()
    print(f"{len(images)} test images, same class on each; probabilities differ by up to {worst:.2e}")
    assert worst <= 1e-4, f"probabilities differ by up to {worst:.2e}"
