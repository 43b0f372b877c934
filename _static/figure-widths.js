// Figures on narrow screens (book.css): each image of a cell output goes into a box of its own, which scrolls
// sideways when the image is wider than the column, and gets its natural width as --natural-width (CSS cannot read
// it). A box that scrolls takes a tab stop, so that it can be scrolled from the keyboard.
(() => {
  "use strict";
  const boxes = [];
  function focusable() {
    boxes.forEach((box) => {
      if (box.scrollWidth > box.clientWidth) {
        box.setAttribute("tabindex", "0");
      } else {
        box.removeAttribute("tabindex");
      }
    });
  }
  function init() {
    document.querySelectorAll("div.cell_output img").forEach((image) => {
      const box = document.createElement("div");
      box.className = "figure-scroll";
      image.before(box);
      box.append(image);
      boxes.push(box);
      const mark = () => {
        image.style.setProperty("--natural-width", `${image.naturalWidth}px`);
        focusable();
      };
      if (image.complete) {
        mark();
      } else {
        image.addEventListener("load", mark, { once: true });
      }
    });
    window.addEventListener("resize", focusable);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
