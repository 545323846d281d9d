// "Select every user on this page" for the directory's bulk actions. Without this script the
// header checkbox stays hidden and each row is ticked on its own.
(function () {
  "use strict";
  const all = document.querySelector("[data-bulk-page-all]");
  if (!all) return;
  const rows = Array.from(document.querySelectorAll("[data-bulk-user]"));
  if (rows.length === 0) return;
  all.hidden = false;
  const sync = function () {
    const ticked = rows.filter(function (box) { return box.checked; }).length;
    all.checked = ticked === rows.length;
    all.indeterminate = ticked > 0 && ticked < rows.length;
  };
  all.addEventListener("change", function () {
    rows.forEach(function (box) { box.checked = all.checked; });
  });
  rows.forEach(function (box) { box.addEventListener("change", sync); });
  sync();
})();
