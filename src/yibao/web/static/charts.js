// Draws each Plotly figure embedded as <script type="application/json" data-chart="ID">
// into the element ID, with the plotly.js served by this console (no CDN, no inline script).
document.querySelectorAll('script[type="application/json"][data-chart]').forEach(function (el) {
  var figure = JSON.parse(el.textContent);
  var target = document.getElementById(el.dataset.chart);
  if (target && window.Plotly) {
    Plotly.newPlot(target, figure.data, figure.layout, {responsive: true, displaylogo: false});
  }
});
