// Figures on narrow screens (book.css): each image of a cell output goes into a box of its own, which scrolls
// sideways when the image is wider than the column, and gets its natural width as --natural-width (CSS cannot read
// it). Then every block of the article that scrolls sideways at the current width (such a figure box, a wide table,
// a long line of code or a displayed formula) says so: a "scroll sideways" line under it, since a phone shows no
// scrollbar until the reader touches the box, and a tab stop, so that it can be scrolled from the keyboard.
(() => {
  "use strict";
  const HINT = "scroll-hint";
  function scrollsSideways(element) {
    const style = getComputedStyle(element);
    return (
      ["auto", "scroll"].includes(style.overflowX) &&
      !style.display.startsWith("inline") &&
      element.scrollWidth > element.clientWidth + 1
    );
  }
  function cue() {
    const article = document.querySelector("article.bd-article");
    if (!article) return;
    article.querySelectorAll(`.${HINT}`).forEach((hint) => hint.remove());
    article.querySelectorAll("*").forEach((element) => {
      if (element.dataset.scrollCue === "tab") {
        element.removeAttribute("tabindex");
        delete element.dataset.scrollCue;
      }
      if (!scrollsSideways(element) || element.closest(`[data-scroll-cue]`)) return;
      if (!element.hasAttribute("tabindex")) {
        element.setAttribute("tabindex", "0");
        element.dataset.scrollCue = "tab";
      } else {
        element.dataset.scrollCue = "own";
      }
      const hint = document.createElement("div");
      hint.className = HINT;
      hint.setAttribute("aria-hidden", "true");
      hint.textContent = "scroll sideways to see the rest →";
      element.after(hint);
    });
    article.querySelectorAll("[data-scroll-cue='own']").forEach((element) => delete element.dataset.scrollCue);
  }
  let pending = false;
  function cueSoon() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      cue();
    });
  }
  function init() {
    document.querySelectorAll("div.cell_output img").forEach((image) => {
      const box = document.createElement("div");
      box.className = "figure-scroll";
      image.before(box);
      box.append(image);
      const mark = () => {
        image.style.setProperty("--natural-width", `${image.naturalWidth}px`);
        cueSoon();
      };
      if (image.complete) {
        mark();
      } else {
        image.addEventListener("load", mark, { once: true });
      }
    });
    cueSoon();
    window.addEventListener("resize", cueSoon);
    // Formulas take their width once MathJax has typeset them.
    window.MathJax?.startup?.promise?.then(cueSoon);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
