"""The book's figures.

Each function returns a Matplotlib figure without touching pyplot's global state, so a notebook
shows it once (as the cell's value) and a script can ``savefig`` it. No text in them is smaller
than Matplotlib's default 10 points, the size the book's pages keep legible on narrow screens.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from matplotlib import figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from .evaluation import Predictions


class Figure(figure.Figure):
    """A Matplotlib figure that Jupyter draws as a PNG even when pyplot never made a figure."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()


#: Colours that stay distinguishable for readers with colour-blindness (Okabe–Ito).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
RIGHT_COLOUR, WRONG_COLOUR = PALETTE[0], PALETTE[1]


def digit_grid(
    images: torch.Tensor,
    titles: Sequence[str],
    *,
    columns: int = 6,
    colours: Sequence[str] | None = None,
    size: float = 1.6,
    value_range: tuple[float, float] | None = None,
) -> Figure:
    """Draw images ``(N, 1, 28, 28)`` or ``(N, 28, 28)`` in a grid, each under its title.

    Each image is stretched to its own range of values unless ``value_range`` gives one for all
    (``(0, 255)`` for raw pixels), which keeps fainter images fainter.
    """
    if len(images) != len(titles):
        raise ValueError(f"{len(images)} images but {len(titles)} titles")
    if len(images) == 0:
        raise ValueError("no images to draw")
    pixels = images.detach().cpu().reshape(len(images), *images.shape[-2:]).numpy()
    rows = -(-len(pixels) // columns)
    # A page shows the figure at the column's width, about 7 inches, so a wider grid is shrunk
    # more: grow the titles with the width, to keep them readable (about 11 px) on the page.
    fontsize = max(10.0, 1.1 * columns * size)
    figure = Figure(figsize=(columns * size, rows * (size + 0.35)), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if index < len(pixels):
            low, high = value_range if value_range else (None, None)
            ax.imshow(pixels[index], cmap="gray_r", vmin=low, vmax=high)
            ax.set_title(titles[index], fontsize=fontsize, color=colours[index] if colours else "black")
    return figure


def show_digits(images: torch.Tensor, labels: torch.Tensor, *, columns: int = 6) -> Figure:
    """Draw digits with their true labels as titles."""
    return digit_grid(images, [f"label {int(label)}" for label in labels], columns=columns)


def show_predictions(images: torch.Tensor, predictions: Predictions, *, columns: int = 8) -> Figure:
    """Draw digits titled with the prediction; wrong ones are orange and marked with the truth."""
    titles, colours = [], []
    for guess, truth in zip(predictions.predicted.tolist(), predictions.labels.tolist(), strict=True):
        right = guess == truth
        titles.append(f"{guess}" if right else f"{guess} (true {truth}) ✗")
        colours.append(RIGHT_COLOUR if right else WRONG_COLOUR)
    return digit_grid(images, titles, columns=columns, colours=colours)


def percent_rounded_down(probability: float) -> str:
    """Format a probability as a percentage to one decimal, rounded down: 0.9996 reads 99.9%, not 100.0%.

    A float32 probability is first allowed its rounding (0.7 is stored as 0.69999999), so that it
    reads 70.0%.
    """
    return f"{math.floor(1000 * probability + 1e-4) / 10:.1f}%"


def show_confident_mistakes(
    images: torch.Tensor, predictions: Predictions, indices: torch.Tensor, *, columns: int = 6
) -> Figure:
    """Draw the mistakes at ``indices`` titled with guess, its probability and the truth."""
    titles = [
        f"{int(predictions.predicted[i])} at {percent_rounded_down(float(predictions.confidence[i]))}, "
        f"true {int(predictions.labels[i])}"
        for i in indices.tolist()
    ]
    return digit_grid(images[indices], titles, columns=columns, colours=[WRONG_COLOUR] * len(titles), size=1.9)


def plot_history(histories: Mapping[str, pd.DataFrame]) -> Figure:
    """Plot training and validation loss, and validation accuracy, per epoch for one or more runs."""
    figure = Figure(figsize=(11, 4), layout="constrained")
    loss_ax, accuracy_ax = figure.subplots(1, 2)
    for (name, history), colour in zip(histories.items(), PALETTE, strict=False):
        loss_ax.plot(history["epoch"], history["train_loss"], "o-", color=colour, label=f"{name}, training")
        loss_ax.plot(history["epoch"], history["val_loss"], "s--", color=colour, label=f"{name}, validation")
        accuracy_ax.plot(history["epoch"], 100 * history["val_accuracy"], "o-", color=colour, label=name)
    loss_ax.set(xlabel="epoch", ylabel="mean negative log-likelihood", title="Loss", yscale="log")
    accuracy_ax.set(xlabel="epoch", ylabel="validation accuracy (%)", title="Validation accuracy")
    for ax in (loss_ax, accuracy_ax):
        ax.grid(alpha=0.3)
    # One legend below both panels, where it hides no curve: a colour per run, a line style per loss.
    runs = zip(histories, PALETTE, strict=False)
    keys = [Line2D([], [], color=colour, marker="o", label=name) for name, colour in runs]
    keys += [
        Line2D([], [], color="grey", marker="o", label="training loss"),
        Line2D([], [], color="grey", marker="s", linestyle="--", label="validation loss"),
    ]
    figure.legend(handles=keys, loc="outside lower center", ncols=len(keys))
    return figure


def plot_comparison(
    histories: pd.DataFrame,
    groups: Mapping[str, Sequence[str]],
    labels: Mapping[str, Mapping[str, str]] | None = None,
) -> Figure:
    """One panel per group of runs: validation error after each epoch, on a logarithmic scale.

    ``histories`` is the stacked history of :func:`compare` (with a
    ``run`` column); ``groups`` maps a panel title to the runs it shows; ``labels`` may rename a
    run in one panel's legend (``{title: {run: label}}``), for a run shown in several panels. The
    error, not the accuracy, is drawn so that runs at 1 % and at 90 % error fit on one readable axis.
    """
    labels = labels or {}
    unknown = sorted(set(labels) - set(groups))
    if unknown:
        raise ValueError(f"labels name panels that groups does not have: {unknown}")
    figure = Figure(figsize=(8, 2.6 * len(groups)), layout="constrained")
    axes = figure.subplots(len(groups), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (title, runs) in zip(axes, groups.items(), strict=True):
        for run, colour in zip(runs, PALETTE, strict=False):
            history = histories[histories["run"] == run]
            label = labels.get(title, {}).get(run, run)
            ax.plot(history["epoch"], 100 * (1 - history["val_accuracy"]), "o-", color=colour, label=label)
        ax.set(title=title, ylabel="validation error (%)", yscale="log")
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.grid(alpha=0.3, which="both")
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    axes[-1].set(xlabel="epoch", xticks=sorted(histories["epoch"].unique()))
    return figure


def plot_confusion_matrix(matrix: torch.Tensor) -> Figure:
    """Draw a confusion matrix (rows: true class, columns: predicted) with its counts."""
    counts = matrix.cpu().numpy()
    figure = Figure(figsize=(7, 6), layout="constrained")
    ax = figure.subplots()
    # A log scale keeps the rare mistakes visible next to the large diagonal.
    image = ax.imshow(np.log1p(counts), cmap="Blues")
    threshold = np.log1p(counts).max() / 2
    for (row, column), count in np.ndenumerate(counts):
        colour = "white" if np.log1p(count) > threshold else "black"
        ax.text(column, row, str(count), ha="center", va="center", fontsize=10, color=colour)
    classes = range(counts.shape[0])
    ax.set(xticks=classes, yticks=classes, xlabel="predicted class", ylabel="true class")
    figure.colorbar(image, ax=ax, label="log(1 + count)")
    return figure
