/* Aging bar charts on the dashboard, drawn with the locally served plotly.min.js.
   Data comes from <script type="application/json" id="aging-data"> (exact decimal strings). */
(function () {
  "use strict";

  function draw() {
    var source = document.getElementById("aging-data");
    if (!source || typeof Plotly === "undefined") return;
    var charts = JSON.parse(source.textContent);
    document.querySelectorAll("[data-aging-chart]").forEach(function (el, i) {
      var c = charts[i];
      if (!c) return;
      var n = c.labels.length;
      var colors = c.labels.map(function (_, k) {
        if (k === 0) return "#2f855a";
        var t = (k - 1) / Math.max(1, n - 2);
        return t < 0.34 ? "#d69e2e" : t < 0.67 ? "#dd6b20" : "#c53030";
      });
      Plotly.newPlot(
        el,
        [{
          type: "bar",
          x: c.labels,
          y: c.values.map(Number),
          text: c.values,
          marker: { color: colors },
          hovertemplate: "%{x}: %{text} " + c.currency + "<extra></extra>",
          textposition: "none"
        }],
        {
          margin: { t: 10, r: 10, b: 40, l: 70 },
          height: 260,
          paper_bgcolor: "rgba(0,0,0,0)",
          plot_bgcolor: "rgba(0,0,0,0)",
          font: { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 12, color: "#334155" },
          yaxis: { title: { text: c.currency }, gridcolor: "#e2e8f0", tickformat: ",.0f", rangemode: "tozero" },
          xaxis: { type: "category" },
          bargap: 0.25
        },
        { displayModeBar: false, responsive: true }
      );
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
