"""Helpers of the browser tests: the book's pages, what each chapter source promises, a local server, Chromium."""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import json
import os
import re
import struct
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.book_extensions import load_extension

toc = load_extension("toc")

REPO = Path(__file__).resolve().parent.parent
HTML = REPO / "_build" / "html"
SCREENSHOTS = REPO / "_build" / "screenshots"
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
# Debian's packages by default; CI runners with Google Chrome set CHROME_BIN and CHROMEDRIVER.
CHROMIUM = Path(os.environ.get("CHROME_BIN", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))

#: The book's pages (the documents of ``_toc.yml``) in reading order, and those of them that are notebooks.
PAGES = toc.documents()
NOTEBOOK_PAGES = toc.notebooks()

#: The smallest font size, in points, of any text in the book's figures (tests/test_figures.py holds them to it).
FIGURE_TEXT_PT = 10.0

_CODE_CELL = re.compile(r"^`{3,}\{code-cell\}[^\n]*\n(---\n.*?\n---\n|(?::[\w-]+:[^\n]*\n)*)", re.MULTILINE | re.DOTALL)
_IMAGE_DIRECTIVE = re.compile(r"^[`:]{3,}\{(?:image|figure)\}", re.MULTILINE)
_MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]+\)")


@dataclass(frozen=True)
class Source:
    """What a chapter's source promises its page: figures and visible code cells."""

    figures: int
    code_cells: int


def source_of(file: str) -> Source:
    """Count a source's figures (cells with a `mystnb: figure:` option, image directives, Markdown images)."""
    path = toc.source(file)
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        code = [cell.get("metadata", {}) for cell in cells if cell["cell_type"] == "code"]
        markdown = "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")
        return Source(figures=_count_figures(code, markdown), code_cells=_visible(code))
    text = path.read_text(encoding="utf-8")
    code = [_cell_options(block) for block in _CODE_CELL.findall(text)]
    return Source(figures=_count_figures(code, text), code_cells=_visible(code))


def _cell_options(block: str) -> dict[str, Any]:
    """A code cell's options, written either as a YAML block between `---` lines or as `:key: value` lines."""
    if block.startswith("---"):
        return yaml.safe_load(block[4:-5]) or {}
    return yaml.safe_load("\n".join(line[1:] for line in block.splitlines())) or {}


def _count_figures(code: list[dict[str, Any]], markdown: str) -> int:
    """Cells that make a figure (`mystnb: figure:`) plus image directives and Markdown images."""
    cells = sum(isinstance(o.get("mystnb"), dict) and "figure" in o["mystnb"] for o in code)
    return cells + len(_IMAGE_DIRECTIVE.findall(markdown)) + len(_MARKDOWN_IMAGE.findall(markdown))


def _visible(code: list[dict[str, Any]]) -> int:
    """How many code cells show their input on the page."""
    return sum(not set(o.get("tags") or []) & {"remove-cell", "remove-input"} for o in code)


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the built book quietly."""

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output clean."""


class _Server(http.server.ThreadingHTTPServer):
    """A local server that ignores browsers hanging up mid-response (they cancel requests)."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about closed connections; report anything else as usual."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve `root` on a free port of 127.0.0.1 from a daemon thread; return the server and its base URL."""
    server = _Server(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def status(url: str) -> int:
    """The HTTP status of a GET of `url`."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def unavailable(reason: str) -> None:
    """Fail in CI, where the browser tests must run, and skip elsewhere, saying why."""
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def missing_browser() -> str | None:
    """Why Chromium cannot be driven here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (path.is_file() and os.access(path, os.X_OK)):
            return f"{path} not found: run .ci/install-browser.sh (apt-get install chromium chromium-driver)"
    return None


def start_chrome(profile: Path) -> Any:
    """Start headless Debian Chromium with a fresh profile; only 127.0.0.1 resolves, so nothing leaves the machine."""
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download a browser or driver
    os.environ["SE_AVOID_STATS"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))


def block_outside(driver: Any, base: str) -> None:
    """Let the browser load only `base` (the served book) and `file://` pages; every other request fails."""
    patterns = [(f"{base}*", False), ("file:///*", False), ("*://*:*/*", True)]  # the first match decides
    driver.execute_cdp_cmd("Network.enable", {})
    blocked = [{"urlPattern": pattern, "block": block} for pattern, block in patterns]
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urlPatterns": blocked})


@contextlib.contextmanager
def browse_book(needs: Path, profile: Path, *, script_timeout: int) -> Iterator[tuple[str, Any]]:
    """Serve the built book, start Chromium that can load nothing else; yield the base URL and the driver.

    `needs` is the built file the tests cannot do without. What is missing (the build, the browser,
    axe-core) is reported with :func:`unavailable`.
    """
    if not needs.is_file():
        unavailable(f"{needs} is missing: run `make book` first")
    if problem := missing_browser():
        unavailable(problem)
    if not AXE.is_file():
        unavailable("node_modules lacks axe-core: run `npm ci` (or .ci/install-browser.sh)")
    from selenium.common.exceptions import WebDriverException

    server, base = serve(HTML)
    try:
        try:
            driver = start_chrome(profile)
        except WebDriverException as error:
            unavailable(f"Chromium could not be started: {error.msg}")
        driver.set_script_timeout(script_timeout)
        try:
            block_outside(driver, base)
            yield base, driver
        finally:
            driver.quit()
    finally:
        server.shutdown()


def requests_since(driver: Any) -> list[str]:
    """The URLs the browser asked for since the last call (from Chrome's performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def png_dpi(path: Path) -> float | None:
    """The resolution a PNG records in its pHYs chunk (Matplotlib writes the figure's dpi there), or None."""
    data = path.read_bytes()
    position = 8  # after the signature
    while position + 8 <= len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        if kind == b"pHYs":
            per_x, _, unit = struct.unpack(">IIB", data[position + 8 : position + 17])
            return per_x * 0.0254 if unit == 1 else None  # pixels per metre
        if kind == b"IDAT":
            return None  # pHYs must come before the image data
        position += 12 + length
    return None


def screenshot(driver: Any, path: Path, width: int = 1280) -> None:
    """Save a PNG of the whole page: the viewport is made as tall as the document (DevTools' own full-page capture
    catches the theme's sidebars mid-relayout), then set back."""
    settle = "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done(null)));"
    height = 0
    for _ in range(3):  # the document's height changes a little with the viewport's
        wanted = min(int(driver.execute_script("return document.documentElement.scrollHeight")), 30000)
        if wanted == height:
            break
        height = wanted
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        driver.execute_async_script(settle)
    try:
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))
