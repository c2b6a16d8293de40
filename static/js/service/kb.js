// The ticket page's suggested articles: "Insert link" / "Insert text" put the article into the reply box (after
// what is typed) and tell the server it was used, so the article counts its uses.
document.addEventListener("click", function (event) {
  const button = event.target.closest("[data-kb-insert]");
  if (!button) return;
  const box = document.querySelector("[data-testid=reply-form] textarea[name=body]");
  if (!box) return;
  const text = button.dataset.kbText || "";
  box.value = box.value ? box.value.replace(/\s*$/, "") + "\n\n" + text : text;
  box.focus();
  const token = document.querySelector("input[name=csrfmiddlewaretoken]");
  fetch(button.dataset.kbUse, {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRFToken": token ? token.value : "" },
  });
  button.disabled = true;
});
