// Light or dark pages: the person's preference (data-theme-preference on <html>, from My profile:
// "system", "light" or "dark"), "system" following the operating system's setting, also when
// it changes. Loaded in <head> without defer so the page is never drawn in the wrong theme first.
(function () {
  "use strict";
  var root = document.documentElement;
  var preference = root.getAttribute("data-theme-preference") || "system";
  var dark = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function apply() {
    var theme = preference;
    if (theme !== "light" && theme !== "dark") {
      theme = dark && dark.matches ? "dark" : "light";
    }
    root.setAttribute("data-bs-theme", theme);
  }

  apply();
  if (preference !== "light" && preference !== "dark" && dark) {
    if (dark.addEventListener) {
      dark.addEventListener("change", apply);
    } else if (dark.addListener) {
      dark.addListener(apply);
    }
  }
})();
