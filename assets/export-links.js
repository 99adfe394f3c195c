// Export links (ui/downloads.py) carry no filters: the page keeps them in its URL. When a link
// with class "export-link" is used, the page's current query string is added to the link's
// own (a link's own keys, such as disclosure=1, are kept). The server resolves the filters
// again, so this only saves the analyst typing them.
(function () {
  var ORIGINAL = "data-export-href";

  function withPageFilters(link) {
    var own = link.getAttribute(ORIGINAL);
    if (own === null) {
      own = link.getAttribute("href") || "";
      link.setAttribute(ORIGINAL, own);
    }
    var target = new URL(own, window.location.href);
    new URLSearchParams(window.location.search).forEach(function (value, key) {
      if (!target.searchParams.has(key)) target.searchParams.set(key, value);
    });
    link.setAttribute("href", target.pathname + target.search);
  }

  function onUse(event) {
    var link = event.target && event.target.closest ? event.target.closest("a.export-link") : null;
    if (link) withPageFilters(link);
  }

  // Capture: the href is set before the browser follows the link (click, Enter, middle click,
  // "Save link as" from the context menu).
  ["click", "auxclick", "contextmenu"].forEach(function (type) {
    document.addEventListener(type, onUse, true);
  });
  window.exportLinkHref = withPageFilters; // for tests
})();
