"""Accessibility in the real browser: an axe-core scan of every page, and keyboard-only use.

axe-core is the ``axe.min.js`` bundled in the ``axe-playwright-python`` wheel
(requirements-dev.txt); only that file is read and injected into the selenium
session — playwright itself is never imported and no browser is downloaded.

A failed scan lists, per violation: rule id, impact, the rule's help text and
link, and the first few offending elements (CSS selector and HTML), so it can
be fixed from the message alone.
"""

from __future__ import annotations

import importlib.util
import re
import time
from functools import cache
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait
from test_browser import PAGES, _query, _wait_rendered

pytestmark = pytest.mark.browser

QUERY = "?from=2021-04&to=2022-03&force=Dorset"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = ("serious", "critical")
TARGETS_SHOWN = 3
# Pages that may not exist yet: scanned when they do, skipped while they 404.
OPTIONAL_PAGES = ["/data-quality"]
# The filter bar's controls, in reading order (ui/filters.py).
FILTER_CONTROLS = [
    "filter-from",
    "filter-to",
    "filter-force",
    "filter-lpa",
    "filter-local-authority",
    "filter-reset",
]
MAX_TABS = 60


# ---------------------------------------------------------------- axe-core


@cache
def axe_source() -> str:
    """axe-core's ``axe.min.js`` from the installed axe-playwright-python (its package is not imported)."""
    spec = importlib.util.find_spec("axe_playwright_python")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("axe-playwright-python is not installed: pip install -r requirements-dev.txt")
    return (Path(next(iter(spec.submodule_search_locations))) / "axe.min.js").read_text(encoding="utf-8")


_RUN_AXE = """
const done = arguments[arguments.length - 1];
const [tags, shown] = [arguments[0], arguments[1]];
axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]})
  .then((results) => done({
    version: axe.version,
    violations: results.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      count: v.nodes.length,
      nodes: v.nodes.slice(0, shown).map((n) => ({
        target: n.target.map(String).join(" >> "),
        html: n.html,
        summary: n.failureSummary,
      })),
    })),
  }))
  .catch((error) => done({error: String(error && error.stack || error)}));
"""


def run_axe(browser, tags=AXE_TAGS) -> list[dict]:
    """Inject axe-core into the current page and return its violations (trimmed for messages)."""
    if not browser.execute_script("return typeof window.axe === 'object'"):
        browser.execute_script(axe_source())
    browser.set_script_timeout(90)
    result = browser.execute_async_script(_RUN_AXE, list(tags), TARGETS_SHOWN)
    if "error" in result:
        pytest.fail(f"axe.run failed: {result['error']}")
    return result["violations"]


def format_violations(violations: list[dict], path: str) -> str:
    """One block per violation: rule, impact, help, link and the first offending elements."""
    lines = [f"{len(violations)} serious/critical axe violation(s) on {path}:"]
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} — {v['count']} element(s); {v['helpUrl']}")
        for node in v["nodes"]:
            html = " ".join(node["html"].split())
            lines.append(f"    at {node['target']}")
            lines.append(f"       {html[:200]}{'…' if len(html) > 200 else ''}")
            fix = " ".join((node.get("summary") or "").split())
            if fix:
                lines.append(f"       {fix[:300]}")
        if v["count"] > len(v["nodes"]):
            lines.append(f"    … and {v['count'] - len(v['nodes'])} more")
    return "\n".join(lines)


def _wait_graphs_drawn(browser, timeout: float = 30) -> None:
    """Every dcc.Graph on the page has drawn (for pages whose graph count is not in PAGES)."""
    WebDriverWait(browser, timeout).until(
        lambda d: all(
            g.find_elements(By.CSS_SELECTOR, ".main-svg")
            for g in d.find_elements(By.CSS_SELECTOR, ".dash-graph")
        )
    )


def _is_not_found(browser) -> bool:
    headings = browser.find_elements(By.CSS_SELECTOR, "#main h1")
    return any("404" in h.text or "not found" in h.text.lower() for h in headings)


@pytest.mark.parametrize("path", [*PAGES, *OPTIONAL_PAGES])
def test_page_has_no_serious_axe_violations(browser, app_url, path):
    browser.get(app_url + path + QUERY)
    if path in PAGES:
        _wait_rendered(browser, PAGES[path])
    else:
        _wait_rendered(browser, 0)
        if _is_not_found(browser):
            pytest.skip(f"{path} does not exist yet (404)")
    _wait_graphs_drawn(browser)
    severe = [v for v in run_axe(browser) if v["impact"] in FAILING_IMPACTS]
    assert not severe, format_violations(severe, path)


# ---------------------------------------------------------------- keyboard

_FOCUS_INFO = """
const el = document.activeElement;
if (!el || el === document.body || el === document.documentElement) return null;
// Finish focus transitions (Bootstrap fades box-shadow in) so the final style is read.
el.getAnimations().forEach((a) => a.finish());
const style = getComputedStyle(el);
const box = el.getBoundingClientRect();
return {
  tag: el.tagName.toLowerCase(),
  id: el.id || "",
  href: el.getAttribute("href") || "",
  text: (el.innerText || el.value || el.getAttribute("aria-label") || "").trim().slice(0, 60),
  isNavLink: el.classList.contains("nav-link"),
  outlineStyle: style.outlineStyle,
  outlineWidth: style.outlineWidth,
  outlineColor: style.outlineColor,
  boxShadow: style.boxShadow,
  width: box.width,
  height: box.height,
  inViewport: box.bottom > 0 && box.right > 0 && box.top < innerHeight && box.left < innerWidth,
};
"""


def focus_info(browser) -> dict | None:
    """What has keyboard focus: tag, id, href, text, focus style and box (None for the body)."""
    return browser.execute_script(_FOCUS_INFO)


def describe(info: dict | None) -> str:
    if info is None:
        return "<body>"
    name = f"#{info['id']}" if info["id"] else (info["href"] or repr(info["text"]))
    return f"<{info['tag']}> {name}"


def press(browser, *keys) -> dict | None:
    """Send keys to the focused element, as a keyboard user would; return the new focus."""
    browser.switch_to.active_element.send_keys(*keys)
    return focus_info(browser)


def tab_until(browser, matches, *, backwards: bool = False, limit: int = MAX_TABS) -> list[dict]:
    """Press Tab (Shift+Tab) until ``matches(focus_info)``; return every focus passed through.

    Consecutive repeats are dropped: an ``<input type="month">`` keeps focus
    while Tab moves between its month and year fields.
    """
    key = (Keys.SHIFT, Keys.TAB) if backwards else (Keys.TAB,)
    seen: list[dict] = []
    for _ in range(limit):
        info = press(browser, *key)
        if info is not None and (not seen or not _same(seen[-1], info)):
            seen.append(info)
        if info is not None and matches(info):
            return seen
    pytest.fail(
        f"{limit} {'Shift+' if backwards else ''}Tab presses never reached the element; passed: "
        + ", ".join(describe(i) for i in seen)
    )


def _same(a: dict, b: dict) -> bool:
    return (a["tag"], a["id"], a["href"], a["text"]) == (b["tag"], b["id"], b["href"], b["text"])


def by_id(element_id: str):
    return lambda info: info["id"] == element_id


def _transparent(colour: str) -> bool:
    return colour == "transparent" or bool(re.fullmatch(r"rgba\(.*,\s*0(\.0*)?\)", colour.strip()))


def has_visible_focus_indicator(info: dict) -> bool:
    """A focus ring: a non-transparent outline of some width, or a non-transparent box-shadow with extent."""
    outline = (
        info["outlineStyle"] != "none"
        and info["outlineWidth"] not in ("0px", "")
        and not _transparent(info["outlineColor"])
    )
    shadows = [] if info["boxShadow"] in ("none", "") else re.split(r",(?![^(]*\))", info["boxShadow"])
    shadow = any(
        not any(_transparent(c) for c in re.findall(r"rgba?\([^)]*\)", one))
        and any(float(n) != 0 for n in re.findall(r"(-?[\d.]+)px", one))
        for one in shadows
    )
    return outline or shadow


def open_chart_table_with_keyboard(browser, toggle_selector: str, table_selector: str, timeout: float = 20):
    """Tab to a chart's "table view" toggle, press Enter, and return the table that opens.

    For the coming table toggle: pass its CSS selector (e.g. ``"#trend-x-table-toggle"``)
    and the selector of the table it shows; fails if the toggle is not in the Tab order.
    """
    toggle = browser.find_element(By.CSS_SELECTOR, toggle_selector)
    toggle_id = toggle.get_attribute("id")
    assert toggle_id, f"{toggle_selector} needs an id to be found by keyboard focus"
    passed = tab_until(browser, by_id(toggle_id), limit=200)
    assert has_visible_focus_indicator(passed[-1]), f"{toggle_selector} has no visible focus indicator"
    press(browser, Keys.ENTER)
    return WebDriverWait(browser, timeout).until(
        lambda d: next(
            (t for t in d.find_elements(By.CSS_SELECTOR, table_selector) if t.is_displayed()), None
        )
    )


def change_select_with_keyboard(browser, element_id: str) -> str:
    """Focus a <select> by keyboard, pick the next option with the Down arrow, Tab away; return its value."""
    if (focus_info(browser) or {}).get("id") != element_id:
        tab_until(browser, by_id(element_id), backwards=True)
    before = Select(browser.find_element(By.ID, element_id)).first_selected_option.get_attribute("value")
    press(browser, Keys.ARROW_DOWN)
    after = Select(browser.find_element(By.ID, element_id)).first_selected_option.get_attribute("value")
    assert after != before, f"the Down arrow did not change #{element_id} (still {before!r})"
    press(browser, Keys.TAB)
    return after


def test_keyboard_only_skip_link_nav_filters_and_focus_rings(browser, app_url):
    browser.get(app_url + "/" + QUERY)
    _wait_rendered(browser, PAGES["/"])
    assert focus_info(browser) is None, "nothing should have focus before the first Tab"

    first = press(browser, Keys.TAB)
    assert first is not None and first["tag"] == "a" and first["text"] == "Skip to content", (
        f"the first Tab should reach the skip link, got {describe(first)}"
    )
    assert first["width"] > 1 and first["height"] > 1 and first["inViewport"], (
        f"the skip link should be visible when focused: {first}"
    )

    sequence = [first, *tab_until(browser, by_id(FILTER_CONTROLS[-1]))]
    order = [describe(i) for i in sequence]

    no_ring = [
        f"{describe(i)} (outline {i['outlineStyle']} {i['outlineWidth']} {i['outlineColor']}; "
        f"box-shadow {i['boxShadow']})"
        for i in sequence
        if not has_visible_focus_indicator(i)
    ]
    assert not no_ring, f"no visible focus indicator (outline/box-shadow) on: {no_ring}"

    nav_hrefs = [
        a.get_attribute("href").removeprefix(app_url)
        for a in browser.find_elements(By.CSS_SELECTOR, "header a.nav-link")
    ]
    assert len(nav_hrefs) >= len(PAGES), f"the navbar should link every page, has {nav_hrefs}"
    positions = {}
    for href in nav_hrefs:
        hits = [n for n, i in enumerate(sequence) if i["isNavLink"] and i["href"] == href]
        assert hits, f"the nav link {href} was never focused; Tab order: {order}"
        positions[href] = hits[0]
    for control in FILTER_CONTROLS:
        hits = [n for n, i in enumerate(sequence) if i["id"] == control]
        assert hits, f"#{control} was never focused; Tab order: {order}"
        positions[control] = hits[0]
    expected = [*nav_hrefs, *FILTER_CONTROLS]
    assert sorted(expected, key=positions.get) == expected, (
        f"expected skip link, nav links, then {FILTER_CONTROLS} in that order; Tab order: {order}"
    )

    chosen = change_select_with_keyboard(browser, "filter-lpa")
    WebDriverWait(browser, 20).until(lambda d: _query(d).get("lpa") == chosen)
    assert _query(browser)["from"] == "2021-04", "changing the LPA keeps the period in the URL"


def test_keyboard_opens_a_charts_table_view(browser, app_url):
    browser.get(app_url + "/detention" + QUERY)
    _wait_rendered(browser, PAGES["/detention"])
    table = open_chart_table_with_keyboard(browser, "[id*='chart-table-button']", ".numbers-table")
    assert "Custody suite" in table.text, "the first chart's table names its groups"


def test_the_records_view_and_a_definition_panel_pass_axe(browser, app_url):
    """What only opens on demand: the records grid in its dialog, and a chart's About panel."""
    browser.get(app_url + "/detention" + QUERY)
    _wait_rendered(browser, PAGES["/detention"])
    about = browser.find_element(By.CSS_SELECTOR, "[id*='chart-info']")
    browser.execute_script("arguments[0].click()", about)
    WebDriverWait(browser, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".popover.show .definition"))
    browser.execute_script("document.getAnimations().forEach((a) => a.finish())")
    time.sleep(0.3)  # the popover fades in: judge its final colours
    severe = [v for v in run_axe(browser) if v["impact"] in FAILING_IMPACTS]
    assert not severe, format_violations(severe, "/detention (About panel open)")
    browser.execute_script("arguments[0].click()", about)
    records = browser.find_element(By.CSS_SELECTOR, "[id*='chart-records']")
    browser.execute_script("arguments[0].click()", records)
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".modal .ag-row"))
    severe = [v for v in run_axe(browser) if v["impact"] in FAILING_IMPACTS]
    assert not severe, format_violations(severe, "/detention (records dialog open)")
