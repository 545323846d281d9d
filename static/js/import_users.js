// Add users from CSV: an honest progress indicator. While the file uploads, the bar shows the
// bytes sent; then the server checks the rows in one go, so the page says "Checking about N
// rows…" without pretending to know how far it is. Confirming says "Adding N users…" the same
// way. Without JavaScript the forms are sent as ordinary forms.

function showStatus(container, text, percent) {
  const status = container.querySelector("[data-import-status]");
  if (!status) return;
  status.classList.remove("d-none");
  status.querySelector("[data-import-status-text]").textContent = text;
  const bar = status.querySelector("[data-import-progress]");
  if (percent === null) bar.removeAttribute("value");
  else bar.value = percent;
}

async function countRows(file) {
  // An estimate (a quoted cell may span lines): the lines after the header that hold text.
  const lines = (await file.text()).split(/\r\n|\n|\r/);
  return lines.slice(1).filter((line) => line.replace(/[,\s]/g, "") !== "").length;
}

function uploadWithProgress(form) {
  const main = document.getElementById("main");
  const file = form.querySelector("input[type=file]").files[0];
  const request = new XMLHttpRequest();
  let rows = null;
  if (file) countRows(file).then((count) => { rows = count; });
  request.upload.addEventListener("progress", (event) => {
    if (event.lengthComputable) {
      showStatus(main, "Uploading the file…", Math.round((100 * event.loaded) / event.total));
    }
  });
  request.upload.addEventListener("load", () => {
    const what = rows === null ? "the rows" : `about ${rows.toLocaleString()} row${rows === 1 ? "" : "s"}`;
    showStatus(main, `Checking ${what}…`, null);
  });
  request.addEventListener("load", () => {
    if (request.status === 413) {
      // Refused unread: the server's plain page says what to do.
      showStatus(main, request.responseText.trim(), 0);
      delete form.dataset.submitting;
      delete form.dataset.importSending;
      return;
    }
    const sentTo = new URL(form.action || window.location.href, window.location.href);
    const landed = new URL(request.responseURL || sentTo.href);
    if (landed.pathname !== sentTo.pathname) {
      // Checked: the server sent us on to the check's page.
      window.location.assign(landed.href);
      return;
    }
    // The form again, with the errors next to the field.
    const page = new DOMParser().parseFromString(request.responseText, "text/html");
    const replacement = page.getElementById("main");
    if (replacement) main.replaceChildren(...replacement.childNodes);
    else window.location.reload();
  });
  request.addEventListener("error", () => {
    showStatus(main, "The upload failed: check your connection and choose the file again.", 0);
    delete form.dataset.submitting;
    delete form.dataset.importSending;
  });
  request.open("POST", form.action || window.location.href);
  request.setRequestHeader("X-Requested-With", "XMLHttpRequest");
  request.send(new FormData(form));
}

function tooBig(form) {
  // The server refuses a request over its limit without reading it (a plain 413 page): say it
  // here, at the field, before sending anything.
  const input = form.querySelector("input[type=file]");
  const file = input && input.files[0];
  const limit = Number(form.dataset.maxBytes || 0);
  if (!file || !limit || file.size <= limit) return false;
  input.setCustomValidity(form.dataset.tooBig || "The file is too large.");
  input.reportValidity();
  input.addEventListener("change", () => input.setCustomValidity(""), { once: true });
  return true;
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.matches("form[data-import-upload]")) {
    if (tooBig(form)) {
      event.preventDefault();
      event.stopImmediatePropagation();
      delete form.dataset.submitting; // not sent: choosing another file sends it
      return;
    }
    if (!window.XMLHttpRequest || !window.FormData || !window.DOMParser) return;
    event.preventDefault();
    if (form.dataset.importSending) return; // a double click sends the file once
    form.dataset.importSending = "yes";
    uploadWithProgress(form);
  } else if (form.matches("form[data-import-confirm]")) {
    const rows = Number(form.closest("[data-import-rows]")?.dataset.importRows || 0);
    showStatus(document.getElementById("main"), `Adding ${rows.toLocaleString()} user${rows === 1 ? "" : "s"}…`, null);
  }
});
