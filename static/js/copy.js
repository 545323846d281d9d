// Copy buttons: <button data-copy-target="ID"> copies the value of the element with that id.
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
