/* The root-cause Pareto chart of the dispute reports, drawn with the locally served plotly.min.js.
   Data: <script type="application/json" id="pareto-data">{"labels": [...], "counts": [...], "cumulative": ["12.50", ...]}</script> */
(function () {
  "use strict";
  function draw() {
    var el = document.getElementById("pareto-chart");
    var src = document.getElementById("pareto-data");
    if (!el || !src || typeof Plotly === "undefined") { return; }
    var c = JSON.parse(src.textContent);
    if (!c.labels.length) { return; }
    Plotly.newPlot(el, [
      { type: "bar", x: c.labels, y: c.counts, name: "Disputes", marker: { color: "#2563eb" } },
      { type: "scatter", mode: "lines+markers", x: c.labels, y: c.cumulative.map(Number), name: "Cumulative %",
        yaxis: "y2", line: { color: "#c53030" } }
    ], {
      margin: { t: 10, r: 50, b: 80, l: 50 }, height: 300, paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
      yaxis: { title: "Disputes" }, yaxis2: { title: "Cumulative %", overlaying: "y", side: "right", range: [0, 105], dtick: 25, ticksuffix: "%" },
      showlegend: false
    }, { displayModeBar: false, responsive: true });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
