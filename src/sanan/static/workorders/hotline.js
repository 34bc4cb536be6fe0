// Keyboard shortcuts of the call-taker's form: Alt+<key> (Option on a Mac) moves to a part of
// the form, Alt+S or Ctrl+Enter creates the order. Keys pressed while an input method is
// composing (Chinese pinyin, wubi…) are never taken: the IME gets them.
(function () {
  "use strict";
  var data = document.getElementById("wo-shortcuts");
  if (!data) return;
  var keys = JSON.parse(data.textContent);
  var form = document.querySelector("form.wo-report");
  if (!form) return;

  function target(id) {
    if (id === "field-category") {
      var box = document.getElementById(id);
      if (!box) return null;
      var checked = box.querySelector("input[type=radio]:checked");
      if (checked) {
        var group = checked.closest("details");
        if (group) group.open = true;
        return checked;
      }
      return box.querySelector("summary");
    }
    return document.getElementById(id);
  }

  keys.forEach(function (k) {
    var el = target(k.target);
    if (el) el.setAttribute("aria-keyshortcuts", "Alt+" + k.key);
  });

  function submit() {
    if (form.requestSubmit) form.requestSubmit(document.getElementById("submit"));
    else form.submit();
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.isComposing || ev.keyCode === 229) return; // the input method has the key
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && !ev.altKey && form.contains(ev.target)) {
      ev.preventDefault();
      submit();
      return;
    }
    if (!ev.altKey || ev.ctrlKey || ev.metaKey) return;
    // ev.code is the physical key: Option+1 on a Mac types "¡" but is still Digit1.
    var code = ev.code || "";
    var key = code.indexOf("Digit") === 0 ? code.slice(5) : code.indexOf("Key") === 0 ? code.slice(3) : "";
    var hit = keys.filter(function (k) { return k.key === key; })[0];
    if (!hit) return;
    ev.preventDefault();
    if (hit.target === "submit") { submit(); return; }
    var el = target(hit.target);
    if (!el) return;
    el.focus();
    if (el.scrollIntoView) el.scrollIntoView({block: "center"});
  });
})();
