// Lead conversion form: show the new-customer fields or the existing-customer picker, whichever is chosen, and the
// opportunity's fields only when one is to be opened. Without JavaScript every field shows and the server decides.
(function () {
  "use strict";
  function sync(form) {
    const mode = form.querySelector("input[name=mode]:checked");
    form.querySelectorAll("[data-mode]").forEach(function (box) {
      box.hidden = mode && box.dataset.mode !== mode.value;
    });
    const create = form.querySelector("input[name=create_opportunity]");
    const fields = form.querySelector("[data-opportunity-fields]");
    if (create && fields) fields.hidden = !create.checked;
  }
  document.addEventListener("change", function (event) {
    const form = event.target.closest("[data-testid=convert-form]");
    if (form) sync(form);
  });
  document.querySelectorAll("[data-testid=convert-form]").forEach(sync);
})();
