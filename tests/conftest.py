"""Shared fixtures: one synthetic data set, one running app and one headless Chromium per test session.

Browser tests start the real app (``python app.py``) once, as a user would,
and drive Debian's Chromium through chromedriver; nothing is mocked and no
browser is downloaded.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory) -> Path:
    """The default synthetic extracts (Dorset, Apr 2020 – Mar 2023), generated once."""
    from data.generate import generate

    out = tmp_path_factory.mktemp("synthetic") / "extracts"
    generate(out)
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def app_url(synthetic_dir, tmp_path_factory) -> str:
    """The dashboard running on the synthetic data, as `python app.py` starts it."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("app") / "app.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "app.py", "--data", str(synthetic_dir), "--port", str(port)],
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the app did not start:\n{log_path.read_text()}")
        time.sleep(0.3)
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium through chromedriver, with the console log readable."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium")
    chromedriver = shutil.which("chromedriver")
    if not chromium or not chromedriver:
        pytest.fail("browser tests need Debian's chromium and chromium-driver (see scripts/test.sh)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1440,900",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
