"""The one callback wrapper: every call leaves an audit line with who, what and the details it adds."""

from __future__ import annotations

import logging

from dash import Input, Output

from ui.callbacks import audit_detail, dashboard_callback


@dashboard_callback(
    Output("audit-test-out", "children"), Input("audit-test-in", "value"), action="view test records"
)
def show_test_records(value):
    if value:
        audit_detail(kpi=value, filters="?force=Dorset", focus="")
    return value


def test_each_call_logs_the_action_and_only_its_own_details(caplog):
    caplog.set_level(logging.INFO, logger="audit")
    assert show_test_records("aa_delay_median_min") == "aa_delay_median_min"
    assert show_test_records(None) is None
    first, second = [r.getMessage() for r in caplog.records if r.name == "audit"]
    assert "action=view test records" in first and "callback=show_test_records" in first
    assert "kpi='aa_delay_median_min'" in first and "filters='?force=Dorset'" in first
    assert "focus=" not in first, "empty details are left out"
    assert "kpi=" not in second, "details never leak into the next call"
    assert "user=" in second and "ms=" in second


def test_audit_detail_outside_a_callback_is_ignored():
    audit_detail(kpi="x")  # no running callback: nothing to add to, and no error
