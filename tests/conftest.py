"""Shared fixtures: one synthetic data set, one running app and one headless Chromium per test session.

Browser tests start the real app (``python app.py``) once, as a user would,
and drive Debian's Chromium through chromedriver; nothing is mocked and no
browser is downloaded.
"""

from __future__ import annotations

import contextlib
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


def pytest_configure(config):
    # In-process tests write audit rows too: into a folder of the run's, never the user's own.
    import tempfile

    if not os.environ.get("CPD_INSTANCE_DIR"):
        os.environ["CPD_INSTANCE_DIR"] = tempfile.mkdtemp(prefix="cpd-test-instance-")


@pytest.fixture
def as_user():
    """``with as_user("officer"):`` — run in-process code as a signed-in user of that role (and force)."""
    import contextlib

    @contextlib.contextmanager
    def enter(
        role: str = "admin",
        force: str | None = None,
        name: str = "unit-test-user",
        purpose: str | None = "Case review",
    ):
        import flask
        import flask_login

        import app as app_module
        from auth import Principal
        from auth.web import SessionUser

        with app_module.server.test_request_context("/"):
            flask_login.login_user(SessionUser(Principal(name, role, force, "local")))
            flask.session["sid"] = f"unit-test-{name}-{role}"
            from ui.purpose import set_records_purpose

            set_records_purpose(purpose)
            yield

    return enter


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


PAGE_PATHS = [
    "/",
    "/initial-contact",
    "/assessment-and-help",
    "/investigation",
    "/decision-making",
    "/managing-risk",
    "/detention",
    "/data-quality",
]
# The test accounts: one per role, and an officer limited to one force. Made with the real
# `flask --app app users add` command, as the README tells a force to make its first user.
PASSWORD = "a long test password"
ACCOUNTS = {
    "gold-user": ("gold", None),
    "officer-user": ("officer", None),
    "analyst-user": ("analyst", None),
    "admin-user": ("admin", None),
    "wessex-officer": ("officer", "Wessex"),
}


def add_user(env: dict, name: str, role: str, force: str | None = None, password: str = PASSWORD) -> None:
    """``flask --app app users add`` with the password on stdin, in the app's environment."""
    command = [sys.executable, "-m", "flask", "--app", "app", "users", "add", name, "--role", role]
    if force:
        command += ["--force", force]
    subprocess.run(
        command, cwd=REPO_ROOT, env=env, input=password + "\n", text=True, check=True, capture_output=True
    )


def app_env(data_dir: Path, instance: Path, **extra: str) -> dict:
    return {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "CPD_DATA_DIR": str(data_dir),
        "CPD_INSTANCE_DIR": str(instance),
        "CPD_SECRET_KEY": "test-secret-key-not-for-production",
        # The browser tests open many records views in a minute; the limit has its own test.
        "CPD_RECORDS_PER_MINUTE": "100000",
        **extra,
    }


def wait_until_serving(
    url: str, process: subprocess.Popen, log_path: Path, timeout: float = 60, poll_s: float = 0.3
) -> None:
    """Until ``url`` serves its login page (``poll_s``: how often to look; a start-up timing looks often)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "/login", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the app did not start:\n{log_path.read_text()}")
        time.sleep(poll_s)


def audit_rows(instance: Path, action: str | None = None, user: str | None = None, **where) -> list[dict]:
    """The audit log's rows, oldest first, whose columns equal the values given (None: any)."""
    import sqlite3

    where = {k: v for k, v in {"action": action, "user": user, **where}.items() if v is not None}
    with sqlite3.connect(instance / "audit.sqlite") as db:
        db.row_factory = sqlite3.Row
        sql = "select * from audit" + (" where " + " and ".join(f"{k} = ?" for k in where) if where else "")
        return [dict(r) for r in db.execute(sql + " order by id", tuple(where.values()))]


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def app_instance(tmp_path_factory) -> Path:
    """The running app's private folder: its accounts, audit log and secret key."""
    return tmp_path_factory.mktemp("instance")


@contextlib.contextmanager
def running_app(data_dir: Path, env: dict, log_path: Path, port: int | None = None):
    """``python app.py`` on ``data_dir`` as a user starts it; yields its URL, stops it on exit."""
    port = port or _free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "app.py", "--data", str(data_dir), "--port", str(port)],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(url, process, log_path)
            yield url
        finally:
            stop(process)


@pytest.fixture(scope="session")
def app_url(synthetic_dir, app_instance, tmp_path_factory) -> str:
    """The dashboard running on the synthetic data, as `python app.py` starts it, with its accounts."""
    env = app_env(synthetic_dir, app_instance)
    for name, (role, force) in ACCOUNTS.items():
        add_user(env, name, role, force)
    with running_app(synthetic_dir, env, tmp_path_factory.mktemp("app") / "app.log") as url:
        yield url


def sign_in(base_url: str, name: str, password: str = PASSWORD, purpose: str | None = "Case review"):
    """A requests session signed in through the login form (its CSRF token included)."""
    import re

    import requests

    session = requests.Session()
    page = session.get(base_url + "/login", timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = session.post(
        base_url + "/login",
        data={"csrf_token": token, "username": name, "password": password, "next": "/"},
        allow_redirects=False,
        timeout=10,
    )
    session.last_sign_in = response
    if purpose and response.status_code == 302:
        give_purpose(session, base_url, purpose)
    return session


def give_purpose(session, base_url: str, purpose: str = "Case review", words: str | None = None):
    """Post the purpose for viewing records, as the filter bar's control does."""
    body = {
        "output": "records-purpose-status.children",
        "outputs": {"id": "records-purpose-status", "property": "children"},
        "inputs": [
            {"id": "records-purpose", "property": "value", "value": purpose},
            {"id": "records-purpose-text", "property": "value", "value": words},
        ],
        "state": [],
        "changedPropIds": ["records-purpose.value"],
    }
    return session.post(base_url + "/_dash-update-component", json=body, timeout=10)


@pytest.fixture(scope="session")
def signed_in(app_url):
    """``signed_in("gold-user")``: a requests session of that account (one per account, reused)."""
    sessions: dict[str, object] = {}

    def get(name: str):
        if name not in sessions:
            sessions[name] = sign_in(app_url, name)
            assert sessions[name].last_sign_in.status_code == 302, sessions[name].last_sign_in.text
        return sessions[name]

    return get


def browser_sign_in(driver, base_url: str, name: str, password: str = PASSWORD) -> None:
    """Sign the browser in through the login page, as a user would."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.delete_all_cookies()
    driver.get(base_url + "/login")
    driver.find_element(By.ID, "login-name").send_keys(name)
    driver.find_element(By.ID, "login-password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    WebDriverWait(driver, 20).until(lambda d: "/login" not in d.current_url)
    # The purpose for viewing records, once per session, as an officer gives it.
    from selenium.webdriver.support.ui import Select

    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "records-purpose"))
    Select(driver.find_element(By.ID, "records-purpose")).select_by_value("Case review")
    WebDriverWait(driver, 20).until(
        lambda d: "logged as" in d.find_element(By.ID, "records-purpose-status").text
    )


def headless_chromium(logs: tuple[str, ...] = ("browser",)):
    """Debian's Chromium through chromedriver, headless, 1440×900, the ``logs`` it keeps readable
    ("browser" for the console; "performance" for the requests, as the page benchmark reads them).
    No test downloads a browser: without Debian's packages the test fails and says so."""
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
    options.set_capability("goog:loggingPrefs", dict.fromkeys(logs, "ALL"))
    return webdriver.Chrome(service=Service(chromedriver), options=options)


@pytest.fixture(scope="session")
def browser(app_url):
    """Headless Debian Chromium through chromedriver, signed in as an administrator (who may see
    everything the pages offer), with the console log readable."""
    driver = headless_chromium()
    driver.set_page_load_timeout(60)
    browser_sign_in(driver, app_url, "admin-user")
    yield driver
    driver.quit()
