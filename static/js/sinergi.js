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
