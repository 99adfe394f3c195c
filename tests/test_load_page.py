"""The Load data page: an analyst uploads an extract, sees the dry run's summary, confirms, and the
charts show the new rows; anyone else is refused, and a file that lies about itself changes nothing.

Every test talks to a real ``python app.py`` on a data folder of this module's own (loads change
data: the session's shared synthetic folder must stay as the other tests expect it).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import requests

from data import ingest, storage
from tests.conftest import add_user, app_env, browser_sign_in, headless_chromium, running_app, sign_in
from tests.dash_requests import body_for, find
from tests.test_accessibility import format_violations, run_axe

TABLE = "police_protection"
MONTH = "2023-03"  # the synthetic data's last month: Dorset has 3 police protections in it
UPLOAD = "/load-data/upload"
LIMIT_MB = 2  # the app's upload limit here, so that "too large" needs only a few MB
ACCOUNTS = {"load-analyst": "analyst", "load-officer": "officer", "load-gold": "gold"}
TREND_ID = '{"area":"decision_making","kpi":"police_protection_count","type":"area-trend"}'


@pytest.fixture(scope="module")
def load_app(tmp_path_factory):
    """The app on a synthetic data folder of its own, with one account per role it needs."""
    from data.generate import generate

    root = tmp_path_factory.mktemp("load-page")
    data_dir, instance = root / "extracts", root / "instance"
    generate(data_dir)
    env = app_env(data_dir, instance, CPD_UPLOAD_MAX_MB=str(LIMIT_MB))
    for name, role in ACCOUNTS.items():
        add_user(env, name, role)
    with running_app(data_dir, env, root / "app.log") as url:
        yield {"url": url, "data": data_dir, "instance": instance, "root": root}


@pytest.fixture(scope="module")
def analyst(load_app):
    session = sign_in(load_app["url"], "load-analyst")
    assert session.last_sign_in.status_code == 302
    return session


def table_digest(data_dir: Path, table: str = TABLE) -> str:
    """The sha256 of every file of the table (its versions, its current pointer), names included."""
    digest = hashlib.sha256()
    folder = storage.table_dir(data_dir, table)
    for path in sorted(p for p in folder.rglob("*") if p.is_file() or p.is_symlink()):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(str(path.readlink()).encode() if path.is_symlink() else path.read_bytes())
    return digest.hexdigest()


def current_rows(data_dir: Path, table: str = TABLE) -> pd.DataFrame:
    files = storage.list_data_files(data_dir, table)
    return pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)


def refresh_file(data_dir: Path, path: Path) -> Path:
    """A monthly refresh of MONTH: its rows less the first, plus two new ones (2 added, 1 removed)."""
    rows = current_rows(data_dir)
    month = rows[rows["invoked_at"].dt.strftime("%Y-%m") == MONTH].sort_values("pp_id").reset_index(drop=True)
    assert len(month) == 3
    new = month.iloc[[0, 1]].copy()
    new["pp_id"] = ["PP-LOAD-TEST-1", "PP-LOAD-TEST-2"]
    new["invoked_at"] = pd.to_datetime(["2023-03-20 10:00:00", "2023-03-21 11:30:00"]).astype(
        "datetime64[ms]"
    )
    pd.concat([month.iloc[1:], new]).to_csv(path, index=False)
    return path


def upload(session, base: str, path: Path, table: str = TABLE, name: str | None = None, **params):
    query = {"table": table, "mode": "refresh", "name": name or path.name, **params}
    headers = {"X-Load-Data": "1", "Content-Type": "application/octet-stream"}
    return session.post(base + UPLOAD, params=query, data=path.read_bytes(), headers=headers, timeout=60)


def wait_for_job(instance: Path, job_id: str, *, until=lambda s: s["state"] != "running", timeout=60) -> dict:
    """The job's status file, read as any worker reads it, once ``until`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            status = json.loads((instance / "jobs" / job_id / "status.json").read_text())
            if until(status):
                return status
        except (OSError, ValueError):
            pass
        assert time.monotonic() < deadline, f"job {job_id} still running"
        time.sleep(0.1)


def dependencies(session, base: str) -> list[dict]:
    response = session.get(base + "/_dash-dependencies", timeout=10)
    assert response.status_code == 200
    return response.json()


def callback_reading(deps: list[dict], component: str) -> dict:
    matches = [d for d in deps if any(i["id"] == component for i in d["inputs"])]
    assert len(matches) == 1, matches
    return matches[0]


def poll_body(deps: list[dict], job_id: str) -> dict:
    dependency = find(deps, "load-data-progress.children")
    return body_for(dependency, {0: {"job": job_id}}, changed=[0])


# --------------------------------------------------------------------------- who may


def test_the_route_and_the_callbacks_refuse_anyone_but_an_analyst(load_app, tmp_path):
    base, data_dir = load_app["url"], load_app["data"]
    before = table_digest(data_dir)
    extract = refresh_file(data_dir, tmp_path / "march.csv")
    anonymous = requests.Session()
    assert upload(anonymous, base, extract).status_code == 401
    deps = dependencies(sign_in(base, "load-analyst"), base)
    confirm = callback_reading(deps, "load-data-confirm")
    for name in ("load-officer", "load-gold"):
        session = sign_in(base, name)
        refused = upload(session, base, extract)
        assert refused.status_code == 403, refused.text
        assert "analyst" in refused.json()["message"]
        # A crafted POST of the page's callbacks, as the browser would send them.
        body = body_for(confirm, {0: 1}, state_values={0: {"job": "A" * 24}})
        assert session.post(base + "/_dash-update-component", json=body, timeout=10).status_code == 403
        polled = session.post(base + "/_dash-update-component", json=poll_body(deps, "A" * 24), timeout=10)
        assert polled.status_code == 403
        assert "Load data" not in session.get(base + "/_dash-layout", timeout=10).text  # not in their menu
    with sqlite3.connect(load_app["instance"] / "audit.sqlite") as db:
        refusals = db.execute(
            "select user from audit where action = 'load data dry run' and outcome = 'refused'"
        ).fetchall()
    assert {("load-officer",), ("load-gold",)} <= set(refusals)
    # Without the page's header (a form posted from another site cannot send one): refused too.
    analyst = sign_in(base, "load-analyst")
    bare = analyst.post(base + UPLOAD, params={"table": TABLE, "name": "a.csv"}, data=b"x", timeout=10)
    assert bare.status_code == 400
    assert table_digest(data_dir) == before


# --------------------------------------------------------------------------- hostile files


def _binary_csv(path: Path) -> Path:
    path.write_bytes(bytes(range(256)) * 64)
    return path


def _fake_xlsx(path: Path) -> Path:
    path.write_text("pp_id,force\nPP-1,Dorset\n")  # text, not a zip
    return path


def _huge_csv(path: Path) -> Path:
    line = "PP-X,C-X,Dorset,West,2023-03-01 10:00:00,,true,,false\n"
    path.write_text(
        "pp_id,child_id,force,lpa,invoked_at,ended_at,ppn_submitted,strategy_discussion_at,template_used\n"
    )
    with path.open("a") as fh:
        fh.write(line * (LIMIT_MB * 1_000_000 // len(line) + 100))
    return path


HOSTILE = {
    # file name, how it is made, the table chosen, words the refusal must hold
    "binary.csv": (_binary_csv, TABLE, "is not valid UTF-8"),
    "not-a-zip.xlsx": (_fake_xlsx, TABLE, "cannot be read as an XLSX workbook"),
    "wrong-table.csv": (None, "case_audits", "is missing required columns"),
    "huge.csv": (_huge_csv, TABLE, "larger than 2.0 MB"),
    "program.exe": (_binary_csv, TABLE, "unsupported file type"),
    "no-such-table.csv": (None, "children; drop table x", "Unknown table"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_a_file_that_lies_about_itself_is_refused_and_the_table_is_unchanged(
    load_app, analyst, tmp_path, name
):
    base, data_dir, instance = load_app["url"], load_app["data"], load_app["instance"]
    make, table, words = HOSTILE[name]
    path = make(tmp_path / name) if make else refresh_file(data_dir, tmp_path / name)
    before, before_case_audits = table_digest(data_dir), table_digest(data_dir, "case_audits")
    response = upload(analyst, base, path, table=table)
    assert response.status_code < 500, response.text
    answer = response.json()
    if answer.get("job"):  # refused by the check: the job says why, and so does the page
        status = wait_for_job(instance, answer["job"])
        assert status["state"] == "failed" and words in status["message"], status
        polled = analyst.post(
            base + "/_dash-update-component", json=poll_body(dependencies(analyst, base), answer["job"])
        )
        assert polled.status_code == 200 and words in polled.text
        assert not [
            p.name for p in (instance / "jobs" / answer["job"]).iterdir() if p.name.startswith("upload")
        ]
    else:  # refused before the file was kept
        assert response.status_code in (400, 413) and words in answer["message"], answer
    assert table_digest(data_dir) == before
    assert table_digest(data_dir, "case_audits") == before_case_audits


def test_a_refusal_names_the_file_the_row_and_the_column(load_app, analyst, tmp_path):
    base, data_dir, instance = load_app["url"], load_app["data"], load_app["instance"]
    path = refresh_file(data_dir, tmp_path / "march-bad.csv")
    text = path.read_text().splitlines()
    text[2] = re.sub(r"2023-03-(\d\d)", r"\1/03/2023", text[2], count=1)  # data row 2: a UK date
    path.write_text("\n".join(text) + "\n")
    before = table_digest(data_dir)
    job_id = upload(analyst, base, path).json()["job"]
    status = wait_for_job(instance, job_id)
    assert status["state"] == "failed" and "1 problem in 1 row" in status["message"]
    polled = analyst.post(
        base + "/_dash-update-component", json=poll_body(dependencies(analyst, base), job_id)
    )
    assert "march-bad.csv row 2, column invoked_at" in polled.text
    # The command line's flag is named as the page's control that does the same.
    assert 'the \\"Date format\\" choice' in polled.text and "--date-format" not in polled.text
    assert table_digest(data_dir) == before


def test_a_workbook_of_several_sheets_asks_which_and_cancel_ends_the_check(load_app, analyst, tmp_path):
    base, data_dir, instance = load_app["url"], load_app["data"], load_app["instance"]
    rows = pd.read_csv(refresh_file(data_dir, tmp_path / "rows.csv"))
    for column in ("invoked_at", "ended_at", "strategy_discussion_at"):
        rows[column] = pd.to_datetime(rows[column])
    workbook = tmp_path / "march.xlsx"
    with pd.ExcelWriter(workbook, engine="openpyxl") as writer:
        pd.DataFrame({"note": ["Dorset's March refresh"]}).to_excel(writer, sheet_name="Notes", index=False)
        rows.to_excel(writer, sheet_name="Data", index=False)
    before = table_digest(data_dir)
    deps = dependencies(analyst, base)

    asked = upload(analyst, base, workbook).json()["job"]
    status = wait_for_job(instance, asked)
    assert (
        status["state"] == "failed"
        and "has 2 sheets ('Notes', 'Data'): choose the one to load" in status["message"]
    )
    polled = analyst.post(base + "/_dash-update-component", json=poll_body(deps, asked)).json()["response"]
    assert polled["load-data-sheet"]["options"] == [{"label": s, "value": s} for s in ("Notes", "Data")]
    assert polled["load-data-sheet-box"]["className"] == ""  # the sheet choice is shown

    checked = upload(analyst, base, workbook, sheet="Data").json()["job"]
    status = wait_for_job(instance, checked, until=lambda s: s["state"] != "running" or s["done"] == 3)
    assert status["state"] == "running" and status["message"] == "Checked: confirm to load it, or cancel"
    polled = analyst.post(base + "/_dash-update-component", json=poll_body(deps, checked))
    assert "2 added, 2 replaced, 1 removed" in polled.text
    assert polled.json()["response"]["load-data-actions"]["className"] == "mb-3"  # Confirm is offered
    cancel = body_for(callback_reading(deps, "load-data-cancel"), {0: 1}, state_values={0: {"job": checked}})
    assert analyst.post(base + "/_dash-update-component", json=cancel).status_code == 200
    status = wait_for_job(instance, checked)
    assert (status["state"], status["message"]) == ("failed", "Cancelled: nothing was loaded.")
    assert not list((instance / "jobs" / checked).glob("upload*"))
    assert table_digest(data_dir) == before


def test_under_two_gunicorn_workers_any_worker_answers_the_poll_and_the_confirm(tmp_path):
    """The check runs on the worker that took the upload; the polls and Confirm land on either."""
    import subprocess
    import sys

    from data.generate import generate
    from tests.conftest import REPO_ROOT, _free_port, stop, wait_until_serving

    data_dir, instance = tmp_path / "extracts", tmp_path / "instance"
    generate(data_dir)
    env = app_env(data_dir, instance)
    add_user(env, "two-worker-analyst", "analyst")
    extract = refresh_file(data_dir, tmp_path / "march.csv")
    port, log_path = _free_port(), tmp_path / "gunicorn.log"
    command = [sys.executable, "-m", "gunicorn", "--chdir", str(REPO_ROOT), "--no-control-socket"]
    command += ["-w", "2", "--threads", "2", "-b", f"127.0.0.1:{port}", "app:server"]
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(url, process, log_path, timeout=90)
            session = sign_in(url, "two-worker-analyst")
            session.headers["Connection"] = "close"  # each request a new connection: either worker
            deps = dependencies(session, url)
            job_id = upload(session, url, extract).json()["job"]
            for _ in range(20):  # polls as the page sends them, spread over both workers
                polled = session.post(
                    url + "/_dash-update-component", json=poll_body(deps, job_id), timeout=30
                )
                assert polled.status_code in (200, 204), polled.text
                if "Nothing has been loaded yet" in polled.text:
                    break
                time.sleep(0.2)
            assert "2 added, 2 replaced, 1 removed" in polled.text
            confirm = body_for(
                callback_reading(deps, "load-data-confirm"), {0: 1}, state_values={0: {"job": job_id}}
            )
            assert session.post(url + "/_dash-update-component", json=confirm, timeout=30).status_code == 200
            status = wait_for_job(instance, job_id)
            assert status["state"] == "done", status
            assert len({p.pid for p in __import__("psutil").Process(process.pid).children()}) == 2
        finally:
            stop(process)
    (entry,) = storage.read_ingest_log(data_dir)
    assert (entry["user"], entry["status"]) == ("two-worker-analyst", "loaded")


def test_a_file_left_by_a_killed_load_is_deleted_by_the_next_upload(load_app, analyst, tmp_path):
    base, data_dir, instance = load_app["url"], load_app["data"], load_app["instance"]
    dead = instance / "jobs" / ("K" * 24)  # a check whose worker was killed (kill -9): no beat since
    dead.mkdir(parents=True)
    status = {
        "id": dead.name,
        "kind": "load",
        "owner": "someone",
        "state": "running",
        "beat": time.time() - 3600,
    }
    (dead / "status.json").write_text(json.dumps(status))
    (dead / "upload.csv").write_text("pp_id,child_id\nPP-1,C-1\n")
    job_id = upload(analyst, base, refresh_file(data_dir, tmp_path / "march.csv")).json()["job"]
    assert not (dead / "upload.csv").exists()
    wait_for_job(instance, job_id, until=lambda s: s["state"] != "running" or s["done"] == 3)
    cancel = body_for(
        callback_reading(dependencies(analyst, base), "load-data-cancel"),
        {0: 1},
        state_values={0: {"job": job_id}},
    )
    assert analyst.post(base + "/_dash-update-component", json=cancel).status_code == 200
    assert wait_for_job(instance, job_id)["state"] == "failed"


# --------------------------------------------------------------------------- the page in a browser


def text_once(driver, selector: str, holding: str, timeout: float = 60) -> str:
    """The text of the element at ``selector`` once it holds ``holding`` (Dash may redraw it meanwhile)."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout
    while True:
        try:
            text = driver.find_element(By.CSS_SELECTOR, selector).text
            if holding in text:
                return text
        except (NoSuchElementException, StaleElementReferenceException):
            text = None
        assert time.monotonic() < deadline, f"{selector} never held {holding!r} (last: {text!r})"
        time.sleep(0.2)


def _trend_points(driver) -> dict[str, float]:
    """The trend chart's values (its one lines-and-markers series) as month → value, once drawn."""
    script = """
    const box = document.getElementById(arguments[0]);
    const plot = box && (box.matches('.js-plotly-plot') ? box : box.querySelector('.js-plotly-plot'));
    if (!plot || !plot.data) { if (box) box.scrollIntoView({block: 'center'}); return null; }
    return plot.data.filter(t => t.mode === 'lines+markers' && t.x && t.y).map(t => [t.x, t.y]);
    """
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        traces = driver.execute_script(script, TREND_ID)
        if traces:
            x, y = max(traces, key=lambda t: len(t[0]))
            return {str(month)[:7]: value for month, value in zip(x, y, strict=True)}
        time.sleep(0.3)
    raise AssertionError("the police protection trend was not drawn")


def test_an_analyst_loads_a_csv_through_the_page_and_the_chart_shows_it(load_app, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    base, data_dir, instance = load_app["url"], load_app["data"], load_app["instance"]
    extract = refresh_file(data_dir, tmp_path / "march-refresh.csv")
    others = current_rows(data_dir)
    others = others[others["invoked_at"].dt.strftime("%Y-%m") != MONTH].sort_values("pp_id")
    with sqlite3.connect(instance / "audit.sqlite") as db:
        (first_audit_id,) = db.execute("select coalesce(max(id), 0) from audit").fetchone()
    driver = headless_chromium()
    try:
        driver.set_page_load_timeout(60)
        browser_sign_in(driver, base, "load-analyst")
        area = f"{base}/decision-making?from=2022-04&to={MONTH}&force=Dorset"
        driver.get(area)
        assert _trend_points(driver)[MONTH] == 3
        driver.get_log("browser")

        before = table_digest(data_dir)
        driver.get(base + "/load-data")
        wait = WebDriverWait(driver, 60)
        Select(wait.until(lambda d: d.find_element(By.ID, "load-data-table"))).select_by_value(TABLE)
        driver.find_element(By.CSS_SELECTOR, "#load-data-upload input[type=file]").send_keys(str(extract))
        check = text_once(driver, ".load-data-check", "Nothing has been loaded yet")
        assert "Dry run: nothing written. Would load 4 rows into police_protection" in check
        assert "2 added, 2 replaced, 1 removed" in check
        file_input = driver.find_element(By.CSS_SELECTOR, "#load-data-upload input[type=file]")
        assert file_input.get_attribute("id") == "load-data-file"  # its label's "for"
        assert driver.execute_script("return arguments[0].tabIndex", file_input) >= 0  # Tab reaches it
        ring = "arguments[0].focus(); return getComputedStyle(arguments[0].parentElement).outlineStyle"
        assert driver.execute_script(ring, file_input) == "solid"  # and sees where it is
        violations = [v for v in run_axe(driver) if v["impact"] in ("serious", "critical")]
        assert violations == [], format_violations(violations, "/load-data")
        changes = driver.find_element(By.CSS_SELECTOR, ".load-data-changes").text
        assert "Dorset Mar 2023 3 4 2 2 1" in changes.replace("\n", " ")
        assert table_digest(data_dir) == before  # the dry run wrote nothing
        assert storage.read_ingest_log(data_dir) == []

        # The check waits on the server: a page opened again (or another worker) shows it again.
        driver.refresh()
        check = text_once(driver, ".load-data-check", "Nothing has been loaded yet")
        assert "2 added, 2 replaced, 1 removed" in check
        confirm = driver.find_element(By.ID, "load-data-confirm")
        # "instant": Bootstrap scrolls smoothly, and a click while the page moves misses.
        driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", confirm)
        confirm.click()
        result = text_once(driver, ".load-data-result", "Loaded")
        assert "Loaded 4 rows into police_protection from 1 file" in result
        assert "Monthly refresh of 1 month for 1 force (2 added, 2 replaced, 1 removed)" in result
        assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
        driver.find_element(By.LINK_TEXT, "the ingest history on the Data quality page").click()
        history = text_once(driver, ".ingest-history", "Loaded 4 rows as version")
        assert "march-refresh.csv" in history

        driver.get(area)
        assert _trend_points(driver)[MONTH] == 4
    finally:
        driver.quit()

    # The log names the signed-in user and the file they chose, not a server path.
    (entry,) = storage.read_ingest_log(data_dir)
    assert (entry["user"], entry["status"], entry["files"], entry["role"]) == (
        "load-analyst",
        "loaded",
        ["march-refresh.csv"],
        "analyst",
    )
    # The audit log has the upload, the check, the confirmation and the load itself, all theirs.
    with sqlite3.connect(instance / "audit.sqlite") as db:
        actions = db.execute(
            "select action, outcome, user from audit where id > ? and (action like 'load data%' or "
            "action like 'ingest %') and action != 'load data progress' order by id",
            (first_audit_id,),
        ).fetchall()
    assert actions == [
        ("load data dry run", "done", "load-analyst"),
        ("load data check", "done", "load-analyst"),
        ("load data", "done", "load-analyst"),
        (f"ingest {TABLE}", "done", "load-analyst"),
    ], actions
    # Every other month is as it was; the uploaded file is gone with its job.
    after = current_rows(data_dir)
    kept = after[after["invoked_at"].dt.strftime("%Y-%m") != MONTH].sort_values("pp_id")
    pd.testing.assert_frame_equal(kept.reset_index(drop=True), others.reset_index(drop=True))
    assert not list((instance / "jobs").glob("*/upload*"))


# --------------------------------------------------------------------------- the API the page calls


def test_ingest_reports_progress_names_the_upload_and_refuses_a_table_changed_since_its_check(tmp_path):
    from data.generate import generate

    data_dir = tmp_path / "extracts"
    generate(data_dir)
    extract = refresh_file(data_dir, tmp_path / "upload.csv")
    steps: list[tuple[int, int, str]] = []
    kept_as = ["march (from the browser).csv"]
    checked = ingest.ingest(
        data_dir, TABLE, [extract], dry_run=True, labels=kept_as, progress=lambda *s: steps.append(s)
    )
    assert [s[:2] for s in steps] == [(0, 3), (1, 3), (2, 3)] and checked.files == kept_as
    assert "Checking 4 rows" in steps[1][2]
    ingest.ingest(data_dir, TABLE, [extract], user="someone-else", keep=None)  # lands in between
    before = table_digest(data_dir)
    with pytest.raises(ingest.IngestError, match="the table changed after these files were checked"):
        ingest.ingest(data_dir, TABLE, [extract], user="ana", expect_version=checked.previous_version)
    assert table_digest(data_dir) == before
    steps.clear()
    loaded = ingest.ingest(
        data_dir,
        TABLE,
        [extract],
        user="ana",
        role="analyst",
        labels=kept_as,
        progress=lambda *s: steps.append(s),
        expect_version=storage.current_version(data_dir, TABLE),
    )
    assert [s[:2] for s in steps] == [(0, 5), (1, 5), (2, 5), (3, 5), (4, 5)]
    entry = storage.read_ingest_log(data_dir)[-1]
    assert (entry["user"], entry["role"], entry["files"], entry["version"]) == (
        "ana",
        "analyst",
        kept_as,
        loaded.version,
    )
