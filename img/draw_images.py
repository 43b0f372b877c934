"""Draw the book's own images into img/: the network diagram, the logo and the favicon.

Run from the repository root with ``python img/draw_images.py`` (``make images``); the
output is deterministic, so a re-run leaves git clean unless this script changed.
"""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

matplotlib.use("Agg")
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch

HERE = Path(__file__).resolve().parent
BLUE, ORANGE, GREEN, GREY = "#0072B2", "#D55E00", "#009E73", "#4D4D4D"
SAVE = {"metadata": {"Software": None}, "dpi": 100}
Point = tuple[float, float]


def network_diagram() -> Figure:
    """Draw a fully connected network: inputs, one hidden layer, ten class scores."""
    layers = [("input: 784 pixels", 6, BLUE), ("hidden: 100 values", 5, GREEN), ("output: 10 scores", 4, ORANGE)]
    figure = Figure(figsize=(8, 4.6))
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set(xlim=(0, 10), ylim=(-0.8, 6.3), aspect="equal")
    ax.set_axis_off()
    columns = [1.5, 5.0, 8.5]
    positions = []
    for (label, count, colour), x in zip(layers, columns, strict=True):
        ys = [3 + (i - (count - 1) / 2) * 0.85 for i in range(count)]
        positions.append([(x, y) for y in ys])
        ax.text(x, 5.95, label, ha="center", va="center", fontsize=12, color=GREY)
        ax.text(x, 0.3, "⋮", ha="center", va="center", fontsize=14, color=GREY)
        for y in ys:
            ax.add_patch(Circle((x, y), 0.28, facecolor=colour, edgecolor="white", linewidth=1.5, zorder=3))
    for left, right in itertools.pairwise(positions):
        for start in left:
            for end in right:
                ax.plot([start[0], end[0]], [start[1], end[1]], color=GREY, linewidth=0.6, alpha=0.45, zorder=1)
    for x_from, x_to, text in [(1.9, 4.6, "h = max(0, M₁x + b₁)"), (5.4, 8.1, "s = M₂h + b₂")]:
        ax.add_patch(FancyArrowPatch((x_from, -0.6), (x_to, -0.6), arrowstyle="-|>", mutation_scale=14, color=GREY))
        ax.text((x_from + x_to) / 2, -0.45, text, ha="center", va="bottom", fontsize=11, color="black")
    return figure


def logo_pixels() -> list[str]:
    """Return a 12×12 handwritten-looking seven, one string per row ('#' is ink)."""
    return [
        "............",
        "..########..",
        "..#########.",
        "........###.",
        ".......###..",
        "......###...",
        ".....###....",
        "....###.....",
        "....##......",
        "...###......",
        "...##.......",
        "............",
    ]


def logo(size: float) -> Figure:
    """Draw the logo: a pixelated seven in tensor-grid cells, as the models see digits."""
    rows = logo_pixels()
    figure = Figure(figsize=(size, size))
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set(xlim=(0, 12), ylim=(0, 12), aspect="equal")
    ax.set_axis_off()
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            colour = ORANGE if cell == "#" else "#E8EEF4"
            ax.add_patch(matplotlib.patches.Rectangle((c + 0.06, 11 - r + 0.06), 0.88, 0.88, color=colour))
    return figure


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, steps: int = 24) -> list[Point]:
    """Points along an elliptic arc, angles in degrees, counter-clockwise from east (y down)."""
    return [
        (cx + rx * math.cos(math.radians(a)), cy - ry * math.sin(math.radians(a)))
        for a in (start + (end - start) * i / steps for i in range(steps + 1))
    ]


#: Pen strokes of hand-drawn digits on a 100 × 140 grid (y grows downwards).
STROKES: dict[int, list[list[Point]]] = {
    2: [[*_arc(50, 42, 31, 29, 160, -20), (70, 70), (42, 102), (18, 131), (50, 128), (88, 130)]],
    3: [_arc(48, 38, 30, 26, 150, -90) + _arc(48, 98, 34, 34, 90, -150)],
    4: [[(62, 8), (40, 50), (14, 96), (52, 94), (90, 93)], [(66, 46), (66, 90), (67, 138)]],
    7: [[(12, 16), (50, 14), (88, 12), (70, 50), (52, 92), (40, 136)], [(36, 74), (74, 72)]],
    9: [_arc(50, 42, 30, 30, -20, 340, steps=36), [(79, 36), (77, 90), (70, 138)]],
}


def handwritten_digit(digit: int, seed: int) -> Image.Image:
    """Draw a photo-like digit: dark pen strokes on off-white paper, off-centre, slightly tilted."""
    rng = np.random.default_rng(seed)
    width, height, scale = 240, 300, 1.6
    offset = (40 + rng.uniform(-15, 15), 40 + rng.uniform(-15, 15))
    paper = Image.new("L", (width, height), 236)
    pen = ImageDraw.Draw(paper)
    for stroke in STROKES[digit]:
        points = [
            (offset[0] + x * scale + rng.normal(0, 1.2), offset[1] + y * scale + rng.normal(0, 1.2)) for x, y in stroke
        ]
        pen.line(points, fill=45, width=22, joint="curve")
        for x, y in (points[0], points[-1]):
            pen.ellipse((x - 10, y - 10, x + 10, y + 10), fill=45)
    photo = paper.rotate(rng.uniform(-6, 6), resample=Image.Resampling.BICUBIC, fillcolor=236)
    photo = photo.filter(ImageFilter.GaussianBlur(1.5))
    grain = rng.normal(0, 6, (height, width))
    return Image.fromarray(np.clip(np.asarray(photo, dtype=np.float64) + grain, 0, 255).astype(np.uint8))


def main(folder: Path = HERE) -> list[Path]:
    """Write every drawn image into ``folder`` and return their paths."""
    outputs = {
        "nn.png": network_diagram(),
        "logo.png": logo(2.0),
        "favicon.png": logo(0.32),
    }
    written = []
    for name, figure in outputs.items():
        path = folder / name
        figure.savefig(path, transparent=name != "nn.png", facecolor="white" if name == "nn.png" else "none", **SAVE)
        written.append(path)
    for digit in STROKES:
        path = folder / f"handwritten_{digit}.png"
        handwritten_digit(digit, seed=digit).save(path, optimize=True)
        written.append(path)
    return written


if __name__ == "__main__":
    for written in main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(written)
