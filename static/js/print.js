// The recovery codes page's Print button (no inline scripts under the Content-Security-Policy).
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
