"""The built book in a real browser: pages, figures, links, search, navigation, theme, copy buttons, accessibility.

Needs `_build/html` (`make book`), Debian's Chromium and chromedriver, and `npm ci` (axe-core);
`.ci/install-browser.sh` installs the last two. Without them the tests fail when `CI` is set and skip otherwise.
The browser may load only the served book (and `file://` pages): every outside request is blocked, and recorded.
Each page is visited once, as a first-time visitor, in a window 1280 px wide, then narrowed to 400 px; what the checks
need is recorded at both widths, with full-page screenshots in `_build/screenshots/` (and `_build/screenshots/400px/`).
"""

from __future__ import annotations

import html.parser
import re
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest

from tests.browser_support import (
    AXE,
    FIGURE_TEXT_PT,
    HTML,
    NOTEBOOK_PAGES,
    PAGES,
    SCREENSHOTS,
    browse_book,
    png_dpi,
    requests_since,
    screenshot,
    source_of,
    status,
)

pytestmark = pytest.mark.book

SERIOUS = {"serious", "critical"}
MATH_PAGE = "book/02_autograd"  # a page with inline and display formulas
WIDE, NARROW = 1280, 400  # window widths in CSS px: a laptop, a phone
LEGIBLE_PX = 9.0  # the smallest text height, in CSS px, that a figure may show at the narrow width

# Wait for the page, its images and MathJax's first typesetting, then report what the checks need.
_SETTLE = """
const done = arguments[arguments.length - 1];
(async () => {
  if (document.readyState !== "complete") await new Promise(r => addEventListener("load", r, {once: true}));
  const pending = Array.from(document.images).filter(i => !i.complete);
  await Promise.all(pending.map(i => new Promise(r => { i.onload = i.onerror = r; })));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
})().then(() => done(null), e => done(String(e)));
"""
_COLLECT = """
const article = document.querySelector("article.bd-article") || document.body;
const header = document.querySelector(".bd-header-article") || document.body;
const sidebar = document.querySelector("nav.bd-docs-nav") || document.querySelector(".bd-sidebar-primary");
return {
  images: Array.from(document.images, i => ({
    src: i.getAttribute("src"), loaded: i.complete && i.naturalWidth > 0, inArticle: article.contains(i),
    alt: (i.getAttribute("alt") || "").trim(),
    caption: ((i.closest("figure") || {querySelector: () => null}).querySelector("figcaption") || {}).textContent || "",
  })),
  links: Array.from(document.querySelectorAll("a[href]"), a => ({
    href: a.getAttribute("href"), url: a.href, inArticle: article.contains(a),
    button: a.matches(".btn, [role=button], [data-bs-toggle], .dropdown-item"),
    self: a.matches(".navbar-brand") || !!a.closest(".current, [aria-current]"),
  })),
  apiLinks: Array.from(article.querySelectorAll("a.sphinx-codeautolink-a, a.api-link"), a => ({
    text: a.textContent.trim(), url: a.href, inCode: !!a.closest("div.highlight"),
  })),
  sidebar: sidebar ? Array.from(sidebar.querySelectorAll("a[href]"), a => a.href) : [],
  next: (document.querySelector("a.right-next") || {}).href || null,
  notebooks: Array.from(header.querySelectorAll('a[href$=".ipynb"]'))  // the download menu's own copy;
    .filter(a => a.origin === location.origin).map(a => a.href),     // Colab's launch link is elsewhere
  cellInputs: article.querySelectorAll(".cell_input").length,
  withoutCopy: Array.from(article.querySelectorAll("div.highlight"))
    .filter(d => !d.querySelector("button.copybtn")).length,
  mathErrors: Array.from(document.querySelectorAll("mjx-merror"), e => e.textContent).slice(0, 5),
  wideCode: Array.from(article.querySelectorAll("pre"))
    .filter(p => p.scrollWidth > p.clientWidth + 1)
    .map(p => p.textContent.split("\\n").reduce((a, b) => (b.length > a.length ? b : a), "").trim()),
};
"""
# How the page lays out at the current width: how far it scrolls sideways; what in the content column (the article,
# its header and footer) reaches past the column, the window or a box that clips it, outside a scrolling box of its
# own; the boxes there that scroll sideways; and the width at which each figure of a cell output is drawn. Text hidden
# on purpose (clipped to nothing for screen readers, such as MathJax's copy of each formula as MathML) does not count.
_LAYOUT = """
const view = document.documentElement.clientWidth;
const article = document.querySelector("article.bd-article") || document.body;
const name = e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + Array.from(e.classList, c => "." + c).join("")
  + " " + (e.textContent || e.getAttribute("src") || "").trim().replace(/\\s+/g, " ").slice(0, 60);
const cut = [], scrolling = [], unhinted = [];
function walk(element, left, right) {
  const style = getComputedStyle(element);
  if (style.display === "none" || style.visibility === "hidden" || style.position === "fixed") return;
  if (style.clip !== "auto" || style.clipPath !== "none") return;
  const box = element.getBoundingClientRect();
  if (box.width > 1 && box.height > 1 && (box.left < left - 1 || box.right > right + 1)) return cut.push(name(element));
  if (["auto", "scroll"].includes(style.overflowX)) {
    if (element.scrollWidth > element.clientWidth + 1) {
      scrolling.push(name(element));
      const hint = element.nextElementSibling;
      const shown = hint && hint.classList.contains("scroll-hint") && hint.getBoundingClientRect().height > 0;
      if (!style.display.startsWith("inline") && !shown) unhinted.push(name(element));
    }
    return;
  }
  if (style.overflowX !== "visible" || element === article) {
    [left, right] = [Math.max(left, box.left), Math.min(right, box.right)];
  }
  for (const child of element.children) walk(child, left, right);
}
walk(document.querySelector(".bd-article-container") || document.body, 0, view);
return {
  view, sideways: document.documentElement.scrollWidth - view, cut, scrolling, unhinted,
  figures: Array.from(article.querySelectorAll("div.cell_output img"), i => ({
    src: i.src, natural: i.naturalWidth, shown: i.getBoundingClientRect().width,
  })),
};
"""
# Once the page has settled: where MathJax came from, what it typeset, and which of its fonts loaded.
_MATH = """
const done = arguments[arguments.length - 1];
document.fonts.ready.then(() => done({
  script: (document.querySelector("script[src*=mathjax]") || {}).src || null,
  formulas: document.querySelectorAll("mjx-container").length,
  errors: document.querySelectorAll("mjx-merror").length,
  fonts: Array.from(document.fonts).filter(f => f.status === "loaded" && f.family.includes("MJX")).map(f => f.family),
}), e => done({error: String(e)}));
"""
_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ["violations"]}).then(r => done(r.violations.map(v => ({
  id: v.id, impact: v.impact, help: v.help,
  nodes: v.nodes.map(n => ({target: n.target.join(" "), html: n.html.slice(0, 160)})),
}))), e => done([{id: "axe-error", impact: "critical", help: String(e), nodes: []}]));
"""


@dataclass(repr=False)
class Snapshot:
    """What one visit to a page showed."""

    url: str
    status: int
    errors: list[str]
    outside: list[str]
    data: dict[str, Any]
    violations: list[dict[str, Any]]
    layout: dict[int, dict[str, Any]]  # by window width

    def __repr__(self) -> str:
        """Keep assertion messages short."""
        return f"Snapshot({self.url})"


class Book:
    """The served book and one browser; pages are visited lazily, once each."""

    def __init__(self, base: str, driver: Any) -> None:
        self.base, self.driver = base, driver
        self.snapshots: dict[str, Snapshot] = {}
        self.axe = AXE.read_text(encoding="utf-8")
        self.requested: list[str] = []  # what the last visit asked for

    def outside(self, local: str) -> list[str]:
        """What the last visit asked for outside `local` (the served book, or its folder as a `file://` URL)."""
        return [url for url in self.requested if not url.startswith((local, "data:", "blob:"))]

    def url(self, page: str) -> str:
        """The served URL of a toc document."""
        return urllib.parse.urljoin(self.base, f"{page}.html")

    def visit(self, url: str) -> list[str]:
        """Open `url` as a first-time visitor (empty storage) and return the browser's SEVERE log entries."""
        if self.driver.current_url.startswith(self.base):
            self.driver.execute_script("localStorage.clear(); sessionStorage.clear();")
        self.driver.get_log("browser")
        requests_since(self.driver)
        self.driver.get(url)
        problem = self.driver.execute_async_script(_SETTLE)
        self.requested = requests_since(self.driver)
        errors = [entry["message"] for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]
        return errors + ([f"page did not settle: {problem}"] if problem else [])

    def narrowed(self, page: str) -> dict[str, Any]:
        """The current page's layout at the narrow width, and its screenshot there; the window is widened again."""
        _narrow_screen(self.driver)
        layout = self.driver.execute_script(_LAYOUT)
        screenshot(self.driver, SCREENSHOTS / f"{NARROW}px" / f"{page}.png", NARROW)
        return layout

    def snapshot(self, page: str) -> Snapshot:
        """Visit a toc page once: console errors, what it shows, axe's violations; its layout and a screenshot at 1280
        px, then at 400 px."""
        if page not in self.snapshots:
            url = self.url(page)
            code = status(url)
            errors = self.visit(url)
            outside = self.outside(self.base)
            data = self.driver.execute_script(_COLLECT)
            errors += [f"MathJax error: {text}" for text in data["mathErrors"]]
            layout = {WIDE: self.driver.execute_script(_LAYOUT)}
            self.driver.execute_script(self.axe)
            violations = self.driver.execute_async_script(_AXE)
            screenshot(self.driver, SCREENSHOTS / f"{page}.png", WIDE)
            layout[NARROW] = self.narrowed(page)
            self.snapshots[page] = Snapshot(url, code, errors, outside, data, violations, layout)
        return self.snapshots[page]


def _narrow_screen(driver: Any) -> None:
    """Make the window 400 px wide (the page reflows as in a phone-sized window) and wait until it has."""
    metrics = {"width": NARROW, "height": 900, "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    driver.execute_async_script("const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(done));")


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Book]:
    """Serve `_build/html` on 127.0.0.1 and start one headless Chromium for the whole module."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    with browse_book(HTML / "index.html", profile, script_timeout=60) as (base, driver):
        yield Book(base, driver)


@cache
def _anchors(url: str) -> frozenset[str]:
    """The ids and names in the static HTML of a served page."""
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode("utf-8", "replace")
    found: set[str] = set()

    class Parser(html.parser.HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.update(value for key, value in attrs if key in ("id", "name") and value)

    Parser().feed(text)
    return frozenset(found)


@cache
def _status(url: str) -> int:
    return status(url)


def _page(url: str) -> str:
    """A URL without its query and fragment."""
    return urllib.parse.urlsplit(url)._replace(query="", fragment="").geturl()


# 1. pages load, without console errors


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_without_console_errors(book: Book, page: str) -> None:
    shot = book.snapshot(page)
    assert shot.status == 200, f"{shot.url} answered {shot.status}"
    if shot.errors:
        pytest.fail(f"{page}: console errors:\n" + "\n".join(shot.errors), pytrace=False)


@pytest.mark.parametrize("page", PAGES)
def test_page_makes_no_outside_requests(book: Book, page: str) -> None:
    """The book works offline: nothing is fetched from another site (such requests are blocked, so they fail)."""
    outside = book.snapshot(page).outside
    assert not outside, f"{page}: requests outside the book: {outside}"


@pytest.mark.parametrize("opened", ["served", "as a file"])
def test_formulas_render_offline(book: Book, opened: str) -> None:
    """MathJax and its fonts come from the built site, so formulas are typeset with every outside request blocked,
    also when `_build/html` is opened from disk."""
    path = HTML / f"{MATH_PAGE}.html"
    url, local = (book.url(MATH_PAGE), book.base) if opened == "served" else (path.as_uri(), HTML.as_uri() + "/")
    errors = book.visit(url)
    math = book.driver.execute_async_script(_MATH)
    assert (math.get("script") or "").startswith(local), f"{MATH_PAGE} loads MathJax from {math.get('script')}"
    assert math["formulas"] > 0 and not math["errors"], f"{MATH_PAGE}: MathJax typeset {math}"
    assert {"MJXZERO", "MJXTEX"} <= set(math["fonts"]), f"{MATH_PAGE}: MathJax's fonts did not load: {math}"
    assert not book.outside(local), f"{MATH_PAGE}: requests outside the site: {book.outside(local)}"
    assert not errors, f"{MATH_PAGE} opened {opened}: console errors:\n" + "\n".join(errors)


# 2. images load; figures are where the sources put them, with text alternatives


@pytest.mark.parametrize("page", PAGES)
def test_images_load(book: Book, page: str) -> None:
    broken = [image["src"] for image in book.snapshot(page).data["images"] if not image["loaded"]]
    assert not broken, f"{page}: images that did not load: {broken}"


@pytest.mark.parametrize("page", PAGES)
def test_chapter_shows_its_figures(book: Book, page: str) -> None:
    expected = source_of(page).figures
    shown = sum(image["inArticle"] for image in book.snapshot(page).data["images"])
    assert shown >= expected, f"{page}: the source makes {expected} figures/images, the page shows {shown} <img>"


@pytest.mark.parametrize("page", PAGES)
def test_figures_have_alt_text_or_caption(book: Book, page: str) -> None:
    images = book.snapshot(page).data["images"]
    bare = [i["src"] for i in images if i["inArticle"] and not i["alt"] and not i["caption"].strip()]
    assert not bare, f"{page}: images with neither alt text nor a caption: {bare}"


# 3. links


@pytest.mark.parametrize("page", PAGES)
def test_internal_links_and_anchors_resolve(book: Book, page: str) -> None:
    problems = []
    for link in book.snapshot(page).data["links"]:
        url = link["url"]
        if not url.startswith(book.base) or link["href"] in ("", "#"):
            continue
        target, fragment = _page(url), urllib.parse.unquote(urllib.parse.urlsplit(url).fragment)
        if (code := _status(target)) != 200:
            problems.append(f"{link['href']} -> HTTP {code}")
        elif fragment and target.endswith(".html") and fragment not in _anchors(target):
            problems.append(f"{link['href']} -> no element with id or name {fragment!r}")
    assert not problems, f"{page}: broken links:\n" + "\n".join(sorted(set(problems)))


def _goes_nowhere(link: dict[str, Any]) -> bool:
    """An empty or `#` href (except the theme's buttons and its links to the page itself), a web link without host..."""
    href = link["href"].strip()
    if href in ("", "#"):
        return link["inArticle"] or not (link["button"] or link["self"])
    parts = urllib.parse.urlsplit(href)
    web = parts.scheme in ("http", "https")
    return (web and not parts.netloc) or (parts.scheme == "mailto" and not parts.path) or parts.scheme == "javascript"


@pytest.mark.parametrize("page", PAGES)
def test_no_broken_looking_hrefs(book: Book, page: str) -> None:
    bad = [link["href"] for link in book.snapshot(page).data["links"] if _goes_nowhere(link)]
    assert not bad, f"{page}: links that go nowhere: {bad}"


PYTORCH = "https://docs.pytorch.org/docs/stable/generated/"
API_LINKS_PAGE = "book/06_models"
#: Names on API_LINKS_PAGE, whether in a code cell (else in the prose), and the address each must link to.
API_LINKS = [
    ("nn.Linear", True, PYTORCH + "torch.nn.Linear.html#torch.nn.Linear"),
    ("nn.Linear", False, PYTORCH + "torch.nn.Linear.html#torch.nn.Linear"),
    ("torch.no_grad", True, PYTORCH + "torch.no_grad.html#torch.no_grad"),
    ("F.log_softmax", True, PYTORCH + "torch.nn.functional.log_softmax.html#torch.nn.functional.log_softmax"),
    ("F.cross_entropy", False, PYTORCH + "torch.nn.functional.cross_entropy.html#torch.nn.functional.cross_entropy"),
    ("nn.Conv2d", False, PYTORCH + "torch.nn.Conv2d.html#torch.nn.Conv2d"),
    ("print", True, "https://docs.python.org/3/library/functions.html#print"),
    ("mt.count_parameters", False, "api.html#mnist_tutorial.count_parameters"),
    ("mt.ConvClassifier", True, "api.html#mnist_tutorial.ConvClassifier"),
]


def test_api_names_link_to_their_documentation(book: Book) -> None:
    """sphinx-codeautolink links the names in the code cells, book/_ext/api_links.py those in the prose."""
    shot = book.snapshot(API_LINKS_PAGE)
    links = shot.data["apiLinks"]
    found: dict[tuple[str, bool], set[str]] = {}
    for link in links:
        found.setdefault((link["text"], link["inCode"]), set()).add(link["url"])
    wrong = {
        f"{text} ({'code' if in_code else 'prose'})": sorted(found.get((text, in_code), set())) or "no link"
        for text, in_code, href in API_LINKS
        if found.get((text, in_code)) != {urllib.parse.urljoin(shot.url, href)}
    }
    assert not wrong, f"{API_LINKS_PAGE}: names that do not link (only) to their documentation: {wrong}"
    in_code = sum(link["inCode"] for link in links)
    prose = len(links) - in_code
    assert in_code >= 100 and prose >= 20, f"{API_LINKS_PAGE}: {in_code} links in code, {prose} in prose"


# 4. search


SEARCHES = [("autograd", "book/02_autograd"), ("confusion matrix", "book/08_evaluation")]


@pytest.mark.parametrize(("query", "expected"), SEARCHES)
def test_search_finds_the_chapter(book: Book, query: str, expected: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    book.visit(urllib.parse.urljoin(book.base, "search.html?" + urllib.parse.urlencode({"q": query})))
    finished = "return (document.querySelector('#search-results .search-summary') || {}).textContent || ''"
    WebDriverWait(book.driver, 30).until(lambda d: d.execute_script(finished).strip())
    hits = book.driver.execute_script("return Array.from(document.querySelectorAll('#search-results a'), a => a.href)")
    assert book.url(expected) in {_page(hit) for hit in hits}, f"search for {query!r} did not find {expected}: {hits}"


# 5. navigation


def test_next_links_follow_the_toc(book: Book) -> None:
    urls = [book.url(page) for page in PAGES]
    sequence = [urls[0]]
    while sequence[-1] in urls and len(sequence) <= len(urls):
        following = book.snapshot(PAGES[urls.index(sequence[-1])]).data["next"]
        if not following:
            break
        sequence.append(_page(following))
    assert sequence == urls, "the pages reached by following 'next' are not the toc's, in order"


@pytest.mark.parametrize("page", PAGES)
def test_sidebar_links_every_toc_page(book: Book, page: str) -> None:
    linked = {_page(url) for url in book.snapshot(page).data["sidebar"]}
    missing = [p for p in PAGES if book.url(p) not in linked]
    assert not missing, f"{page}: the sidebar has no link to {missing}"


# 6. light and dark


def test_theme_switch_cycles_light_and_dark(book: Book) -> None:
    from selenium.webdriver.common.by import By

    book.visit(book.url(PAGES[1] if len(PAGES) > 1 else PAGES[0]))
    read = (
        "const d = document.documentElement.dataset;"
        "return [d.mode, d.theme, getComputedStyle(document.body).backgroundColor]"
    )
    states = [tuple(book.driver.execute_script(read))]
    try:
        for _ in range(3):
            book.driver.find_element(By.CSS_SELECTOR, ".theme-switch-button").click()
            states.append(tuple(book.driver.execute_script(read)))
    finally:
        book.driver.execute_script("localStorage.clear()")
    assert {"light", "dark"} <= {mode for mode, _, _ in states}, f"the switch does not reach light and dark: {states}"
    assert states[-1][0] == states[0][0], f"three clicks do not come back to the first mode: {states}"
    background = {theme: colour for _, theme, colour in states}
    assert background.get("light") != background.get("dark"), f"the background does not change: {states}"


# 7. copy buttons and the notebook download


@pytest.mark.parametrize("page", PAGES)
def test_code_cells_have_copy_buttons(book: Book, page: str) -> None:
    data, expected = book.snapshot(page).data, source_of(page).code_cells
    shown = data["cellInputs"]
    assert shown >= expected, f"{page}: the source has {expected} visible code cells, the page shows {shown}"
    assert data["withoutCopy"] == 0, f"{page}: {data['withoutCopy']} code blocks without a copy button"


@pytest.mark.parametrize("page", PAGES)
def test_code_cells_fit_the_column(book: Book, page: str) -> None:
    """At 1280 px a reader sees each line of code (cells, their outputs, code blocks) whole, without scrolling it."""
    wide = book.snapshot(page).data["wideCode"]
    assert not wide, f"{page}: code that scrolls sideways; its longest lines: {wide}"


@pytest.mark.parametrize("width", [WIDE, NARROW])
@pytest.mark.parametrize("page", PAGES)
def test_page_does_not_scroll_sideways(book: Book, page: str, width: int) -> None:
    sideways = book.snapshot(page).layout[width]["sideways"]
    assert sideways <= 0, f"{page}: at {width} px the page scrolls {sideways} px sideways"


@pytest.mark.parametrize("width", [WIDE, NARROW])
@pytest.mark.parametrize("page", PAGES)
def test_nothing_is_cut_off(book: Book, page: str, width: int) -> None:
    """Everything lies inside the column and the window; what is wider (code, tables, formulas, figures on a narrow
    screen) scrolls inside a box of its own. At 1280 px nothing needs to scroll at all."""
    layout = book.snapshot(page).layout[width]
    assert not layout["cut"], f"{page}: at {width} px, cut off or outside the column:\n" + "\n".join(layout["cut"])
    if width == WIDE:
        assert not layout["scrolling"], f"{page}: at {width} px, boxes that scroll sideways: {layout['scrolling']}"
    unhinted = layout["unhinted"]
    assert not unhinted, f"{page}: at {width} px, blocks that scroll with no hint under them: {unhinted}"


_SEARCH_FIELDS = """
return Array.from(document.querySelectorAll("button.search-button-field, input[type=search]")).filter(e => {
  const box = e.getBoundingClientRect(), style = getComputedStyle(e);
  return box.width > 0 && box.height > 0 && style.visibility !== "hidden";
}).length;
"""


@pytest.mark.parametrize("page", ["book/intro", "book/07_training"])
def test_one_search_field_is_shown(book: Book, page: str) -> None:
    book.snapshot(page)  # the page is open at 1280 px, then narrowed to 400 px
    _narrow_screen(book.driver)
    narrow = book.driver.execute_script(_SEARCH_FIELDS)
    book.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    book.driver.set_window_size(WIDE, 900)
    book.driver.get(book.snapshot(page).url)
    wide = book.driver.execute_script(_SEARCH_FIELDS)
    assert wide == 1 and narrow <= 1, f"{page}: {wide} search fields at {WIDE} px, {narrow} at {NARROW} px"


@pytest.mark.parametrize("page", PAGES)
def test_ids_are_unique_on_every_page(book: Book, page: str) -> None:
    """Each id once per page (sphinx-exercise repeats its own; book_fixes.py numbers them)."""
    url = book.snapshot(page).url
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode("utf-8", "replace")
    counts = Counter(re.findall(r'\sid="([^"]+)"', text))
    repeated = {name: count for name, count in counts.items() if count > 1}
    assert not repeated, f"{page}: ids used more than once: {repeated}"


@pytest.mark.parametrize("page", [page for page in PAGES if source_of(page).figures])
def test_figures_stay_legible_on_a_narrow_screen(book: Book, page: str) -> None:
    """At 400 px, each figure's smallest text (FIGURE_TEXT_PT at the dpi its PNG records, scaled by the width the page
    draws it at over its own) is at least LEGIBLE_PX tall."""
    small = []
    for figure in book.snapshot(page).layout[NARROW]["figures"]:
        path = HTML / urllib.parse.unquote(urllib.parse.urlsplit(figure["src"]).path).lstrip("/")
        dpi = png_dpi(path)
        assert dpi, f"{page}: {path.name} records no dpi"
        text = FIGURE_TEXT_PT / 72 * dpi * figure["shown"] / figure["natural"]
        if text < LEGIBLE_PX:
            small.append(f"{path.name}: {figure['natural']} px drawn at {figure['shown']:.0f} px, text {text:.1f} px")
    assert not small, f"{page}: at {NARROW} px, figure text below {LEGIBLE_PX} px:\n" + "\n".join(small)


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_notebook_download(book: Book, page: str) -> None:
    notebooks = book.snapshot(page).data["notebooks"]
    assert notebooks, f"{page}: no .ipynb link in the page header's download menu"
    assert all(_status(url) == 200 for url in notebooks), f"{page}: notebook links {notebooks} do not all answer 200"


# 8. accessibility


@pytest.mark.parametrize("page", PAGES)
def test_axe_finds_no_serious_violations(book: Book, page: str) -> None:
    serious = [v for v in book.snapshot(page).violations if v["impact"] in SERIOUS]
    report = [
        f"{v['id']} ({v['impact']}, {len(v['nodes'])} elements): {v['help']}\n    "
        + "\n    ".join(f"{n['target']}  {n['html']}" for n in v["nodes"][:4])
        for v in serious
    ]
    if report:
        pytest.fail(f"{page}: axe-core violations:\n" + "\n".join(report), pytrace=False)
