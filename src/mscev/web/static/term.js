// Term pages: the "copy IRI" button (the Clipboard API needs a secure context; 127.0.0.1 is one).
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.copy");
  if (!button || !navigator.clipboard) return;
  navigator.clipboard.writeText(button.dataset.copy).then(
    () => { button.textContent = "copied"; },
    () => { button.textContent = "copy failed"; });
});
