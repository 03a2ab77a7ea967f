/* Charts of the KPI pages, drawn with the locally served plotly.min.js (no CDN).

   An element <div data-chart="SOURCE" data-key="KEY"> is drawn from the chart whose "key" is KEY in the
   JSON list of <script type="application/json" id="SOURCE">. Values are exact decimal strings; the
   browser only draws them. Charts are drawn on load and again after every htmx swap (filters, trends). */
(function () {
  "use strict";

  var FONT = { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 12, color: "#334155" };
  var LINE_COLORS = { dso: "#2563eb", cei: "#2f855a", adp: "#7c3aed", avg_days_late: "#dd6b20", pct_past_due: "#c53030" };

  function bucketColors(n) {
    var out = [];
    for (var k = 0; k < n; k++) {
      if (k === 0) { out.push("#2f855a"); continue; }
      var t = (k - 1) / Math.max(1, n - 2);
      out.push(t < 0.34 ? "#d69e2e" : t < 0.67 ? "#dd6b20" : "#c53030");
    }
    return out;
  }

  function layout(extra) {
    var base = {
      margin: { t: 10, r: 10, b: 44, l: 80 },
      height: 260,
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: FONT,
      showlegend: false
    };
    for (var k in extra) { base[k] = extra[k]; }
    return base;
  }

  function agingChart(el, c) {
    Plotly.newPlot(
      el,
      [{
        type: "bar",
        x: c.labels,
        y: c.values.map(Number),
        text: c.values,
        marker: { color: bucketColors(c.labels.length) },
        hovertemplate: "%{x}: %{text} " + c.currency + "<extra></extra>",
        textposition: "none"
      }],
      layout({
        yaxis: { gridcolor: "#e2e8f0", tickformat: ",.0f", rangemode: "tozero" },
        xaxis: { type: "category", title: { text: c.title } },
        bargap: 0.25
      }),
      { displayModeBar: false, responsive: true }
    );
  }

  function lineChart(el, c) {
    var color = LINE_COLORS[c.metric] || "#2563eb";
    Plotly.newPlot(
      el,
      [{
        type: "scatter",
        mode: "lines+markers",
        x: c.x,
        y: c.y.map(function (v) { return v === null ? null : Number(v); }),
        text: c.y.map(function (v) { return v === null ? "undefined" : v; }),
        connectgaps: false,
        line: { color: color, width: 2 },
        marker: { color: color, size: 5 },
        hovertemplate: "%{x}: %{text} " + c.unit + "<extra></extra>"
      }],
      layout({
        height: 200,
        margin: { t: 28, r: 10, b: 30, l: 50 },
        title: { text: c.title + " (" + c.unit + ")", font: { size: 13 }, x: 0, xanchor: "left" },
        yaxis: { gridcolor: "#e2e8f0", rangemode: "tozero", zeroline: false },
        xaxis: { type: "date", tickformat: "%b %y", gridcolor: "#f1f5f9" }
      }),
      { displayModeBar: false, responsive: true }
    );
  }

  function draw() {
    if (typeof Plotly === "undefined") return;
    var cache = {};
    document.querySelectorAll("[data-chart]:not([data-drawn])").forEach(function (el) {
      var id = el.getAttribute("data-chart");
      if (!(id in cache)) {
        var source = document.getElementById(id);
        cache[id] = source ? JSON.parse(source.textContent) : [];
      }
      var key = el.getAttribute("data-key");
      var c = cache[id].filter(function (x) { return x.key === key; })[0];
      if (!c) return;
      el.setAttribute("data-drawn", "1");
      if (c.type === "line") { lineChart(el, c); } else { agingChart(el, c); }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
  document.addEventListener("htmx:afterSettle", draw);
})();
