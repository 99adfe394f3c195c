"""Benchmark the pages in the browser: how long from navigation until each page is usable.

    .venv/bin/python scripts/browser_benchmark.py [--data DIR] [--repeats 3] [--pages / /detention]

Starts ``python app.py`` on the data (generated default synthetic data unless ``--data``),
signs headless Debian Chromium in as an administrator (who sees every records table),
and opens every page with a filter combination the server has not seen before.

"Usable" is the moment when the filter bar has resolved, every chart on the screen has
drawn (charts below the fold draw as they come into view), no Dash loading flag is up,
*and* the main thread answers a script within 100 ms (a page whose charts are drawn but
whose thread is still busy rendering cannot take a click). Printed
per page: the median and worst of the repeats, and the longest main-thread task seen
(PerformanceObserver "longtask").
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PAGES = [
    "/",
    "/initial-contact",
    "/assessment-and-help",
    "/investigation",
    "/decision-making",
    "/managing-risk",
    "/detention",
    "/data-quality",
]
# Periods the server has not cached yet: each repeat uses the next one.
PERIODS = [("2021-04", "2022-03"), ("2021-01", "2021-12"), ("2020-10", "2021-09"), ("2021-07", "2022-06")]
PASSWORD = "benchmark password, not for production"
LONG_TASKS = """
window.__longest = 0;
new PerformanceObserver(list => {
  for (const entry of list.getEntries()) window.__longest = Math.max(window.__longest, entry.duration);
}).observe({type: 'longtask', buffered: true});
"""


def _start_app(data_dir: Path, instance: Path, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "CPD_DATA_DIR": str(data_dir),
        "CPD_INSTANCE_DIR": str(instance),
        "CPD_SECRET_KEY": "benchmark-secret",
        "CPD_RECORDS_PER_MINUTE": "100000",
    }
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "users", "add", "bench-admin", "--role", "admin"],
        cwd=REPO, env=env, input=PASSWORD + "\n", text=True, check=True, capture_output=True,
    )  # fmt: skip
    log = open(instance / "app.log", "w")  # noqa: SIM115 (open for the process's life)
    process = subprocess.Popen(
        [sys.executable, "app.py", "--data", str(data_dir), "--port", str(port)],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2):
                return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit(f"the app did not start: see {instance / 'app.log'}")


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1440,900"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.set_page_load_timeout(120)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": LONG_TASKS})
    return driver


def _sign_in(driver, base: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver.get(base + "/login")
    driver.find_element(By.ID, "login-name").send_keys("bench-admin")
    driver.find_element(By.ID, "login-password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.ID, "records-purpose"))
    Select(driver.find_element(By.ID, "records-purpose")).select_by_value("Case review")
    WebDriverWait(driver, 60).until(
        lambda d: "logged as" in d.find_element(By.ID, "records-purpose-status").text
    )


# Usable: the filter bar has resolved, no Dash loading flag is up, and every chart on the
# screen holds its figure (every figure the server draws carries the app's template; an
# undrawn graph has none). Charts below the fold are drawn as they come into view.
USABLE = """
const onScreen = el => {
  if (!el.getClientRects().length) return false;
  const box = el.getBoundingClientRect();
  return box.bottom > 0 && box.top < window.innerHeight;
};
const summary = document.getElementById('filter-summary');
const graphs = [...document.querySelectorAll('.js-plotly-plot')].filter(onScreen);
return !!summary && summary.textContent.startsWith('Showing')
  && document.querySelectorAll("[data-dash-is-loading='true']").length === 0
  && graphs.every(g => g.layout && g.layout.template);
"""


def _is_usable(driver) -> bool:
    started = time.perf_counter()
    done = driver.execute_script(USABLE)
    return bool(done) and time.perf_counter() - started < 0.1


def _time_page(driver, url: str, timeout: float = 120) -> tuple[float, float]:
    started = time.perf_counter()
    driver.get(url)
    while not _is_usable(driver):
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"{url} was not usable within {timeout:.0f} s")
        time.sleep(0.05)
    usable = time.perf_counter() - started
    return usable, float(driver.execute_script("return window.__longest || 0") or 0)


@contextlib.contextmanager
def signed_in_app(data: str | None, port: int):
    """The app on ``data`` (generated default data when None) and a Chromium signed in to it:
    yields (driver, base URL, data folder); stops both and removes what it made on exit."""
    work = Path(tempfile.mkdtemp(prefix="cpd-browser-"))
    if data:
        data_dir = Path(data)
    else:
        from data.generate import generate

        data_dir = work / "extracts"
        generate(data_dir)
    instance = work / "instance"
    instance.mkdir()
    process = _start_app(data_dir, instance, port)
    driver = _browser()
    base = f"http://127.0.0.1:{port}"
    try:
        _sign_in(driver, base)
        yield driver, base, data_dir
    finally:
        driver.quit()
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="an existing data folder (default: generate the default one)")
    parser.add_argument("--repeats", type=int, default=3, help=f"at most {len(PERIODS)}")
    parser.add_argument("--pages", nargs="*", default=list(PAGES))
    parser.add_argument("--port", type=int, default=8093)
    parser.add_argument(
        "--settle", type=float, default=20.0,
        help="seconds to wait after a first page, while the server builds its monthly roll-ups "
        "(queries/rollup.py) as a running server has; 0 measures a server just started",
    )  # fmt: skip
    args = parser.parse_args()

    with signed_in_app(args.data, args.port) as (driver, base, data_dir):
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{platform.platform()}; browser: {driver.capabilities.get('browserVersion')}"
        )
        print(f"data: {data_dir}")
        if args.settle > 0:
            # The first read of the data starts the roll-ups' build; measure the server as it runs.
            _time_page(driver, f"{base}/?from=2020-04&to=2021-03")
            time.sleep(args.settle)
            print(f"(measured {args.settle:.0f} s after a first page: the roll-ups built)")
        print(f"{'page':24} {'usable p50 s':>13} {'worst s':>8} {'longest task ms':>16}")
        for path in args.pages:
            samples, longest = [], 0.0
            for start, end in PERIODS[: args.repeats]:
                usable, task = _time_page(driver, f"{base}{path}?from={start}&to={end}")
                samples.append(usable)
                longest = max(longest, task)
            print(f"{path:24} {statistics.median(samples):13.2f} {max(samples):8.2f} {longest:16.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
