// "Select every user on this page" for the directory's bulk actions. Without this script the
// header checkbox stays hidden and each row is ticked on its own.
(function () {
  "use strict";
  const all = document.querySelector("[data-bulk-page-all]");
  if (!all) return;
  const rows = Array.from(document.querySelectorAll("[data-bulk-user]"));
  if (rows.length === 0) return;
  all.hidden = false;
  // The command bar says how many are ticked, and shows the bulk actions as joined to it.
  const count = document.querySelector("[data-bulk-count]");
  const bar = document.getElementById("bulk-form");
  const details = document.querySelector("[data-bulk-details]");
  const sync = function () {
    const ticked = rows.filter(function (box) { return box.checked; }).length;
    all.checked = ticked === rows.length;
    all.indeterminate = ticked > 0 && ticked < rows.length;
    if (count) count.textContent = ticked ? ticked + " selected" : "";
    if (bar) bar.classList.toggle("has-selection", ticked > 0);
    if (details && ticked > 0) details.open = true;
  };
  all.addEventListener("change", function () {
    rows.forEach(function (box) { box.checked = all.checked; });
    sync();
  });
  rows.forEach(function (box) { box.addEventListener("change", sync); });
  sync();
})();
