"""Page weight of a chapter: the bytes a first visit loads, and what the drawing pad loads on the first stroke.

Serves a built book (``_build/html`` by default) from 127.0.0.1, opens the page in headless Chromium
with an empty cache, and sums the body sizes of the page and of every resource it fetched
(as this server sends them: uncompressed). If the page has a drawing pad, it then scrolls to it,
draws one stroke and sums what that fetched. MathJax, which the pages take from a CDN, is
served from node_modules as in the browser tests.
"""

from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser_support import HTML, serve, start_chrome

_ENTRIES = """
const page = performance.getEntriesByType("navigation")[0];
return [[page.name, page.encodedBodySize]].concat(
  performance.getEntriesByType("resource").map(e => [e.name, e.encodedBodySize]));
"""
_IDLE = """
const done = arguments[arguments.length - 1];
const pad = document.querySelector("[data-drawpad]");
pad.drawpadIdle().then(() => done(null), e => done(String(e)));
"""


def _settle(driver: object, seconds: float = 2.0) -> None:
    """Wait for the load event, then a little longer for what loads after it."""
    for _ in range(100):
        if driver.execute_script("return document.readyState") == "complete":
            break
        time.sleep(0.1)
    time.sleep(seconds)


def _report(title: str, entries: list[tuple[str, int]], root: Path, base: str) -> None:
    """Print the entries, largest first, with their sum (and its gzip size, for files on disk)."""
    total = sum(size for _, size in entries)
    packed = 0
    for name, _ in entries:
        path = root / urllib.parse.unquote(urllib.parse.urlsplit(name).path.lstrip("/"))
        if name.startswith(base) and path.is_file():
            packed += len(gzip.compress(path.read_bytes(), 6))
    print(f"{title}: {total:,} bytes in {len(entries)} requests (files served from the site: {packed:,} gzipped)")
    for name, size in sorted(entries, key=lambda entry: -entry[1]):
        print(f"  {size:>11,}  {name.removeprefix(base)}")


def main(argv: list[str] | None = None) -> int:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html", type=Path, default=HTML, help="the built book (default _build/html)")
    parser.add_argument("--page", default="book/09_your_digit.html", help="the page, relative to the book")
    args = parser.parse_args(argv)
    server, base = serve(args.html)
    with tempfile.TemporaryDirectory() as profile:
        driver = start_chrome(Path(profile))
        driver.set_script_timeout(120)
        try:
            driver.get(urllib.parse.urljoin(base, args.page))
            _settle(driver)
            before = [tuple(entry) for entry in driver.execute_script(_ENTRIES)]
            _report("page before drawing", before, args.html, base)
            if not driver.execute_script("return !!document.querySelector('[data-drawpad]')"):
                return 0
            canvas = driver.find_element("css selector", "[data-drawpad] canvas")
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
            _settle(driver)
            scrolled = len(driver.execute_script(_ENTRIES))
            from selenium.webdriver.common.action_chains import ActionChains

            ActionChains(driver).move_to_element_with_offset(canvas, 0, -40).click_and_hold().move_by_offset(
                0, 80
            ).release().perform()
            driver.execute_async_script(_IDLE)
            after = [tuple(entry) for entry in driver.execute_script(_ENTRIES)[scrolled:]]
            _report("first stroke", after, args.html, base)
        finally:
            driver.quit()
            server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
