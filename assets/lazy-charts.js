// Charts drawn when they come into view (ui/lazy_graph.py): a page callback writes each
// figure into a store beside its graph, and this hands it to the graph at once when the graph
// is on or near the screen, or later when it scrolls there. Nothing else changes: the same
// figure reaches the same graph, and a figure that arrives while one waits replaces it.
(function () {
  var MARGIN = 600; // px beyond the viewport that count as "near": drawn before the reader gets there
  var waiting = {}; // chart key -> {id, figure} not drawn yet
  var observer = null;

  function canonical(id) {
    // Python's json.dumps(id, sort_keys=True, separators=(",", ":")).
    return "{" + Object.keys(id).sort().map(function (key) {
      return JSON.stringify(key) + ":" + JSON.stringify(id[key]);
    }).join(",") + "}";
  }

  function isNear(element) {
    if (!element || !element.getClientRects().length) return false; // hidden (display: none)
    var box = element.getBoundingClientRect();
    return box.bottom > -MARGIN && box.top < window.innerHeight + MARGIN;
  }

  function watcher() {
    if (observer) return observer;
    observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (!entry.isIntersecting) return;
        var key = entry.target.getAttribute("data-chart");
        observer.unobserve(entry.target);
        var pending = waiting[key];
        if (!pending) return;
        delete waiting[key];
        window.dash_clientside.set_props(pending.id, { figure: pending.figure });
      });
    }, { rootMargin: MARGIN + "px 0px" });
    return observer;
  }

  // Printing shows every chart: draw those still waiting before the page is laid out for paper.
  window.addEventListener("beforeprint", function () {
    Object.keys(waiting).forEach(function (key) {
      var pending = waiting[key];
      delete waiting[key];
      window.dash_clientside.set_props(pending.id, { figure: pending.figure });
    });
  });

  // For tests and the benchmark: the charts holding a figure they have not drawn yet.
  window.lazyChartsWaiting = function () { return Object.keys(waiting); };

  // One graph's new figure: drawn now if the graph is on or near the screen, else kept until it is.
  function drawOrWait(graphId, figure) {
    var key = canonical(graphId);
    var box = document.querySelector('[data-chart="' + CSS.escape(key) + '"]');
    if (!figure) return window.dash_clientside.no_update;
    if (!box || isNear(box)) {
      delete waiting[key];
      return figure;
    }
    waiting[key] = { id: graphId, figure: figure };
    watcher().observe(box);
    return window.dash_clientside.no_update;
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    charts: {
      // Every graph of a pattern at once (ui/lazy_graph.py): only those whose store changed.
      draw_when_seen: function (figures) {
        var context = window.dash_clientside.callback_context;
        var changed = {};
        (context.triggered || []).forEach(function (t) { changed[t.prop_id] = true; });
        return context.outputs_list.map(function (output, i) {
          var graphId = Object.assign({}, output.id);
          var storeId = Object.assign({}, graphId, { type: graphId.type + "-figure" });
          if (!changed[canonical(storeId) + ".data"]) return window.dash_clientside.no_update;
          return drawOrWait(graphId, figures[i]);
        });
      },
    },
  });
})();
