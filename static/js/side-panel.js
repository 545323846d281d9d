// The directory's side panel. A user's name in the list (hx-get, hx-target="#user-panel") asks
// htmx for their page; the user view answers that request (HX-Request) with the page's content
// alone, decided by the same rulebook as the full page, and htmx puts it in #user-panel. Here
// the panel opens (a Bootstrap offcanvas: a modal dialog that Escape and Close shut), the focus
// moves to the user's name at its top and returns to the name in the list when it closes. The
// list is never reloaded: its scroll position, filters, selection and page stay as they were.
//
// Decision: the address stays the directory's (no hx-push-url). Back and reload return to the
// list as it was, which is where the person works; the user's own address is one click away
// (the name in a new tab, "Open full page"), and no page's content is kept in the browser's
// storage for htmx's history. Without JavaScript, or without htmx, the name is a plain link.
(function () {
  "use strict";
  var panel = document.getElementById("user-panel");
  if (!panel || !window.bootstrap || !window.htmx) {
    return;
  }
  var LINK = "a[data-user-panel-link]";
  var opener = null; // the name that opened the panel, given the focus back when it closes

  // A click with a modifier key, or with another button than the main one, is the browser's
  // (a new tab or window): it never reaches htmx's listener on the link.
  document.addEventListener(
    "click",
    function (event) {
      var link = event.target.closest && event.target.closest(LINK);
      var modified = event.ctrlKey || event.metaKey || event.shiftKey || event.altKey;
      if (link && (modified || event.button !== 0)) {
        event.stopPropagation();
      }
    },
    true
  );

  function forPanel(event) {
    return event.detail && event.detail.target === panel;
  }

  // Anything but the user's panel content (signed out meanwhile, refused, the user gone, a
  // network error): open the full page instead, which says what happened.
  function openFullPage() {
    if (opener) {
      window.location.assign(opener.href);
    }
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (forPanel(event)) {
      opener = event.detail.elt;
    }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!forPanel(event)) {
      return;
    }
    var xhr = event.detail.xhr;
    var asked = new URL(event.detail.requestConfig.path, window.location.href).pathname;
    var answered = xhr.responseURL ? new URL(xhr.responseURL).pathname : asked;
    if (xhr.status !== 200 || answered !== asked) {
      event.detail.shouldSwap = false;
      openFullPage();
    }
  });

  document.addEventListener("htmx:sendError", function (event) {
    if (forPanel(event)) {
      openFullPage();
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (!forPanel(event)) {
      return;
    }
    var offcanvas = window.bootstrap.Offcanvas.getOrCreateInstance(panel);
    if (panel.classList.contains("show")) {
      focusTitle();
    } else {
      offcanvas.show();
    }
  });

  function focusTitle() {
    var title = panel.querySelector("#user-panel-title");
    if (title) {
      title.focus();
    }
  }

  panel.addEventListener("shown.bs.offcanvas", focusTitle);

  panel.addEventListener("hidden.bs.offcanvas", function () {
    panel.replaceChildren();
    if (opener && document.contains(opener)) {
      opener.focus();
    }
  });

  // An action in the panel (Edit details, Deactivate...) goes to its own page, through the same
  // views as from the full page. Coming back to the list with Back would show it from the
  // browser's memory or cache, as it was before the change: then load it anew, at the same
  // address (its filters and page). Only the list's address is kept, for this tab.
  var LEFT = "partnerhub.userPanel.leftFrom";
  function remember() {
    try {
      window.sessionStorage.setItem(LEFT, window.location.href);
    } catch (error) {
      // Storage refused (a private window's rules): Back shows the list as it was.
    }
  }
  function reloadIfLeftFromPanel(cameBack) {
    try {
      if (window.sessionStorage.getItem(LEFT) !== window.location.href) {
        return;
      }
      window.sessionStorage.removeItem(LEFT);
    } catch (error) {
      return;
    }
    if (cameBack) {
      window.location.reload();
    }
  }
  panel.addEventListener("click", function (event) {
    if (event.target.closest("a[href]")) {
      remember();
    }
  });
  panel.addEventListener("submit", remember);
  var navigation = window.performance.getEntriesByType("navigation")[0];
  reloadIfLeftFromPanel(Boolean(navigation) && navigation.type === "back_forward");
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      reloadIfLeftFromPanel(true);
    }
  });
})();
