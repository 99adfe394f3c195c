"""Hardening: audit retention that applies itself, the per-address sign-in limit, and Server headers.

Against real processes, as elsewhere in the auth tests: ``python app.py`` and the
README's own gunicorn command, on a real SQLite audit file holding rows written
long ago.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from auth import audit
from tests.conftest import (
    PASSWORD,
    REPO_ROOT,
    _free_port,
    add_user,
    app_env,
    running_app,
    stop,
    wait_until_serving,
)

RETENTION_DAYS = 365
OLD_AGES_DAYS = [800 - 10 * i for i in range(40)]  # 800 … 410 days ago: all past retention
KEPT_AGES_DAYS = [30, 20, 10]
FAILURES_PER_ADDRESS = 6
SPRAY_ACCOUNTS = ("spray-a", "spray-b", "spray-c")


def write_rows(path: Path, ages_days: list[float], user: str = "old-user") -> None:
    """Chained rows as a server wrote them ``ages_days`` ago (oldest first, as ids grow)."""
    audit.verify(path=path)  # creates the file with its schema and triggers
    now = datetime.now(UTC)
    with sqlite3.connect(path) as db:
        last = db.execute("select hash from audit order by id desc limit 1").fetchone()
        prev = last[0] if last else audit.GENESIS
        for age in sorted(ages_days, reverse=True):
            fields = dict.fromkeys(audit.FIELDS)
            at = (now - timedelta(days=age)).isoformat(timespec="milliseconds")
            fields.update(at=at, user=user, role="officer", action="open page", page="/", outcome="done")
            row_hash = audit.row_hash(prev, fields)
            db.execute(
                f"insert into audit ({', '.join(audit.FIELDS)}, prev_hash, hash) values "
                f"({', '.join('?' for _ in audit.FIELDS)}, ?, ?)",
                (*fields.values(), prev, row_hash),
            )
            prev = row_hash


def rows_of(instance: Path, sql: str = "select * from audit order by id", params=()) -> list[dict]:
    with sqlite3.connect(instance / "audit.sqlite") as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute(sql, params)]


def retention_rows(instance: Path) -> list[dict]:
    return rows_of(instance, "select * from audit where action = 'audit retention' order by id")


def audit_verify(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "audit", "verify"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def prepare_instance(instance: Path, data_dir: Path) -> dict:
    """An instance folder whose audit log holds 40 rows past retention and 3 within it, and accounts.

    The accounts are made with retention off: a ``flask --app app`` command applies
    retention too, and here the server's start-up is what is under test.
    """
    instance.mkdir(parents=True)
    write_rows(instance / "audit.sqlite", OLD_AGES_DAYS + KEPT_AGES_DAYS)
    quiet = app_env(data_dir, instance, CPD_AUDIT_RETENTION_DAYS="off")
    for name in SPRAY_ACCOUNTS:
        add_user(quiet, name, "gold")
    assert retention_rows(instance) == []
    return app_env(
        data_dir,
        instance,
        CPD_AUDIT_RETENTION_DAYS=str(RETENTION_DAYS),
        CPD_SIGNIN_FAILURES_PER_ADDRESS=str(FAILURES_PER_ADDRESS),
    )


@pytest.fixture(scope="module")
def proxied_app(synthetic_dir, tmp_path_factory):
    """``python app.py`` told it sits behind one reverse proxy (``CPD_PROXY_HOPS=1``)."""
    root = tmp_path_factory.mktemp("hardening-app")
    env = prepare_instance(root / "instance", synthetic_dir)
    env["CPD_PROXY_HOPS"] = "1"
    with running_app(synthetic_dir, env, root / "app.log") as url:
        yield url, root / "instance", env


def readme_gunicorn_argv() -> list[str]:
    """The README's deployment command from ``gunicorn`` on, as a force would type it."""
    readme = (REPO_ROOT / "README.md").read_text()
    line = next(line for line in readme.splitlines() if line.startswith("| a deployment |"))
    command = re.search(r"`([^`]*gunicorn[^`]*)`", line).group(1)
    words = shlex.split(command)
    return words[next(i for i, word in enumerate(words) if word.endswith("gunicorn")) + 1 :]


@pytest.fixture(scope="module")
def readme_gunicorn(synthetic_dir, tmp_path_factory):
    """The README's gunicorn command (two workers), bound to a free loopback port; no proxy."""
    root = tmp_path_factory.mktemp("hardening-gunicorn")
    env = prepare_instance(root / "instance", synthetic_dir)
    port = _free_port()
    argv = [f"127.0.0.1:{port}" if word == "0.0.0.0:8050" else word for word in readme_gunicorn_argv()]
    assert f"127.0.0.1:{port}" in argv and "-c" in argv, argv
    log_path = root / "gunicorn.log"
    with log_path.open("w") as log:
        # From the repository root, as the README's commands are run.
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *argv],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(url, process, log_path, timeout=90)
            yield url, root / "instance", env, argv
        finally:
            stop(process)


# --------------------------------------------------------------------------- retention


def test_retention_prunes_old_rows_once_a_day_and_the_chain_verifies(tmp_path):
    path = tmp_path / "audit.sqlite"
    write_rows(path, OLD_AGES_DAYS + KEPT_AGES_DAYS)
    audit.record("sign in", user="today-user", path=path)

    first = audit.apply_retention(RETENTION_DAYS, user="ops", path=path)
    assert first.ran and first.removed == len(OLD_AGES_DAYS)
    kept = audit.search(audit.Query(limit=1000), path=path)
    assert len(kept) == len(KEPT_AGES_DAYS) + 2  # the kept rows, today's sign-in, the retention row
    newest = kept[0]
    assert newest["action"] == "audit retention" and newest["rows"] == len(OLD_AGES_DAYS)
    assert newest["user"] == "ops" and json.loads(newest["detail"])["older_than_days"] == RETENTION_DAYS
    assert audit.verify(path=path).ok

    again = audit.apply_retention(RETENTION_DAYS, path=path)
    assert not again.ran and again.next_due == first.next_due
    tomorrow = datetime.now(UTC) + timedelta(hours=25)
    a_day_later = audit.apply_retention(RETENTION_DAYS, now=tomorrow, path=path)
    assert a_day_later.ran and a_day_later.removed == 0
    assert [r["rows"] for r in audit.search(audit.Query(action="audit retention"), path=path)] == [
        0,
        len(OLD_AGES_DAYS),
    ]
    assert audit.verify(path=path).ok


def test_retention_of_a_log_wholly_past_it_keeps_the_chain(tmp_path):
    path = tmp_path / "audit.sqlite"
    write_rows(path, OLD_AGES_DAYS)
    assert audit.apply_retention(RETENTION_DAYS, path=path).removed == len(OLD_AGES_DAYS)
    audit.record("sign in", user="next-user", path=path)
    result = audit.verify(path=path)
    assert result.ok and result.rows == 2


def test_processes_applying_retention_at_once_prune_once(tmp_path):
    path = tmp_path / "audit.sqlite"
    write_rows(path, OLD_AGES_DAYS + KEPT_AGES_DAYS)
    start_at = time.time() + 1.0  # every process waits for the same moment, then asks
    script = (
        "import sys, time; sys.path.insert(0, sys.argv[1]); "
        "from pathlib import Path; from auth import audit; "
        "time.sleep(max(0, float(sys.argv[3]) - time.time())); "
        f"r = audit.apply_retention({RETENTION_DAYS}, path=Path(sys.argv[2])); print(r.ran, r.removed)"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(REPO_ROOT), str(path), str(start_at)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outcomes = sorted(p.communicate(timeout=30)[0].strip() for p in processes)
    assert outcomes == ["False 0"] * 3 + [f"True {len(OLD_AGES_DAYS)}"]
    assert len(audit.search(audit.Query(action="audit retention"), path=path)) == 1
    assert audit.verify(path=path).ok


def test_a_running_process_applies_retention_again_when_a_day_has_passed(tmp_path, monkeypatch):
    from auth import web

    monkeypatch.setenv("CPD_INSTANCE_DIR", str(tmp_path))
    write_rows(tmp_path / "audit.sqlite", KEPT_AGES_DAYS)
    monkeypatch.setitem(web._retention, "days", RETENTION_DAYS)
    monkeypatch.setitem(web._retention, "next_due", datetime.now(UTC) + timedelta(hours=1))
    web._apply_retention_when_due()  # not yet due: the audit file is not even asked
    assert retention_rows(tmp_path) == []
    monkeypatch.setitem(web._retention, "next_due", datetime.now(UTC) - timedelta(seconds=1))
    web._apply_retention_when_due()
    assert len(retention_rows(tmp_path)) == 1
    assert web._retention["next_due"] > datetime.now(UTC) + timedelta(hours=23)


def test_a_wrong_retention_setting_is_refused_with_its_name(monkeypatch):
    for wrong in ("7", "six years"):
        monkeypatch.setenv(audit.RETENTION_ENV, wrong)
        with pytest.raises(ValueError, match=audit.RETENTION_ENV):
            audit.retention_days()
    monkeypatch.setenv(audit.RETENTION_ENV, "off")
    assert audit.retention_days() is None


def test_app_start_up_prunes_the_rows_past_retention(proxied_app):
    _url, instance, env = proxied_app
    (retention,) = retention_rows(instance)
    assert retention["rows"] == len(OLD_AGES_DAYS) and retention["outcome"] == "done"
    old_rows = rows_of(instance, "select * from audit where user = 'old-user'")
    assert len(old_rows) == len(KEPT_AGES_DAYS)
    cutoff = datetime.now(UTC) - timedelta(days=RETENTION_DAYS)
    assert all(datetime.fromisoformat(r["at"]) > cutoff for r in old_rows)
    verified = audit_verify(env)
    assert verified.returncode == 0 and "chain holds" in verified.stdout, verified.stderr
    assert len(retention_rows(instance)) == 1  # the verify command found it done today


def test_two_gunicorn_workers_starting_together_prune_once(readme_gunicorn):
    _url, instance, env, argv = readme_gunicorn
    assert argv[argv.index("-w") + 1] == "2"
    (retention,) = retention_rows(instance)
    assert retention["rows"] == len(OLD_AGES_DAYS)
    assert len(rows_of(instance, "select * from audit where user = 'old-user'")) == len(KEPT_AGES_DAYS)
    assert audit_verify(env).returncode == 0


# --------------------------------------------------------------------------- sign-in limit per address


def post_login(url: str, name: str, password: str, headers: dict | None = None) -> requests.Response:
    session = requests.Session()
    session.headers.update(headers or {})
    page = session.get(url + "/login", timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return session.post(
        url + "/login",
        data={"csrf_token": token, "username": name, "password": password, "next": "/"},
        allow_redirects=False,
        timeout=10,
    )


def spray(url: str, headers_for) -> list[int]:
    """One wrong password against a different account name each time, as a sprayer does."""
    names = [*SPRAY_ACCOUNTS, "no-such-user", "admin", "root"]
    return [
        post_login(url, names[i % len(names)], "Winter2026!", headers_for(i)).status_code
        for i in range(FAILURES_PER_ADDRESS)
    ]


def test_password_spraying_from_one_address_is_refused_and_logged(proxied_app):
    url, instance, _env = proxied_app
    sprayer = {"X-Forwarded-For": "203.0.113.7"}
    assert spray(url, lambda _i: sprayer) == [401] * FAILURES_PER_ADDRESS
    refused = post_login(url, "spray-a", PASSWORD, sprayer)  # even the right password, from there
    assert refused.status_code == 429
    assert "Too many failed sign-ins from your address (203.0.113.7)" in refused.text
    assert 'id="login-message"' in refused.text and "more minutes" in refused.text
    assert 14 * 60 <= int(refused.headers["Retry-After"]) <= 15 * 60

    rows = rows_of(
        instance, "select * from audit where action = 'sign in' and client = ? order by id", ("203.0.113.7",)
    )
    assert [r["outcome"] for r in rows] == ["refused"] * (FAILURES_PER_ADDRESS + 1)
    last = json.loads(rows[-1]["detail"])
    assert last["reason"] == "too many failed sign-ins from this address" and rows[-1]["user"] == "spray-a"

    # Another address signs in to the same account: the limit is the address's, and the
    # refused attempt did not count against the account.
    other = post_login(url, "spray-a", PASSWORD, {"X-Forwarded-For": "198.51.100.20"})
    assert other.status_code == 302


def test_a_forwarded_address_is_not_believed_without_a_proxy(readme_gunicorn):
    url, instance, _env, _argv = readme_gunicorn
    # A new made-up address on each attempt: without CPD_PROXY_HOPS they are all the peer's.
    assert spray(url, lambda i: {"X-Forwarded-For": f"192.0.2.{i + 1}"}) == [401] * FAILURES_PER_ADDRESS
    refused = post_login(url, "spray-b", PASSWORD, {"X-Forwarded-For": "192.0.2.99"})
    assert refused.status_code == 429 and "(127.0.0.1)" in refused.text
    clients = {r["client"] for r in rows_of(instance, "select client from audit where action = 'sign in'")}
    assert clients == {"127.0.0.1"}


# --------------------------------------------------------------------------- Server header


SECURITY_HEADERS = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy")


def assert_no_software_named(response: requests.Response) -> None:
    server = response.headers.get("Server", "")
    assert not re.search(r"\d|/|werkzeug|python|gunicorn", server, re.IGNORECASE), server


@pytest.mark.parametrize("server", ["proxied_app", "readme_gunicorn"])
def test_neither_server_names_its_software_or_version(server, request):
    url = request.getfixturevalue(server)[0]
    responses = [
        requests.get(url + "/login", timeout=10),
        requests.head(url + "/login", timeout=10),
        requests.get(url + "/no-such-page", timeout=10, allow_redirects=False),
        requests.get(url + "/_dash-layout", timeout=10),
        requests.get(url + "/login", headers={"Host": "rebind.evil.example"}, timeout=10),
    ]
    assert [r.status_code for r in responses] == [200, 200, 302, 401, 400]
    for response in responses:
        assert_no_software_named(response)
        assert all(header in response.headers for header in SECURITY_HEADERS), response.headers


def test_under_https_every_response_asks_for_https_and_the_cookie_is_secure(synthetic_dir, tmp_path):
    env = app_env(synthetic_dir, tmp_path / "instance", CPD_HTTPS="1")
    with running_app(synthetic_dir, env, tmp_path / "app.log") as url:
        login = requests.get(url + "/login", timeout=10)
        responses = [
            login,
            requests.get(url + "/_dash-layout", timeout=10),
            requests.get(url + "/assets/app.css", timeout=10),
            requests.get(url + "/login", headers={"Host": "rebind.evil.example"}, timeout=10),
        ]
    assert [r.status_code for r in responses] == [200, 401, 200, 400]
    for response in responses:
        assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cookie = login.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_user_changes_made_with_the_cli_are_in_the_audit_log(proxied_app):
    _url, instance, _env = proxied_app
    added = rows_of(instance, "select * from audit where action = 'add user' order by id")
    assert [json.loads(r["detail"])["account"] for r in added] == list(SPRAY_ACCOUNTS)
    assert {r["role"] for r in added} == {"cli"} and all(r["user"] for r in added)


def test_the_security_headers_come_from_flask_talisman(tmp_path, monkeypatch):
    """Talisman writes frame options, nosniff and the two policies; the CSP is the app's own, given to it
    once Dash's inline scripts are known, and sent on the very first (anonymous) response."""
    from flask_talisman import Talisman

    code = (
        "import app, json; c = app.server.test_client(); r = c.get('/_dash-layout');"
        "t = app.server.extensions['cpd_talisman'];"
        "print(json.dumps([type(t).__name__, r.status_code, dict(r.headers), t.content_security_policy]))"
    )
    env = {**os.environ, "CPD_DATA_DIR": str(tmp_path / "data"), "CPD_INSTANCE_DIR": str(tmp_path / "inst")}
    run = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO_ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    out = run
    name, status, headers, policy = json.loads(out.stdout.strip().splitlines()[-1])
    assert name == Talisman.__name__ and status == 401
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Permissions-Policy"] == "camera=(), microphone=(), geolocation=(), payment=()"
    assert headers["Content-Security-Policy"] == policy and "frame-ancestors 'none'" in policy
    assert "Set-Cookie" not in headers or "Secure" not in headers["Set-Cookie"]  # plain http: not Secure
