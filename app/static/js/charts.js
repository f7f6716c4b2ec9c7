// Charts drawn with the vendored Apache ECharts (canvas renderer). Each element marked
// data-chart fetches its data from the JSON URL in data-chart-src. The server sends the text
// already translated and the numbers as exact decimal strings; this script only draws them,
// adds a data table for screen readers and printing, and marks the box data-chart-ready.
// No inline script or style is used (the Content-Security-Policy forbids them): tooltips are
// drawn on the canvas (richText) rather than as HTML.
(function () {
  "use strict";

  var FONT = '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", ' +
    '"Microsoft YaHei", sans-serif';

  function value(v) {
    return v === null || v === undefined ? "-" : Number(v);
  }

  function barOption(spec) {
    var horizontal = spec.horizontal;
    var many = spec.categories.length > 8;
    var categoryAxis = {
      type: "category", data: spec.categories, inverse: horizontal,
      axisLabel: horizontal ? { width: 180, overflow: "truncate" }
        : { interval: 0, rotate: many ? 30 : 0 }
    };
    var valueAxis = { type: "value", minInterval: spec.unit ? 0 : 1 };
    if (spec.unit) { valueAxis.max = spec.maximum; }
    if (horizontal) {
      categoryAxis.name = "";
      valueAxis.name = spec.x_label || "";
    } else {
      categoryAxis.name = spec.x_label || "";
      categoryAxis.nameLocation = "middle";
      categoryAxis.nameGap = many ? 52 : 28;
      valueAxis.name = spec.y_label || "";
    }
    return {
      xAxis: horizontal ? valueAxis : categoryAxis,
      yAxis: horizontal ? categoryAxis : valueAxis,
      // containLabel keeps the tick labels inside; the axis names and the legend need room too.
      grid: { left: 16, right: horizontal ? 56 : 32, top: spec.note ? 78 : 58,
              bottom: (horizontal ? 8 : (many ? 56 : 36)) + (spec.series.length > 1 ? 30 : 8),
              containLabel: true },
      tooltip: { trigger: "axis", renderMode: "richText", axisPointer: { type: "shadow" } },
      series: spec.series.map(function (s) {
        return { type: "bar", name: s.name, data: s.data.map(value),
                 label: { show: !horizontal && !many && spec.series.length === 1,
                          position: "top" } };
      })
    };
  }

  function radarOption(spec) {
    return {
      radar: {
        indicator: spec.categories.map(function (name) { return { name: name, max: spec.maximum }; }),
        radius: "62%", center: ["50%", "55%"]
      },
      tooltip: { trigger: "item", renderMode: "richText" },
      series: [{
        type: "radar",
        data: spec.series.map(function (s) { return { name: s.name, value: s.data.map(value) }; })
      }]
    };
  }

  function option(spec) {
    var base = spec.type === "radar" ? radarOption(spec) : barOption(spec);
    base.animation = false;
    base.aria = { enabled: true };
    base.textStyle = { fontFamily: FONT };
    base.title = { text: spec.title, subtext: spec.note || "", left: "center",
                   textStyle: { fontSize: 15 } };
    if (spec.series.length > 1) { base.legend = { bottom: 0 }; }
    return base;
  }

  function dataTable(box, spec) {
    var details = document.createElement("details");
    details.className = "chart-table small mt-1";
    var summary = document.createElement("summary");
    summary.textContent = box.getAttribute("data-chart-table") || "";
    details.appendChild(summary);
    var table = document.createElement("table");
    table.className = "table table-sm w-auto";
    var head = table.createTHead().insertRow();
    head.appendChild(document.createElement("th"));
    spec.series.forEach(function (s) {
      var th = document.createElement("th");
      th.scope = "col";
      th.textContent = s.name;
      head.appendChild(th);
    });
    var body = table.createTBody();
    spec.categories.forEach(function (name, i) {
      var row = body.insertRow();
      var th = document.createElement("th");
      th.scope = "row";
      th.textContent = name;
      row.appendChild(th);
      spec.series.forEach(function (s) {
        var v = s.data[i];
        row.insertCell().textContent = v === null || v === undefined ? "—"
          : String(v) + (spec.unit || "");
      });
    });
    details.appendChild(table);
    box.parentNode.insertBefore(details, box.nextSibling);
  }

  function note(box, text) {
    box.classList.add("chart-empty");
    var p = document.createElement("p");
    p.className = "text-muted";
    p.textContent = text;
    box.replaceChildren(p);
    box.setAttribute("data-chart-ready", "empty");
  }

  function draw(box, spec) {
    if (!spec.categories.length) {
      var heading = document.createElement("strong");
      heading.textContent = spec.title;
      note(box, spec.note || "");
      box.prepend(heading);
      return;
    }
    if (spec.horizontal) {
      box.style.height = Math.max(320, 90 + 24 * spec.categories.length) + "px";
    }
    var locale = (document.documentElement.lang || "zh").slice(0, 2) === "zh" ? "ZH" : "EN";
    var chart = window.echarts.init(box, null, { renderer: "canvas", locale: locale });
    chart.on("finished", function () { box.setAttribute("data-chart-ready", "drawn"); });
    chart.setOption(option(spec));
    window.addEventListener("resize", function () { chart.resize(); });
    dataTable(box, spec);
  }

  document.querySelectorAll("[data-chart]").forEach(function (box) {
    fetch(box.getAttribute("data-chart-src"), {
      headers: { Accept: "application/json" }, credentials: "same-origin"
    }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (spec) {
      draw(box, spec);
    }).catch(function () {
      note(box, box.getAttribute("data-chart-error") || "");
      box.setAttribute("data-chart-ready", "failed");
    });
  });
})();
