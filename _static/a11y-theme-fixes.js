// Accessibility fixes for two pydata-sphinx-theme buttons (axe-core rule label-content-name-mismatch, WCAG 2.5.3
// "Label in Name"): their aria-label ("Search", "Color mode") leaves out text they contain, so speech-input users
// cannot trust the visible label and axe reports it as serious.
// - The search buttons show "Search" and, on wide screens, a keyboard hint ("Ctrl+K", "⌘+K" on a Mac): name them
//   "Search Ctrl+K" (the hint as shown) and announce the shortcut with aria-keyshortcuts as well.
// - The colour-mode button holds three icons whose titles ("Light", "Dark", "System Settings") become text: the icons
//   are decorative (the button's label says what it does), so drop their titles and hide them.
(() => {
  "use strict";
  function fix() {
    document.querySelectorAll(".search-button__button").forEach((button) => {
      const hint = button.querySelector(".search-button__kbd-shortcut");
      if (hint) {
        button.setAttribute("aria-label", `Search ${hint.textContent.replace(/\s+/g, "")}`);
        button.setAttribute("aria-keyshortcuts", "Control+K Meta+K");
      }
    });
    document.querySelectorAll(".theme-switch-button .theme-switch").forEach((icon) => {
      icon.removeAttribute("title");
      icon.removeAttribute("aria-labelledby");
      icon.removeAttribute("role");
      icon.setAttribute("aria-hidden", "true");
      icon.querySelectorAll("title").forEach((title) => title.remove());
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fix);
  } else {
    fix();
  }
  // Font Awesome swaps the <i> icons for <svg> ones (copying their title); fix again once it has.
  window.addEventListener("load", fix);
})();
