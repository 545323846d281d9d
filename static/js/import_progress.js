// An import's progress page: asks the server every second where the import stands and moves
// the bar and the counts; once the step is over, loads the page again, which shows the check,
// the result or why it failed. Without this script the page shows the state it was loaded with
// and a Refresh link.
(function () {
  const box = document.querySelector("[data-import-progress-url]");
  if (!box || !window.fetch) return;
  const text = box.querySelector("[data-import-progress-text]");
  const bar = box.querySelector("[data-import-progress-bar]");
  let failures = 0;

  async function poll() {
    try {
      const response = await fetch(box.dataset.importProgressUrl, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error(String(response.status));
      const progress = await response.json();
      failures = 0;
      text.textContent = progress.text;
      bar.value = progress.percent;
      bar.textContent = `${progress.percent}%`;
      if (!progress.working) {
        window.location.reload();
        return;
      }
    } catch (error) {
      failures += 1;
      if (failures >= 5) {
        text.textContent = "The progress cannot be read just now: use Refresh.";
        return;
      }
    }
    window.setTimeout(poll, 1000);
  }
  window.setTimeout(poll, 1000);
})();
