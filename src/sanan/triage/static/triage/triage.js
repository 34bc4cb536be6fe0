// "Use it" on a category suggestion sets the form's own category control: a select (by id) or
// radio buttons (by name). A level-1 suggestion whose kinds are listed under it opens that group.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-triage-use]");
  if (!button) return;
  var target = button.dataset.target, value = button.dataset.category;
  var control = document.getElementById(target);
  if (control && control.tagName === "SELECT") {
    control.value = value;
    control.dispatchEvent(new Event("change", { bubbles: true }));
    control.focus();
    return;
  }
  var radio = document.querySelector(
    'input[type="radio"][name="' + CSS.escape(target) + '"][value="' + CSS.escape(value) + '"]'
  );
  if (radio) {
    var group = radio.closest("details");
    if (group) group.open = true;
    radio.checked = true;
    radio.dispatchEvent(new Event("change", { bubbles: true }));
    radio.focus();
    return;
  }
  var head = document.querySelector('[data-testid="category-group-' + CSS.escape(button.dataset.code) + '"]');
  if (head && head.parentElement.tagName === "DETAILS") {
    head.parentElement.open = true;
    head.focus();
  }
});
