// The dashboard's charts: each figure's labels and data sets come from the page's JSON
// (#dashboard-charts, made by admin/dashboard.py) and are drawn by Chart.js (npm).
(function () {
  'use strict';
  var PALETTE = ['#1f5fa8', '#2e8b57', '#d9822b', '#b02a37', '#6f42c1', '#0f6674', '#5a6268', '#a0522d'];
  var source = document.getElementById('dashboard-charts');
  if (!source || typeof window.Chart !== 'function') { return; }
  var reduced = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;

  function color(index) { return PALETTE[index % PALETTE.length]; }

  function draw(figure) {
    var canvas = document.getElementById('chart-' + figure.code);
    if (!canvas) { return; }
    var round = figure.type === 'doughnut';
    var datasets = figure.datasets.map(function (set, index) {
      var styled = {label: set.label, data: set.data};
      if (round) {
        styled.backgroundColor = figure.labels.map(function (_label, n) { return color(n); });
      } else {
        styled.backgroundColor = color(index);
        styled.borderColor = color(index);
        styled.pointRadius = figure.labels.length > 40 ? 0 : 2;
        styled.tension = 0.2;
      }
      return styled;
    });
    var options = {
      responsive: true,
      maintainAspectRatio: false,
      animation: reduced ? false : {duration: 300},
      plugins: {legend: {position: 'bottom', labels: {boxWidth: 12}}}
    };
    if (!round) {
      var stacked = Boolean(figure.stacked);
      var count = {beginAtZero: true, stacked: stacked, ticks: {precision: 0}};
      var labels = {stacked: stacked, ticks: {autoSkip: true, maxRotation: 0}};
      if (figure.type === 'hbar') {
        // Long labels (a reason, a full name) are cut on the axis; the table has them whole.
        labels.ticks.callback = function (value) {
          var text = String(this.getLabelForValue(value));
          return text.length > 28 ? text.slice(0, 27) + '…' : text;
        };
      }
      options.indexAxis = figure.type === 'hbar' ? 'y' : 'x';
      options.scales = figure.type === 'hbar' ? {x: count, y: labels} : {x: labels, y: count};
      if (datasets.length === 1) { options.plugins.legend.display = false; }
    }
    new window.Chart(canvas, {
      type: figure.type === 'hbar' ? 'bar' : figure.type,
      data: {labels: figure.labels, datasets: datasets},
      options: options
    });
  }

  JSON.parse(source.textContent).forEach(draw);
})();
