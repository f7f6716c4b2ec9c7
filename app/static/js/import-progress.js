// The import page: follow a background check by polling its progress (kept on the batch row,
// so any worker answers), and show that an import is running once its button is pressed.
// A separate file because the CSP forbids inline scripts.
(function () {
  "use strict";

  var section = document.getElementById("import-progress");
  if (section) {
    var url = section.getAttribute("data-progress-url");
    var bar = section.querySelector("progress");
    var phase = section.querySelector("[data-phase-label]");
    var counts = section.querySelector("[data-counts]");

    var poll = function () {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) { throw new Error(String(response.status)); }
          return response.json();
        })
        .then(function (state) {
          bar.value = state.percent;
          bar.textContent = state.percent + "%";
          var label = phase.getAttribute("data-" + (state.phase || "queued"));
          if (label) { phase.textContent = label; }
          counts.textContent = state.total ? " " + state.done + " / " + state.total : "";
          if (state.status === "checking") {
            window.setTimeout(poll, 1000);
          } else {
            window.location.reload();
          }
        })
        .catch(function () { window.setTimeout(poll, 3000); });
    };
    window.setTimeout(poll, 500);
  }

  document.querySelectorAll("form[data-busy-form]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) {
        button.disabled = true;
        button.textContent = button.getAttribute("data-busy-label") || button.textContent;
      }
    });
  });
})();
