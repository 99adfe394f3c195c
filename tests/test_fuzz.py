"""Property-based fuzz of every callback ``/_dash-dependencies`` lists, and of every page's URL.

Against the running app, as an attacker would post them: well-formed envelopes carrying values the
UI never sends, malformed envelopes, and random query strings. The answer is always a status
below 500 and never a traceback.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import PAGE_PATHS
from tests.dash_requests import body_for, find

PAGES = PAGE_PATHS
FUZZ = settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
LEAKS = ("Traceback", 'File "/', "site-packages")

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(
        [
            "3000-01",
            "9999-12",
            "1900-01",
            "Dorset",
            "__all__",
            "East",
            "aa_within_2h_pct",
            "<script>alert(1)</script>",
            "'; drop table incidents; --",
        ]
    ),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=8,
)
filter_states = st.fixed_dictionaries(
    {},
    optional={
        key: json_values | st.sampled_from(["2021-04", "2022-03", "3000-01", "Dorset", "Wessex", None])
        for key in ("period_from", "period_to", "force", "lpa", "local_authority")
    },
)


@pytest.fixture(scope="module")
def admin(app_url, signed_in):
    return signed_in("admin-user")


@pytest.fixture(scope="module")
def dependencies(app_url, admin):
    return admin.get(app_url + "/_dash-dependencies", timeout=10).json()


def _post(session, url, body):
    response = session.post(url + "/_dash-update-component", json=body, timeout=60)
    assert response.status_code < 500, (body.get("output"), response.status_code, response.text[:300])
    for leak in LEAKS:
        assert leak not in response.text, (body.get("output"), response.text[:300])
    return response


def _declared_outputs() -> list[str]:
    """The callbacks the app declares, read in a process of their own at collection (a test module
    may register callbacks of its own in this one); each test then takes the browser's view of its
    callback from the running app's /_dash-dependencies."""
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    script = "import json, app, dash._callback as c; print(json.dumps(sorted(c.GLOBAL_CALLBACK_MAP)))"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("output", _declared_outputs())
def test_every_callback_answers_any_values_without_a_500(app_url, admin, dependencies, output):
    dependency = next(d for d in dependencies if d["output"] == output)

    @FUZZ
    @given(
        values=st.lists(json_values, min_size=len(dependency["inputs"]), max_size=len(dependency["inputs"])),
        states=st.lists(
            json_values | filter_states,
            min_size=len(dependency.get("state", [])),
            max_size=len(dependency.get("state", [])),
        ),
        fill=st.sampled_from(["x", "trend", "initial_contact", "0"]),
    )
    def check(values, states, fill):
        body = body_for(dependency, dict(enumerate(values)), fill=fill, state_values=dict(enumerate(states)))
        _post(admin, app_url, body)

    check()


@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(state=filter_states)
def test_a_crafted_filter_state_never_breaks_a_page(app_url, admin, dependencies, state):
    for dependency in dependencies:
        slots = [i for i, spec in enumerate(dependency["inputs"]) if spec["id"] == "filter-state"]
        if slots and ("area-cards" in dependency["output"] or "overview" in dependency["output"]):
            _post(admin, app_url, body_for(dependency, {slots[0]: state}))


envelopes = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "output": json_values | st.sampled_from(["filter-state.data", "..a.b...c.d..", ""]),
            "outputs": json_values,
            "inputs": json_values,
            "state": json_values,
            "changedPropIds": json_values,
        },
    ),
)


@FUZZ
@given(body=envelopes)
def test_malformed_envelopes_get_a_400(app_url, admin, body):
    response = _post(admin, app_url, body)
    assert response.status_code in (200, 204, 400), response.text[:200]


@FUZZ
@given(data=st.data())
def test_a_valid_envelope_with_one_part_broken_gets_a_400(app_url, admin, dependencies, data):
    dependency = data.draw(st.sampled_from(dependencies))
    body = body_for(dependency, {0: None})
    key = data.draw(st.sampled_from(["outputs", "inputs", "state", "changedPropIds"]))
    body[key] = data.draw(json_values)
    _post(admin, app_url, body)


def test_raw_bodies_that_are_not_json_get_a_400(app_url, admin):
    for raw in (b"", b"{", b"\xff\xfe", b"[]", b"null", b'{"output": 1}', "ü".encode("latin-1")):
        response = admin.post(
            app_url + "/_dash-update-component",
            data=raw,
            timeout=10,
            headers={"Content-Type": "application/json"},
        )
        assert 400 <= response.status_code < 500


query_keys = st.sampled_from(["from", "to", "force", "lpa", "local_authority", "kpi", "focus", "x", "from[]"])
query_values = st.text(max_size=30) | st.sampled_from(
    ["3000-01", "9999-11", "0000-00", "2022-13", "-1", "Dorset", "<a href=x>East</a>", "%00", "__all__"]
)
queries = st.lists(st.tuples(query_keys, query_values), max_size=6).map(
    lambda pairs: "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs)
)


@FUZZ
@given(path=st.sampled_from(PAGES), search=queries)
def test_any_url_query_opens_a_page_with_a_message_never_an_error(app_url, admin, dependencies, path, search):
    shell = admin.get(app_url + path + search, timeout=30)
    assert shell.status_code == 200
    router = find(dependencies, "_pages_content.children")
    _post(admin, app_url, body_for(router, {0: path, 1: search}, changed=[0]))
    filters = _post(
        admin, app_url, body_for(find(dependencies, "filter-state.data"), {0: search}, changed=[0])
    )
    if filters.status_code == 200:
        outputs = filters.json()["response"]
        state = outputs["filter-state"]["data"] if "filter-state" in outputs else None
        if state:
            assert state["force"] == "Dorset"
            assert "2020-04" <= state["period_from"] <= state["period_to"] <= "2023-03"


def test_a_label_from_the_data_is_text_not_markup():
    import pandas as pd

    import figures

    hostile = '<a href="https://evil.example">East</a>'
    frame = pd.DataFrame(
        {"group": [hostile, "West"], "value": [50.0, 60.0], "numerator": [1, 3], "denominator": [2, 5]}
    )
    figure = figures.text_only(figures.breakdown_bar(frame, title=f"THRIVE by LPA, {hostile}", unit="pct"))
    text = json.dumps(figure.to_plotly_json(), default=str)
    assert "<a href" not in text and "</a>" not in text
    assert "&lt;a href" in text and "West" in text
    assert (
        "<br>"
        in figures.text_only(figures.breakdown_bar(frame, title="a<br>b", unit="pct")).layout.title.text
    )


def test_a_hostile_label_reaches_the_page_as_text(app_url, admin, dependencies):
    """End to end: the callback decorator escapes figures, whichever callback returns them."""
    import plotly.graph_objects as go

    from ui.callbacks import _labels_as_text

    fig = go.Figure(go.Bar(x=[1], y=['<A HREF="https://evil.example">East</A>']))
    out = _labels_as_text((fig, "text"))
    assert out[0].data[0].y[0].startswith("&lt;A HREF") and out[1] == "text"
