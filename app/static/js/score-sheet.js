// Score sheet: saves as the judge types, keeps unsaved marks on the device when the venue's
// Wi-Fi drops, retries, and refuses to overwrite a sheet someone else changed (409).
(function () {
  "use strict";
  var form = document.getElementById("score-sheet");
  if (!form || form.dataset.locked === "true") { return; }
  var storageKey = form.dataset.storageKey;
  var statusLine = document.getElementById("save-status");
  var connection = document.getElementById("connection-warning");
  var conflict = document.getElementById("conflict-warning");
  var submitVersion = document.getElementById("submit-version");
  var timer = null, inFlight = false, again = false, dirty = false, retryDelay = 2000, stopped = false;

  function items() { return form.querySelectorAll(".sheet-item[data-item]"); }

  function collect() {
    var values = {}, reasons = {}, overrun = null;
    items().forEach(function (box) {
      var code = box.dataset.item, kind = box.dataset.kind;
      if (code === "overrun_minutes") { overrun = box.querySelector("input").value; return; }
      if (kind === "disqualifying") {
        values[code] = box.querySelector("input[type=checkbox]").checked ? "1" : "0";
        reasons[code] = box.querySelector("textarea").value;
        return;
      }
      var radio = box.querySelector("input[type=radio]:checked");
      var input = box.querySelector("input.mark-input");
      values[code] = radio ? radio.value : (input ? input.value : "");
    });
    return { values: values, reasons: reasons, overrun_minutes: overrun };
  }

  function restore(saved) {
    items().forEach(function (box) {
      var code = box.dataset.item, kind = box.dataset.kind;
      if (code === "overrun_minutes") {
        if (saved.overrun_minutes !== null) { box.querySelector("input").value = saved.overrun_minutes; }
        return;
      }
      var value = saved.values[code];
      if (value === undefined) { return; }
      if (kind === "disqualifying") {
        box.querySelector("input[type=checkbox]").checked = value === "1";
        box.querySelector("textarea").value = saved.reasons[code] || "";
        return;
      }
      var radios = box.querySelectorAll("input[type=radio]");
      if (radios.length) {
        radios.forEach(function (r) { r.checked = (r.value === value); });
      } else {
        box.querySelector("input.mark-input").value = value;
      }
    });
  }

  function remember() {
    var copy = collect();
    copy.version = form.dataset.version;
    try { localStorage.setItem(storageKey, JSON.stringify(copy)); } catch (e) { /* storage full or off */ }
  }

  function forget() { try { localStorage.removeItem(storageKey); } catch (e) { /* ignore */ } }

  function show(element, visible) { element.classList.toggle("d-none", !visible); }

  // details: [{field, reason}] as every refusal of the app answers (app/errors.py)
  function showErrors(details) {
    form.querySelectorAll(".item-error").forEach(function (el) { el.textContent = ""; });
    (details || []).forEach(function (detail) {
      var el = detail.field && document.getElementById("error-" + detail.field);
      if (el) { el.textContent = detail.reason; }
    });
  }

  function update(body) {
    form.dataset.version = body.version;
    if (submitVersion) { submitVersion.value = body.version; }
    document.getElementById("sheet-total").textContent = body.points;
    Object.keys(body.item_points).forEach(function (code) {
      var out = document.getElementById("points-" + code);
      if (out) { out.textContent = body.item_points[code]; }
    });
  }

  function save() {
    if (stopped) { return; }
    if (inFlight) { again = true; return; }
    inFlight = true;
    statusLine.textContent = form.dataset.textSaving;
    var payload = collect();
    payload.version = Number(form.dataset.version);
    fetch(form.dataset.saveUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": form.dataset.csrf,
                 "Accept": "application/json" },
      body: JSON.stringify(payload)
    }).then(function (response) {
      return response.json().then(function (body) { return { status: response.status, body: body }; },
                                  function () { return { status: response.status, body: {} }; });
    }).then(function (answer) {
      inFlight = false;
      if (answer.status === 200) {
        show(connection, false);
        retryDelay = 2000;
        update(answer.body);
        showErrors([]);
        if (!again) { dirty = false; forget(); }
        statusLine.textContent = form.dataset.textSaved + " " + new Date().toLocaleTimeString();
      } else if (answer.status === 409) {
        stopped = true;
        conflict.querySelector("span").textContent = answer.body.error.message;
        show(conflict, true);
      } else if (answer.status === 422) {
        show(connection, false);
        showErrors(answer.body.error.details || []);
        statusLine.textContent = form.dataset.textInvalid;
      } else if (answer.status >= 500 || answer.status === 0) {
        throw new Error("server " + answer.status);
      } else {
        statusLine.textContent = (answer.body.error && answer.body.error.message) || "";
      }
      if (again) { again = false; save(); }
    }).catch(function () {
      inFlight = false;
      show(connection, true);
      statusLine.textContent = form.dataset.textRetry;
      setTimeout(save, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30000);
    });
  }

  function changed() {
    dirty = true;
    remember();
    clearTimeout(timer);
    timer = setTimeout(save, 500);
  }

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  form.querySelectorAll(".deduction [data-step]").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = button.parentElement.querySelector("input");
      var next = Math.max(0, (parseInt(input.value, 10) || 0) + Number(button.dataset.step));
      input.value = String(next);
      changed();
    });
  });

  var submitForm = document.getElementById("submit-sheet");
  if (submitForm) {
    submitForm.addEventListener("submit", function (event) {
      if (dirty || inFlight) {  // save what was typed first, then submit
        event.preventDefault();
        clearTimeout(timer);
        var ticks = 0;
        var wait = setInterval(function () {
          ticks += 1;
          if (!dirty && !inFlight) { clearInterval(wait); submitForm.submit(); }
          else if (stopped || ticks > 50) { clearInterval(wait); }  // conflict or still offline
        }, 200);
        save();
      }
    });
  }

  window.addEventListener("beforeunload", function (event) {
    if (dirty && !stopped) { event.preventDefault(); event.returnValue = ""; }
  });
  window.addEventListener("online", function () { if (dirty) { save(); } });

  // Typing kept on this device from a lost connection comes back and is saved.
  try {
    var kept = JSON.parse(localStorage.getItem(storageKey) || "null");
    if (kept && String(kept.version) === form.dataset.version) {
      restore(kept);
      changed();
    } else if (kept) {
      forget();
    }
  } catch (e) { forget(); }
})();
