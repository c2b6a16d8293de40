// Dashboard charts (Chart.js, vendored). Each <canvas data-chart="kind" data-chart-source="id"> reads its data from
// the <script type="application/json" id="id"> that json_script wrote; no inline code, so the page runs under the
// Content-Security-Policy. The table beside each chart holds the same figures (accessible and printable).
(function () {
  "use strict";

  function readData(id) {
    const element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  function number(value) {
    return new Intl.NumberFormat(document.documentElement.lang || undefined).format(value);
  }

  function config(kind, data) {
    const base = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: false } },
      scales: { x: { ticks: { callback: undefined } } },
    };
    if (kind === "funnel") {
      base.indexAxis = "y";
      base.scales = { x: { beginAtZero: true, ticks: { precision: 0 } } };
      return {
        type: "bar",
        data: { labels: data.labels, datasets: [{ data: data.values, backgroundColor: "#0d6efd" }] },
        options: base,
      };
    }
    if (kind === "forecast") {
      base.plugins.legend.display = true;
      base.scales = { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { callback: number } } };
      return {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: [
            { type: "bar", label: data.names ? data.names.won : "Won", data: data.won, backgroundColor: "#198754", stack: "s" },
            { type: "bar", label: data.names ? data.names.weighted : "Weighted", data: data.weighted, backgroundColor: "#9ec5fe", stack: "s" },
            { type: "line", label: data.names ? data.names.target : "Target", data: data.target, borderColor: "#dc3545", backgroundColor: "#dc3545", spanGaps: true },
          ],
        },
        options: base,
      };
    }
    if (kind === "activity" || kind === "rep") {
      base.scales = { y: { beginAtZero: true, ticks: { precision: 0 } } };
      return {
        type: kind === "activity" ? "line" : "bar",
        data: { labels: data.labels, datasets: [{ data: data.values, borderColor: "#0d6efd", backgroundColor: "#0d6efd" }] },
        options: base,
      };
    }
    base.indexAxis = "y";
    base.scales = { x: { beginAtZero: true, ticks: { callback: number } } };
    return {
      type: "bar",
      data: { labels: data.labels, datasets: [{ data: data.values, backgroundColor: "#198754" }] },
      options: base,
    };
  }

  function draw() {
    if (typeof Chart !== "function") {
      return;
    }
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      const data = readData(canvas.dataset.chartSource);
      if (!data || !data.labels || data.labels.length === 0) {
        canvas.closest(".report-chart").hidden = true;
        return;
      }
      const chart = new Chart(canvas, config(canvas.dataset.chart, data));
      canvas.dataset.drawn = "1";
      canvas.chart = chart;
    });
  }

  // Changing a date of the filters means a custom period.
  document.addEventListener("change", function (event) {
    const input = event.target.closest(".report-filters input[type=date]");
    if (input && input.form && input.form.period) {
      input.form.period.value = "custom";
    }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
