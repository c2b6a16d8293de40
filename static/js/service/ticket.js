// The ticket page: choosing a canned reply puts its text into the reply box (appended to what is typed).
document.addEventListener("change", function (event) {
  const select = event.target.closest("select[data-canned-target]");
  if (!select || !select.value) return;
  const box = document.querySelector(select.dataset.cannedTarget);
  if (!box) return;
  box.value = box.value ? box.value.replace(/\s*$/, "") + "\n\n" + select.value : select.value;
  box.focus();
  select.value = "";
});
