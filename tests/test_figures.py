"""No text in the book's figures is smaller than FIGURE_TEXT_PT, the size the pages keep legible on a narrow screen.

The browser suite (tests/test_browser.py) measures what a figure's smallest text becomes on the page from this size,
the image's dpi and its displayed width; these tests make sure the size holds, for the package's figures by drawing
them and for the figures the chapters draw themselves by reading the font sizes they set.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd
import pytest
import torch
from matplotlib.figure import Figure
from matplotlib.text import Text

from mnist_tutorial import plots
from mnist_tutorial.evaluation import Predictions, confusion_matrix
from tests.browser_support import FIGURE_TEXT_PT, REPO

Images = tuple[torch.Tensor, torch.Tensor]
_PREDICTIONS = Predictions(torch.nn.functional.one_hot(torch.tensor([0, 5, 2]), 10).float(), torch.tensor([0, 1, 2]))
_HISTORY = pd.DataFrame({"epoch": [1, 2], "train_loss": [1, 0.5], "test_loss": [0.9, 0.6], "test_accuracy": [0.8, 0.9]})

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
