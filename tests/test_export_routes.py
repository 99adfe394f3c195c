"""The export routes over HTTP, against the running app (``python app.py`` on the synthetic data).

Who may export what, the file names, what a force-limited user gets, the refusals of a
malformed request, and an audit row for every export, done or refused.
"""

from __future__ import annotations

import csv
import io
import struct

import pytest
import requests

from tests.conftest import add_user, app_env, audit_rows, sign_in

AREA = "initial_contact"
TREND = f"/export/chart/{AREA}/trend-thrive_completion_pct"
BY_LPA = f"/export/chart/{AREA}/breakdown-0"
RECORDS = f"/export/records/{AREA}/thrive_completion_pct"
DORSET = "?from=2021-04&to=2022-03&force=Dorset"


def _filename(response) -> str:
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    return disposition.split('filename="', 1)[1].rstrip('"')


@pytest.fixture(scope="module")
def analyst(signed_in):
    return signed_in("analyst-user")


@pytest.fixture(scope="module")
def wessex_analyst(app_url, synthetic_dir, app_instance):
    """An analyst limited to Wessex, whose data the synthetic extract (Dorset only) does not hold."""
    add_user(app_env(synthetic_dir, app_instance), "wessex-analyst", "analyst", "Wessex")
    session = sign_in(app_url, "wessex-analyst")
    assert session.last_sign_in.status_code == 302
    return session


def test_an_analyst_gets_the_png_named_in_full(app_url, analyst, app_instance):
    before = len(audit_rows(app_instance, "export chart", "analyst-user"))
    response = analyst.get(app_url + TREND + ".png" + DORSET, timeout=120)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "image/png"
    assert _filename(response) == "initial_contact_thrive_completion_pct_2021-04_2022-03_dorset.png"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.content
    assert body[:8] == b"\x89PNG\r\n\x1a\n" and body[12:16] == b"IHDR"
    assert struct.unpack(">II", body[16:24]) == (3200, 1800)
    rows = audit_rows(app_instance, "export chart", "analyst-user")
    assert len(rows) == before + 1
    row = rows[-1]
    assert row["outcome"] == "done" and row["role"] == "analyst" and row["kpi"] == "thrive_completion_pct"
    assert row["filters"] == "?from=2021-04&to=2022-03&force=Dorset" and row["rows"] == 12
    assert '"format": "png"' in row["detail"] and '"render_ms"' in row["detail"]
    assert "initial_contact_thrive_completion_pct_2021-04_2022-03_dorset.png" in row["detail"]


@pytest.mark.parametrize(
    ("path", "query", "name", "kind"),
    [
        (
            TREND + ".svg",
            DORSET,
            "initial_contact_thrive_completion_pct_2021-04_2022-03_dorset.svg",
            "image/svg+xml; charset=utf-8",
        ),
        (
            BY_LPA + ".csv",
            DORSET + "&lpa=East",
            "initial_contact_thrive_completion_pct-by-lpa_2021-04_2022-03_dorset_east.csv",
            "text/csv; charset=utf-8",
        ),
        (
            BY_LPA + ".xlsx",
            DORSET + "&disclosure=1",
            "initial_contact_thrive_completion_pct-by-lpa_2021-04_2022-03_dorset.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (
            RECORDS + ".csv",
            DORSET,
            "initial_contact_thrive_completion_pct_records_2021-04_2022-03_dorset.csv",
            None,
        ),
        (
            RECORDS + ".xlsx",
            DORSET,
            "initial_contact_thrive_completion_pct_records_2021-04_2022-03_dorset.xlsx",
            None,
        ),
    ],
)
def test_an_analyst_gets_each_format(app_url, analyst, path, query, name, kind):
    response = analyst.get(app_url + path + query, timeout=120)
    assert response.status_code == 200, response.text
    assert _filename(response) == name
    if kind:
        assert response.headers["Content-Type"] == kind
    if name.endswith(".csv"):
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        header = dict(rows[: rows.index([])])
        assert header["Force"] == "Dorset" and header["Period"].startswith("Apr 2021 – Mar 2022")
        assert header["Data version"] and header["Data as of"].endswith("(latest record in incidents)")
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(response.content))
        assert book.sheetnames[0] == "About"
        about = {row[0].value: row[1].value for row in book["About"].iter_rows()}
        if "disclosure=1" in query:
            assert about["Disclosure control"].startswith("Disclosure control applied")


def test_with_no_filters_the_export_is_of_the_pages_default_selection(app_url, analyst):
    response = analyst.get(app_url + TREND + ".csv", timeout=60)
    assert response.status_code == 200
    assert _filename(response).startswith(
        "initial_contact_thrive_completion_pct_"
    ) and "_dorset" in _filename(response)


@pytest.mark.parametrize("account", ["gold-user", "officer-user", "wessex-officer"])
@pytest.mark.parametrize("path", [TREND + ".png", BY_LPA + ".csv", RECORDS + ".xlsx"])
def test_gold_and_officers_are_refused_and_audited(app_url, signed_in, app_instance, account, path):
    action = "export records" if "/records/" in path else "export chart"
    before = len(audit_rows(app_instance, action, account))
    response = signed_in(account).get(app_url + path + DORSET, timeout=30)
    assert response.status_code == 403
    assert "analyst" in response.json()["message"]
    assert "Content-Disposition" not in response.headers
    rows = audit_rows(app_instance, action, account)
    assert len(rows) == before + 1 and rows[-1]["outcome"] == "refused"


@pytest.mark.parametrize("path", [TREND + ".png", BY_LPA + ".csv", RECORDS + ".csv"])
def test_anonymous_is_sent_to_sign_in(app_url, path):
    response = requests.get(app_url + path + DORSET, allow_redirects=False, timeout=10)
    assert response.status_code in (302, 401)
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/login?next=")
    assert "Content-Disposition" not in response.headers


@pytest.mark.parametrize("path", [TREND + ".csv", RECORDS + ".csv", TREND + ".png"])
def test_a_wessex_limited_analyst_never_gets_dorset(app_url, wessex_analyst, app_instance, path):
    for query in (DORSET, "?from=2021-04&to=2022-03", ""):
        response = wessex_analyst.get(app_url + path + query, timeout=30)
        assert response.status_code == 403, response.text
        assert "Content-Disposition" not in response.headers
        assert "Wessex" in response.json()["message"]
    action = "export records" if "/records/" in path else "export chart"
    rows = audit_rows(app_instance, action, "wessex-analyst")
    assert rows and all(r["outcome"] == "refused" and r["force"] == "Wessex" for r in rows)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/export/chart/nowhere/trend-thrive_completion_pct.png{DORSET}", 404),
        (f"/export/chart/{AREA}/trend-no_such_kpi.csv{DORSET}", 404),
        (f"/export/chart/{AREA}/breakdown-99.csv{DORSET}", 404),
        (f"/export/chart/{AREA}/breakdown-x.csv{DORSET}", 404),
        (f"{TREND}.exe{DORSET}", 404),
        (f"{TREND}{DORSET}", 404),
        (f"{TREND}.{DORSET}", 404),
        (f"/export/records/{AREA}/no_such_kpi.csv{DORSET}", 404),
        (f"{RECORDS}.png{DORSET}", 404),
        (f"{TREND}.csv?from=2022-13&to=2022-03&force=Dorset", 400),
        (f"{TREND}.csv?from=abc&force=Dorset", 400),
        (f"{TREND}.csv?from=2022-03&to=2021-04&force=Dorset", 400),
        (f"{TREND}.csv?from=1999-01&to=1999-03&force=Dorset", 400),
        (f"{TREND}.csv{DORSET}&lpa=Nowhere", 400),
        (f"{TREND}.csv?force=Atlantis", 400),
        (f"{TREND}.csv{DORSET}&disclosure=yes", 400),
        (f"{TREND}.png{DORSET}&disclosure=1", 400),
        (f"{RECORDS}.csv{DORSET}&disclosure=1", 400),
        (f"/export/chart/{AREA}/%00.csv{DORSET}", 404),
        (f"/export/chart/{AREA}/trend-thrive_completion_pct%0D%0A.csv{DORSET}", 404),
    ],
)
def test_a_malformed_request_is_refused_with_a_message(app_url, analyst, app_instance, path, status):
    action = "export records" if "/records/" in path else "export chart"
    before = len(audit_rows(app_instance, action, "analyst-user"))
    response = analyst.get(app_url + path, timeout=30)
    assert response.status_code == status, response.text
    assert response.json()["message"]
    assert "Content-Disposition" not in response.headers
    rows = audit_rows(app_instance, action, "analyst-user")
    assert len(rows) == before + 1 and rows[-1]["outcome"] == "refused"
    assert rows[-1]["detail"] and "reason" in rows[-1]["detail"]


def test_records_need_a_purpose(app_url, app_instance):
    session = sign_in(app_url, "analyst-user", purpose=None)
    response = session.get(app_url + RECORDS + ".csv" + DORSET, timeout=30)
    assert response.status_code == 403
    assert "purpose" in response.json()["message"].lower()
    assert audit_rows(app_instance, "export records", "analyst-user")[-1]["outcome"] == "refused"


def test_a_records_export_is_a_records_view_in_the_audit_log(app_url, analyst, app_instance):
    response = analyst.get(app_url + RECORDS + ".csv" + DORSET, timeout=60)
    assert response.status_code == 200
    row = audit_rows(app_instance, "export records", "analyst-user")[-1]
    assert (
        row["outcome"] == "done" and row["purpose"] == "Case review" and row["kpi"] == "thrive_completion_pct"
    )
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert row["rows"] == len(lines) - lines.index([]) - 2
    # The records rate limit counts done actions naming "records": an export is one.
    assert "records" in row["action"]


def test_the_export_links_take_the_pages_filters(browser, app_url):
    """assets/export-links.js adds the page's query string to a link of class export-link."""
    browser.get(app_url + "/initial-contact" + DORSET)
    search = browser.execute_script("return window.location.search")
    href = browser.execute_script(
        """
        var a = document.createElement('a');
        a.className = 'dropdown-item export-link';
        a.setAttribute('href', '/export/chart/initial_contact/breakdown-0.csv?disclosure=1');
        a.addEventListener('click', function (e) { e.preventDefault(); });
        document.body.appendChild(a);
        a.click();
        var first = a.getAttribute('href');
        a.click();  // a second click does not add the filters twice
        return [first, a.getAttribute('href')];
        """
    )
    assert href[0] == href[1]
    assert href[0].startswith("/export/chart/initial_contact/breakdown-0.csv?disclosure=1&")
    from urllib.parse import parse_qs

    asked = parse_qs(href[0].split("?", 1)[1])
    assert asked["disclosure"] == ["1"]
    for key, values in parse_qs(search.lstrip("?")).items():
        assert asked[key] == values
    assert asked["force"] == ["Dorset"] and asked["from"] == ["2021-04"]
