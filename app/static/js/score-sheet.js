// Score sheet: saves as the judge types, keeps unsaved marks on the device when the venue's
// Wi-Fi drops, retries, and refuses to overwrite a sheet someone else changed (409).
//
// The bar at the top (running total, items still to fill) follows every keystroke through a
// mirror of scoring.running_total / scoring.score_sheet in integer units of 10**-decimals; the
// server's answer to each save is the truth and replaces the mirror's figures when it comes.
(function () {
  "use strict";
  var form = document.getElementById("score-sheet");
  if (!form || form.dataset.locked === "true") { return; }
  var rules = JSON.parse(document.getElementById("sheet-rules").textContent);
  var totalOut = document.getElementById("sheet-total");
  var unfilledOut = document.getElementById("sheet-unfilled");
  var unfilledItems = document.getElementById("sheet-unfilled-items");
  var submitMissing = document.getElementById("submit-missing");
  var submitCount = document.getElementById("submit-count");
  var submitButton = document.getElementById("submit-button");
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

  // --- the mirror of scoring/ -------------------------------------------------------------
  var scale = Math.pow(10, rules.decimals);

  // A typed number in units, as parse_number reads plain digits; null: not a number here.
  function toUnits(text) {
    var plain = String(text || "").replace(/[\uFF10-\uFF19]/g, function (c) {
      return String.fromCharCode(c.charCodeAt(0) - 0xFEE0);  // full-width digits, as the server reads them
    }).replace(/\uFF0E/g, ".");
    var match = /^\s*\+?(\d*)(?:\.(\d*))?\s*$/.exec(plain);
    if (!match || (match[1] === "" && !match[2])) { return null; }
    var fraction = (match[2] || "").replace(/0+$/, "");
    if (fraction.length > rules.decimals) { return null; }
    while (fraction.length < rules.decimals) { fraction += "0"; }
    return Number(match[1] || "0") * scale + Number(fraction || "0");
  }

  function halfUpDiv(num, den) { return Math.floor((2 * num + den) / (2 * den)); }

  function fixed(units) {
    var whole = Math.floor(units / scale), rest = String(units - whole * scale);
    if (rules.decimals === 0) { return String(whole); }
    while (rest.length < rules.decimals) { rest = "0" + rest; }
    return whole + "." + rest;
  }

  // {code: points in units} of the items given and valid, and the labels still to fill.
  function mirror() {
    var typed = collect(), points = {}, missing = [], counted = {};
    var boxes = {};
    items().forEach(function (box) { boxes[box.dataset.item] = box; });
    rules.items.forEach(function (item) {
      var raw = typed.values[item.code], label = boxes[item.code] ? boxes[item.code].dataset.label : item.code;
      var given = raw !== undefined && String(raw).trim() !== "";
      var units = given ? toUnits(String(raw)) : null;
      if (item.kind === "measurement") {
        if (units === null || units > item.max || (item.all_or_nothing && units !== 0 && units !== item.max)) {
          missing.push(label); return;
        }
        points[item.code] = units; counted[item.code] = true;
      } else if (item.kind === "judgement") {
        if (units === null || units % scale || units > 3 * scale) { missing.push(label); return; }
        points[item.code] = halfUpDiv((units / scale) * item.max, 3); counted[item.code] = true;
      } else if (item.kind === "deduction") {
        if (given && (units === null || units % scale)) { missing.push(label); points[item.code] = item.max; return; }
        points[item.code] = given ? Math.max(0, item.max - (units / scale) * item.per) : item.max;
        counted[item.code] = given;
      } else {  // disqualifying: no points; a disqualification needs its written reason
        var fired = raw === "1";
        if (fired && !String(typed.reasons[item.code] || "").trim()) { missing.push(label); return; }
        points[item.code] = 0; counted[item.code] = fired;
      }
    });
    var sum = 0;
    Object.keys(points).forEach(function (code) { sum += points[code]; });
    var disqualified = rules.items.some(function (item) {
      return item.kind === "disqualifying" && typed.values[item.code] === "1" && points[item.code] === 0;
    });
    if (!missing.length && rules.overrun) {
      var overrun = String(typed.overrun_minutes || "").trim();
      var minutes = overrun === "" ? 0 : (/^\d+$/.test(overrun) ? Number(overrun) : null);
      if (minutes === null) {
        missing.push(boxes.overrun_minutes ? boxes.overrun_minutes.dataset.label : "overrun");
      } else {
        sum -= Math.min(minutes * rules.overrun.per_minute, sum);
        if (rules.overrun.disqualify_after !== null && minutes > rules.overrun.disqualify_after) { disqualified = true; }
      }
    }
    if (!missing.length && disqualified) { sum = 0; }
    return { total: sum, points: points, missing: missing };
  }

  function showMissing(labels) {
    unfilledOut.textContent = String(labels.length);
    unfilledItems.textContent = labels.join("、");
    if (submitMissing) {
      submitMissing.textContent = labels.length ? form.dataset.textMissing + " " + labels.join("、") : form.dataset.textReady;
      submitCount.textContent = labels.length ? submitButton.dataset.textCount.replace("{n}", labels.length) : "";
    }
  }

  function reflect() {
    var m = mirror();
    totalOut.textContent = fixed(m.total);
    rules.items.forEach(function (item) {
      var out = document.getElementById("points-" + item.code);
      if (out) { out.textContent = item.code in m.points ? fixed(m.points[item.code]) : ""; }
    });
    showMissing(m.missing);
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

  // The server's answer: its figures stand (the mirror has shown the same ones already).
  function update(body) {
    form.dataset.version = body.version;
    if (submitVersion) { submitVersion.value = body.version; }
    if (again) { return; }  // typed on since: the mirror's figures are the newer ones
    totalOut.textContent = body.points;
    Object.keys(body.item_points).forEach(function (code) {
      var out = document.getElementById("points-" + code);
      if (out) { out.textContent = body.item_points[code]; }
    });
    var boxes = {};
    items().forEach(function (box) { boxes[box.dataset.item] = box.dataset.label; });
    showMissing(Object.keys(body.problems || {}).map(function (code) { return boxes[code] || code; }));
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
    reflect();
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

  reflect();
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
