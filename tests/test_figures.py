"""No text in the book's figures is smaller than FIGURE_TEXT_PT, the size the pages keep legible on a narrow screen.

The browser suite (tests/test_browser.py) measures what a figure's smallest text becomes on the page from this size,
the image's dpi and its displayed width; these tests make sure the size holds, for the package's figures by drawing
them and for the figures the chapters draw themselves by reading the font sizes they set. The last tests check
what each figure function draws: its panels, titles, colours, curves and labels, and that pyplot is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.figure import Figure
from matplotlib.text import Text

from mnist_tutorial import plots
from mnist_tutorial.evaluation import Predictions, confusion_matrix
from tests.browser_support import FIGURE_TEXT_PT, REPO

Images = tuple[torch.Tensor, torch.Tensor]
_PREDICTIONS = Predictions(
    torch.nn.functional.one_hot(torch.tensor([0, 5, 2]), 10).float().log(), torch.tensor([0, 1, 2])
)
_HISTORY = pd.DataFrame({"epoch": [1, 2], "train_loss": [1, 0.5], "val_loss": [0.9, 0.6], "val_accuracy": [0.8, 0.9]})

FIGURES: dict[str, Callable[[Images], Figure]] = {
    "digit_grid, three columns": lambda b: plots.digit_grid(b[0][:3], ["a", "b", "c"], columns=3, size=1.0),
    "show_digits": lambda b: plots.show_digits(b[0][:12], b[1][:12]),
    "show_predictions": lambda b: plots.show_predictions(b[0][:3], _PREDICTIONS),
    "show_confident_mistakes": lambda b: plots.show_confident_mistakes(b[0][:3], _PREDICTIONS, torch.tensor([1])),
    "plot_history": lambda b: plots.plot_history({"linear": _HISTORY, "conv": _HISTORY}),
    "plot_comparison": lambda b: plots.plot_comparison(_HISTORY.assign(run="a"), {"first": ["a"], "second": ["a"]}),
    "plot_confusion_matrix": lambda b: plots.plot_confusion_matrix(
        confusion_matrix(torch.arange(100) % 10, torch.arange(100) % 10)
    ),
}


def smallest_text(figure: Figure) -> float:
    """The smallest font size, in points, of the text a figure draws (tick labels included)."""
    figure.draw_without_rendering()
    return min(text.get_fontsize() for text in figure.findobj(Text) if text.get_visible() and text.get_text().strip())


@pytest.mark.parametrize("name", FIGURES)
def test_package_figures_draw_no_text_below_the_floor(blobs: Images, name: str) -> None:
    assert smallest_text(FIGURES[name](blobs)) >= FIGURE_TEXT_PT, f"{name} draws text below {FIGURE_TEXT_PT} pt"


def test_the_measure_sees_small_text(blobs: Images) -> None:
    figure = plots.plot_history({"linear": _HISTORY})
    figure.axes[0].legend(fontsize=8)
    assert smallest_text(figure) == 8


# A font size a chapter sets: a number of points or one of Matplotlib's names (relative to the default 10 pt).
_FONT_SIZE = re.compile(r"""\b(?:fontsize|labelsize|title_fontsize)\s*=\s*(?:([0-9.]+)|["']([a-z-]+)["'])""")
_BELOW_DEFAULT = {"xx-small", "x-small", "small", "smaller"}


def test_chapter_figures_set_no_text_below_the_floor() -> None:
    """The chapters' own figures use Matplotlib's default sizes (10 pt and up) unless they set larger ones."""
    problems = []
    for chapter in sorted((REPO / "book").glob("*.md")):
        text = chapter.read_text(encoding="utf-8")
        if "rcParams" in text or "rc_context" in text:
            problems.append(f"{chapter.name}: changes Matplotlib's defaults")
        for match in _FONT_SIZE.finditer(text):
            points, name = match.groups()
            if (points and float(points) < FIGURE_TEXT_PT) or name in _BELOW_DEFAULT:
                problems.append(f"{chapter.name}: {match.group(0)}")
    assert not problems, f"text below {FIGURE_TEXT_PT} pt in figures:\n" + "\n".join(problems)


# What the figures draw.


@pytest.mark.parametrize("name", FIGURES)
def test_each_figure_function_returns_a_figure_of_its_own_without_pyplot(blobs: Images, name: str) -> None:
    before = plt.get_fignums()
    figure = FIGURES[name](blobs)
    assert isinstance(figure, plots.Figure) and isinstance(figure, Figure)
    assert plt.get_fignums() == before  # nothing for pyplot to show or to close


def test_a_figure_shows_itself_in_jupyter_as_a_png() -> None:
    png = plots.digit_grid(torch.zeros(1, 28, 28), ["blank"], columns=1)._repr_png_()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_digit_grid_draws_each_image_under_its_title_and_leaves_the_rest_of_the_grid_blank() -> None:
    images = torch.rand(7, 1, 28, 28, requires_grad=True)  # the grid is drawn from a copy without gradients
    untouched = images.detach().clone()
    colours = ["#000000", "#D55E00", "#0072B2", "#000000", "#000000", "#000000", "#009E73"]
    figure = plots.digit_grid(images, list("abcdefg"), columns=3, colours=colours, size=2.0)
    assert len(figure.axes) == 9  # three rows of three
    assert tuple(figure.get_size_inches()) == pytest.approx((3 * 2.0, 3 * (2.0 + 0.35)))
    assert [len(ax.images) for ax in figure.axes] == [1] * 7 + [0] * 2
    assert [ax.get_title() for ax in figure.axes] == [*"abcdefg", "", ""]
    assert figure.axes[1].title.get_color() == "#D55E00" and figure.axes[6].title.get_color() == "#009E73"
    assert not any(ax.axison for ax in figure.axes)
    assert np.array_equal(figure.axes[4].images[0].get_array(), untouched[4, 0].numpy())
    assert figure.axes[0].images[0].get_cmap().name == "gray_r"  # ink dark on a light page
    assert torch.equal(images.detach(), untouched)


def test_digit_grid_takes_images_with_or_without_their_channel_and_titles_them_black_by_default() -> None:
    pixels = torch.rand(2, 28, 28)
    flat = plots.digit_grid(pixels, ["a", "b"], columns=2)
    with_channel = plots.digit_grid(pixels.unsqueeze(1), ["a", "b"], columns=2)
    for left, right in zip(flat.axes, with_channel.axes, strict=True):
        assert np.array_equal(left.images[0].get_array(), right.images[0].get_array())
    assert flat.axes[0].title.get_color() == "black"


def test_show_digits_titles_each_digit_with_its_label_six_to_a_row(blobs: Images) -> None:
    images, labels = blobs
    figure = plots.show_digits(images[:7], labels[:7])
    assert len(figure.axes) == 12  # two rows of six, five of them blank
    assert [ax.get_title() for ax in figure.axes[:7]] == [f"label {int(label)}" for label in labels[:7]]


def test_show_predictions_colours_right_and_wrong_guesses_eight_to_a_row(blobs: Images) -> None:
    figure = plots.show_predictions(blobs[0][:3], _PREDICTIONS)
    assert len(figure.axes) == 8
    assert [ax.get_title() for ax in figure.axes[:3]] == ["0", "5 (true 1) ✗", "2"]
    assert [ax.title.get_color() for ax in figure.axes[:3]] == [
        plots.RIGHT_COLOUR,
        plots.WRONG_COLOUR,
        plots.RIGHT_COLOUR,
    ]


def test_show_confident_mistakes_draws_the_images_at_the_indices_in_their_order() -> None:
    images = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 1, 28, 28)  # image i is all i
    probabilities = torch.tensor([[0.9, 0.1], [0.3, 0.7], [0.8, 0.2], [0.45, 0.55]])
    predictions = Predictions(probabilities.log(), torch.tensor([0, 0, 1, 0]))
    figure = plots.show_confident_mistakes(images, predictions, torch.tensor([2, 1, 3]))
    shown = [float(ax.images[0].get_array().mean()) for ax in figure.axes[:3]]
    assert shown == [2.0, 1.0, 3.0]
    assert [ax.get_title() for ax in figure.axes[:3]] == [
        "0 at 80.0%, true 1",
        "1 at 70.0%, true 0",
        "1 at 55.0%, true 0",
    ]
    assert {ax.title.get_color() for ax in figure.axes[:3]} == {plots.WRONG_COLOUR}
    assert len(figure.axes) == 6 and not figure.axes[3].images


def test_plot_confusion_matrix_writes_each_count_in_its_cell_true_classes_down_predicted_across() -> None:
    matrix = torch.tensor([[5, 1, 0], [0, 7, 2], [3, 0, 9]])
    untouched = matrix.clone()
    figure = plots.plot_confusion_matrix(matrix)
    ax, colour_bar = figure.axes
    cells = {tuple(int(v) for v in text.get_position()): text.get_text() for text in ax.texts}
    assert cells == {(column, row): str(int(matrix[row, column])) for row in range(3) for column in range(3)}
    assert (ax.get_xlabel(), ax.get_ylabel(), colour_bar.get_ylabel()) == (
        "predicted class",
        "true class",
        "log(1 + count)",
    )
    assert np.allclose(ax.images[0].get_array(), np.log1p(matrix.numpy()))  # rare mistakes stay visible
    assert list(ax.get_xticks()) == list(ax.get_yticks()) == [0, 1, 2]
    assert torch.equal(matrix, untouched)


def test_plot_history_draws_training_and_validation_loss_and_the_accuracy_in_percent_for_each_run() -> None:
    other = _HISTORY.assign(val_accuracy=[0.5, 0.7])
    figure = plots.plot_history({"linear": _HISTORY, "conv": other})
    loss, accuracy = figure.axes
    assert (loss.get_title(), accuracy.get_title()) == ("Loss", "Validation accuracy")
    labels = [f"{run}, {part}" for run in ("linear", "conv") for part in ("training", "validation")]
    assert [line.get_label() for line in loss.lines] == labels
    assert loss.get_yscale() == "log" and loss.get_ylabel() == "mean negative log-likelihood"
    assert list(loss.lines[0].get_ydata()) == [1, 0.5] and list(loss.lines[1].get_ydata()) == [0.9, 0.6]
    assert [list(line.get_ydata()) for line in accuracy.lines] == [[80, 90], [50, 70]]
    assert accuracy.get_ylabel() == "validation accuracy (%)" and loss.get_xlabel() == accuracy.get_xlabel() == "epoch"
    assert loss.lines[0].get_color() == loss.lines[1].get_color() != loss.lines[2].get_color()  # a colour per run
    (legend,) = figure.legends
    assert [text.get_text() for text in legend.get_texts()] == ["linear", "conv", "training loss", "validation loss"]


def test_plot_comparison_gives_each_group_its_panel_legend_and_the_epochs_as_ticks() -> None:
    histories = pd.DataFrame(
        {"epoch": [1, 2, 3] * 2, "val_accuracy": [0.5, 0.9, 0.99] * 2, "run": ["a"] * 3 + ["b"] * 3}
    )
    (only,) = plots.plot_comparison(histories, {"both": ["a", "b"]}).axes
    assert only.get_title() == "both" and len(only.lines) == 2
    assert [text.get_text() for text in only.get_legend().get_texts()] == ["a", "b"]
    assert list(only.get_xticks()) == [1, 2, 3] and only.get_xlabel() == "epoch"
    assert list(only.lines[0].get_ydata()) == pytest.approx([50, 10, 1])
    first, second = plots.plot_comparison(histories, {"first": ["a"], "second": ["b"]}).axes
    assert first.get_shared_x_axes().joined(first, second)  # the panels share the epoch axis, labelled below
    assert first.get_xlabel() == "" and second.get_xlabel() == "epoch"


def test_plot_comparison_renames_a_run_in_one_panel_only_and_refuses_an_unknown_panel() -> None:
    histories = pd.DataFrame({"epoch": [1, 2] * 2, "val_accuracy": [0.5, 0.9] * 2, "run": ["a"] * 2 + ["b"] * 2})
    groups = {"first": ["a", "b"], "second": ["a"]}
    first, second = plots.plot_comparison(histories, groups, labels={"second": {"a": "a, renamed"}}).axes
    assert [text.get_text() for text in first.get_legend().get_texts()] == ["a", "b"]
    assert [text.get_text() for text in second.get_legend().get_texts()] == ["a, renamed"]
    with pytest.raises(ValueError, match="third"):
        plots.plot_comparison(histories, groups, labels={"third": {"a": "x"}})


def test_percentages_in_titles_are_rounded_down_so_that_only_certainty_reads_100() -> None:
    assert plots.percent_rounded_down(0.9996) == "99.9%"
    assert plots.percent_rounded_down(1.0) == "100.0%"
    assert plots.percent_rounded_down(0.5) == "50.0%"
    assert plots.percent_rounded_down(float(torch.tensor(0.7))) == "70.0%"  # stored as 0.69999999


def test_digit_grid_draws_every_image_on_one_scale_when_given_a_value_range() -> None:
    faint = torch.full((2, 28, 28), 50.0)
    faint[1] = 200.0
    stretched = plots.digit_grid(faint, ["a", "b"], columns=2)
    shared = plots.digit_grid(faint, ["a", "b"], columns=2, value_range=(0, 255))
    assert [ax.images[0].get_clim() for ax in shared.axes] == [(0, 255), (0, 255)]
    assert [ax.images[0].get_clim() for ax in stretched.axes] == [(50.0, 50.0), (200.0, 200.0)]
