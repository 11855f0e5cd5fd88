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

// --- Forms that survive a dropped network (the activity form) -------------------------
// What is typed is kept in localStorage while the form is open, so a reload or
// a lost page brings it back. Submitting goes through fetch: when the network
// fails the page stays as it is (the photo still chosen) with a notice, and the
// next tap sends the same client_id, which the server records once.
(function () {
  function draftKey(form) { return "sinergi-draft:" + form.dataset.draftKey; }
  function saveDraft(form) {
    var data = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.type === "file" || el.name === "csrfmiddlewaretoken") return;
      if (el.type === "checkbox" || el.type === "radio") {
        if (!data[el.name]) data[el.name] = [];
        if (el.checked) data[el.name].push(el.value);
      } else { data[el.name] = el.value; }
    });
    try { localStorage.setItem(draftKey(form), JSON.stringify({ at: Date.now(), data: data })); } catch (e) { /* full or private */ }
  }
  function restoreDraft(form) {
    var raw = null;
    try { raw = localStorage.getItem(draftKey(form)); } catch (e) { return; }
    if (!raw) return;
    var draft;
    try { draft = JSON.parse(raw); } catch (e) { return; }
    if (!draft || Date.now() - draft.at > 7 * 24 * 3600 * 1000) return;
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || !(el.name in draft.data) || el.type === "file" || el.name === "csrfmiddlewaretoken") return;
      var v = draft.data[el.name];
      if (el.type === "checkbox" || el.type === "radio") el.checked = v.indexOf(el.value) !== -1;
      else el.value = v;
    });
    form.dispatchEvent(new Event("change", { bubbles: true }));
  }
  function clearDraft(form) { try { localStorage.removeItem(draftKey(form)); } catch (e) { /* ignore */ } }

  function toggleKinds(form) {
    var checked = form.querySelector("input[name=kind]:checked");
    form.querySelectorAll("[data-for-kinds]").forEach(function (box) {
      var kinds = box.dataset.forKinds.split(" ");
      box.hidden = !checked || kinds.indexOf(checked.value) === -1;
    });
  }

  function checkin(form, quiet) {
    var box = form.querySelector("[data-checkin]");
    if (!box || !navigator.geolocation) return;
    var status = box.querySelector("[data-checkin-status]");
    if (!quiet) status.textContent = status.dataset.textWait;
    navigator.geolocation.getCurrentPosition(function (pos) {
      document.getElementById(box.dataset.lat).value = pos.coords.latitude.toFixed(6);
      document.getElementById(box.dataset.lon).value = pos.coords.longitude.toFixed(6);
      document.getElementById(box.dataset.acc).value = Math.round(pos.coords.accuracy);
      status.textContent = status.dataset.textOk.replace("%s", Math.round(pos.coords.accuracy));
    }, function () { status.textContent = status.dataset.textFail; }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-offline-safe]").forEach(function (form) {
      var hasErrors = form.querySelector(".error, .alert");
      if (!hasErrors) restoreDraft(form);
      toggleKinds(form);
      var done = form.querySelector("input[name=status][value=DONE]");
      if (done && done.checked) checkin(form, true);
      form.addEventListener("input", function () { saveDraft(form); });
      form.addEventListener("change", function (e) {
        if (e.target && e.target.name === "kind") toggleKinds(form);
        if (e.target && e.target.name === "status" && e.target.value === "DONE") checkin(form, false);
        saveDraft(form);
      });
      var now = form.querySelector("[data-checkin-now]");
      if (now) now.addEventListener("click", function () { checkin(form, false); });
      form.addEventListener("submit", function (event) {
        if (!window.fetch || !window.FormData) return; // old browser: a plain post
        event.preventDefault();
        if (form.dataset.sending) return;
        form.dataset.sending = "1";
        saveDraft(form);
        var banner = form.querySelector(".offline-banner");
        var buttons = form.querySelectorAll("button[type=submit]");
        buttons.forEach(function (b) { b.disabled = true; });
        fetch(form.action || window.location.href, {
          method: "POST", body: new FormData(form), credentials: "same-origin",
          headers: { "X-Requested-With": "fetch" }
        }).then(function (response) {
          return response.text().then(function (html) {
            var target = response.headers.get("X-Location");
            if (response.status === 204 && target) {
              clearDraft(form);
              window.location.assign(target);
              return;
            }
            if (response.redirected) {
              // Sent elsewhere without saving (e.g. the session expired: the login page).
              // The draft stays, and comes back when the form is opened again.
              window.location.assign(response.url);
              return;
            }
            // A refusal (400) or another answer: show the server's page, which keeps the typed values.
            document.open(); document.write(html); document.close();
          });
        }).catch(function () {
          if (banner) banner.hidden = false;
          buttons.forEach(function (b) { b.disabled = false; });
          delete form.dataset.sending;
        });
      });
    });
  });
})();

// Logging out forgets every draft kept on this device (a shared phone).
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!form.matches || !form.matches("form[data-clear-drafts]")) return;
  try {
    Object.keys(localStorage).forEach(function (k) { if (k.indexOf("sinergi-draft:") === 0) localStorage.removeItem(k); });
  } catch (e) { /* storage unavailable */ }
});
