/* Charts of the dashboard, the big screen, the report and the public page, drawn by the
   vendored ECharts from the JSON each page carries (<script type="application/json">).
   A chart element names its data: <div data-chart="hotline-data">. The tables beside the
   charts stay in the page; once a chart is drawn its table folds away (still one click off).
   After an HTMX swap (filters, the big screen's refresh) the charts are drawn again; a chart
   kept across the swap (hx-preserve) is updated in place, without a flicker. */
(function () {
  "use strict";
  var PALETTE = ["#1d5fa8", "#1f7a3d", "#9a6700", "#7a4fa0", "#b3261e", "#2b8a9a"];

  function option(spec, dark, still) {
    var ink = dark ? "#e6edf3" : "#1f2328";
    var grid = dark ? "#33404d" : "#e3e6ea";
    var percent = spec.unit === "%";
    var series = spec.series.map(function (s, i) {
      return {
        name: s.name,
        type: spec.kind === "line" ? "line" : "bar",
        data: s.data,
        smooth: false,
        symbolSize: dark ? 10 : 6,
        lineStyle: { width: dark ? 4 : 2 },
        barMaxWidth: dark ? 48 : 28,
        connectNulls: true,
        label: spec.labels ? { show: true, position: "top", color: ink, fontSize: dark ? 18 : 11,
          formatter: percent ? "{c}%" : "{c}" } : { show: false },
        itemStyle: { color: (spec.colors || PALETTE)[i % PALETTE.length] }
      };
    });
    return {
      animation: !still,
      color: spec.colors || PALETTE,
      textStyle: { color: ink, fontSize: dark ? 18 : 12 },
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "–" : v + (percent ? "%" : ""); } },
      legend: spec.series.length > 1 ? { top: 0, textStyle: { color: ink, fontSize: dark ? 20 : 12 } } : { show: false },
      grid: { left: dark ? 70 : 44, right: 16, top: spec.series.length > 1 ? (dark ? 48 : 32) : 16, bottom: dark ? 40 : 28 },
      xAxis: { type: "category", data: spec.categories, axisLabel: { color: ink, fontSize: dark ? 18 : 11 },
               axisLine: { lineStyle: { color: grid } } },
      yAxis: { type: "value", min: percent ? spec.min || 0 : 0, max: percent ? 100 : null,
               axisLabel: { color: ink, fontSize: dark ? 18 : 11, formatter: percent ? "{value}%" : "{value}" },
               splitLine: { lineStyle: { color: grid } } },
      series: series
    };
  }

  function draw(root) {
    if (!window.echarts) { return; }
    var scope = root && root.querySelectorAll ? root : document;
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-chart"));
      if (!source) { return; }
      var spec;
      try { spec = JSON.parse(source.textContent); } catch (e) { return; }
      var dark = el.getAttribute("data-theme") === "dark";
      var still = el.hasAttribute("data-still");
      var chart = window.echarts.getInstanceByDom(el) ||
        window.echarts.init(el, null, { renderer: el.getAttribute("data-renderer") || "canvas" });
      chart.setOption(option(spec, dark, still), true);
      var card = el.closest("[data-chart-card]") || el.parentElement;
      var table = card && card.querySelector("details.dash-table");
      if (table && table.getAttribute("data-keep-open") !== "yes" && !table.hasAttribute("data-folded")) {
        table.open = false;
        table.setAttribute("data-folded", "");
      }
    });
    return scope;
  }

  function resize() {
    if (!window.echarts) { return; }
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var chart = window.echarts.getInstanceByDom(el);
      if (chart) { chart.resize(); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
  window.addEventListener("resize", resize);
  window.addEventListener("beforeprint", resize);
})();
