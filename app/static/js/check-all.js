// A header checkbox with data-check-all="group" ticks or clears every checkbox with
// data-check="group" on the page (bulk actions on long tables).
(function () {
  "use strict";
  document.querySelectorAll("[data-check-all]").forEach(function (master) {
    master.addEventListener("change", function () {
      var group = master.getAttribute("data-check-all");
      document.querySelectorAll('[data-check="' + group + '"]').forEach(function (box) {
        box.checked = master.checked;
      });
    });
  });
})();
