"""The monthly pack as a background job from the overview: its two callbacks and its download route.

Against the running app (``python app.py`` on the synthetic data), as the browser calls them: the
"Build the pack" callback starts a job, the poll callback reports its progress, and
``/export/pack/<job>/<file>`` serves the files to the analyst who built them and to nobody else.
One real pack is built, by an analyst made for these tests (Dorset, Mar 2023, disclosure control
on); the refusals need none. Every step, done or refused, must be a row of the audit log.
"""

from __future__ import annotations

import io
import json
import time

import pytest

from tests.conftest import add_user, app_env, audit_rows, sign_in
from tests.dash_requests import body_for, find

MONTH = "2023-03"
DORSET_STATE = {
    "period_from": "2022-04",
    "period_to": MONTH,
    "force": "Dorset",
    "lpa": None,
    "local_authority": None,
}
START = "overview-pack-job.data"
POLL = "overview-pack-status.children"
OWNER = "pack-job-analyst"
BUILD_TIMEOUT_S = 180  # 16–45 s seen on the shared two-core machine; generous, but polled


def _jobs_of(instance, owner: str) -> list[str]:
    folder = instance / "jobs"
    if not folder.is_dir():
        return []
    ids = []
    for path in folder.iterdir():
        status = path / "status.json"
        if status.is_file() and json.loads(status.read_text())["owner"] == owner:
            ids.append(path.name)
    return ids


@pytest.fixture(scope="module")
def dependencies(signed_in, app_url):
    return signed_in("admin-user").get(app_url + "/_dash-dependencies", timeout=10).json()


def start_body(dependencies, month=MONTH, disclosure=None, state=None, clicks=1) -> dict:
    state = DORSET_STATE if state is None else state
    values = {0: state, 1: month, 2: [] if disclosure is None else disclosure}
    return body_for(find(dependencies, START), {0: clicks}, state_values=values)


def poll_body(dependencies, job_id, ticks=1) -> dict:
    return body_for(find(dependencies, POLL), {0: ticks, 1: job_id}, changed=[0])


def post(session, app_url, body):
    return session.post(app_url + "/_dash-update-component", json=body, timeout=60)


def poll_outputs(response) -> tuple[str, bool]:
    """The poll's answer: the status panel as text (its JSON), and whether polling stops."""
    assert response.status_code == 200, response.text
    outputs = response.json()["response"]
    return json.dumps(outputs["overview-pack-status"]["children"]), outputs["overview-pack-poll"]["disabled"]


@pytest.fixture(scope="module")
def owner(app_url, synthetic_dir, app_instance):
    add_user(app_env(synthetic_dir, app_instance), OWNER, "analyst")
    session = sign_in(app_url, OWNER)
    assert session.last_sign_in.status_code == 302
    return session


@pytest.fixture(scope="module")
def built(owner, app_url, dependencies, app_instance):
    """One pack built as the overview builds it: start, a second click while it runs, poll to the end."""
    started = time.monotonic()
    response = post(owner, app_url, start_body(dependencies, disclosure=["on"]))
    assert response.status_code == 200, response.text
    job_id = response.json()["response"]["overview-pack-job"]["data"]
    again = post(owner, app_url, start_body(dependencies, clicks=2))
    assert again.status_code == 200, again.text
    second = again.json()["response"]["overview-pack-job"]["data"]
    seen = []
    deadline = time.monotonic() + BUILD_TIMEOUT_S
    while True:
        panel, stopped = poll_outputs(post(owner, app_url, poll_body(dependencies, job_id, len(seen) + 1)))
        seen.append(panel)
        if stopped:
            break
        assert time.monotonic() < deadline, f"the pack was not built in {BUILD_TIMEOUT_S} s: {panel[-300:]}"
        time.sleep(0.5)
    status = json.loads((app_instance / "jobs" / job_id / "status.json").read_text())
    return {
        "id": job_id,
        "second": second,
        "panels": seen,
        "status": status,
        "seconds": time.monotonic() - started,
    }


# --------------------------------------------------------------------------- the build


def test_the_progress_hook_reports_every_step_in_order_without_pictures(synthetic_dir):
    """In-process, the plan alone: one report before each step, the total fixed from the start."""
    from exports import pack as pack_module
    from queries.kpis import Filters, catalog

    store = pack_module.open_store(synthetic_dir)
    reports = []
    pack_module.plan_pack(store, MONTH, Filters("Dorset"), progress=lambda *r: reports.append(r))
    areas, _pictures = pack_module.pack_steps(store)
    total = pack_module.PLAN_STEPS + len(areas)
    assert [done for done, _total, _message in reports] == list(range(total))
    assert {t for _done, t, _message in reports} == {total}
    messages = [message for _done, _total, message in reports]
    assert messages[:3] == [
        "Reading every KPI's monthly history",
        "Finding Mar 2023's exceptions",
        "The KPI matrix",
    ]
    assert messages[3 : 3 + len(areas)] == [f"Key trends: {catalog().areas[a]}" for a in areas]
    assert messages[-3:] == ["The recommendation tracker", "Definitions", "Data-quality notes"]


def test_the_job_runs_to_the_end_and_its_bar_never_goes_back(built, synthetic_dir):
    from exports import pack as pack_module

    status = built["status"]
    assert status["state"] == "done", status["message"]
    assert status["kind"] == "pack" and status["owner"] == OWNER
    assert status["label"] == "Pack for Dorset, Mar 2023, disclosure controlled"
    assert status["files"] == ["pack-dorset-2023-03.pptx", "pack-dorset-2023-03.pdf"]
    assert status["detail"] == {
        "month": MONTH,
        "disclosure": True,
        "filters": "?from=2022-04&to=2023-03&force=Dorset",
    }
    areas, pictures = pack_module.pack_steps(pack_module.open_store(synthetic_dir))
    assert (
        status["done"]
        == status["total"]
        == pack_module.PLAN_STEPS + len(areas) + 1 + pictures + pack_module.PDF_STEPS
    )
    # A second click while it was being built showed the same job rather than start another.
    assert built["second"] == built["id"]
    # The page saw the bar move: running panels with a step, then the downloads.
    shares = []
    for panel in built["panels"][:-1]:
        assert "being built" in panel and "progressbar" in panel
        shares.append(int(panel.split('"aria-valuenow": "', 1)[1].split('"', 1)[0]))
    assert shares == sorted(shares)
    assert "Download the PowerPoint" in built["panels"][-1] and "Download the PDF" in built["panels"][-1]
    print(f"pack job built in {status['seconds']} s (request to done {built['seconds']:.1f} s)")


def test_the_analyst_downloads_both_files(built, owner, app_url, app_instance):
    from pptx import Presentation
    from pypdf import PdfReader

    before = len(audit_rows(app_instance, "export pack download", OWNER))
    pptx = owner.get(f"{app_url}/export/pack/{built['id']}/pack-dorset-2023-03.pptx", timeout=60)
    assert pptx.status_code == 200, pptx.text
    assert pptx.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.presentationml"
    )
    assert "pack-dorset-2023-03.pptx" in pptx.headers["Content-Disposition"]
    assert pptx.headers["Cache-Control"] == "no-store"
    deck = Presentation(io.BytesIO(pptx.content))
    pdf = owner.get(f"{app_url}/export/pack/{built['id']}/pack-dorset-2023-03.pdf", timeout=60)
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.content))
    assert len(reader.pages) == len(deck.slides)
    assert "Disclosure control applied" in reader.pages[0].extract_text()
    rows = audit_rows(app_instance, "export pack download", OWNER)[before:]
    assert [r["outcome"] for r in rows] == ["done", "done"]
    assert rows[0]["filters"] == "?from=2022-04&to=2023-03&force=Dorset" and rows[0]["role"] == "analyst"
    assert json.loads(rows[1]["detail"])["file"] == "pack-dorset-2023-03.pdf"


def test_opening_the_page_again_shows_the_users_newest_pack(built, owner, app_url, dependencies):
    panel, stopped = poll_outputs(post(owner, app_url, poll_body(dependencies, None)))
    assert stopped and f"/export/pack/{built['id']}/pack-dorset-2023-03.pdf" in panel


def test_every_step_is_a_row_of_the_audit_log(built, app_instance):
    started = audit_rows(app_instance, "export pack", OWNER)
    assert [r["outcome"] for r in started] == ["done", "done"]  # the build, and the second click
    first = json.loads(started[0]["detail"])
    assert first["job"] == built["id"] and first["month"] == MONTH and first["disclosure"] is True
    assert started[0]["filters"] == "?from=2022-04&to=2023-03&force=Dorset"
    assert "still being built" in json.loads(started[1]["detail"])["reason"]
    polls = audit_rows(app_instance, "check pack progress", OWNER)
    assert len(polls) >= len(built["panels"])
    assert all(json.loads(r["detail"])["job"] == built["id"] for r in polls)
    (job,) = audit_rows(app_instance, "export pack job", OWNER)
    detail = json.loads(job["detail"])
    assert job["outcome"] == "done" and detail["job"] == built["id"] and detail["pages"] > 20
    assert len(detail["pack_id"]) == 8 and set(detail["seconds"]) >= {"pictures", "pdf", "total"}


# --------------------------------------------------------------------------- refusals


def test_another_analyst_cannot_see_or_download_the_pack(
    built, signed_in, app_url, dependencies, app_instance
):
    other = signed_in("analyst-user")
    before = len(audit_rows(app_instance, "export pack download", "analyst-user"))
    for name in ("pack-dorset-2023-03.pdf", "pack-dorset-2023-03.pptx"):
        response = other.get(f"{app_url}/export/pack/{built['id']}/{name}", timeout=30)
        assert response.status_code == 404
        assert "only for the analyst who built it" in response.text
    rows = audit_rows(app_instance, "export pack download", "analyst-user")[before:]
    assert [r["outcome"] for r in rows] == ["refused", "refused"]
    # The poll answers as for a job that does not exist: nothing of the pack is told.
    panel, stopped = poll_outputs(post(other, app_url, poll_body(dependencies, built["id"])))
    assert stopped and "no longer kept" in panel and "Dorset" not in panel


@pytest.mark.parametrize(
    "path",
    [
        "/export/pack/AAAAAAAAAAAAAAAAAAAAAAAA/pack-dorset-2023-03.pdf",  # a made-up job
        "/export/pack/not-a-job/pack-dorset-2023-03.pdf",
        "/export/pack/{job}/pack-dorset-2023-02.pdf",  # a file the job did not write
        "/export/pack/{job}/status.json",
        "/export/pack/{job}/pack-dorset-2023-03",
    ],
)
def test_a_made_up_job_or_file_is_404_and_audited(built, owner, app_url, app_instance, path):
    before = len(audit_rows(app_instance, "export pack download", OWNER))
    response = owner.get(app_url + path.format(job=built["id"]), timeout=30)
    assert response.status_code == 404, response.text
    rows = audit_rows(app_instance, "export pack download", OWNER)[before:]
    assert [r["outcome"] for r in rows] == ["refused"]


def test_gold_is_refused_the_callbacks_and_the_route(built, signed_in, app_url, dependencies, app_instance):
    gold = signed_in("gold-user")
    jobs_before = _jobs_of(app_instance, "gold-user")
    response = post(gold, app_url, start_body(dependencies))
    assert response.status_code == 403 and "analyst" in response.text
    assert post(gold, app_url, poll_body(dependencies, built["id"])).status_code == 403
    download = gold.get(f"{app_url}/export/pack/{built['id']}/pack-dorset-2023-03.pdf", timeout=30)
    assert download.status_code == 403
    assert _jobs_of(app_instance, "gold-user") == jobs_before
    for action in ("export pack", "check pack progress", "export pack download"):
        assert audit_rows(app_instance, action, "gold-user")[-1]["outcome"] == "refused", action


@pytest.mark.parametrize(
    ("month", "says"),
    [
        ("2031-01", "Jan 2031 is outside Dorset's data, which covers Apr 2020 – Mar 2023"),
        ("2019-12", "Dec 2019 is outside Dorset's data"),
        ("2023-13", "No pack:"),
        ("March", "No pack:"),
        ("", "choose a month"),
        (None, "choose a month"),
        (202303, "choose a month"),
    ],
)
def test_a_month_outside_the_data_gets_a_message_and_no_job(
    signed_in, app_url, dependencies, app_instance, month, says
):
    analyst = signed_in("analyst-user")
    jobs_before = _jobs_of(app_instance, "analyst-user")
    response = post(analyst, app_url, start_body(dependencies, month=month))
    assert response.status_code == 400
    assert says in response.json()["message"]
    assert _jobs_of(app_instance, "analyst-user") == jobs_before
    row = audit_rows(app_instance, "export pack", "analyst-user")[-1]
    assert row["outcome"] == "refused" and says in json.loads(row["detail"])["reason"]


def test_the_browsers_force_is_never_trusted(app_url, synthetic_dir, app_instance, dependencies):
    """A Wessex-limited analyst asking for Dorset's pack gets no job (their force has no data here)."""
    add_user(app_env(synthetic_dir, app_instance), "wessex-pack-analyst", "analyst", "Wessex")
    session = sign_in(app_url, "wessex-pack-analyst")
    response = post(session, app_url, start_body(dependencies))
    assert response.status_code == 400
    assert _jobs_of(app_instance, "wessex-pack-analyst") == []


def test_a_crafted_disclosure_value_is_refused(signed_in, app_url, dependencies, app_instance):
    analyst = signed_in("analyst-user")
    response = post(analyst, app_url, start_body(dependencies, disclosure=["yes please"]))
    assert response.status_code == 400 and "disclosure control" in response.json()["message"]
    assert _jobs_of(app_instance, "analyst-user") == []


# --------------------------------------------------------------------------- in-process


def test_the_panel_says_each_state_in_words(as_user):
    """The status view (pure): bar and step while running, the downloads once done, why not otherwise."""
    import app  # noqa: F401  (the pages register with the app)
    from pages import overview

    with as_user("analyst"):
        running = overview.pack_status_view(
            {
                "id": "j" * 24,
                "state": "running",
                "done": 13,
                "total": 41,
                "label": "Pack for Dorset, Mar 2023",
                "message": "Drawing the pictures for the PDF: 1 of 21 (THRIVE completion)",
            }
        )
        text = json.dumps([c.to_plotly_json() for c in running], default=str)
        assert '"aria-valuenow": "32"' in text and '"aria-label": "Pack built so far"' in text
        assert "Drawing the pictures for the PDF: 1 of 21" in text and "being built" in text
        done = overview.pack_status_view(
            {
                "id": "j" * 24,
                "state": "done",
                "done": 41,
                "total": 41,
                "label": "Pack for Dorset, Mar 2023",
                "files": ["pack-dorset-2023-03.pptx", "pack-dorset-2023-03.pdf"],
                "seconds": 21.4,
            }
        )
        text = json.dumps([c.to_plotly_json() for c in done], default=str)
        assert "built in 21 s" in text and f"/export/pack/{'j' * 24}/pack-dorset-2023-03.pdf" in text
        for state, colour in (("failed", "danger"), ("interrupted", "warning")):
            (alert,) = overview.pack_status_view(
                {"id": "j" * 24, "state": state, "label": "Pack for Dorset, Mar 2023", "message": "Why."}
            )
            assert alert.color == colour and "not built" in json.dumps(alert.to_plotly_json(), default=str)


def test_a_pack_whose_pictures_cannot_be_drawn_fails_with_a_sentence_and_an_audit_row(
    synthetic_dir, monkeypatch, tmp_path
):
    import app  # noqa: F401
    from auth import Principal, audit
    from exports import pack as pack_module
    from exports.routes import RenderError
    from pages import overview
    from queries.kpis import Filters
    from ui.jobs import JobFailed

    store = pack_module.open_store(synthetic_dir)
    selection = pack_module.select(store, MONTH, Filters("Dorset"))

    def no_browser(*args, **kwargs):
        raise RenderError("the chart renderer (headless chromium) could not start: no chromium")

    monkeypatch.setattr(overview, "build_pack", no_browser)
    work = overview._pack_work(
        selection, disclosure=False, principal=Principal("ana", "analyst", None, "local")
    )

    class Progress:  # what the job's work uses of ui.jobs.Progress
        folder = tmp_path

        def report(self, done, total=None, message=None):
            pass

    with pytest.raises(JobFailed, match=r"could not start: no chromium\. Try again in a minute\."):
        work(Progress())
    (row,) = [r for r in audit.search(audit.Query(action="export pack job")) if r["user"] == "ana"]
    assert row["outcome"] == "failed" and "no chromium" in json.loads(row["detail"])["reason"]
    assert row["filters"] == "?from=2022-04&to=2023-03&force=Dorset"
