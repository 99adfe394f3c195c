"""Screenshots of every page at the sizes the gold group's screens have (1440×900, 1280×720).

    .venv/bin/python scripts/screenshots.py --out DIR [--data DIR] [--pages / /detention] [--full]
        [--query "?from=2021-04&to=2022-03&force=Dorset"] [--suffix=-NAME]

Starts the app on the data (generated default unless ``--data``), signs headless Chromium in
as an administrator, and writes ``<page>-<width>x<height>.png`` of the first screen of each
page (what a reader sees before scrolling) into ``--out``. With ``--full`` it also writes
``<page>-<width>x<height>-full.png``, the whole page: it scrolls down two thirds of a screen at
a time, waiting at each step for the charts there to draw (they draw only when they come into
view), then grows the viewport to the document's height (the page keeps its scroll bar, so its
width is the reader's) and captures it. ``--suffix=-quarter`` names a second set, e.g. one taken
with ``--query "?from=2022-01&to=2022-03&force=Dorset"``.
"""

from __future__ import annotations

import argparse
import base64
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import browser_benchmark as bench  # the same app start, browser and sign-in

SIZES = [(1440, 900), (1280, 720)]
PAGES = [*bench.PAGES, "/audit", "/load-data"]

# Every chart on the page that can draw has drawn: none is waiting for its turn in view, every
# visible graph holds a figure, and no Dash loading flag is up.
ALL_DRAWN = """
const waiting = window.lazyChartsWaiting ? window.lazyChartsWaiting() : [];
const graphs = [...document.querySelectorAll('.js-plotly-plot')].filter(g => g.getClientRects().length);
return waiting.length === 0
  && document.querySelectorAll("[data-dash-is-loading='true']").length === 0
  && graphs.every(g => g.layout && g.layout.template);
"""
SCROLL_SIZE = """
const d = document.documentElement;
return [Math.max(d.scrollWidth, document.body.scrollWidth),
        Math.max(d.scrollHeight, document.body.scrollHeight)];
"""


def _wait(driver, script: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if driver.execute_script(script):
            return True
        time.sleep(0.1)
    return False


def _full_page(driver, path: Path, viewport: tuple[int, int], timeout: float = 60) -> None:
    """Scroll down the page two thirds of a screen at a time, letting each screen's charts draw,
    then write the whole document (its scroll size) at the viewport's width to ``path``."""
    step = viewport[1] * 2 // 3
    y = 0
    while True:
        driver.execute_script("window.scrollTo(0, arguments[0]);", y)
        time.sleep(0.2)  # the IntersectionObserver's turn, then Plotly's
        _wait(driver, bench.USABLE, 20)  # a chart whose callback failed must not stall every step
        if y + step >= driver.execute_script(SCROLL_SIZE)[1]:
            break
        y += step
    if not _wait(driver, ALL_DRAWN, timeout):
        print(f"  {path.name}: some charts had not drawn after {timeout:.0f} s", file=sys.stderr)
    time.sleep(0.5)  # the last charts' transitions
    driver.execute_script("window.scrollTo(0, 0);")
    # The viewport grows to the whole document for the capture (Chromium's captureBeyondViewport
    # leaves the records grids, which draw only their visible rows, blank). With nothing left to
    # scroll the scroll bar would go and the page reflow 15 px wider than the reader's: keep it.
    driver.execute_script(
        "const s = document.createElement('style'); s.id = 'screenshot-scrollbar';"
        "s.textContent = 'html { overflow-y: scroll !important; }'; document.head.appendChild(s);"
    )
    width, height = viewport
    full_height = driver.execute_script(SCROLL_SIZE)[1]
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": full_height, "deviceScaleFactor": 1, "mobile": False},
    )
    try:
        time.sleep(1.0)  # grids render their newly visible rows, charts settle
        _wait(driver, ALL_DRAWN, timeout)
        full_height = driver.execute_script(SCROLL_SIZE)[1]
        shot = driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {"format": "png", "clip": {"x": 0, "y": 0, "width": width, "height": full_height, "scale": 1}},
        )
    finally:
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        driver.execute_script("document.getElementById('screenshot-scrollbar').remove();")
    path.write_bytes(base64.b64decode(shot["data"]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--data")
    parser.add_argument("--pages", nargs="*", default=PAGES)
    parser.add_argument("--query", default="?from=2021-04&to=2022-03&force=Dorset")
    parser.add_argument("--port", type=int, default=8094)
    parser.add_argument("--full", action="store_true", help="also write each whole page (-full.png)")
    parser.add_argument("--suffix", default="", help="added to each file name, e.g. -one-month")
    args = parser.parse_args()
    # Stopped with a signal, still stop the app and the browser it started (the context's exit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with bench.signed_in_app(args.data, args.port) as (driver, base, _data_dir):
        for width, height in SIZES:
            # Headless Chromium has no window chrome: set the viewport exactly.
            driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            )
            for path in args.pages:
                bench._time_page(driver, base + path + "?" + args.query.lstrip("?"))
                time.sleep(0.5)
                name = (path.strip("/") or "overview").replace("/", "-")
                first = out / f"{name}-{width}x{height}{args.suffix}.png"
                driver.save_screenshot(str(first))
                print(first)
                if args.full:
                    full = out / f"{name}-{width}x{height}{args.suffix}-full.png"
                    _full_page(driver, full, (width, height))
                    print(full)
    return 0


if __name__ == "__main__":
    sys.exit(main())
