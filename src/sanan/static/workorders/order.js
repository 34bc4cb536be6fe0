// Reply templates on the order page: a click puts the template's text into the reply box and
// selects its first {placeholder}, so the handler types over it; everything stays editable.
// Without JavaScript the same links reload the form with the text already in the box.
(function () {
  "use strict";
  document.addEventListener("click", function (ev) {
    var link = ev.target.closest && ev.target.closest("[data-template-body]");
    if (!link) return;
    var form = link.closest("form") || link.closest(".wo-action-panel");
    var box = form && form.querySelector("textarea[name='" + link.dataset.templateField + "']");
    if (!box) return;
    ev.preventDefault();
    var body = link.dataset.templateBody;
    var start = box.value.trim() ? box.value.replace(/\s*$/, "") + "\n" : "";
    box.value = start + body;
    box.focus();
    var hole = /\{[^{}]*\}/.exec(body);
    if (hole && box.setSelectionRange) {
      var at = start.length + hole.index;
      box.setSelectionRange(at, at + hole[0].length);
    }
    box.dispatchEvent(new Event("input", {bubbles: true}));
    var list = link.closest("ul");
    if (list) list.querySelectorAll(".picked").forEach(function (p) { p.classList.remove("picked"); });
    link.classList.add("picked");
  });
})();
