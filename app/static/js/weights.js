// Components page: keep the total of the weights in view while they are edited.
// The server checks the sum again (exactly); this only counts hundredths of a percent.
(function () {
  "use strict";
  var form = document.getElementById("components-form");
  var output = document.getElementById("weight-total");
  if (!form || !output) { return; }

  function hundredths(text) {
    var match = /^\s*(\d+)(?:\.(\d{1,2}))?\s*$/.exec(text || "");
    if (!match) { return null; }
    return parseInt(match[1], 10) * 100 + parseInt(((match[2] || "") + "00").slice(0, 2), 10);
  }

  function update() {
    var total = 0;
    var valid = true;
    form.querySelectorAll("input[name$='-weight']").forEach(function (input) {
      var prefix = input.name.slice(0, -"weight".length);
      var deleted = form.querySelector("input[name='" + prefix + "delete']");
      if (deleted && deleted.checked) { return; }
      if (input.value.trim() === "") { return; }
      var value = hundredths(input.value);
      if (value === null) { valid = false; return; }
      total += value;
    });
    if (!valid) { output.textContent = "?"; return; }
    var whole = Math.floor(total / 100);
    var rest = total % 100;
    output.textContent = whole + (rest ? "." + String(rest).padStart(2, "0").replace(/0$/, "") : "") + "%";
    output.classList.toggle("text-danger", total !== 10000);
    output.classList.toggle("text-success", total === 10000);
  }

  form.addEventListener("input", update);
  form.addEventListener("change", update);
}());
