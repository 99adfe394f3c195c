// A link such as /detention?...#chart-trend-aa_delay_median_min opens at that chart.
// Dash renders the page after the browser looked for the anchor, and cards above the
// chart fill in later and push it down; so keep the chart at the top until the page
// has settled (1.5 s without moving, 12 s at most), unless the reader scrolls first.
(function () {
  if (!window.location.hash) return;
  var id = decodeURIComponent(window.location.hash.slice(1));
  var stable = 0;
  var ticks = 0;
  var stopped = false;
  function stop() { stopped = true; }
  ["wheel", "keydown", "touchstart", "mousedown"].forEach(function (name) {
    window.addEventListener(name, stop, { once: true, passive: true });
  });
  var timer = setInterval(function () {
    ticks += 1;
    var target = document.getElementById(id);
    if (stopped || ticks > 48) { clearInterval(timer); return; }
    if (!target) return;
    if (Math.abs(target.getBoundingClientRect().top) > 2) {
      target.scrollIntoView({ block: "start" });
      stable = 0;
    } else if (++stable >= 6) {
      clearInterval(timer);
    }
  }, 250);
})();
