// Forms marked data-submit-once are sent once: a double click on "Add" sends one request, so
// the page that shows the temporary password once is the one the admin sees.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.matches("form[data-submit-once]")) return;
  if (form.dataset.submitting) {
    event.preventDefault();
    return;
  }
  form.dataset.submitting = "yes";
});

// Coming back with the browser's Back button shows the page from its cache: send again then.
window.addEventListener("pageshow", () => {
  document.querySelectorAll("form[data-submit-once]").forEach((form) => {
    delete form.dataset.submitting;
  });
});
