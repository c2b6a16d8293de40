// A stage select with data-stages-of="<pipeline field>" offers only the stages of the pipeline chosen there, in
// their order: other pipelines' options (data-pipeline) and their groups are hidden and disabled, and a stage of
// another pipeline is unselected. Without JavaScript every stage shows and the server refuses a mismatch.
(function () {
  "use strict";
  function sync(select) {
    const form = select.form;
    const pipeline = form && form.elements[select.dataset.stagesOf];
    if (!pipeline) return;
    const chosen = pipeline.value;
    select.querySelectorAll("option[data-pipeline]").forEach(function (option) {
      const other = Boolean(chosen) && option.dataset.pipeline !== chosen;
      option.hidden = other;
      option.disabled = other;
      if (other && option.selected) select.value = "";
    });
    select.querySelectorAll("optgroup").forEach(function (group) {
      group.hidden = !group.querySelector("option:not([hidden])");
    });
  }
  function syncAll(root) {
    root.querySelectorAll("select[data-stages-of]").forEach(sync);
  }
  document.addEventListener("change", function (event) {
    const form = event.target.form;
    if (form) syncAll(form);
  });
  document.addEventListener("htmx:load", function (event) {
    syncAll(event.target);
  });
  syncAll(document);
})();
