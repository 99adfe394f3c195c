"""Downloads in a real browser: a chart's picture and numbers from its "Download" menu, and the
monthly pack from the overview's "Build the pack", found on disk where Chromium saved them.

Debian's headless Chromium, signed in as an analyst made for this test, saves downloads into a
folder of the test's (DevTools ``Browser.setDownloadBehavior``). Each file is then opened as what
it claims to be: the PNG's magic bytes and stated size, the CSV's header block, the pack's PDF
(pypdf: its page count and a KPI value against the pack's own plan) and PowerPoint (python-pptx).
The pack takes 16–45 s on the shared machine: every wait polls, with a generous limit.
"""

from __future__ import annotations

import csv
import io
import re
import struct
import time
from pathlib import Path

import pytest
from selenium.common.exceptions import ElementClickInterceptedException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.conftest import add_user, app_env, browser_sign_in, headless_chromium
from tests.test_accessibility import AXE_TAGS, FAILING_IMPACTS, axe_source, format_violations
from tests.test_browser import _severe_console_errors, _wait_rendered

pytestmark = pytest.mark.browser

ANALYST = "browser-pack-analyst"
CHART_PAGE = "/initial-contact?from=2021-04&to=2022-03&force=Dorset&lpa=East"
STEM = "initial_contact_thrive_completion_pct_2021-04_2022-03_dorset_east"
MONTH = "2023-03"  # the synthetic data's last month: the filter bar's default "To"
PACK_TIMEOUT_S = 180  # 16–45 s seen on two shared cores; polled, so a fast build is not held up
MONTH_VALUE = """
const input = document.getElementById('overview-pack-month');
const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
setter.call(input, arguments[0]);
input.dispatchEvent(new Event('input', {bubbles: true}));
"""

STATUS_NOW = """
const panel = document.getElementById('overview-pack-status');
return {
  steps: [...panel.querySelectorAll('.pack-step')].map(e => e.textContent),
  downloads: panel.querySelectorAll('a.pack-download').length,
};
"""

# The scan of tests/test_accessibility.py, on the pack's panel only: the rest of the page has its own.
AXE_PANEL = """
const done = arguments[arguments.length - 1];
const options = {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']};
axe.run({include: [['.pack-panel']]}, options)
  .then((results) => done(results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl, count: v.nodes.length,
    nodes: v.nodes.slice(0, 3).map((n) => ({target: n.target.map(String).join(' >> '), html: n.html,
                                            summary: n.failureSummary})),
  }))))
  .catch((error) => done([{id: 'axe-error', impact: 'critical', help: String(error), helpUrl: '',
                           count: 1, nodes: []}]));
"""


def axe_panel(browser) -> list[dict]:
    if not browser.execute_script("return typeof window.axe === 'object'"):
        browser.execute_script(axe_source())
    browser.set_script_timeout(90)
    return browser.execute_async_script(AXE_PANEL, AXE_TAGS)


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def analyst_browser(app_url, synthetic_dir, app_instance, downloads):
    """Headless Chromium signed in as an analyst, saving downloads into ``downloads``."""
    add_user(app_env(synthetic_dir, app_instance), ANALYST, "analyst")
    driver = headless_chromium()
    driver.set_page_load_timeout(60)
    # Headless Chromium refuses downloads until told where to put them.
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior",
        {"behavior": "allow", "downloadPath": str(downloads), "eventsEnabled": True},
    )
    browser_sign_in(driver, app_url, ANALYST)
    yield driver
    driver.quit()


def wait_for_file(folder: Path, name: str, timeout: float = 60) -> Path:
    """The downloaded file once Chromium has finished it (its ``.crdownload`` renamed)."""
    path = folder / name
    deadline = time.monotonic() + timeout
    while not (path.is_file() and path.stat().st_size > 0):
        if time.monotonic() > deadline:
            saved = sorted(p.name for p in folder.iterdir())
            raise AssertionError(
                f"{name} was not downloaded within {timeout:.0f} s; the folder holds {saved}"
            )
        time.sleep(0.2)
    return path


def click_in_view(browser, element, attempts: int = 5) -> None:
    """Scroll ``element`` to the middle of the window and click it; charts drawn lazily as they
    come into view can move it between the scroll and the click, so try again when they do."""
    for attempt in range(attempts):
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        time.sleep(0.3)
        try:
            element.click()
            return
        except ElementClickInterceptedException:
            if attempt == attempts - 1:
                raise


def download_from_chart_menu(browser, chart_key: str, item: str) -> None:
    card = browser.find_element(By.ID, f"chart-{chart_key}")
    toggle = card.find_element(By.CSS_SELECTOR, ".chart-download .dropdown-toggle")
    if toggle.get_attribute("aria-expanded") != "true":  # a download leaves the menu open
        click_in_view(browser, toggle)
    link = WebDriverWait(browser, 10).until(
        lambda d: next(
            (
                a
                for a in card.find_elements(By.CSS_SELECTOR, "a.export-link")
                if a.text == item and a.is_displayed()
            ),
            None,
        )
    )
    click_in_view(browser, link)


def test_a_charts_png_and_csv_download_from_its_menu(analyst_browser, app_url, downloads):
    browser = analyst_browser
    browser.get_log("browser")
    browser.get(app_url + CHART_PAGE)
    _wait_rendered(browser, 0)
    download_from_chart_menu(browser, "trend-thrive_completion_pct", "Picture (PNG)")
    png = wait_for_file(downloads, f"{STEM}.png", timeout=120).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    assert struct.unpack(">II", png[16:24]) == (3200, 1800)  # 1600 × 900 at scale 2

    download_from_chart_menu(browser, "trend-thrive_completion_pct", "Numbers (CSV)")
    text = wait_for_file(downloads, f"{STEM}.csv").read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header = dict(rows[: rows.index([])])
    assert header["Force"] == "Dorset" and header["LPA"] == "East"
    assert header["Local authority"] == "All local authorities"
    assert header["Period"].startswith("Apr 2021 – Mar 2022")
    assert header["KPI"] == "THRIVE completion (thrive_completion_pct)"
    table = rows[rows.index([]) + 1 :]
    assert {"month", "value", "numerator", "denominator"} <= set(table[0]) and len(table) == 1 + 12
    assert _severe_console_errors(browser) == []


def test_the_pack_builds_from_the_overview_and_both_files_download(
    analyst_browser, app_url, downloads, synthetic_dir
):
    from pptx import Presentation
    from pypdf import PdfReader

    from exports import pack as pack_module
    from queries.kpis import Filters, Period, catalog, kpi_table
    from ui.formatting import format_value

    browser = analyst_browser
    browser.get_log("browser")
    browser.get(app_url + "/?force=Dorset")
    _wait_rendered(browser, 0)
    wait = WebDriverWait(browser, 30)
    month = browser.find_element(By.ID, "overview-pack-month")
    wait.until(lambda d: month.get_attribute("value") == MONTH)  # the filter bar's last month
    assert (month.get_attribute("min"), month.get_attribute("max")) == ("2020-04", MONTH)
    button = browser.find_element(By.ID, "overview-pack-build")
    # A month outside the data is said at once, and the button waits for a good one.
    browser.execute_script(MONTH_VALUE, "2031-01")
    wait.until(lambda d: not button.is_enabled())
    hint = browser.find_element(By.ID, "overview-pack-month-hint")
    assert hint.text == "Choose a month from Apr 2020 to Mar 2023, the months the data covers."
    severe = [v for v in axe_panel(browser) if v["impact"] in FAILING_IMPACTS]
    assert not severe, format_violations(severe, "/ (the pack panel, a month outside the data)")
    browser.execute_script(MONTH_VALUE, MONTH)
    wait.until(lambda d: button.is_enabled())

    click_in_view(browser, button)
    clicked = time.monotonic()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#overview-pack-status .pack-progress"))
    assert not button.is_enabled(), "one pack at a time: the button waits while it is built"

    # The page stays usable meanwhile: a new LPA redraws the overview while the pack is built.
    Select(browser.find_element(By.ID, "filter-lpa")).select_by_value("East")
    WebDriverWait(browser, 60).until(
        lambda d: "East LPA" in d.find_element(By.CSS_SELECTOR, "#overview-audits .gtitle").text
    )
    redrawn_s = time.monotonic() - clicked
    still_building = browser.find_elements(By.CSS_SELECTOR, "#overview-pack-status .pack-step")
    assert still_building, f"the overview redrew only after the pack was built ({redrawn_s:.1f} s)"

    steps = set()

    def built(driver):
        # Read in one script: the panel is redrawn every second, so a found element goes stale.
        shown = driver.execute_script(STATUS_NOW)
        steps.update(shown["steps"])
        return shown["downloads"] == 2

    WebDriverWait(browser, PACK_TIMEOUT_S, poll_frequency=0.5).until(built)
    took_s = time.monotonic() - clicked
    links = browser.find_elements(By.CSS_SELECTOR, "#overview-pack-status a.pack-download")
    assert [a.text for a in links] == [
        "Download the PowerPoint (pack-dorset-2023-03.pptx)",
        "Download the PDF (pack-dorset-2023-03.pdf)",
    ]
    assert any(s.startswith("Drawing the pictures for the PDF") for s in steps), steps
    status = browser.find_element(By.ID, "overview-pack-status").text
    assert "Pack for Dorset, Mar 2023: built in" in status
    # The panel, with its bar and links, passes the axe-core scan every page must pass.
    severe = [v for v in axe_panel(browser) if v["impact"] in FAILING_IMPACTS]
    assert not severe, format_violations(severe, "/ (the pack panel, built)")
    for link in links:
        click_in_view(browser, link)
    pptx = wait_for_file(downloads, "pack-dorset-2023-03.pptx")
    pdf = wait_for_file(downloads, "pack-dorset-2023-03.pdf")

    # What the pack must hold: its plan, made in this process from the same data folder.
    plan = pack_module.plan_pack(pack_module.open_store(synthetic_dir), MONTH, Filters("Dorset"))
    deck = Presentation(pptx)
    assert len(deck.slides) == len(plan.pages)
    reader = PdfReader(pdf)
    assert len(reader.pages) == len(plan.pages)
    texts = [" ".join(page.extract_text().split()) for page in reader.pages]
    assert f"Pack id {plan.pack_id}" in texts[0] and "Not applied" in texts[0]
    value = kpi_table(
        pack_module.open_store(synthetic_dir),
        Period("2022-04", MONTH),
        Filters("Dorset"),
        kpi_ids=["thrive_completion_pct"],
    )["value"].iloc[0]
    matrix = " ".join(
        text
        for text, page in zip(texts, plan.pages, strict=True)
        if page.section == pack_module.SECTION_MATRIX
    )
    shown = format_value(value, catalog().kpis["thrive_completion_pct"].unit)
    assert re.search(r"THRIVE completion\s+" + re.escape(shown) + r"\s", matrix), (shown, matrix[:400])
    assert _severe_console_errors(browser) == []
    print(f"pack built in the browser in {took_s:.1f} s; the overview redrew after {redrawn_s:.1f} s")
