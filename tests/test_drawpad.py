"""The drawing pad of "Your own digit" in headless Chromium, with every request off the local server blocked.

Digits are drawn as line segments with real pointer input (WebDriver actions: a mouse, a pen and a finger);
the page's 28 x 28 image and probabilities are compared with `mt.mnist_like` and the PyTorch model applied to
the canvas's own pixels, read back from the browser.

Needs `_build/html` from `make book` (which exports the model and copies onnxruntime-web from node_modules),
Debian's Chromium and chromedriver and `npm ci` (`.ci/install-browser.sh`), and the trained model in the
cache the book was built with (the `built_model` fixture). Without the book or the browser the tests fail
when `CI` is set and skip otherwise.
"""

from __future__ import annotations

import base64
import math
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageFilter

import mnist_tutorial as mt
from tests.browser_support import AXE, HTML, browse_book, unavailable

pytestmark = pytest.mark.book

PAGE = "book/09_your_digit.html"
MODEL = HTML / "_static" / "drawpad" / "mnist-conv.onnx"

Stroke = list[tuple[float, float]]  # points as fractions of the canvas's width and height


def _ellipse(cx: float, cy: float, rx: float, ry: float, points: int = 24) -> Stroke:
    return [
        (cx + rx * math.sin(2 * math.pi * i / points), cy - ry * math.cos(2 * math.pi * i / points))
        for i in range(points + 1)
    ]


#: What each digit is drawn with: the strokes and the kind of pointer.
DRAWINGS: dict[int, tuple[list[Stroke], str]] = {
    1: ([[(0.53, 0.15), (0.5, 0.5), (0.47, 0.85)]], "mouse"),
    7: ([[(0.28, 0.2), (0.72, 0.2), (0.6, 0.5), (0.45, 0.85)]], "pen"),
    0: ([_ellipse(0.5, 0.5, 0.22, 0.33)], "touch"),
}

_SETTLE = """
const done = arguments[arguments.length - 1];
(async () => {
  if (document.readyState !== "complete") await new Promise(r => addEventListener("load", r, {once: true}));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
})().then(() => done(null), e => done(String(e)));
"""
_IDLE = """
const done = arguments[arguments.length - 1];
document.querySelector("[data-drawpad]").drawpadIdle().then(() => done(null), e => done(String(e)));
"""
# What the pad shows and used, and the canvas's pixels (base64), after it has read the drawing.
_READ = """
const pad = document.querySelector("[data-drawpad]"), canvas = pad.querySelector("canvas");
const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
let binary = "";
for (let i = 0; i < pixels.length; i += 0x8000) binary += String.fromCharCode(...pixels.subarray(i, i + 0x8000));
const settings = {mean: +pad.dataset.mean, std: +pad.dataset.std, threshold: +pad.dataset.threshold};
const last = pad.drawpadLast;
return {
  width: canvas.width, height: canvas.height, pixels: btoa(binary),
  prepared: Array.from(mnistDrawpad.prepare(pixels, canvas.width, canvas.height, settings) || []),
  input: last ? Array.from(last.input) : null, probabilities: last ? last.probabilities : null,
  digit: pad.querySelector(".drawpad-digit").textContent, status: pad.querySelector(".drawpad-status").textContent,
  rows: Array.from(pad.querySelectorAll(".drawpad-bars tbody tr"), r => ({
    digit: r.cells[0].textContent, shown: r.cells[1].textContent, exact: r.dataset.probability,
    best: r.classList.contains("drawpad-best"),
  })),
};
"""
_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document.querySelector("[data-drawpad]").closest("section") || document, {resultTypes: ["violations"]})
  .then(r => done(r.violations.map(v => `${v.id} (${v.impact}): ${v.help}: ${v.nodes.map(n => n.target.join(" "))}`)),
        e => done([`axe failed: ${e}`]));
"""


@dataclass
class Pad:
    """The served book, the browser on the pad's page, and what the page fetched and logged."""

    base: str
    driver: Any

    def reload(self) -> None:
        """Open the page afresh and wait for it (and MathJax) to settle; forget earlier log entries."""
        self.driver.get_log("browser")
        self.driver.get(urllib.parse.urljoin(self.base, PAGE))
        assert self.driver.execute_async_script(_SETTLE) is None

    def canvas(self) -> Any:
        """The pad's canvas element."""
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, "[data-drawpad] canvas")

    def draw(self, strokes: list[Stroke], kind: str) -> None:
        """Draw the strokes with a pointer of `kind` ("mouse", "pen" or "touch"), then wait for the reading."""
        from selenium.webdriver.common.actions.action_builder import ActionBuilder
        from selenium.webdriver.common.actions.pointer_input import PointerInput

        canvas = self.canvas()
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
        width, height = canvas.size["width"], canvas.size["height"]
        actions = ActionBuilder(self.driver, mouse=PointerInput(kind, kind))
        for stroke in strokes:
            # WebDriver offsets are from the element's centre, in whole CSS pixels.
            offsets = [(round((x - 0.5) * width), round((y - 0.5) * height)) for x, y in stroke]
            actions.pointer_action.move_to(canvas, *offsets[0]).pointer_down()
            for offset in offsets[1:]:
                actions.pointer_action.move_to(canvas, *offset)
            actions.pointer_action.pointer_up()
        actions.perform()
        self.wait()

    def wait(self) -> None:
        """Wait until the pad has read what is drawn."""
        assert self.driver.execute_async_script(_IDLE) is None

    def read(self) -> dict[str, Any]:
        """What the pad shows and computed, and the canvas's pixels as an RGBA array."""
        data = self.driver.execute_script(_READ)
        pixels = np.frombuffer(base64.b64decode(data["pixels"]), dtype=np.uint8)
        data["pixels"] = pixels.reshape(data["height"], data["width"], 4)
        return data

    def errors(self) -> list[str]:
        """The browser's SEVERE log entries since the last call."""
        return [entry["message"] for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]

    def foreign_requests(self) -> list[str]:
        """Every resource the page asked for that is not on the local server."""
        names = self.driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        return [name for name in names if not name.startswith(self.base)]


@pytest.fixture(scope="module")
def pad(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pad]:
    """Serve `_build/html`, start Chromium with every request off 127.0.0.1 blocked, open the pad's page."""
    if not MODEL.is_file():
        unavailable(f"{MODEL} is missing: run `make book` first")
    with browse_book(HTML / PAGE, tmp_path_factory.mktemp("chromium-profile"), script_timeout=120) as (base, driver):
        page = Pad(base, driver)
        page.reload()
        yield page


def _python_reading(model: torch.nn.Module, pixels: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
    """The chapter's preparation (`mt.mnist_like`) of the canvas's pixels, and the PyTorch model's probabilities."""
    prepared = mt.mnist_like(Image.fromarray(pixels, "RGBA"))
    with torch.no_grad():
        probabilities = model(prepared.unsqueeze(0)).exp()[0].numpy()
    return prepared, probabilities


def test_page_loads_nothing_heavy_before_the_first_stroke(pad: Pad) -> None:
    pad.reload()
    fetched = pad.driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    heavy = [name for name in fetched if name.endswith((".onnx", ".wasm", ".mjs"))]
    assert not heavy, f"loaded before any drawing: {heavy}"
    assert pad.foreign_requests() == [], "requests off the book's own site"
    assert pad.errors() == []


@pytest.mark.parametrize("digit", list(DRAWINGS))
def test_drawn_digit_is_read_as_pytorch_reads_it(pad: Pad, built_model: torch.nn.Module, digit: int) -> None:
    strokes, kind = DRAWINGS[digit]
    pad.reload()
    pad.draw(strokes, kind)
    shown = pad.read()
    prepared, expected = _python_reading(built_model, shown["pixels"])

    python_input = prepared.numpy().ravel()
    gaps = {}
    for name in ("input", "prepared"):  # what the page ran, and its preparation of the pixels now
        gaps[name] = np.abs(np.asarray(shown[name], dtype=np.float32) - python_input).max()
        assert gaps[name] <= 1e-3, (
            f"{kind}-drawn {digit}: the page's {name} differs from mt.mnist_like by {gaps[name]:.2e}"
        )

    page = np.asarray(shown["probabilities"])
    gaps["probabilities"] = np.abs(page - expected).max()
    print(f"{kind}-drawn {digit}, largest differences from Python:", {key: f"{gap:.1e}" for key, gap in gaps.items()})
    assert gaps["probabilities"] <= 1e-4, f"{kind}-drawn {digit}: page {page.round(5)}, PyTorch {expected.round(5)}"
    best = int(expected.argmax())
    assert best == digit, f"the {kind}-drawn {digit} is read as {best} by PyTorch too: the drawing needs redrawing"
    assert shown["digit"] == str(best)
    said = re.match(r"Read as (\d) with probability ([\d.]+) %", shown["status"])
    assert said and int(said[1]) == best, f"the status says {shown['status']!r}"
    assert abs(float(said[2]) - 100 * expected[best]) <= 0.05 + 1e-3, shown["status"]
    for row, p in zip(shown["rows"], expected, strict=True):
        assert float(row["exact"]) == pytest.approx(p, abs=1e-4)
        assert re.fullmatch(r"\d{1,3}\.\d %", row["shown"]), row
        assert abs(float(row["shown"].rstrip(" %")) - 100 * p) <= 0.05 + 1e-3, row
        assert row["best"] == (row["digit"] == str(best))
    assert pad.errors() == [], "console errors while drawing"
    assert pad.foreign_requests() == []


def _hard_cases() -> dict[str, Image.Image]:
    """Pictures where a port that is close but not exact goes wrong."""
    cases = {}
    ring = Image.new("RGB", (40, 25), "white")  # symmetric: its centre of mass is on a half pixel;
    ImageDraw.Draw(ring).rectangle([0, 0, 39, 24], outline="black", width=3)  # 25 * 20 / 40 = 12.5 rounds to 12
    cases["symmetric frame"] = ring
    oval = Image.new("RGB", (301, 203), "white")  # odd sizes: the median is one pixel, not two
    ImageDraw.Draw(oval).ellipse([60, 10, 240, 192], outline="black", width=17)
    cases["symmetric ring"] = oval
    generator = np.random.default_rng(0)
    tinted = Image.new("RGB", (180, 140), (232, 221, 200))  # coloured ink on tinted paper, blurred
    draw = ImageDraw.Draw(tinted)
    for colour in ((30, 40, 120), (90, 20, 20), (10, 70, 30)):
        draw.line([tuple(int(v) for v in generator.integers(5, 135, 2)) for _ in range(4)], fill=colour, width=9)
    cases["coloured strokes"] = tinted.filter(ImageFilter.GaussianBlur(2.5))
    halves = Image.new("RGB", (100, 60), "white")  # half white, half grey, ink on the grey: the median
    ImageDraw.Draw(halves).rectangle([50, 0, 99, 59], fill=(235, 235, 235))  # lies between two levels
    ImageDraw.Draw(halves).line([(60, 10), (90, 50)], fill="black", width=6)
    ImageDraw.Draw(halves).line([(60, 50), (90, 10)], fill=(100, 100, 100), width=6)
    cases["paper of two greys"] = halves
    exact = Image.new("RGB", (64, 48), "white")  # 20 pixels tall already: no vertical pass
    ImageDraw.Draw(exact).rectangle([20, 10, 31, 29], fill=(60, 60, 60))
    cases["already 20 tall"] = exact
    hair = Image.new("RGB", (90, 300), "white")  # one pixel wide: width rounds to 0, then 1
    ImageDraw.Draw(hair).line([(45, 20), (45, 280)], fill="black", width=1)
    cases["hairline"] = hair
    return cases


def test_page_prepares_pictures_exactly_as_mnist_like(pad: Pad) -> None:
    """The page's preparation, fed pictures that test rounding, ties and both resampling passes."""
    worst = 0.0
    for name, picture in _hard_cases().items():
        rgba = np.asarray(picture.convert("RGBA"))
        prepared = pad.driver.execute_script(
            "const [b64, width, height, pad] = arguments;"
            "const rgba = Uint8ClampedArray.from(atob(b64), c => c.charCodeAt(0));"
            "const settings = {mean: +pad.dataset.mean, std: +pad.dataset.std, threshold: +pad.dataset.threshold};"
            "return Array.from(mnistDrawpad.prepare(rgba, width, height, settings));",
            base64.b64encode(rgba.tobytes()).decode(),
            rgba.shape[1],
            rgba.shape[0],
            pad.driver.find_element("css selector", "[data-drawpad]"),
        )
        expected = mt.mnist_like(Image.fromarray(rgba, "RGBA")).numpy().ravel()
        gap = float(np.abs(np.asarray(prepared, dtype=np.float32) - expected).max())
        assert gap <= 1e-3, f"{name}: the page's preparation differs from mt.mnist_like by {gap:.2e}"
        worst = max(worst, gap)
    print(f"{len(_hard_cases())} pictures; the page's preparation differs from mt.mnist_like by up to {worst:.1e}")


def test_clear_empties_the_pad(pad: Pad) -> None:
    from selenium.webdriver.common.by import By

    pad.reload()
    pad.draw(*DRAWINGS[7])
    button = pad.driver.find_element(By.CSS_SELECTOR, "[data-drawpad] .drawpad-clear")
    button.click()
    pad.wait()
    shown = pad.read()
    assert (shown["pixels"][..., :3] == 255).all(), "ink left on the canvas"
    assert shown["prepared"] == [] and shown["input"] is None
    assert shown["digit"] == "?" and all(row["shown"] == "–" and not row["best"] for row in shown["rows"])
    pad.draw(*DRAWINGS[1])
    assert pad.read()["digit"] == "1", "the pad does not read a new drawing after Clear"
    assert pad.errors() == []


def test_clear_works_from_the_keyboard(pad: Pad) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    pad.reload()
    pad.draw(*DRAWINGS[7])
    # From the section's heading link, Tab goes through the text's links to the pad's controls.
    pad.driver.execute_script("document.querySelector('#draw-a-digit a.headerlink, #draw-a-digit a').focus()")
    is_clear = "return document.activeElement.matches('[data-drawpad] .drawpad-clear')"
    for _ in range(10):
        ActionChains(pad.driver).send_keys(Keys.TAB).perform()
        if pad.driver.execute_script(is_clear):
            break
    else:
        pytest.fail("Tab from the section's heading never reaches the Clear button")
    outline = pad.driver.execute_script("return getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused Clear button shows no focus ring"
    ActionChains(pad.driver).send_keys(Keys.ENTER).perform()
    pad.wait()
    assert pad.read()["digit"] == "?", "Enter on the focused Clear button does not clear the pad"


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_pad_passes_axe_in_light_and_dark_mode(pad: Pad, theme: str) -> None:
    pad.reload()
    pad.driver.execute_script("document.documentElement.dataset.theme = arguments[0]", theme)
    pad.draw(*DRAWINGS[0])
    pad.driver.execute_script(AXE.read_text(encoding="utf-8"))
    violations = pad.driver.execute_async_script(_AXE)
    assert violations == [], f"{theme} mode:\n" + "\n".join(violations)


def test_pad_fits_a_400_pixel_wide_screen(pad: Pad) -> None:
    metrics = {"width": 400, "height": 800, "deviceScaleFactor": 2, "mobile": True}
    pad.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    try:
        pad.reload()
        boxes = pad.driver.execute_script(
            "const pad = document.querySelector('[data-drawpad]');"
            "return [pad, pad.querySelector('canvas'), pad.querySelector('.drawpad-bars')]"
            ".map(e => { const b = e.getBoundingClientRect(); return [b.left, b.right]; })"
            ".concat([[0, document.documentElement.scrollWidth]])"
        )
        (pad_left, pad_right), (canvas_left, canvas_right), (bars_left, bars_right), (_, page_width) = boxes
        assert page_width <= 400, f"the page scrolls sideways ({page_width} px)"
        assert min(pad_left, canvas_left, bars_left) >= 0 and max(pad_right, canvas_right, bars_right) <= 400, boxes
        assert canvas_right - canvas_left >= 200, "the canvas is too small to draw on"
        pad.draw(*DRAWINGS[1])
        assert pad.read()["digit"] == "1", "drawing on the small screen is not read"
    finally:
        pad.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
