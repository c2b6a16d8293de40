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

// Sizes that come from data, set through the CSSOM (allowed by the Content-Security-Policy, unlike style=""):
// data-percent="40" is a progress bar's width, data-indent="1.5" a left padding in rem (a team's depth).
function withinAndSelf(root, selector) {
  const found = Array.from(root.querySelectorAll ? root.querySelectorAll(selector) : []);
  return root.matches && root.matches(selector) ? [root].concat(found) : found;
}

htmx.onLoad(function (root) {
  withinAndSelf(root, "[data-percent]").forEach(function (bar) {
    bar.style.width = Math.max(0, Math.min(100, Number(bar.dataset.percent) || 0)) + "%";
  });
  withinAndSelf(root, "[data-indent]").forEach(function (el) {
    el.style.paddingLeft = (Number(el.dataset.indent) || 0) + "rem";
  });
});

// data-open-details="#followup-panel details": a link that opens a <details> form (and scrolls to it), such as the
// phone's action bar's "Follow-up".
document.addEventListener("click", function (event) {
  const link = event.target.closest("[data-open-details]");
  if (!link) return;
  const details = document.querySelector(link.dataset.openDetails);
  if (!details) return;
  event.preventDefault();
  details.open = true;
  details.scrollIntoView({ block: "start" });
  const first = details.querySelector("textarea, input:not([type=hidden]), select");
  if (first) first.focus({ preventScroll: true });
});

// data-select-all="selected": a header checkbox that ticks every checkbox named "selected" of its form (a list's
// bulk actions: assign, transfer, hand out).
document.addEventListener("change", function (event) {
  const box = event.target.closest("[data-select-all]");
  if (!box) return;
  const scope = box.closest("table") || box.form || document;
  scope.querySelectorAll('input[type=checkbox][name="' + box.dataset.selectAll + '"]').forEach(function (other) {
    other.checked = box.checked;
  });
});

// "/" focuses the top bar's search (as on GitHub), unless one is typing in a field already.
document.addEventListener("keydown", function (event) {
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
  const box = document.querySelector("[data-global-search]");
  if (!box) return;
  event.preventDefault();
  box.focus();
});

// The main navigation's dropdowns on wide screens: the row scrolls sideways (crm.css), which would clip a menu
// inside it, so an open menu is fixed just below its toggle, and closes when the page scrolls away from it.
document.addEventListener("shown.bs.dropdown", function (event) {
  const toggle = event.target;
  if (!toggle.closest || !toggle.closest("#mainnav .navbar-nav") || window.innerWidth < 992) return;
  const menu = toggle.parentElement.querySelector(".dropdown-menu");
  if (!menu) return;
  const box = toggle.getBoundingClientRect();
  menu.style.top = box.bottom + "px";
  menu.style.left = Math.max(0, Math.min(box.left, window.innerWidth - menu.offsetWidth)) + "px";
});
window.addEventListener("scroll", function () {
  document.querySelectorAll("#mainnav .navbar-nav .dropdown-toggle.show").forEach(function (toggle) {
    if (window.bootstrap) window.bootstrap.Dropdown.getOrCreateInstance(toggle).hide();
  });
}, { passive: true });
