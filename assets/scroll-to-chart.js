// A link such as /detention?...#chart-trend-aa_delay_median_min opens at that chart.
// Dash renders a page after the browser has looked for the anchor, so look again
// until the chart's card exists (at most 10 s), then scroll to it once.
(function () {
  function scrollToHash() {
    if (!window.location.hash) return true;
    var target = document.getElementById(decodeURIComponent(window.location.hash.slice(1)));
    if (!target) return false;
    target.scrollIntoView({ block: "start" });
    return true;
  }
  var tries = 0;
  var timer = setInterval(function () {
    tries += 1;
    if (scrollToHash() || tries > 50) clearInterval(timer);
  }, 200);
})();
