// The report forms: the courtyard map picks the courtyard, a recognised caller fills the form,
// "use where I am now" fills the map point. Loaded as a file: the pages allow no inline script
// (Content-Security-Policy).
(function () {
  var select = document.getElementById("id_courtyard");
  document.querySelectorAll(".wo-map a[data-courtyard]").forEach(function (a) {
    a.addEventListener("click", function (ev) {
      ev.preventDefault();
      select.value = a.dataset.courtyard;
      select.dispatchEvent(new Event("change", {bubbles: true}));
      document.querySelectorAll(".wo-map a.picked").forEach(function (p) { p.classList.remove("picked"); });
      a.classList.add("picked");
      select.scrollIntoView({block: "center"});
    });
  });
  // A recognised caller: their name and courtyard into the form in one click.
  document.addEventListener("click", function (ev) {
    var use = ev.target.closest && ev.target.closest(".wo-use-caller");
    if (!use) return;
    var name = document.getElementById("id_contact_name");
    if (name && !name.value) name.value = use.dataset.name || "";
    select.value = use.dataset.courtyard;
    select.dispatchEvent(new Event("change", {bubbles: true}));
    use.textContent = "✓ " + use.textContent;
  });
  var locate = document.querySelector(".wo-locate");
  if (locate) locate.addEventListener("click", function () {
    var status = document.querySelector(".wo-locate-status");
    if (!navigator.geolocation) { status.textContent = locate.dataset.none || ""; return; }
    status.textContent = "…";
    navigator.geolocation.getCurrentPosition(function (pos) {
      document.getElementById("id_lat").value = pos.coords.latitude.toFixed(7);
      document.getElementById("id_lng").value = pos.coords.longitude.toFixed(7);
      document.getElementById("id_point_system").value = "wgs84";
      status.textContent = "✓";
    }, function () { status.textContent = "✗"; }, {enableHighAccuracy: true, timeout: 10000});
  });
})();
