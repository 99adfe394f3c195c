"""The one callback wrapper: the role check, 400 for unusable input, and one audit row per call."""

from __future__ import annotations

import pytest
from dash import Input, Output
from werkzeug.exceptions import BadRequest, Forbidden, TooManyRequests, Unauthorized

from auth import audit
from ui.callbacks import InputError, audit_detail, dashboard_callback


@dashboard_callback(
    Output("audit-test-out", "children"),
    Input("audit-test-in", "value"),
    action="view test records",
    records=True,
)
def show_test_records(value):
    if value == "bad":
        raise InputError("that is not a KPI")
    if value == "crash":
        return {}["missing"]
    if value:
        audit_detail(kpi=value, filters="?force=Dorset", focus="", rows=3)
    return value


def _rows(action="view test records"):
    rows = audit.search(audit.Query(action=action, limit=100_000))
    return [r for r in reversed(rows) if r["action"] == action]


def test_each_call_writes_one_audit_row_with_only_its_own_details(as_user):
    before = len(_rows())
    with as_user("officer", name="callback-officer"):
        assert show_test_records("aa_delay_median_min") == "aa_delay_median_min"
        assert show_test_records(None) is None
    first, second = _rows()[before:]
    assert (first["user"], first["role"], first["outcome"]) == ("callback-officer", "officer", "done")
    assert (
        first["kpi"] == "aa_delay_median_min" and first["filters"] == "?force=Dorset" and first["rows"] == 3
    )
    assert first["drilldown"] is None, "empty details are left out"
    assert second["kpi"] is None, "details never leak into the next call"
    assert second["duration_ms"] >= 0
    assert audit.verify().ok


def test_a_role_below_the_callbacks_is_refused_and_logged(as_user):
    with as_user("gold", name="callback-gold"), pytest.raises(Forbidden, match="officer"):
        show_test_records("aa_delay_median_min")
    assert _rows()[-1]["outcome"] == "refused" and _rows()[-1]["user"] == "callback-gold"


def test_nobody_signed_in_is_refused():
    with pytest.raises(Unauthorized):
        show_test_records("x")


def test_unusable_input_is_a_400_with_the_reason_and_a_failed_row(as_user):
    with as_user("officer"):
        with pytest.raises(BadRequest, match="not a KPI"):
            show_test_records("bad")
        assert _rows()[-1]["outcome"] == "refused"
        with pytest.raises(BadRequest, match="KeyError"):
            show_test_records("crash")
        assert _rows()[-1]["outcome"] == "failed"


def test_records_views_are_rate_limited(as_user, monkeypatch):
    monkeypatch.setenv("CPD_RECORDS_PER_MINUTE", "3")
    with as_user("officer", name="callback-rate"):
        for _ in range(3):
            show_test_records("x")
        with pytest.raises(TooManyRequests, match="Wait a minute"):
            show_test_records("x")


def test_audit_detail_outside_a_callback_is_ignored():
    audit_detail(kpi="x")  # no running callback: nothing to add to, and no error
