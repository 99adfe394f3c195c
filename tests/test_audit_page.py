"""The Audit log page: administrators search, verify and export the log; nobody else may.

Real HTTP against the running app (``app_url``), with the bodies the renderer would post,
and one run in headless Chromium.
"""

from __future__ import annotations

import csv
import io
import re

import pytest

from auth import audit
from tests.dash_requests import body_for, find

RESULTS = "audit-results.children"
CHAIN = "audit-chain.children"
DOWNLOAD = "audit-download.data"
# The order of the search inputs in the callbacks: user, action, outcome, from, to.
USER, ACTION, OUTCOME, SINCE, UNTIL = range(5)
LEAKS = ("Traceback", 'File "/', "site-packages")


@pytest.fixture(scope="module")
def dependencies(app_url, signed_in):
    response = signed_in("admin-user").get(app_url + "/_dash-dependencies", timeout=10)
    assert response.status_code == 200
    return response.json()


def _post(session, app_url, body):
    return session.post(
        app_url + "/_dash-update-component", json=body, headers={"Referer": app_url + "/audit"}, timeout=30
    )


def _search_body(dependencies, **values):
    slots = {"user": USER, "action": ACTION, "outcome": OUTCOME, "since": SINCE, "until": UNTIL}
    return body_for(
        find(dependencies, RESULTS),
        {slots[k]: v for k, v in values.items()},
        changed=[USER],
    )


def _export_body(dependencies, **values):
    # The export reads the search as States, after the button (input 0).
    slots = {"user": USER, "action": ACTION, "outcome": OUTCOME, "since": SINCE, "until": UNTIL}
    return body_for(
        find(dependencies, DOWNLOAD),
        {0: 1},
        state_values={slots[k]: v for k, v in values.items()},
    )


def _components(node, kind: str):
    """Every component of type ``kind`` in a serialised Dash tree."""
    if isinstance(node, list):
        for item in node:
            yield from _components(item, kind)
    elif isinstance(node, dict):
        if node.get("type") == kind:
            yield node
        for value in node.get("props", {}).values():
            yield from _components(value, kind)


def _text(node) -> str:
    if isinstance(node, list):
        return "".join(_text(item) for item in node)
    if isinstance(node, dict):
        return _text(node.get("props", {}).get("children"))
    return "" if node is None else str(node)


def _table_rows(response) -> list[list[str]]:
    tree = response.json()["response"]["audit-results"]["children"]
    bodies = list(_components(tree, "Tbody"))
    if not bodies:
        return []
    return [[_text(td) for td in tr["props"]["children"]] for tr in _components(bodies[0], "Tr")]


def _audit_rows(app_instance, **query):
    return audit.search(audit.Query(**query), path=app_instance / "audit.sqlite")


# ---------------------------------------------------------------- search


def test_an_admin_searching_by_user_gets_that_users_rows(app_url, signed_in, dependencies, app_instance):
    signed_in("gold-user")  # a sign-in row for gold-user, at least
    response = _post(signed_in("admin-user"), app_url, _search_body(dependencies, user="  gold-user  "))
    assert response.status_code == 200, response.text
    rows = _table_rows(response)
    assert rows, response.text
    assert {row[1] for row in rows} == {"gold-user"}, "the user column holds only the searched user"
    assert any("sign in" in row[5] for row in rows)
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}", rows[0][0]), rows[0][0]
    assert "all shown, newest first" in response.text
    logged = _audit_rows(app_instance, user="admin-user", action="view audit log")[0]
    assert logged["outcome"] == "done" and logged["role"] == "admin" and logged["page"] == "/audit"
    assert '"user": "gold-user"' in logged["filters"] and logged["rows"] == len(rows)


def test_the_search_narrows_by_action_and_outcome(app_url, signed_in, dependencies):
    response = _post(
        signed_in("admin-user"),
        app_url,
        _search_body(dependencies, user="gold-user", action="sign in", outcome="done", since="2000-01-01"),
    )
    assert response.status_code == 200
    rows = _table_rows(response)
    assert rows and all("sign in" in row[5] and row[12] == "Done" for row in rows)
    nothing = _post(
        signed_in("admin-user"), app_url, _search_body(dependencies, user="gold-user", until="2000-01-01")
    )
    assert nothing.status_code == 200 and "No rows match" in nothing.text


def test_a_long_search_text_is_capped_not_refused(app_url, signed_in, dependencies, app_instance):
    response = _post(signed_in("admin-user"), app_url, _search_body(dependencies, action="x" * 5000))
    assert response.status_code == 200 and "No rows match" in response.text
    logged = _audit_rows(app_instance, user="admin-user", action="view audit log")[0]
    assert '"action": "' + "x" * 100 + '"' in logged["filters"]


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        ("2022-02-30", None, "“2022-02-30” is not a date"),
        ("31/03/2022", None, "is not a date: give it as YYYY-MM-DD"),
        (None, "<script>", "is not a date"),
        ("2022-03-31", "2022-03-01", "is after To"),
    ],
)
def test_a_bad_date_gives_a_message_not_an_error(app_url, signed_in, dependencies, since, until, message):
    response = _post(signed_in("admin-user"), app_url, _search_body(dependencies, since=since, until=until))
    assert response.status_code == 200, response.text
    shown = _text(response.json()["response"]["audit-results"]["children"])
    assert re.search(message, shown), shown
    assert not any(leak in response.text for leak in LEAKS)
    assert _table_rows(response) == []


def test_an_unknown_outcome_or_a_non_text_user_gives_a_message(app_url, signed_in, dependencies):
    response = _post(
        signed_in("admin-user"), app_url, _search_body(dependencies, user={"$ne": ""}, outcome="deleted")
    )
    assert response.status_code == 200
    assert "Outcome must be any, done, refused or failed" in response.text
    assert "User must be text" in response.text


@pytest.mark.parametrize("account", ["gold-user", "officer-user", "analyst-user"])
@pytest.mark.parametrize("output", [RESULTS, CHAIN, DOWNLOAD])
def test_only_an_admin_may_call_the_audit_callbacks(app_url, signed_in, dependencies, account, output):
    if output == RESULTS:
        body = _search_body(dependencies, user="admin-user")
    elif output == DOWNLOAD:
        body = _export_body(dependencies)
    else:
        body = body_for(find(dependencies, CHAIN), {0: 0})
    response = _post(signed_in(account), app_url, body)
    assert response.status_code == 403, response.text
    assert "admin-user" not in response.text


# ---------------------------------------------------------------- chain and export


def test_the_chain_status_says_it_holds(app_url, signed_in, dependencies):
    response = _post(signed_in("admin-user"), app_url, body_for(find(dependencies, CHAIN), {0: 0}))
    assert response.status_code == 200
    assert re.search(r"The chain holds: [\d,]+ rows verified", response.text), response.text


def test_the_export_is_the_search_as_formula_safe_csv(app_url, signed_in, dependencies, app_instance):
    who = "formula-test-user"
    audit.record(
        action='=HYPERLINK("http://x")',
        user=who,
        role="gold",
        page="/",
        outcome="refused",
        path=app_instance / "audit.sqlite",
    )
    audit.record(action="view overview", user=who, role="gold", path=app_instance / "audit.sqlite")
    response = _post(signed_in("admin-user"), app_url, _export_body(dependencies, user=who))
    assert response.status_code == 200, response.text
    answer = response.json()["response"]
    data = answer["audit-download"]["data"]
    assert re.fullmatch(r"audit-log-\d{4}-\d{2}-\d{2}\.csv", data["filename"])
    assert data["type"] == "text/csv" and not data["base64"]
    rows = list(csv.reader(io.StringIO(data["content"])))
    assert tuple(rows[0]) == ("id", *audit.FIELDS, "hash")
    records = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert len(records) == 2 and {r["user"] for r in records} == {who}
    assert records[0]["action"] == "view overview", "newest first"
    assert records[1]["action"] == '\'=HYPERLINK("http://x")', "a formula is made inert"
    assert "Exported 2 rows" in _text(answer["audit-export-note"]["children"])
    logged = _audit_rows(app_instance, user="admin-user", action="export audit log")[0]
    assert logged["outcome"] == "done" and logged["rows"] == 2 and who in logged["filters"]


def test_an_export_with_a_bad_date_sends_no_file(app_url, signed_in, dependencies):
    response = _post(signed_in("admin-user"), app_url, _export_body(dependencies, since="2022-99-01"))
    assert response.status_code == 200, response.text
    answer = response.json()["response"]
    assert "audit-download" not in answer, "no file for a search that could not run"
    assert "Not exported" in _text(answer["audit-export-note"]["children"])


# ---------------------------------------------------------------- who sees the page


def _nav_links(session, app_url) -> dict[str, str]:
    response = session.get(app_url + "/_dash-layout", timeout=10)
    layout = response.json()
    return {link["props"].get("href"): _text(link) for link in _components(layout, "NavLink")}


def test_only_the_admins_navbar_links_the_audit_log(app_url, signed_in):
    for account in ("gold-user", "officer-user", "analyst-user"):
        links = _nav_links(signed_in(account), app_url)
        assert "/audit" not in links and "Audit log" not in links.values(), account
    assert _nav_links(signed_in("admin-user"), app_url).get("/audit") == "Audit log"


def test_a_non_admin_who_types_the_address_is_told_it_is_for_administrators(app_url, signed_in, dependencies):
    body = body_for(find(dependencies, "_pages_content.children"), {0: "/audit", 1: ""}, changed=[0])
    page = _post(signed_in("gold-user"), app_url, body)
    assert page.status_code == 200
    assert "This page is for administrators." in page.text
    assert "audit-results" not in page.text and "audit-export" not in page.text
    admin = _post(signed_in("admin-user"), app_url, body)
    assert "audit-results" in admin.text and "This page is for administrators." not in admin.text


# ---------------------------------------------------------------- in the browser


@pytest.mark.browser
def test_an_admin_sees_the_chain_and_the_table_without_console_errors(browser, app_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(app_url + "/audit")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: "The chain holds" in d.find_element(By.ID, "audit-chain").text)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".audit-table tbody tr"))
    assert "admin-user" in browser.find_element(By.CSS_SELECTOR, ".audit-table tbody").text
    for label in ("User (exact name)", "Action contains", "Outcome", "From", "To"):
        assert browser.find_elements(By.XPATH, f"//label[normalize-space()='{label}']"), label
    from test_accessibility import FAILING_IMPACTS, format_violations, run_axe

    severe = [v for v in run_axe(browser) if v["impact"] in FAILING_IMPACTS]
    assert not severe, format_violations(severe, "/audit")
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
