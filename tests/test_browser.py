"""Browser tests: the real app in headless Chromium — pages render, filters and the URL stay in step."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

pytestmark = pytest.mark.browser

# Graphs each page draws: the overview's audit chart; an area's trends (one per
# KPI), its breakdowns and its distributions (the hidden peer section adds two
# more when the data holds a single force).
PAGES = {
    "/": 1,
    "/initial-contact": 11 + 4 + 1,
    "/assessment-and-help": 17 + 5 + 2,
    "/investigation": 11 + 4 + 2,
    "/decision-making": 5 + 2,
    "/managing-risk": 12 + 4 + 2,
    "/detention": 12 + 4 + 1,
    "/data-quality": 3,
}


# Every chart that can be seen has drawn its latest figure: the lazily drawn charts
# (ui/lazy_graph.py) hold none waiting, and every visible graph holds a server figure (they
# all carry the app's template; an undrawn graph has none).
ALL_DRAWN = """
const shown = el => el.getClientRects().length > 0;
const waiting = (window.lazyChartsWaiting ? window.lazyChartsWaiting() : []).filter(key => {
  const box = document.querySelector('[data-chart="' + CSS.escape(key) + '"]');
  return box && shown(box);
});
const graphs = [...document.querySelectorAll('.js-plotly-plot')].filter(shown);
return waiting.length === 0 && graphs.length >= arguments[0]
  && graphs.every(g => g.layout && g.layout.template);
"""
# The first chart still waiting to be drawn (or undrawn), for the test to scroll to.
NEXT_UNDRAWN = """
const shown = el => el.getClientRects().length > 0;
for (const key of (window.lazyChartsWaiting ? window.lazyChartsWaiting() : [])) {
  const box = document.querySelector('[data-chart="' + CSS.escape(key) + '"]');
  if (box && shown(box)) return box;
}
return [...document.querySelectorAll('.js-plotly-plot')].filter(shown)
  .find(g => !(g.layout && g.layout.template)) || null;
"""


def draw_all_charts(browser, expected_graphs: int = 0, timeout: float = 60) -> None:
    """Scroll to each chart that has not drawn its latest figure until all have, then back up.

    Charts below the fold draw when they come into view, as they do for a reader."""
    deadline = time.monotonic() + timeout
    while not browser.execute_script(ALL_DRAWN, expected_graphs):
        if time.monotonic() > deadline:
            raise TimeoutException(f"charts not drawn within {timeout:.0f} s")
        target = browser.execute_script(NEXT_UNDRAWN)
        if target is not None:
            browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", target)
        time.sleep(0.2)
    browser.execute_script("window.scrollTo(0, 0)")


def _wait_rendered(browser, expected_graphs: int, timeout: float = 60) -> None:
    """Wait until the filter bar has resolved and every graph has drawn its latest figure."""
    wait = WebDriverWait(browser, timeout)
    wait.until(lambda d: d.find_element(By.ID, "filter-summary").text.startswith("Showing"))
    wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-dash-is-loading='true']"))
    draw_all_charts(browser, expected_graphs, timeout)
    wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-dash-is-loading='true']"))


def _severe_console_errors(browser) -> list[str]:
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def _query(browser) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(browser.current_url).query).items()}


@pytest.mark.parametrize("path", list(PAGES))
def test_page_renders_its_charts_without_console_errors(browser, app_url, path):
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(app_url + path + "?from=2021-04&to=2022-03&force=Dorset")
    _wait_rendered(browser, PAGES[path])
    assert "Apr 2021 – Mar 2022" in browser.find_element(By.ID, "filter-summary").text
    if path == "/":
        rows = browser.find_elements(By.CSS_SELECTOR, ".kpi-matrix .ag-center-cols-container .ag-row")
        assert len(rows) > 20, "the overview matrix lists every KPI with a target"
        assert len(browser.find_elements(By.CSS_SELECTOR, ".recommendations tbody tr")) == 8
        assert (
            "no data" not in browser.find_element(By.CSS_SELECTOR, ".kpi-matrix").text.split("THRIVE")[1][:40]
        )
    elif path == "/data-quality":
        assert "Recording gaps" in browser.find_element(By.ID, "main").text
    else:
        assert browser.find_elements(By.CSS_SELECTOR, ".kpi-card"), "headline cards are shown"
        assert browser.find_elements(By.CSS_SELECTOR, ".spc-badges .spc-badge"), "SPC icons beside trends"
        legend = " ".join(
            t.text for t in browser.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .legendtext")
        )
        assert "Process limits" in legend, "every trend draws its process limits"
    assert _severe_console_errors(browser) == []


def test_changing_a_filter_updates_the_charts_and_the_url(browser, app_url):
    browser.get(app_url + "/initial-contact?from=2021-04&to=2022-03&force=Dorset")
    _wait_rendered(browser, PAGES["/initial-contact"])
    first_title = browser.find_element(By.CSS_SELECTOR, ".js-plotly-plot .gtitle").text
    Select(browser.find_element(By.ID, "filter-lpa")).select_by_value("East")
    WebDriverWait(browser, 20).until(lambda d: _query(d).get("lpa") == "East")
    WebDriverWait(browser, 20).until(
        lambda d: "East LPA" in d.find_element(By.CSS_SELECTOR, ".js-plotly-plot .gtitle").text
    )
    assert "East" not in first_title
    assert _query(browser)["from"] == "2021-04"
    assert _severe_console_errors(browser) == []


def test_a_url_with_filters_restores_them(browser, app_url):
    browser.get(app_url + "/detention?from=2022-01&to=2022-03&force=Dorset&lpa=West")
    _wait_rendered(browser, PAGES["/detention"])
    assert browser.find_element(By.ID, "filter-from").get_attribute("value") == "2022-01"
    assert browser.find_element(By.ID, "filter-to").get_attribute("value") == "2022-03"
    assert Select(browser.find_element(By.ID, "filter-lpa")).first_selected_option.text == "West"
    assert "Jan 2022 – Mar 2022" in browser.find_element(By.ID, "filter-summary").text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2022-13&to=2022-03", "2022-13"),
        ("lpa=Eastt", "Eastt"),
        ("force=Narnia", "Narnia"),
        ("from=2022-06&to=2022-01", "before"),
    ],
)
def test_a_bad_url_value_shows_a_message_not_an_error(browser, app_url, query, message):
    browser.get(app_url + "/?" + query)
    alert = WebDriverWait(browser, 20).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, "#filter-message .alert"))
    )
    assert message in alert.text
    _wait_rendered(browser, PAGES["/"])
    assert _severe_console_errors(browser) == []


def test_back_button_returns_to_the_previous_filters(browser, app_url):
    browser.get(app_url + "/?from=2021-04&to=2022-03&force=Dorset")
    _wait_rendered(browser, 1)
    Select(browser.find_element(By.ID, "filter-lpa")).select_by_value("West")
    WebDriverWait(browser, 20).until(lambda d: _query(d).get("lpa") == "West")
    time.sleep(0.5)
    browser.back()
    WebDriverWait(browser, 20).until(lambda d: "lpa" not in _query(d))
    WebDriverWait(browser, 20).until(
        lambda d: Select(d.find_element(By.ID, "filter-lpa")).first_selected_option.text == "All LPAs"
    )


def test_repeat_missing_cohort_table_lists_the_reviews_children(browser, app_url):
    browser.get(app_url + "/assessment-and-help?from=2021-04&to=2022-03&force=Dorset")
    _wait_rendered(browser, PAGES["/assessment-and-help"])
    column = ".repeat-cohort .ag-center-cols-container [col-id='episodes_in_90_days']"
    WebDriverWait(browser, 20).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, column)) >= 3)
    # The grid places rows by their row-index, not in DOM order.
    cells = {
        int(cell.find_element(By.XPATH, "..").get_attribute("row-index")): cell.text
        for cell in browser.find_elements(By.CSS_SELECTOR, column)
    }
    assert [cells[i] for i in range(3)] == ["34", "28", "16"]
    assert _severe_console_errors(browser) == []


def _click(browser, element) -> None:
    # Charts sit below the fold; scroll first, then click as a user would.
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    time.sleep(0.5)
    # Plotly reads a click from its hover state: hover first, then click.
    ActionChains(browser).move_to_element(element).pause(0.5).click().perform()


def _banner_text(browser) -> str:
    shown = [a.text for a in browser.find_elements(By.CSS_SELECTOR, ".alert-info") if a.is_displayed()]
    return shown[0] if shown else ""


# The page re-renders cards and charts as callbacks land: an element found may be replaced
# before it is read, which is a retry, not a failure.
STALE = (StaleElementReferenceException,)


def _chart_titles(browser) -> list[str]:
    """Every chart's title, each chart drawn with its latest figure first (they draw in view)."""
    draw_all_charts(browser, timeout=20)
    return [t.text for t in browser.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .gtitle")]


def _click_until(browser, locate, done, attempts: int = 3) -> None:
    """Click what ``locate`` finds until ``done`` holds: a redraw can swallow a click on a chart."""
    for _ in range(attempts):
        time.sleep(1)  # let Plotly finish any redraw
        try:
            _click(browser, locate(browser))
            WebDriverWait(browser, 8).until(done)
            return
        except (TimeoutException, StaleElementReferenceException):
            continue
    raise AssertionError("the click on the chart never narrowed the page")


def test_a_drill_down_click_narrows_the_page(browser, app_url):
    browser.get(app_url + "/detention?from=2021-04&to=2022-03&force=Dorset")
    _wait_rendered(browser, PAGES["/detention"])
    before = browser.find_element(By.CSS_SELECTOR, ".kpi-card").text
    # The first breakdown: AA delay by custody suite; click its first bar.
    _click_until(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .bars .point path")[0],
        lambda d: "custody suite" in _banner_text(d),
    )
    WebDriverWait(browser, 40, ignored_exceptions=STALE).until(
        lambda d: "custody suite" in _chart_titles(d)[4] or any("only" in title for title in _chart_titles(d))
    )
    WebDriverWait(browser, 20, ignored_exceptions=STALE).until(
        lambda d: d.find_element(By.CSS_SELECTOR, ".kpi-card").text != before
    )
    # Then a month on the first trend: the banner names it too.
    WebDriverWait(browser, 20, ignored_exceptions=STALE).until(
        lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-dash-is-loading='true']")
    )
    _click_until(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .scatterlayer .point")[3],
        lambda d: "2021" in _banner_text(d),
    )
    # The records behind a chart follow the narrowed view.
    records = next(b for b in browser.find_elements(By.TAG_NAME, "button") if b.text == "Records")
    browser.execute_script("arguments[0].click()", records)
    caption = WebDriverWait(browser, 20, ignored_exceptions=STALE).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, ".modal-body p"))
    )
    assert "custody suite" in caption.text and "2021" in caption.text
    WebDriverWait(browser, 20, ignored_exceptions=STALE).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".modal .ag-row")
    )
    browser.execute_script("arguments[0].click()", browser.find_element(By.CSS_SELECTOR, ".modal .btn-close"))
    # "Show all" clears the narrowing.
    time.sleep(0.5)  # the modal fades out
    browser.execute_script("document.querySelector(\"[id*='area-focus-clear']\").click()")
    WebDriverWait(browser, 20, ignored_exceptions=STALE).until(
        lambda d: not any(a.is_displayed() for a in d.find_elements(By.CSS_SELECTOR, ".alert-info"))
    )
    assert _severe_console_errors(browser) == []


def _top_of(browser, element_id: str):
    """The element's distance from the top of the viewport (None until it exists)."""
    return browser.execute_script(
        "const e = document.getElementById(arguments[0]); return e ? e.getBoundingClientRect().top : null",
        element_id,
    )


def test_an_exception_link_opens_the_page_at_its_chart(browser, app_url):
    browser.get(app_url + "/?from=2021-04&to=2022-03&force=Dorset")
    _wait_rendered(browser, PAGES["/"])
    href = WebDriverWait(browser, 20).until(
        lambda d: d.execute_script("const a = document.querySelector('.exceptions a'); return a && a.href")
    )
    assert "#chart-trend-" in href and "force=Dorset" in href
    browser.get(href)
    chart_id = href.split("#", 1)[1]
    WebDriverWait(browser, 20).until(lambda d: (top := _top_of(d, chart_id)) is not None and abs(top) <= 3)
    # Not _wait_rendered: it scrolls to every chart. The linked one draws where it stands.
    WebDriverWait(browser, 60).until(
        lambda d: d.execute_script(
            "const g = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');"
            "return !!(g && g.layout && g.layout.template)",
            chart_id,
        )
    )
    time.sleep(2)  # the cards above it have filled in: the chart is still in view
    assert abs(_top_of(browser, chart_id)) <= 3


def test_the_overview_first_screen_answers_the_chair_at_1280x720(browser, app_url):
    """The recommendations (with their direction) and this month's concerns are on the first
    screen, before any scrolling, at the smallest meeting-room screen."""
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1280, "height": 720, "deviceScaleFactor": 1, "mobile": False},
    )
    try:
        browser.get(app_url + "/?from=2021-04&to=2022-03&force=Dorset")
        _wait_rendered(browser, 0)
        WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".briefing"))
        in_view = """
            const box = arguments[0].getBoundingClientRect();
            return box.top >= 0 && box.bottom <= window.innerHeight && box.left >= 0
              && box.right <= window.innerWidth;
        """
        rows = browser.find_elements(By.CSS_SELECTOR, ".recommendations tbody tr")
        assert len(rows) == 8
        for row in rows:
            assert browser.execute_script(in_view, row), f"off the first screen: {row.text}"
            assert any(word in row.text for word in ("Better", "Worse", "No change"))
        concerns = browser.find_elements(By.CSS_SELECTOR, ".briefing .concerns > li")
        assert concerns, "the synthetic data has concerns in Mar 2022"
        assert browser.execute_script(in_view, concerns[0])
        assert concerns[0].find_elements(By.CSS_SELECTOR, ".concern-badge")
        assert "Moved most by" in concerns[0].text
        headline = browser.find_element(By.ID, "overview-headline")
        assert browser.execute_script(in_view, headline) and headline.text.startswith("Mar 2022:")
        # No horizontal scrolling: the navbar and the tracker fit the width.
        assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
        assert _severe_console_errors(browser) == []
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_the_navbar_folds_behind_a_toggler_below_1200px(browser, app_url):
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1024, "height": 768, "deviceScaleFactor": 1, "mobile": False},
    )
    try:
        browser.get(app_url + "/detention?from=2021-04&to=2022-03&force=Dorset")
        WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.ID, "navbar-toggler"))
        navbar = browser.find_element(By.CSS_SELECTOR, "header .navbar")
        assert navbar.size["height"] < 80, "folded, the navbar is one row"
        browser.find_element(By.ID, "navbar-toggler").click()
        WebDriverWait(browser, 10).until(lambda d: d.find_element(By.LINK_TEXT, "Overview").is_displayed())
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_records_for_arms_completion_are_its_denominator_marked_with_its_numerator(
    browser, app_url, synthetic_dir
):
    from queries import DataStore
    from queries.kpis import Filters, Period, kpi_table

    figures = kpi_table(
        DataStore(synthetic_dir), Period("2021-04", "2022-03"), Filters(force="Dorset"),
        kpi_ids=["arms_completion_pct"],
    )  # fmt: skip
    denominator = int(figures["denominator"].iloc[0])
    browser.get(app_url + "/managing-risk?from=2021-04&to=2022-03&force=Dorset")
    _wait_rendered(browser, 0)
    button = (
        WebDriverWait(browser, 30)
        .until(lambda d: d.find_element(By.CSS_SELECTOR, "#chart-trend-arms_completion_pct .chart-toolbar"))
        .find_element(By.XPATH, ".//button[normalize-space()='Records']")
    )
    browser.execute_script("arguments[0].click()", button)
    caption = WebDriverWait(browser, 30, ignored_exceptions=STALE).until(
        lambda d: next(
            (p for p in d.find_elements(By.CSS_SELECTOR, ".modal-body p") if "record" in p.text), None
        )
    )
    assert caption.text.startswith(f"{denominator:,} records: ARMS completion — the rows the KPI counts")
    headers = WebDriverWait(browser, 20).until(
        lambda d: [h.text for h in d.find_elements(By.CSS_SELECTOR, ".modal .ag-header-cell-text")] or None
    )
    assert "Counts in numerator" in headers
    # "Every row in scope" widens the same KPI's records to its whole table.
    browser.execute_script(
        "arguments[0].click()", browser.find_element(By.CSS_SELECTOR, ".modal input[type='checkbox']")
    )
    WebDriverWait(browser, 30, ignored_exceptions=STALE).until(
        lambda d: any(
            "every rso_register row" in p.text for p in d.find_elements(By.CSS_SELECTOR, ".modal-body p")
        )
    )
    browser.execute_script("arguments[0].click()", browser.find_element(By.CSS_SELECTOR, ".modal .btn-close"))
    assert _severe_console_errors(browser) == []


def test_printing_a_page_gives_a4_landscape_with_the_filters_and_no_controls(browser, app_url):
    import base64
    import io

    from pypdf import PdfReader

    browser.get(app_url + "/managing-risk?from=2021-04&to=2022-03&force=Dorset")
    _wait_rendered(browser, PAGES["/managing-risk"])
    pdf = browser.execute_cdp_cmd("Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True})
    reader = PdfReader(io.BytesIO(base64.b64decode(pdf["data"])))
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (842, 595), "A4 landscape in points"
    first = reader.pages[0].extract_text()
    assert "Showing Apr 2021 – Mar 2022 · Dorset" in first, "the filters in words at the top"
    text = " ".join(page.extract_text() for page in reader.pages)
    for control in ("Sign out", "Reset", "Purpose for records", "Download"):
        assert control not in text, f"{control!r} is a control, not content"
    assert "ARMS completion" in text
    assert len(reader.pages) < 13, "fewer sheets than the browser's default print gave"


def test_a_copied_link_keeps_the_drill_down(browser, app_url):
    browser.get(app_url + "/detention?from=2021-04&to=2022-03&force=Dorset")
    _wait_rendered(browser, PAGES["/detention"])
    _click_until(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .bars .point path")[0],
        lambda d: "custody suite" in _banner_text(d),
    )
    WebDriverWait(browser, 20).until(lambda d: _query(d).get("group", "").startswith("custody_suite:"))
    link = browser.current_url
    assert _query(browser)["force"] == "Dorset"
    # The link opened afresh (as a colleague would) shows the page narrowed the same way.
    browser.get(app_url + "/")
    _wait_rendered(browser, 0)
    browser.get(link)
    WebDriverWait(browser, 30, ignored_exceptions=STALE).until(lambda d: "custody suite" in _banner_text(d))
    suite = _query(browser)["group"].split(":", 1)[1]
    assert suite in _banner_text(browser)
    # A new filter selection clears it, from the page and from the address.
    time.sleep(1)  # let the page settle after the link's drill-down
    Select(browser.find_element(By.ID, "filter-lpa")).select_by_value("East")
    WebDriverWait(browser, 30).until(lambda d: "group" not in _query(d) and _query(d).get("lpa") == "East")
    WebDriverWait(browser, 20, ignored_exceptions=STALE).until(lambda d: _banner_text(d) == "")
    # A link's drill-down that does not hold is dropped, never an error.
    browser.get(app_url + "/detention?from=2021-04&to=2022-03&force=Dorset&month=2099-13&group=nope:x")
    _wait_rendered(browser, PAGES["/detention"])
    assert _banner_text(browser) == ""
    assert _severe_console_errors(browser) == []


def test_a_charts_table_opens_follows_the_filters_and_closes(browser, app_url):
    """The Table button of a page chart (detention's AA delay by suite): its numbers while open, the
    new numbers after a filter change, nothing once closed."""
    graph = "detention-aa-delay-by-suite"
    table = f"[id*='\"page-graph-table\"'][id*='{graph}'] table"
    button = f"[id*='page-graph-table-button'][id*='{graph}']"

    def toggle() -> None:
        # The button's own click, not a pointer at its place: charts drawing as they scroll into view
        # move the page under a pointer click (issue 11's lazy charts), which then lands elsewhere.
        browser.execute_script("arguments[0].click()", browser.find_element(By.CSS_SELECTOR, button))

    def numbers(d) -> str | None:
        # textContent, not .text: the table may be read while its collapse is still opening.
        found = d.find_elements(By.CSS_SELECTOR, table)
        return found[0].get_attribute("textContent") if found else None

    browser.get(app_url + "/detention?from=2021-04&to=2022-03&force=Dorset")
    _wait_rendered(browser, PAGES["/detention"])
    toggle()
    whole_year = WebDriverWait(browser, 20, ignored_exceptions=STALE).until(numbers)
    browser.get(app_url + "/detention?from=2022-01&to=2022-03&force=Dorset")
    _wait_rendered(browser, PAGES["/detention"])
    toggle()  # a new page load starts with the table folded
    WebDriverWait(browser, 20, ignored_exceptions=STALE).until(lambda d: numbers(d) not in (None, whole_year))
    quarter = numbers(browser)
    Select(browser.find_element(By.ID, "filter-lpa")).select_by_value("East")
    WebDriverWait(browser, 20).until(lambda d: _query(d).get("lpa") == "East")
    WebDriverWait(browser, 20, ignored_exceptions=STALE).until(
        lambda d: numbers(d) not in (None, quarter)
    )  # it follows the filters
    toggle()
    WebDriverWait(browser, 20, ignored_exceptions=STALE).until(lambda d: numbers(d) is None)
    assert _severe_console_errors(browser) == []
