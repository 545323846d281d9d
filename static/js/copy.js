// Copy buttons: <button data-copy-target="ID" hidden> copies the value of the element with that id.
// Each is shown here, once the script can act on it: a button that does nothing is never shown.
for (const button of document.querySelectorAll("[data-copy-target]")) button.hidden = false;
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy-target]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copyTarget);
  const status = document.querySelector("[data-copy-status]");
  try {
    await navigator.clipboard.writeText(field.value);
    if (status) status.textContent = "Copied to the clipboard.";
  } catch {
    field.select();
    if (status) status.textContent = "Select the password and copy it (Ctrl+C).";
  }
});
