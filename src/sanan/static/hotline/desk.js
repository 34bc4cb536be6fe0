// Keyboard shortcuts of the hotline desk, as on the call-taker's order form: Alt+<key> (Option
// on a Mac) moves to a part of the desk or presses an end-of-call button. Keys pressed while an
// input method is composing (Chinese pinyin, wubi…) are never taken: the IME gets them.
// Choosing a recognised resident moves the courtyard to theirs.
(function () {
  "use strict";
  var data = document.getElementById("hl-shortcuts");
  if (!data) return;
  var keys = JSON.parse(data.textContent);
  var form = document.getElementById("hl-form");
  if (!form) return;

  keys.forEach(function (k) {
    var el = document.getElementById(k.target);
    if (el) el.setAttribute("aria-keyshortcuts", "Alt+" + k.key);
  });

  document.addEventListener("keydown", function (ev) {
    if (ev.isComposing || ev.keyCode === 229) return; // the input method has the key
    if (!ev.altKey || ev.ctrlKey || ev.metaKey) return;
    // ev.code is the physical key: Option+1 on a Mac types "¡" but is still Digit1.
    var code = ev.code || "";
    var key = code.indexOf("Digit") === 0 ? code.slice(5) : code.indexOf("Key") === 0 ? code.slice(3) : "";
    var hit = keys.filter(function (k) { return k.key === key; })[0];
    if (!hit) return;
    var el = document.getElementById(hit.target);
    if (!el) return;
    ev.preventDefault();
    if (el.tagName === "BUTTON") {
      if (form.requestSubmit) form.requestSubmit(el); else el.click();
      return;
    }
    el.focus();
    if (el.scrollIntoView) el.scrollIntoView({block: "center"});
  });

  function useResident(radio) {
    var place = radio && radio.getAttribute("data-place");
    var select = document.getElementById("id_place");
    if (place && select) select.value = place;
  }
  form.addEventListener("change", function (ev) {
    if (ev.target.name === "resident") useResident(ev.target);
  });
  document.body.addEventListener("htmx:afterSwap", function (ev) {
    if (ev.target.id === "caller") useResident(form.querySelector("input[name=resident]:checked"));
  });
})();
