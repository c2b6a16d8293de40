// The opportunities board: SortableJS drags a card to another stage column and htmx saves the move at once
// (POST to the card's move URL; the answer is the refreshed board). A refusal — 409 with the reason, e.g. a won
// opportunity without an amount — or a network failure puts the card back where it was and says why. Dropping on
// the lost column first asks for the reason; cancelling puts the card back.
(function () {
  "use strict";

  let pending = null; // the move being saved: {item, from, oldIndex}
  let asking = null; // a drop on the lost column waiting for its reason

  function toast(message, kind, url) {
    const box = document.getElementById("board-toast");
    if (!box || !message) return;
    box.className = "toast align-items-center border-0 text-bg-" + (kind === "danger" ? "danger" : "success");
    const body = box.querySelector(".toast-body");
    body.textContent = message;
    if (url) {
      const link = document.createElement("a");
      link.href = url;
      link.className = "ms-2 link-light";
      link.textContent = box.dataset.open || "→";
      body.appendChild(link);
    }
    box.dataset.kind = kind;
    bootstrap.Toast.getOrCreateInstance(box, { delay: kind === "danger" ? 8000 : 4000 }).show();
  }

  function putBack(move) {
    const reference = move.from.children[move.oldIndex] || null;
    move.from.insertBefore(move.item, reference);
    move.item.classList.remove("saving");
  }

  function filters() {
    const form = document.getElementById("board-filters");
    const values = {};
    if (!form) return values;
    ["owner", "q"].forEach(function (name) {
      if (form.elements[name]) values[name] = form.elements[name].value;
    });
    return values;
  }

  function save(move, stageId, reason) {
    pending = move;
    move.item.classList.add("saving");
    const values = Object.assign({ stage: stageId }, filters());
    if (reason) values.lost_reason = reason;
    // The request is made on an element outside the board, which the answer replaces.
    htmx.ajax("POST", move.item.dataset.moveUrl, {
      source: document.getElementById("board-sync"),
      target: "#board",
      swap: "outerHTML",
      values: values,
    });
  }

  function failed(message) {
    if (!pending) return;
    putBack(pending);
    pending = null;
    toast(message, "danger");
  }

  document.addEventListener("htmx:responseError", function (event) {
    if (event.detail.elt && event.detail.elt.id === "board-sync") {
      failed(event.detail.xhr.responseText || document.getElementById("board-sync").dataset.failed);
    }
  });
  document.addEventListener("htmx:sendError", function (event) {
    if (event.detail.elt && event.detail.elt.id === "board-sync") {
      failed(document.getElementById("board-sync").dataset.offline);
    }
  });
  document.addEventListener("board-saved", function (event) {
    pending = null;
    toast(event.detail.message, "success", event.detail.url);
  });

  function dropped(event) {
    if (event.from === event.to) return;
    const move = { item: event.item, from: event.from, oldIndex: event.oldIndex };
    const stageId = event.to.dataset.stage;
    if (event.to.dataset.kind === "lost") {
      asking = { move: move, stageId: stageId };
      const modal = document.getElementById("lost-modal");
      const reason = modal.querySelector("textarea");
      reason.value = "";
      reason.classList.remove("is-invalid");
      bootstrap.Modal.getOrCreateInstance(modal).show();
      return;
    }
    save(move, stageId, "");
  }

  function setUp(root) {
    root.querySelectorAll(".board-cards").forEach(function (list) {
      if (list.dataset.sortable) return;
      list.dataset.sortable = "1";
      Sortable.create(list, {
        group: "board",
        sort: false,
        draggable: ".board-card",
        animation: 150,
        // Mouse and touch alike through Sortable's own drag (no native drag image), held briefly on phones so a
        // swipe still scrolls the board.
        forceFallback: true,
        fallbackTolerance: 4,
        delay: 200,
        delayOnTouchOnly: true,
        onStart: function () {
          document.querySelectorAll(".board-cards").forEach(function (l) { l.classList.add("drop-target"); });
        },
        onEnd: function (event) {
          document.querySelectorAll(".board-cards").forEach(function (l) { l.classList.remove("drop-target"); });
          dropped(event);
        },
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const modal = document.getElementById("lost-modal");
    if (!modal) return;
    const form = document.getElementById("lost-form");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const reason = form.querySelector("textarea");
      if (!reason.value.trim()) {
        reason.classList.add("is-invalid");
        return;
      }
      const waiting = asking;
      asking = null;
      bootstrap.Modal.getOrCreateInstance(modal).hide();
      if (waiting) save(waiting.move, waiting.stageId, reason.value.trim());
    });
    // The modal says when it is fully open or closed (Bootstrap ignores a close asked for while it still opens),
    // so whoever drives it — a browser test too — can wait for that state instead of for time.
    modal.addEventListener("shown.bs.modal", function () { modal.dataset.state = "shown"; });
    modal.addEventListener("hide.bs.modal", function () { modal.dataset.state = "hiding"; });
    modal.addEventListener("hidden.bs.modal", function () {
      modal.dataset.state = "hidden";
      if (asking) {
        putBack(asking.move);
        asking = null;
      }
    });
  });

  htmx.onLoad(function (element) {
    if (element.querySelectorAll) setUp(element.id === "board" ? element.parentNode : element);
  });
})();
