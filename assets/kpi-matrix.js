// The overview's KPI matrix (one AG Grid): its cells drawn from the row's data as React
// elements, never as HTML, so a label holding markup is only shown. Links move within the app
// as dcc.Link does (history and Dash's router), so opening an area keeps the signed-in page.
(function () {
  var cells = (window.dashAgGridComponentFunctions = window.dashAgGridComponentFunctions || {});
  var h = function () { return React.createElement.apply(React, arguments); };

  function follow(event, href) {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    window.history.pushState({}, "", href);
    window.dispatchEvent(new CustomEvent("_dashprivate_pushstate"));
    window.scrollTo(0, 0);
  }

  cells.KpiLink = function (props) {
    var data = props.data || {};
    var parts = (data.kpi_parts || []).map(function (part, index) {
      if (!part.title) return h(React.Fragment, { key: index }, part.text);
      return h(React.Fragment, { key: index },
        h("abbr", { title: part.title }, part.text),
        part.long ? h("span", { className: "abbr-long" }, part.long) : null);
    });
    return h("a", { href: data.href, onClick: function (e) { follow(e, data.href); } }, parts);
  };

  cells.StatusBadge = function (props) {
    var data = props.data || {};
    var colour = data.status_colour || "secondary";
    return h("span", {
      className: "badge status-badge bg-" + colour + (colour === "warning" ? " text-dark" : "")
    }, data.status);
  };

  cells.Spark = function (props) {
    var data = props.data || {};
    return h("img", { src: data.spark, alt: data.spark_label, height: 28, width: 120 });
  };

  cells.SpcBadge = function (props) {
    var badge = props.value;
    if (!badge) return null;
    return h("span", { className: "spc-badge small", title: badge.tooltip, "aria-label": badge.aria },
      h("span", { className: "spc-icon spc-" + badge.modifier, "aria-hidden": "true" }, badge.letter),
      badge.label);
  };
})();
