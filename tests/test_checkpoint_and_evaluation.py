"""Checkpoints, the evaluation helpers and the figures."""

from __future__ import annotations

import warnings

import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

from mnist_tutorial import plots
from mnist_tutorial.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from mnist_tutorial.data import Split, TensorBatches
from mnist_tutorial.evaluation import Predictions, confident_mistakes, confusion_matrix, evaluate, per_class_accuracy
from mnist_tutorial.models import ConvClassifier, LinearClassifier
from mnist_tutorial.training import fit


def test_a_checkpoint_round_trips_weights_and_metadata(tmp_path):
    torch.manual_seed(0)
    model = ConvClassifier()
    path = save_checkpoint(model, tmp_path / "deep" / "conv.pt", epochs=3, accuracy=0.991)
    loaded = load_checkpoint(path)
    assert isinstance(loaded.model, ConvClassifier)
    for a, b in zip(model.state_dict().values(), loaded.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert loaded.metadata["epochs"] == 3 and loaded.metadata["accuracy"] == 0.991
    assert set(loaded.metadata["versions"]) == {"python", "torch", "torchvision", "mnist_tutorial"}
    assert loaded.metadata["versions"]["torch"] == torch.__version__


def test_loading_into_the_wrong_architecture_says_what_the_file_holds(tmp_path):
    path = save_checkpoint(LinearClassifier(), tmp_path / "linear.pt")
    with pytest.raises(
        CheckpointError, match="holds a 'linear' model .LinearClassifier.; it cannot be loaded into a Conv"
    ):
        load_checkpoint(path, ConvClassifier())


def test_weights_that_do_not_fit_are_refused_clearly(tmp_path):
    model = LinearClassifier()
    model.layer_1 = nn.Linear(28 * 28, 50)  # a changed layer size
    path = save_checkpoint(model, tmp_path / "odd.pt")
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path)
    assert str(error.value) == (
        f"the weights in {path} do not fit the architecture it records, 'linear' (LinearClassifier): "
        "2 weights of another shape"  # layer_1's weight and bias
    )


def test_weights_of_another_architecture_are_refused_in_one_line_naming_the_recorded_one(tmp_path):
    path = tmp_path / "relabelled.pt"
    torch.save({"format": 1, "architecture": "conv", "state_dict": LinearClassifier().state_dict()}, path)
    conv_keys, linear_keys = set(ConvClassifier().state_dict()), set(LinearClassifier().state_dict())
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path)
    assert str(error.value) == (
        f"the weights in {path} do not fit the architecture it records, 'conv' (ConvClassifier): "
        f"{len(conv_keys - linear_keys)} weights missing, {len(linear_keys - conv_keys)} weights unexpected"
    )


def test_missing_and_garbage_checkpoints_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "absent.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="is not a checkpoint written by mnist_tutorial"):
        load_checkpoint(garbage)
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="is not a checkpoint written by mnist_tutorial .no 'architecture' entry"):
        load_checkpoint(tmp_path / "foreign.pt")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (lambda path: torch.save(torch.zeros(3), path), "it holds a Tensor"),
        (lambda path: torch.save([1, 2], path), "it holds a list"),
        (
            lambda path: torch.save({"architecture": "conv", "state_dict": [1]}, path),
            "its 'state_dict' entry is a list",
        ),
        (lambda path: path.write_text("epochs: 3\nhello world\n"), "it holds text"),
        (lambda path: path.write_bytes(b""), "it is empty"),
        (lambda path: path.write_bytes(bytes(range(256))), "it is not a file written by torch.save"),
    ],
    ids=["tensor", "list", "odd-state", "text", "empty", "binary"],
)
def test_a_file_that_is_no_checkpoint_gets_one_line_saying_what_it_holds_and_no_warning(tmp_path, content, reason):
    path = tmp_path / "model.pt"
    content(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(CheckpointError) as error:
            load_checkpoint(path)
    assert str(error.value) == f"{path} is not a checkpoint written by mnist_tutorial ({reason})"


def test_a_pickle_that_safe_loading_refuses_gets_no_advice_to_load_it_unsafely(tmp_path):
    import fractions

    path = tmp_path / "pickled.pt"
    torch.save({"architecture": "conv", "state_dict": {}, "metadata": {"odd": fractions.Fraction(1, 3)}}, path)
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path)
    assert str(error.value) == f"{path} is not a checkpoint written by mnist_tutorial"


def test_confusion_matrix_counts_true_rows_against_predicted_columns():
    labels = torch.tensor([0, 0, 1, 2, 2, 2])
    predicted = torch.tensor([0, 1, 1, 2, 0, 2])
    matrix = confusion_matrix(predicted, labels, num_classes=3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert per_class_accuracy(matrix).tolist() == pytest.approx([0.5, 1.0, 2 / 3])
    with pytest.raises(ValueError, match="differ in shape"):
        confusion_matrix(predicted[:2], labels)


def test_confident_mistakes_come_most_confident_first():
    probabilities = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.3, 0.7], [0.95, 0.05]])
    predictions = Predictions(probabilities.log(), torch.tensor([0, 0, 0, 1, 1]))
    assert predictions.predicted.tolist() == [0, 1, 1, 1, 0]
    assert predictions.accuracy == pytest.approx(0.4)
    assert confident_mistakes(predictions).tolist() == [4, 1, 2]
    assert confident_mistakes(predictions, count=1).tolist() == [4]


def test_evaluate_collects_probabilities_for_every_image(blobs):
    torch.manual_seed(0)
    model = LinearClassifier()
    batches = TensorBatches(Split(*blobs), 100)
    fit(model, TensorBatches(Split(*blobs), 32, shuffle=True), batches, torch.optim.SGD(model.parameters(), 0.05), 2)
    predictions = evaluate(model, batches)
    assert predictions.probabilities.shape == (512, 10)
    assert torch.allclose(predictions.probabilities.sum(dim=1), torch.ones(512), atol=1e-5)
    assert torch.equal(predictions.labels, blobs[1])
    assert predictions.accuracy > 0.9


def test_figures_have_the_panels_and_titles_asked_for(blobs):
    images, labels = blobs
    digits = plots.show_digits(images[:12], labels[:12], columns=4)
    assert isinstance(digits, Figure) and len(digits.axes) == 12
    assert [ax.get_title() for ax in digits.axes[:3]] == ["label 0", "label 1", "label 2"]

    probabilities = torch.nn.functional.one_hot(torch.tensor([0, 5, 2]), 10).float()
    predictions = Predictions(probabilities.log(), torch.tensor([0, 1, 2]))
    grid = plots.show_predictions(images[:3], predictions, columns=3)
    assert [ax.get_title() for ax in grid.axes] == ["0", "5 (true 1) ✗", "2"]

    mistakes = plots.show_confident_mistakes(images[:3], predictions, torch.tensor([1]))
    assert mistakes.axes[0].get_title() == "5 at 100.0%, true 1"

    matrix = plots.plot_confusion_matrix(confusion_matrix(predictions.predicted, predictions.labels))
    assert len(matrix.axes) == 2  # the matrix and its colour bar
    assert len(matrix.axes[0].texts) == 100

    import pandas as pd

    history = pd.DataFrame(
        {"epoch": [1, 2], "train_loss": [1, 0.5], "val_loss": [0.9, 0.6], "val_accuracy": [0.8, 0.9]}
    )
    curves = plots.plot_history({"linear": history, "conv": history})
    assert [ax.get_title() for ax in curves.axes] == ["Loss", "Validation accuracy"]
    assert len(curves.axes[0].lines) == 4 and len(curves.axes[1].lines) == 2


def test_digit_grids_refuse_mismatched_titles(blobs):
    with pytest.raises(ValueError, match="3 images but 2 titles"):
        plots.digit_grid(blobs[0][:3], ["a", "b"])
    with pytest.raises(ValueError, match="no images"):
        plots.digit_grid(blobs[0][:0], [])


def test_digit_grid_titles_grow_with_the_grid_so_they_stay_readable_on_the_page(blobs):
    """A page shrinks a figure to the column's width, so a wider grid needs larger titles."""
    narrow = plots.digit_grid(blobs[0][:3], ["a", "b", "c"], columns=3)
    wide = plots.digit_grid(blobs[0][:8], list("abcdefgh"), columns=8)
    shrink = {grid: 7.0 / grid.get_figwidth() for grid in (narrow, wide)}  # inches on the page per inch
    on_page = {grid: grid.axes[0].title.get_fontsize() * shrink[grid] for grid in (narrow, wide)}
    assert narrow.axes[0].title.get_fontsize() == 10.0
    assert on_page[wide] >= 7.5  # points as the reader sees them; 9 pt at this width would be 4.9
