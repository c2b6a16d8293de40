// htmx: a form that fails validation answers 422 with the form and its errors; swap it like a 200.
document.addEventListener("htmx:beforeSwap", function (event) {
  if (event.detail.xhr.status === 422) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// A button with data-confirm="…" asks before it submits its form (delete, deactivate, cancel).
document.addEventListener("click", function (event) {
  const button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) {
    event.preventDefault();
  }
});

// A select with data-autosubmit submits its form when changed (the form keeps a <noscript> button without JS).
document.addEventListener("change", function (event) {
  const select = event.target.closest("select[data-autosubmit]");
  if (select && select.form) {
    select.form.submit();
  }
});
