// After a form comes back with errors, the cursor goes to them: to the form's summary of errors
// (a message about the whole form) or else to the first field that needs correcting, so that
// a screen reader reads what went wrong and a keyboard user types the correction at once.
// Without JavaScript the errors are still at their fields, each named in the field's description.
(function () {
  "use strict";
  var summary = document.querySelector(
    "main [data-error-summary], main form .alert-danger, main .alert-danger[role=alert]"
  );
  var field = document.querySelector(
    "main form [aria-invalid=true], main form .is-invalid:is(input, select, textarea)"
  );
  var target = summary || field;
  if (!target) {
    return;
  }
  if (target === summary && !target.hasAttribute("tabindex")) {
    target.setAttribute("tabindex", "-1"); // focusable by script, not a stop for Tab
  }
  target.focus();
  if (target === summary) {
    target.scrollIntoView({ block: "center" });
  }
})();
