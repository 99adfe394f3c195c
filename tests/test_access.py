"""Sign-in, roles, server-side filter state, hardening and the audit log — against the running app.

Every test here talks HTTP to a real ``python app.py`` (or gunicorn) process, as an
attacker would: no test client, no mocks.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
import requests

from tests.conftest import (
    PAGE_PATHS,
    PASSWORD,
    REPO_ROOT,
    _free_port,
    add_user,
    app_env,
    audit_rows,
    give_purpose,
    running_app,
    sign_in,
    stop,
    wait_until_serving,
)
from tests.dash_requests import body_for, find

PAGES = PAGE_PATHS
SECURITY_HEADERS = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy")
DORSET_STATE = {
    "period_from": "2021-04",
    "period_to": "2022-03",
    "force": "Dorset",
    "lpa": None,
    "local_authority": None,
}


def _update(session, base, body):
    return session.post(base + "/_dash-update-component", json=body, timeout=30)


def _dependencies(session, base):
    response = session.get(base + "/_dash-dependencies", timeout=10)
    assert response.status_code == 200
    return response.json()


def _records_body(dependencies, area="detention", kpi="aa_within_2h_pct", state=None):
    dependency = find(dependencies, f'"area":"{area}","type":"records-modal"')
    body = body_for(dependency, {0: 1}, state_values={0: state or DORSET_STATE, 1: None})
    body["inputs"][0][0]["id"] = {"area": area, "chart": "trend", "kpi": kpi, "type": "chart-records"}
    body["changedPropIds"] = [
        f'{{"area":"{area}","chart":"trend","kpi":"{kpi}","type":"chart-records"}}.n_clicks'
    ]
    return body


# --------------------------------------------------------------------------- anonymous


# The admins' audit page and the analysts' load page are pages like the others to the guard.
@pytest.mark.parametrize("path", [*PAGES, "/audit", "/load-data", "/no-such-page"])
def test_an_anonymous_page_request_goes_to_the_login_page(app_url, path):
    response = requests.get(app_url + path + "?force=Dorset", allow_redirects=False, timeout=10)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/_dash-layout"),
        ("GET", "/_dash-dependencies"),
        ("POST", "/_dash-update-component"),
        ("POST", "/logout"),
        ("GET", "/_reload-hash"),
    ],
)
def test_an_anonymous_api_request_gets_401(app_url, method, path):
    response = requests.request(method, app_url + path, json={}, timeout=10)
    assert response.status_code == 401
    assert "Sign in" in response.json()["message"]


def test_only_the_login_page_and_static_files_are_public(app_url):
    assert requests.get(app_url + "/login", timeout=10).status_code == 200
    assert requests.get(app_url + "/assets/app.css", timeout=10).status_code == 200


def test_a_records_callback_posted_anonymously_returns_no_rows(app_url, signed_in):
    dependencies = _dependencies(signed_in("admin-user"), app_url)
    response = _update(requests.Session(), app_url, _records_body(dependencies))
    assert response.status_code == 401
    assert "rowData" not in response.text


# --------------------------------------------------------------------------- hardening


def test_a_foreign_host_is_refused(app_url):
    response = requests.get(app_url + "/login", headers={"Host": "rebind.evil.example"}, timeout=10)
    assert response.status_code == 400
    assert "not served here" in response.json()["message"]


@pytest.mark.parametrize("path", ["/login", "/", "/_dash-layout", "/assets/app.css", "/no-such-page"])
def test_every_response_carries_the_security_headers(app_url, signed_in, path):
    for session in (requests.Session(), signed_in("gold-user")):
        response = session.get(app_url + path, allow_redirects=False, timeout=10)
        for header in SECURITY_HEADERS:
            assert header in response.headers, (path, header)
        policy = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy and "'unsafe-eval'" not in policy
        assert "script-src 'self' 'sha256-" in policy and "script-src 'self' 'unsafe-inline'" not in policy
        assert "Werkzeug" not in response.headers.get("Server", "") and "Python" not in response.headers.get(
            "Server", ""
        )


def test_a_cross_site_post_is_refused(app_url, signed_in):
    session = signed_in("gold-user")
    response = session.post(
        app_url + "/_dash-update-component", json={}, headers={"Origin": "https://evil.example"}, timeout=10
    )
    assert response.status_code == 403


def test_a_body_over_the_limit_is_refused(app_url, signed_in):
    response = signed_in("gold-user").post(
        app_url + "/_dash-update-component",
        data=b"x" * 2_000_000,
        timeout=10,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_no_chart_offers_to_send_it_to_the_cloud(app_url, signed_in):
    layout = signed_in("admin-user").get(app_url + "/_dash-layout", timeout=10).text
    assert "plot.ly" not in layout and "chart-studio" not in layout.lower()
    from ui.area_page import GRAPH_CONFIG

    assert GRAPH_CONFIG["showSendToCloud"] is False and GRAPH_CONFIG["showEditInChartStudio"] is False
    assert {"sendDataToCloud", "editInChartStudio"} <= set(GRAPH_CONFIG["modeBarButtonsToRemove"])


def test_debug_is_refused_off_loopback(synthetic_dir, app_instance):
    result = subprocess.run(
        [sys.executable, "app.py", "--host", "0.0.0.0", "--debug", "--data", str(synthetic_dir)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=app_env(synthetic_dir, app_instance),
    )
    assert result.returncode == 2
    assert "loopback" in result.stderr


# --------------------------------------------------------------------------- sign-in


def test_a_wrong_password_is_refused_and_logged(app_url, app_instance):
    session = sign_in(app_url, "gold-user", "not the password")
    assert session.last_sign_in.status_code == 401
    assert "not right" in session.last_sign_in.text
    assert session.get(app_url + "/_dash-layout", timeout=10).status_code == 401
    refused = audit_rows(app_instance, action="sign in", outcome="refused", user="gold-user")
    assert refused and "wrong password" in refused[-1]["detail"]


def test_repeated_failures_lock_the_account(app_url, synthetic_dir, app_instance):
    add_user(app_env(synthetic_dir, app_instance), "lockout-user", "gold")
    for _ in range(5):
        assert sign_in(app_url, "lockout-user", "wrong wrong wrong").last_sign_in.status_code in (401, 429)
    locked = sign_in(app_url, "lockout-user", PASSWORD)  # the right password, too late
    assert locked.last_sign_in.status_code == 429
    assert "locked" in locked.last_sign_in.text
    reasons = [r["detail"] for r in audit_rows(app_instance, user="lockout-user", outcome="refused")]
    assert sum("locked" in r for r in reasons) >= 2


def test_the_login_page_refuses_a_form_without_its_token(app_url):
    response = requests.post(
        app_url + "/login",
        data={"username": "admin-user", "password": PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 400


def test_next_never_redirects_off_site(app_url):
    session = requests.Session()
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', session.get(app_url + "/login").text).group(1)
    response = session.post(
        app_url + "/login",
        data={"csrf_token": token, "username": "gold-user", "password": PASSWORD, "next": "//evil.example/x"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_the_session_cookie_is_httponly_and_samesite(app_url):
    cookie = sign_in(app_url, "gold-user").last_sign_in.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie


def test_a_disabled_account_loses_its_session_at_once(app_url, synthetic_dir, app_instance):
    env = app_env(synthetic_dir, app_instance)
    add_user(env, "leaver", "officer")
    session = sign_in(app_url, "leaver")
    assert session.get(app_url + "/_dash-layout", timeout=10).status_code == 200
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "users", "disable", "leaver"],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    assert session.get(app_url + "/_dash-layout", timeout=10).status_code == 401


# --------------------------------------------------------------------------- roles and state


def test_a_gold_user_gets_no_records_even_by_a_direct_post(app_url, signed_in, app_instance):
    session = signed_in("gold-user")
    response = _update(session, app_url, _records_body(_dependencies(session, app_url)))
    assert response.status_code == 403
    assert "officer" in response.json()["message"] and "rowData" not in response.text
    assert audit_rows(app_instance, user="gold-user", action="view records detention", outcome="refused")


def test_an_officer_gets_the_records(app_url, signed_in, app_instance):
    session = signed_in("officer-user")
    response = _update(session, app_url, _records_body(_dependencies(session, app_url)))
    assert response.status_code == 200, response.text
    assert "rowData" in response.text
    row = audit_rows(app_instance, user="officer-user", action="view records detention")[-1]
    assert row["outcome"] == "done" and row["kpi"] == "aa_within_2h_pct" and row["rows"] > 0
    assert row["role"] == "officer" and row["client"] == "127.0.0.1"


def test_a_gold_users_pages_offer_no_records_button(app_url, signed_in):
    session = signed_in("gold-user")
    dependency = find(_dependencies(session, app_url), "_pages_content.children")
    body = body_for(dependency, {0: "/detention", 1: "?force=Dorset"}, changed=[0])
    page = _update(session, app_url, body)
    assert page.status_code == 200
    assert '"children":"Records"' not in page.text.replace(" ", "")
    admin = _update(signed_in("admin-user"), app_url, body)
    assert '"children":"Records"' in admin.text.replace(" ", "")


@pytest.fixture(scope="module")
def two_forces_app(tmp_path_factory):
    """A second app on data of two forces (Dorset, Wessex), with a user limited to Dorset."""
    from data.generate import generate

    root = tmp_path_factory.mktemp("two-forces")
    data_dir = root / "extracts"
    generate(data_dir, forces=2, start="2021-01", end="2022-06")
    env = app_env(data_dir, root / "instance", CPD_RECORDS_PER_MINUTE="12")
    add_user(env, "dorset-officer", "officer", "Dorset")
    add_user(env, "scraper", "officer")
    add_user(env, "all-officer", "officer")
    with running_app(data_dir, env, root / "app.log") as url:
        yield url


@pytest.mark.parametrize(
    "state",
    [
        {**DORSET_STATE, "force": "Wessex"},
        {**DORSET_STATE, "force": None},
        {**DORSET_STATE, "force": ["Wessex", "Dorset"]},
        {"period_from": "2021-04", "period_to": "2022-03"},
    ],
    ids=["other-force", "null-force", "list-force", "no-force"],
)
def test_a_force_limited_user_never_gets_another_forces_rows(two_forces_app, state):
    session = sign_in(two_forces_app, "dorset-officer")
    response = _update(
        session, two_forces_app, _records_body(_dependencies(session, two_forces_app), state=state)
    )
    assert response.status_code == 200, response.text
    assert "Wessex" not in response.text
    assert "Dorset" in response.text


def test_a_force_limited_user_is_held_to_their_force_by_the_url(two_forces_app):
    session = sign_in(two_forces_app, "dorset-officer")
    dependency = find(_dependencies(session, two_forces_app), "filter-state.data")
    body = body_for(dependency, {0: "?force=Wessex&from=2021-04&to=2022-03"}, changed=[0])
    response = _update(session, two_forces_app, body)
    assert response.status_code == 200
    outputs = response.json()["response"]
    assert outputs["filter-state"]["data"]["force"] == "Dorset"
    assert [o["value"] for o in outputs["filter-force"]["options"]] == ["Dorset"]
    assert "Dorset only" in str(outputs["filter-message"]["children"])


def test_an_unlimited_user_may_choose_either_force(two_forces_app):
    session = sign_in(two_forces_app, "all-officer")
    response = _update(
        session,
        two_forces_app,
        _records_body(_dependencies(session, two_forces_app), state={**DORSET_STATE, "force": "Wessex"}),
    )
    assert response.status_code == 200 and "Wessex" in response.text


# --------------------------------------------------------------------------- far months


@pytest.mark.parametrize("months", [("3000-01", "3000-01"), ("9999-11", "9999-12"), ("1900-01", "1900-02")])
def test_far_months_answer_at_once_with_a_message(app_url, signed_in, months):
    import psutil

    session = signed_in("gold-user")
    dependencies = _dependencies(session, app_url)
    server = next(
        p
        for p in psutil.process_iter(["cmdline"])
        if str(app_url.rsplit(":", 1)[1]) in " ".join(p.info["cmdline"] or [])
    )
    before = server.memory_info().rss
    search = f"?from={months[0]}&to={months[1]}&force=Dorset"
    started = time.perf_counter()
    filters = _update(
        session, app_url, body_for(find(dependencies, "filter-state.data"), {0: search}, changed=[0])
    )
    assert filters.status_code == 200
    assert time.perf_counter() - started < 1.0, "the message comes within a second"
    outputs = filters.json()["response"]
    assert "has no data" in str(outputs["filter-message"]["children"])
    state = outputs["filter-state"]["data"]
    crafted = {**DORSET_STATE, "period_from": months[0], "period_to": months[1]}
    # The state as a crafted request would send it, to every callback that reads it.
    for dependency in dependencies:
        slots = [i for i, spec in enumerate(dependency["inputs"]) if spec["id"] == "filter-state"]
        if slots:
            response = _update(session, app_url, body_for(dependency, {slots[0]: crafted}))
            assert response.status_code < 500, (dependency["output"], response.text[:300])
    assert state["period_to"] <= "2023-03"
    assert server.memory_info().rss - before < 200 * 2**20


# --------------------------------------------------------------------------- audit log


def test_the_audit_log_verifies_and_names_an_edited_row(app_url, app_instance, synthetic_dir):
    env = app_env(synthetic_dir, app_instance)
    sign_in(app_url, "gold-user")
    command = [sys.executable, "-m", "flask", "--app", "app", "audit", "verify"]
    ok = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "holds" in ok.stdout
    copy = app_instance.parent / "audit-copy"
    copy.mkdir(exist_ok=True)
    import shutil

    for name in ("audit.sqlite", "audit.sqlite-wal", "audit.sqlite-shm"):
        if (app_instance / name).exists():
            shutil.copy(app_instance / name, copy / name)
    with sqlite3.connect(copy / "audit.sqlite") as db:
        target = db.execute("select id from audit where action = 'sign in' order by id limit 1").fetchone()[0]
        try:
            db.execute("update audit set user = 'someone-else' where id = ?", (target,))
            raise AssertionError("the log let a row be changed")
        except sqlite3.DatabaseError as exc:
            assert "append-only" in str(exc)
        # An attacker with the file drops the trigger first: the chain still tells.
        db.execute("drop trigger audit_no_update")
        db.execute("update audit set user = 'someone-else' where id = ?", (target,))
    broken = subprocess.run(
        command, cwd=REPO_ROOT, env={**env, "CPD_INSTANCE_DIR": str(copy)}, capture_output=True, text=True
    )
    assert broken.returncode == 1
    assert f"row {target}" in broken.stderr and "changed" in broken.stderr


def test_two_gunicorn_workers_write_one_unbroken_audit_log(synthetic_dir, tmp_path):
    instance = tmp_path / "instance"
    env = app_env(synthetic_dir, instance)
    add_user(env, "busy-user", "gold")
    port = _free_port()
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--chdir",
                str(REPO_ROOT),
                "--no-control-socket",
                "-w",
                "2",
                "--threads",
                "4",
                "-b",
                f"127.0.0.1:{port}",
                "app:server",
            ],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(url, process, log_path, timeout=90)
            sessions = [sign_in(url, "busy-user") for _ in range(4)]
            assert all(s.last_sign_in.status_code == 302 for s in sessions)
            pids = set()

            def hammer(session):
                for _ in range(25):
                    session.get(url + "/detention?force=Dorset", timeout=30)

            threads = [threading.Thread(target=hammer, args=(s,)) for s in sessions]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            pids = {p.pid for p in __import__("psutil").Process(process.pid).children()}
            assert len(pids) == 2
            for session in sessions:  # the sign-out form's token is in the navbar of the layout
                layout = session.get(url + "/_dash-layout", timeout=30).text
                objects = (m.group(0) for m in re.finditer(r"\{[^{}]*\}", layout))
                props = next(o for o in objects if "csrf_token" in o)
                token = re.search(r'"value": ?"([^"]+)"', props)
                signed_out = session.post(url + "/logout", data={"csrf_token": token.group(1)}, timeout=30)
                assert signed_out.url.endswith("/login?signed_out=1")
        finally:
            stop(process)
    assert len(audit_rows(instance, user="busy-user", action="sign out")) == 4
    rows = audit_rows(instance, user="busy-user", action="open page")
    assert len(rows) == 100
    from auth import audit

    result = audit.verify(path=instance / "audit.sqlite")
    assert result.ok, result
    assert result.rows >= 108  # 100 page views, 4 sign-ins, 4 sign-outs, the user's creation


def test_records_views_are_limited_per_minute(two_forces_app):
    session = sign_in(two_forces_app, "scraper")
    dependencies = _dependencies(session, two_forces_app)
    statuses = []
    for month in range(1, 16):
        state = {
            **DORSET_STATE,
            "period_from": f"2021-{month % 12 + 1:02d}",
            "period_to": f"2021-{month % 12 + 1:02d}",
        }
        statuses.append(
            _update(session, two_forces_app, _records_body(dependencies, state=state)).status_code
        )
    assert statuses[:12] == [200] * 12
    assert set(statuses[12:]) == {429}
    refused = _update(session, two_forces_app, _records_body(dependencies))
    assert refused.status_code == 429 and "Wait a minute" in refused.json()["message"]


def test_records_need_a_purpose_which_the_audit_row_names(app_url, app_instance):
    session = sign_in(app_url, "officer-user", purpose=None)
    dependencies = _dependencies(session, app_url)
    withheld = _update(session, app_url, _records_body(dependencies))
    assert withheld.status_code == 200
    assert "Choose why" in withheld.text and "rowData" not in withheld.text
    row = audit_rows(app_instance, user="officer-user", action="view records detention")[-1]
    assert row["outcome"] == "refused" and "no purpose" in row["detail"]
    assert "few words" in give_purpose(session, app_url, "Other", "hm").text
    assert (
        "logged as: Other: reviewing a complaint"
        in give_purpose(session, app_url, "Other", "reviewing  a complaint").text
    )
    shown = _update(session, app_url, _records_body(dependencies))
    assert "rowData" in shown.text
    row = audit_rows(app_instance, user="officer-user", action="view records detention")[-1]
    assert row["outcome"] == "done" and row["purpose"] == "Other: reviewing a complaint"


def test_a_purpose_not_on_the_list_is_refused(app_url):
    session = sign_in(app_url, "officer-user", purpose=None)
    response = give_purpose(session, app_url, "Curiosity")
    assert response.status_code == 200 and "from the list" in response.text
    assert "rowData" not in _update(session, app_url, _records_body(_dependencies(session, app_url))).text
