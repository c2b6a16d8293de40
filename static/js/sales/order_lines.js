// Order form: add product lines (Django formset) and show the lines' running total.
(function () {
  function total(form) {
    let sum = 0;
    form.querySelectorAll("#order-lines-body tr").forEach(function (row) {
      const qty = parseFloat((row.querySelector("[name$='-quantity']") || {}).value);
      const price = parseFloat((row.querySelector("[name$='-unit_price']") || {}).value);
      if (!isNaN(qty) && !isNaN(price)) sum += qty * price;
    });
    const box = form.querySelector("[data-lines-total]");
    if (box) {
      box.hidden = sum === 0;
      box.querySelector("[data-value]").textContent = sum.toFixed(2);
    }
  }
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-add-line]");
    if (!button) return;
    const prefix = button.dataset.addLine;
    const form = button.closest("form");
    const totalForms = form.querySelector("#id_" + prefix + "-TOTAL_FORMS");
    const index = parseInt(totalForms.value, 10);
    const template = form.querySelector("#order-line-template").innerHTML.replace(/__prefix__/g, String(index));
    form.querySelector("#order-lines-body").insertAdjacentHTML("beforeend", template);
    totalForms.value = String(index + 1);
  });
  document.addEventListener("input", function (event) {
    const form = event.target.closest("[data-testid=order-form]");
    if (form) total(form);
  });
  document.querySelectorAll("[data-add-line]").forEach(function (button) {
    button.hidden = false;
  });
})();
