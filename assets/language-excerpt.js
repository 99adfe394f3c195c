// The flagged-language grid (Assessment and help): the excerpt's phrases marked, and dates
// shown as the design guide writes them. The excerpt arrives as [text, isPhrase] parts and is
// built as React text nodes, never as HTML, so a risk assessment holding markup is only shown.
(function () {
  var cells = (window.dashAgGridComponentFunctions = window.dashAgGridComponentFunctions || {});
  cells.MarkedExcerpt = function (props) {
    var parts = (props.data && props.data.excerpt_parts) || [];
    return React.createElement(
      "span",
      { className: "language-excerpt" },
      parts.map(function (part, index) {
        return part[1]
          ? React.createElement("mark", { key: index }, part[0])
          : React.createElement(React.Fragment, { key: index }, part[0]);
      })
    );
  };
  var functions = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  // "2022-03-31T14:05:00" -> "31 Mar 2022" (the value stays ISO, so the column sorts by time).
  functions.dayMonthYear = function (value) {
    if (!value) return "";
    var match = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
    if (!match) return String(value);
    return Number(match[3]) + " " + MONTHS[Number(match[2]) - 1] + " " + match[1];
  };
})();
