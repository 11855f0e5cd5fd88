// Small behaviours shared by every page. No framework; htmx does the rest.
// On a phone the menu scrolls sideways: keep the current entry in view.
document.addEventListener("DOMContentLoaded", function () {
  var current = document.querySelector(".mainnav [aria-current=page]");
  if (current && current.scrollIntoView) current.scrollIntoView({ block: "nearest", inline: "center" });
});
document.addEventListener("change", function (event) {
  var el = event.target;
  if (el && el.matches && el.matches("select[data-autosubmit]") && el.form) {
    el.form.submit();
  }
});
// "Use my location": fill latitude/longitude inputs from the phone's GPS.
document.addEventListener("click", function (event) {
  var btn = event.target.closest && event.target.closest("[data-geolocate]");
  if (!btn || !navigator.geolocation) return;
  btn.disabled = true;
  navigator.geolocation.getCurrentPosition(function (pos) {
    document.getElementById(btn.dataset.lat).value = pos.coords.latitude.toFixed(6);
    document.getElementById(btn.dataset.lon).value = pos.coords.longitude.toFixed(6);
    btn.disabled = false;
  }, function () { btn.disabled = false; }, { enableHighAccuracy: true, timeout: 10000 });
});
// A form marked data-submit-once cannot be sent twice by a double tap.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!form.matches || !form.matches("form[data-submit-once]")) return;
  if (form.dataset.sent) { event.preventDefault(); return; }
  form.dataset.sent = "1";
  form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
});
// Pages restored from the back/forward cache get their buttons back.
window.addEventListener("pageshow", function () {
  document.querySelectorAll("form[data-submit-once]").forEach(function (f) {
    delete f.dataset.sent;
    f.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
  });
});
