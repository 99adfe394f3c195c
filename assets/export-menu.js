// A chart's "Download" menu (ui/downloads.py): the button carries its items as data, and the
// menu of plain links is built here when first opened, so a page of charts holds one Dash
// component per menu instead of eight. Text and links are set as text and attributes, never as
// HTML. Keyboard: Enter or Space opens, arrows move, Escape closes and returns to the button.
(function () {
  var OPEN = null; // {button, menu}

  function build(button) {
    var menu = document.createElement("ul");
    menu.className = "dropdown-menu dropdown-menu-end chart-download-menu";
    menu.setAttribute("role", "menu");
    JSON.parse(button.getAttribute("data-items") || "[]").forEach(function (item) {
      var li = document.createElement("li");
      if (item === null) {
        var rule = document.createElement("hr");
        rule.className = "dropdown-divider";
        li.appendChild(rule);
      } else {
        var link = document.createElement("a");
        link.className = "dropdown-item small export-link";
        link.setAttribute("role", "menuitem");
        link.setAttribute("href", item[1]);
        link.setAttribute("download", "");
        link.setAttribute("title", item[2]);
        link.textContent = item[0];
        li.appendChild(link);
      }
      menu.appendChild(li);
    });
    button.parentNode.appendChild(menu);
    return menu;
  }

  function items(menu) { return Array.prototype.slice.call(menu.querySelectorAll("a.dropdown-item")); }

  function close(returnFocus) {
    if (!OPEN) return;
    OPEN.menu.classList.remove("show");
    OPEN.button.setAttribute("aria-expanded", "false");
    if (returnFocus) OPEN.button.focus();
    OPEN = null;
  }

  function open(button, focusFirst) {
    close(false);
    var menu = button.parentNode.querySelector(".chart-download-menu") || build(button);
    menu.classList.add("show");
    // Under the button, its right edge on the button's (the toolbar sits at the card's right).
    menu.style.position = "absolute";
    menu.style.right = "0";
    menu.style.left = "auto";
    menu.style.top = "100%";
    button.setAttribute("aria-expanded", "true");
    OPEN = { button: button, menu: menu };
    if (focusFirst && items(menu)[0]) items(menu)[0].focus();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".chart-download-toggle");
    if (button) {
      event.preventDefault();
      if (OPEN && OPEN.button === button) close(false);
      else open(button, event.detail === 0); // detail 0: a keyboard "click"
      return;
    }
    // A download leaves the menu open (the analyst may want the numbers too); outside, it closes.
    if (OPEN && !OPEN.menu.contains(event.target)) close(false);
  });

  document.addEventListener("keydown", function (event) {
    if (!OPEN) return;
    var list = items(OPEN.menu);
    var at = list.indexOf(document.activeElement);
    if (event.key === "Escape") { event.preventDefault(); close(true); }
    else if (event.key === "ArrowDown") { event.preventDefault(); (list[at + 1] || list[0]).focus(); }
    else if (event.key === "ArrowUp") { event.preventDefault(); (list[at - 1] || list[list.length - 1]).focus(); }
    else if (event.key === "Tab" && at === -1 && document.activeElement !== OPEN.button) close(false);
  });
})();
