// Keyboard shortcuts of the hotline desk, as on the call-taker's order form: Alt+<key> (Option
// on a Mac) moves to a part of the desk or presses an end-of-call button. Keys pressed while an
// input method is composing (Chinese pinyin, wubi…) are never taken: the IME gets them.
// Choosing a recognised resident moves the courtyard to theirs and puts their building first in
// the building list; the call's start is the first key typed for it.
(function () {
  "use strict";
  // Dispatching the order the last call became: Enter on the organisation list dispatches.
  var dispatch = document.getElementById("hl-dispatch");
  if (dispatch) {
    dispatch.addEventListener("keydown", function (ev) {
      if (ev.key !== "Enter" || ev.isComposing || ev.target.tagName !== "SELECT") return;
      ev.preventDefault();
      if (dispatch.requestSubmit) dispatch.requestSubmit(); else dispatch.submit();
    });
  }

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
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && !ev.altKey && form.contains(ev.target)) {
      var create = document.getElementById("end-work_order");
      ev.preventDefault();
      if (create) { if (form.requestSubmit) form.requestSubmit(create); else create.click(); }
      return;
    }
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
      if (el.type === "button") el.click(); // "use the suggested category"
      else if (form.requestSubmit) form.requestSubmit(el); else el.click();
      return;
    }
    el.focus();
    if (el.scrollIntoView) el.scrollIntoView({block: "center"});
  });

  // The call starts with the first key typed for it, not when the page was opened.
  var started = form.hasAttribute("data-fresh") && form.querySelector("input[name=started_at]");
  form.addEventListener("input", function once() {
    if (started) started.value = new Date().toISOString();
    form.removeEventListener("input", once);
  });

  // Enter in a one-line field never ends the call: in the search box it moves to the answers.
  form.addEventListener("keydown", function (ev) {
    if (ev.key !== "Enter" || ev.isComposing || ev.keyCode === 229) return;
    var t = ev.target;
    if (t.tagName !== "INPUT" || t.type === "submit") return;
    ev.preventDefault();
    if (t.id === "kb-q") {
      var first = form.querySelector("#kb-hits input[name=knowledge]:checked") ||
        form.querySelector("#kb-hits input[name=knowledge]");
      if (first) first.focus();
    }
  });

  // The chosen answer stays chosen when the list is searched again; a single hit is chosen.
  var chosenAnswer = "";
  form.addEventListener("change", function (ev) {
    if (ev.target.name === "knowledge") chosenAnswer = ev.target.value;
  });
  function swapped(ev) {
    return (ev.detail && ev.detail.target && ev.detail.target.id) || (ev.target && ev.target.id);
  }
  document.body.addEventListener("htmx:afterSettle", function (ev) {
    if (swapped(ev) !== "kb-hits") return;
    var hits = form.querySelectorAll("#kb-hits input[name=knowledge]");
    var keep = Array.prototype.filter.call(hits, function (h) { return h.value === chosenAnswer; })[0];
    if (keep) keep.checked = true;
    else if (hits.length === 1) { hits[0].checked = true; chosenAnswer = hits[0].value; }
  });

  // The building list follows (the caller's own building first): a change event on the
  // courtyard, as if chosen by hand, also refreshes the routing suggestion and the repeats.
  var lastResident = null;
  // A call that gets a kind of problem is a report: the kind of call follows, on screen, unless
  // the call-taker chose it themselves (a complaint stays a complaint).
  var callType = document.getElementById("id_call_type");
  var typeChosen = false;
  form.addEventListener("change", function (ev) {
    if (ev.target === callType && ev.isTrusted) typeChosen = true;
    if (ev.target.id === "id_category" && ev.target.value && callType && !typeChosen &&
        callType.value === "consultation") {
      callType.value = "report";
    }
  });

  function useResident(radio) {
    var place = radio && radio.getAttribute("data-place");
    var select = document.getElementById("id_place");
    if (place && select) select.value = place;
    var who = radio ? radio.value : "";
    if (select && who !== lastResident) {
      lastResident = who;
      select.dispatchEvent(new Event("change", {bubbles: true}));
    }
  }
  form.addEventListener("change", function (ev) {
    if (ev.target.name === "resident") useResident(ev.target);
  });
  document.body.addEventListener("htmx:afterSettle", function (ev) {
    if (swapped(ev) === "caller") useResident(form.querySelector("input[name=resident]:checked"));
  });
})();
