// The access preview of Add user and Edit roles: as role boxes are ticked, the server renders
// what they give and the preview region takes its place. The server alone computes it; without this script
// (or when a request fails) the page shows the preview of the roles last sent.
(() => {
  const region = document.querySelector("[data-access-preview-url]");
  if (!region) return;
  let pending = null;

  async function refresh() {
    const params = new URLSearchParams();
    for (const box of document.querySelectorAll("input[data-access-preview-role]")) {
      if (box.checked && !box.disabled) params.append("roles", box.value);
    }
    // Only the answer for the latest ticks may land.
    if (pending) pending.abort();
    const request = new AbortController();
    pending = request;
    region.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(`${region.dataset.accessPreviewUrl}?${params}`, {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
        signal: request.signal,
      });
      // A redirect is the sign-in page (the session ended): keep the preview as it is.
      if (response.ok && !response.redirected) region.innerHTML = await response.text();
    } catch {
      // Aborted for newer ticks, or offline: the preview stays as it was.
    } finally {
      if (pending === request) {
        pending = null;
        region.removeAttribute("aria-busy");
      }
    }
  }

  document.addEventListener("change", (event) => {
    if (event.target.matches("input[data-access-preview-role]")) refresh();
  });
  // Boxes ticked before this script ran (it is deferred: on a slow page a quick tick comes
  // first) count too: the preview shown is the server's for the boxes as sent.
  const boxes = document.querySelectorAll("input[data-access-preview-role]");
  if (Array.from(boxes).some((box) => box.checked !== box.defaultChecked)) refresh();
})();
