"""Records behind a chart, and a drill-down focus: checked against pandas over the same parquet."""

from __future__ import annotations

import pandas as pd
import pytest

from queries import DataStore, QueryError
from queries.kpis import (
    Filters,
    Focus,
    Period,
    can_focus,
    catalog,
    kpi_breakdown,
    kpi_records,
    kpi_table,
    kpi_values,
)

PERIOD = Period("2021-04", "2022-03")
DORSET = Filters(force="Dorset")


@pytest.fixture(scope="module")
def store(synthetic_dir) -> DataStore:
    return DataStore(synthetic_dir)


def _table(synthetic_dir, name: str) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(path) for path in sorted((synthetic_dir / name).glob("*.parquet"))])


def _in_period(frame: pd.DataFrame, column: str, period: Period = PERIOD) -> pd.DataFrame:
    moment = pd.to_datetime(frame[column])
    return frame[(moment >= pd.Timestamp(period.period_start)) & (moment < pd.Timestamp(period.period_end))]


@pytest.mark.parametrize(
    ("kpi_id", "table", "column"),
    [
        ("thrive_completion_pct", "incidents", "received_at"),
        ("missing_episodes", "missing_episodes", "reported_at"),
        ("mash_received", "mash_referrals", "received_at"),
        ("investigations_opened", "investigations", "opened_at"),
        ("police_protection_count", "police_protection", "invoked_at"),
        ("breaches", "rso_breaches", "recorded_at"),
        ("child_detentions", "custody_detentions", "arrived_at"),
        ("audits", "case_audits", "audited_at"),
    ],
)
def test_event_records_are_the_rows_of_the_period(store, synthetic_dir, kpi_id, table, column):
    rows, total = kpi_records(store, kpi_id, PERIOD, DORSET)
    expected = _in_period(_table(synthetic_dir, table), column)
    expected = expected[expected["force"] == "Dorset"]
    assert total == len(expected)
    assert len(rows) == min(total, 5000)
    key = catalog().queries[catalog().kpis[kpi_id].query].table
    assert key == table
    # Only the contract's columns and derived intervals: nothing beyond the extract.
    contract_columns = set(expected.columns)
    derived = {c for c in rows.columns if c not in contract_columns}
    assert all(c.endswith(("_min", "_days", "_hours", "_at_end", "_at")) for c in derived), derived


def test_records_cap_keeps_the_total(store):
    rows, total = kpi_records(store, "incidents", PERIOD, DORSET, row_limit=25)
    assert len(rows) == 25
    assert total > 25
    assert rows["received_at"].is_monotonic_decreasing


def test_snapshot_records_match_the_kpi(store):
    values = kpi_values(
        store,
        PERIOD,
        DORSET,
        kpi_ids=["mash_open_at_end", "investigations_open_at_end", "investigations_drifting", "rso_count"],
    )
    _mash, mash_total = kpi_records(store, "mash_open_at_end", PERIOD, DORSET)
    assert mash_total == values["mash_open_at_end"]
    investigations, open_total = kpi_records(store, "investigations_drifting", PERIOD, DORSET)
    assert open_total == values["investigations_open_at_end"]
    assert investigations["drifting_at_end"].sum() == values["investigations_drifting"]
    _rso, rso_total = kpi_records(store, "rso_count", PERIOD, DORSET)
    assert rso_total == values["rso_count"]


def test_records_follow_filters_and_focus(store, synthetic_dir):
    custody = _in_period(_table(synthetic_dir, "custody_detentions"), "arrived_at")
    suite = sorted(custody["custody_suite"].unique())[0]
    lpa = sorted(custody["lpa"].unique())[0]
    _rows, total = kpi_records(
        store, "aa_delay_median_min", PERIOD, Filters("Dorset", lpa), focus=Focus("custody_suite", suite)
    )
    expected = custody[
        (custody["force"] == "Dorset") & (custody["lpa"] == lpa) & (custody["custody_suite"] == suite)
    ]
    assert total == len(expected) > 0


def test_records_refuse_a_focus_the_kpi_cannot_split_by(store):
    with pytest.raises(QueryError, match="cannot be narrowed"):
        kpi_records(store, "child_detentions", PERIOD, DORSET, focus=Focus("risk_level", "high"))


def test_focus_reads_the_breakdown_group(store):
    focus = Focus("risk_level", "high")
    narrowed = kpi_table(store, PERIOD, DORSET, kpi_ids=["missing_episodes", "incidents"], focus=focus)
    narrowed = narrowed.set_index("kpi_id")
    split = kpi_breakdown(store, "missing_episodes", "risk_level", PERIOD, DORSET).set_index("group")
    assert narrowed.at["missing_episodes", "value"] == split.at["high", "value"]
    # A KPI whose query cannot split by risk level stays whole.
    assert not can_focus("incidents", focus)
    assert (
        narrowed.at["incidents", "value"]
        == kpi_values(store, PERIOD, DORSET, kpi_ids=["incidents"])["incidents"]
    )


def test_focus_series_month_by_month(store, synthetic_dir):
    focus = Focus("risk_level", "high")
    series = kpi_table(store, PERIOD, DORSET, monthly=True, kpi_ids=["missing_episodes"], focus=focus)
    episodes = _in_period(_table(synthetic_dir, "missing_episodes"), "reported_at")
    episodes = episodes[(episodes["force"] == "Dorset") & (episodes["risk_level"] == "high")]
    expected = episodes.groupby(pd.to_datetime(episodes["reported_at"]).dt.strftime("%Y-%m")).size()
    got = dict(zip(pd.to_datetime(series["window_start"]).dt.strftime("%Y-%m"), series["value"], strict=True))
    assert len(got) == 12
    assert {m: int(v) for m, v in got.items() if v} == expected.to_dict()


def test_focus_and_breakdown_cannot_be_combined(store):
    with pytest.raises(QueryError):
        kpi_table(store, PERIOD, DORSET, breakdown="lpa", focus=Focus("risk_level", "high"))
