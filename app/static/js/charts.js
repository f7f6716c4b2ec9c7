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

  // A point per thing (e.g. a question): spec.series[i].points = [{name, x, y}], the axes named
  // by x_label / y_label and bounded by x_max, y_min, y_max.
  function scatterOption(spec) {
    return {
      xAxis: { type: "value", name: spec.x_label || "", nameLocation: "middle", nameGap: 28,
               min: 0, max: spec.x_max },
      yAxis: { type: "value", name: spec.y_label || "", min: spec.y_min, max: spec.y_max },
      grid: { left: 16, right: 32, top: spec.note ? 78 : 58, bottom: 64, containLabel: true },
      tooltip: { trigger: "item", renderMode: "richText",
                 formatter: function (p) { return p.data.name + "  " + p.data.value.join(" / "); } },
      series: spec.series.map(function (s) {
        return { type: "scatter", name: s.name, symbolSize: 9,
                 itemStyle: s.color ? { color: s.color } : undefined,
                 data: s.points.map(function (p) { return { name: p.name, value: [value(p.x), value(p.y)] }; }) };
      })
    };
  }

  function option(spec) {
    var base = spec.type === "radar" ? radarOption(spec)
      : (spec.type === "scatter" ? scatterOption(spec) : barOption(spec));
    base.animation = false;
    base.aria = { enabled: true };
    base.textStyle = { fontFamily: FONT };
    base.title = { text: spec.title, subtext: spec.note || "", left: "center",
                   textStyle: { fontSize: 15 } };
    if (spec.series.length > 1) { base.legend = { bottom: 0 }; }
    return base;
  }

  function scatterTable(box, spec) {
    var details = document.createElement("details");
    details.className = "chart-table small mt-1";
    var summary = document.createElement("summary");
    summary.textContent = box.getAttribute("data-chart-table") || "";
    details.appendChild(summary);
    var table = document.createElement("table");
    table.className = "table table-sm w-auto";
    var head = table.createTHead().insertRow();
    ["", spec.x_label || "", spec.y_label || ""].forEach(function (text) {
      var th = document.createElement("th");
      th.scope = "col";
      th.textContent = text;
      head.appendChild(th);
    });
    var body = table.createTBody();
    spec.series.forEach(function (s) {
      s.points.forEach(function (p) {
        var row = body.insertRow();
        var th = document.createElement("th");
        th.scope = "row";
        th.textContent = p.name + " (" + s.name + ")";
        row.appendChild(th);
        row.insertCell().textContent = p.x === null ? "—" : String(p.x);
        row.insertCell().textContent = p.y === null ? "—" : String(p.y);
      });
    });
    details.appendChild(table);
    box.parentNode.insertBefore(details, box.nextSibling);
  }

  function dataTable(box, spec) {
    if (spec.type === "scatter") { scatterTable(box, spec); return; }
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
    var empty = spec.type === "scatter"
      ? !spec.series.some(function (s) { return s.points.length; }) : !spec.categories.length;
    if (empty) {
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
