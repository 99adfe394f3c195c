"""Screenshots of every page at the sizes the gold group's screens have (1440×900, 1280×720).

    .venv/bin/python scripts/screenshots.py --out DIR [--data DIR] [--pages / /detention]

Starts the app on the data (generated default unless ``--data``), signs headless Chromium in
as an administrator, and writes ``<page>-<width>x<height>.png`` of the first screen of each
page (what a reader sees before scrolling) into ``--out``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import browser_benchmark as bench  # the same app start, browser and sign-in

SIZES = [(1440, 900), (1280, 720)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--data")
    parser.add_argument("--pages", nargs="*", default=bench.PAGES)
    parser.add_argument("--query", default="?from=2021-04&to=2022-03&force=Dorset")
    parser.add_argument("--port", type=int, default=8094)
    args = parser.parse_args()
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
                driver.save_screenshot(str(out / f"{name}-{width}x{height}.png"))
                print(out / f"{name}-{width}x{height}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
