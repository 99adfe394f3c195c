"""Records behind a KPI are the KPI's own rows (issue 11): totals, numerators, values and the grid.

For every KPI of the catalogue, on the generated data, the records
(``kpi_records(rows="kpi")``) number the KPI's denominator (or its count) and
those marked ``in_numerator`` its numerator. Small hand-made extracts with a
known answer (nulls, negative intervals, an empty month, a month the data does
not cover) are checked against pandas written from metrics.md alone. The grid
shows dates in words and the new columns under their own headers; one browser
test watches it do so in Chromium.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

from data.contract import TABLES, write_parquet
from queries import DataStore, QueryError, load_sql
from queries.kpis import (
    DEFAULT_UNIT_COLUMN,
    KPI_IDS,
    RATIO_NUMERATORS,
    UNIT_COLUMNS,
    Filters,
    Focus,
    Period,
    catalog,
    kpi_records,
    kpi_table,
)
from ui.records import DATE_TIME_WORDS, DATE_WORDS, grid_rows, records_grid, shows_time

PERIOD = Period("2021-04", "2022-03")
DORSET = Filters(force="Dorset")
MARCH = pd.Timestamp("2022-03-01")  # the register snapshot of month `to`
EVERY_ROW = 10**6
KPI_UNITS_OF_MANAGERS = (
    "rso_max_per_offender_manager",
)  # row_limit: read every row, so numerators can be counted
# A focus the generated data holds for each query: its last breakdown column, one value.
FOCUS_VALUES = {
    "grade": "1",
    "risk_level": "high",
    "source": "ppn",
    "lpa": "West",
    "management": "active",
    "outcome": "words of advice",
    "custody_suite": "Weymouth",
    "area": "investigation",
}


@pytest.fixture(scope="module")
def store(synthetic_dir) -> DataStore:
    return DataStore(synthetic_dir)


@pytest.fixture(scope="module")
def figures(store) -> pd.DataFrame:
    return kpi_table(store, PERIOD, DORSET).set_index("kpi_id")


def _expected(kpi_id: str, figure: pd.Series) -> tuple[int, int | None]:
    """(records total, rows in the numerator or None) that the KPI's own figures call for."""
    numerator, denominator = figure["numerator"], figure["denominator"]
    if kpi_id in RATIO_NUMERATORS:  # per officer: the rows of its numerator, all in it
        return int(numerator or 0), int(numerator or 0)
    if denominator is None:  # a count: the rows it counts
        return int(figure["value"] or 0), None
    if numerator is None:  # a median, percentile or maximum: the units it reads
        return int(denominator), None
    return int(denominator), int(numerator)


def _check(rows: pd.DataFrame, total: int, kpi_id: str, figure: pd.Series) -> None:
    want_total, want_numerator = _expected(kpi_id, figure)
    assert total == want_total, f"{kpi_id}: records {total}, KPI {want_total}"
    assert len(rows) == total
    assert list(rows.columns[1:3]) == ["in_numerator", "kpi_value"]
    # One row per unit: a row, a child, or an offender manager of a force.
    unit = ["force", "offender_manager_id"] if kpi_id in KPI_UNITS_OF_MANAGERS else [rows.columns[0]]
    assert not rows.duplicated(unit).any(), f"{kpi_id}: one row per unit"
    if want_numerator is None:
        assert rows["in_numerator"].isna().all(), f"{kpi_id} has no numerator"
    else:
        assert int(rows["in_numerator"].sum()) == want_numerator, kpi_id
        assert rows["in_numerator"].notna().all()


@pytest.mark.parametrize("kpi_id", KPI_IDS)
def test_records_number_the_kpis_denominator_and_numerator(store, figures, kpi_id):
    rows, total = kpi_records(store, kpi_id, PERIOD, DORSET, rows="kpi", row_limit=EVERY_ROW)
    _check(rows, total, kpi_id, figures.loc[kpi_id])
    assert total > 0, "the generated data gives every KPI rows in a year"


@pytest.mark.parametrize("kpi_id", KPI_IDS)
def test_records_follow_an_lpa_filter_and_a_focus(store, kpi_id):
    period = Period("2022-01", "2022-03")
    filters = Filters("Dorset", "West")
    column = catalog().queries[catalog().kpis[kpi_id].query].breakdowns[-1]
    focus = Focus(column, FOCUS_VALUES[column])
    figure = kpi_table(store, period, filters, kpi_ids=[kpi_id], focus=focus).set_index("kpi_id").loc[kpi_id]
    rows, total = kpi_records(store, kpi_id, period, filters, focus=focus, rows="kpi", row_limit=EVERY_ROW)
    _check(rows, total, kpi_id, figure)


def test_the_row_limit_caps_rows_not_the_total(store, figures):
    rows, total = kpi_records(store, "thrive_completion_pct", PERIOD, DORSET, rows="kpi", row_limit=25)
    assert len(rows) == 25
    assert total == figures.at["thrive_completion_pct", "denominator"]
    assert rows["received_at"].is_monotonic_decreasing


def test_all_rows_in_scope_is_todays_view(store, synthetic_dir):
    """rows="all" (the default): every register row, as before, with no KPI columns."""
    everything, total = kpi_records(store, "arms_completion_pct", PERIOD, DORSET, rows="all")
    default, default_total = kpi_records(store, "arms_completion_pct", PERIOD, DORSET)
    pd.testing.assert_frame_equal(everything, default)
    register = _table(synthetic_dir, "rso_register")
    assert total == default_total == len(register[pd.to_datetime(register["snapshot_month"]) == MARCH])
    assert "in_numerator" not in everything.columns and "kpi_value" not in everything.columns
    with pytest.raises(QueryError, match="rows must be one of"):
        kpi_records(store, "arms_completion_pct", PERIOD, DORSET, rows="some")


# Two forces with their own coverage, gaps in the register, cross-border rows
# (tests/kpi_fixtures.py): the scenarios of tests/test_kpis.py that stress
# what a row-by-row reading could get wrong.
FIXTURE_SCENARIOS = [
    ("all-forces-q1", "2022-01", "2022-03", None, None, None),
    ("wiltshire-q1", "2022-01", "2022-03", "Wiltshire", None, None),
    ("lpa-east", "2022-01", "2022-03", None, "East", None),
    ("la-dorset-council", "2022-01", "2022-03", None, None, "Dorset Council"),
    ("dorset-empty-month-in-coverage", "2022-05", "2022-05", "Dorset", None, None),
    ("rso-month-with-no-mosovo-row", "2022-04", "2022-04", "Dorset", None, None),
    ("straddles-coverage-start", "2021-10", "2021-12", "Dorset", None, None),
    ("before-coverage", "2021-06", "2021-08", None, None, None),
    ("force-not-in-data", "2022-01", "2022-03", "Nowhere", None, None),
]


@pytest.fixture(scope="module")
def fixture_store(tmp_path_factory) -> DataStore:
    from tests import kpi_fixtures

    folder = tmp_path_factory.mktemp("records-kpi-fixtures")
    kpi_fixtures.write_fixtures(folder)
    return DataStore(folder)


@pytest.mark.parametrize("scenario", FIXTURE_SCENARIOS, ids=lambda s: s[0])
def test_records_match_every_kpi_on_two_forces(fixture_store, scenario):
    _label, start, end, force, lpa, local_authority = scenario
    period, filters = Period(start, end), Filters(force, lpa, local_authority)
    figures = kpi_table(fixture_store, period, filters).set_index("kpi_id")
    for kpi_id in KPI_IDS:
        rows, total = kpi_records(fixture_store, kpi_id, period, filters, rows="kpi", row_limit=EVERY_ROW)
        _check(rows, total, kpi_id, figures.loc[kpi_id])


# --- The two KPIs of the issue, by name -----------------------------------------------------


def _table(data_dir: Path, name: str) -> pd.DataFrame:
    files = sorted((data_dir / name).glob("*.parquet"))
    return pd.concat([pd.read_parquet(p) for p in files], ignore_index=True)


def _in(frame: pd.DataFrame, column: str, period: Period) -> pd.DataFrame:
    moment = pd.to_datetime(frame[column])
    return frame[(moment >= pd.Timestamp(period.period_start)) & (moment < pd.Timestamp(period.period_end))]


def test_arms_completion_records_are_the_assessed_offenders_in_the_community(store, synthetic_dir, figures):
    register = _table(synthetic_dir, "rso_register")
    snapshot = register[
        (pd.to_datetime(register["snapshot_month"]) == MARCH) & (register["force"] == "Dorset")
    ]
    end_of_to = pd.Timestamp("2022-03-31")
    due = pd.to_datetime(snapshot["arms_due_date"])
    assessed = snapshot[~snapshot["in_custody"] & snapshot["arms_required"]]
    outstanding = set(assessed.loc[due[assessed.index] <= end_of_to, "rso_id"])
    in_date = set(
        assessed.loc[(due[assessed.index] > end_of_to) & assessed["arms_completed_date"].notna(), "rso_id"]
    )
    rows, total = kpi_records(store, "arms_completion_pct", PERIOD, DORSET, rows="kpi")
    assert total == len(in_date | outstanding) == figures.at["arms_completion_pct", "denominator"]
    assert total < len(snapshot), "offenders in custody or not yet due are not the KPI's rows"
    assert set(rows["rso_id"]) == in_date | outstanding
    assert not rows["in_custody"].any()
    assert set(rows.loc[rows["in_numerator"].astype(bool), "rso_id"]) == in_date
    words = dict(zip(rows["rso_id"], rows["kpi_value"], strict=True))
    assert {words[r] for r in in_date} == {"In date"} and {words[r] for r in outstanding} == {"Outstanding"}
    assert rows.attrs["column_words"]["kpi_value"] == "Value measured: ARMS assessment"


def test_aa_delay_records_are_the_detentions_with_a_usable_delay(store, synthetic_dir, figures):
    custody = _in(_table(synthetic_dir, "custody_detentions"), "arrived_at", PERIOD)
    custody = custody[custody["force"] == "Dorset"]
    delay = (custody["aa_arrived_at"] - custody["aa_requested_at"]).dt.total_seconds() / 60
    usable = custody[delay.notna() & (delay >= 0)]
    rows, total = kpi_records(store, "aa_delay_median_min", PERIOD, DORSET, rows="kpi")
    assert total == len(usable) == figures.at["aa_delay_median_min", "denominator"]
    assert total < len(custody), "detentions with no usable delay are not the median's rows"
    got = dict(zip(rows["detention_id"], rows["kpi_value"], strict=True))
    assert got == pytest.approx(dict(zip(usable["detention_id"], delay[usable.index], strict=True)))
    assert rows["kpi_value"].median() == pytest.approx(figures.at["aa_delay_median_min", "value"])
    p90 = rows["kpi_value"].quantile(0.9)
    assert p90 == pytest.approx(figures.at["aa_delay_p90_min", "value"])
    assert (
        rows.attrs["column_words"]["kpi_value"] == "Value measured: minutes from AA requested to AA arrival"
    )


def test_strategy_minutes_records_follow_the_meeting_not_the_referral(store, synthetic_dir, figures):
    """Its event time is strategy_held_at, not received_at (today's records list referrals received)."""
    mash = _table(synthetic_dir, "mash_referrals")
    held = _in(mash[mash["force"] == "Dorset"], "strategy_held_at", PERIOD)
    missing = set(held.loc[held["minutes_received_at"].isna(), "referral_id"])
    rows, total = kpi_records(store, "strategy_minutes_missing", PERIOD, DORSET, rows="kpi")
    assert set(rows["referral_id"]) == missing and total == figures.at["strategy_minutes_missing", "value"]
    held_at = rows["strategy_held_at"]
    assert held_at.min() >= pd.Timestamp(PERIOD.period_start) and held_at.max() < pd.Timestamp(
        PERIOD.period_end
    )


def test_repeat_missing_records_are_one_row_per_child(store, synthetic_dir, figures):
    episodes = _table(synthetic_dir, "missing_episodes")
    end = pd.Timestamp(PERIOD.period_end)
    window = episodes[
        (episodes["force"] == "Dorset")
        & (episodes["reported_at"] >= end - pd.Timedelta(days=90))
        & (episodes["reported_at"] < end)
    ]
    per_child = window.groupby("child_id").agg(n=("episode_id", "size"), referred=("csc_referral", "any"))
    repeat = per_child[per_child["n"] >= 3]
    rows, total = kpi_records(store, "repeat_missing_referred_pct", PERIOD, DORSET, rows="kpi")
    assert total == len(repeat) == figures.at["repeat_missing_referred_pct", "denominator"]
    got = rows.set_index("child_id")
    assert got["kpi_value"].to_dict() == repeat["n"].astype(float).to_dict()
    assert got["in_numerator"].astype(bool).to_dict() == repeat["referred"].to_dict()
    latest = window.sort_values("reported_at").groupby("child_id")["episode_id"].last()
    assert got["episode_id"].to_dict() == latest[repeat.index].to_dict(), "each shown by its latest episode"
    assert got["kpi_value"].max() == figures.at["repeat_missing_max_episodes", "value"]


def test_impact_high_risk_children_are_distinct_children(store, synthetic_dir, figures):
    cases = _table(synthetic_dir, "investigations")
    end = pd.Timestamp(PERIOD.period_end)
    open_at_end = cases[
        (cases["force"] == "Dorset")
        & (cases["opened_at"] < end)
        & (cases["closed_at"].isna() | (cases["closed_at"] >= end))
    ]
    counted = open_at_end[(open_at_end["team"] == "impact") & (open_at_end["risk_level"] == "high")]
    rows, total = kpi_records(store, "impact_high_risk_children", PERIOD, DORSET, rows="kpi")
    assert total == counted["victim_child_id"].nunique() == figures.at["impact_high_risk_children", "value"]
    assert len(counted) > total, "children with two such investigations are one row"
    per_child = counted.groupby("victim_child_id").size().astype(float)
    assert rows.set_index("victim_child_id")["kpi_value"].to_dict() == per_child.to_dict()


def test_largest_caseload_records_are_the_offender_managers(store, figures):
    rows, total = kpi_records(store, "rso_max_per_offender_manager", PERIOD, DORSET, rows="kpi")
    assert total == figures.at["rso_max_per_offender_manager", "denominator"]
    assert (
        rows["kpi_value"].iloc[0]
        == rows["kpi_value"].max()
        == figures.at["rso_max_per_offender_manager", "value"]
    )
    community, _ = kpi_records(store, "rso_in_community", PERIOD, DORSET, rows="kpi")
    assert rows["kpi_value"].sum() == len(community)


def test_the_unit_column_carries_no_kpi_logic():
    """The column kpi_records fills with each unit's key is read by KPI queries only to filter and group."""
    for query in catalog().queries.values():
        column = UNIT_COLUMNS.get(query.table, DEFAULT_UNIT_COLUMN)
        code, _ = load_sql(query.name)
        code = "\n".join(line.split("--", 1)[0] for line in code.splitlines())
        for allowed in (f"${column} is null or {column} = ${column}", f"when '{column}' then {column}"):
            code = code.replace(allowed, "")
        assert not re.search(rf"(?<![$'\w.]){column}(?!['\w])", code), f"{query.name} reads {column}"


# --- Hand-made extracts with a known answer ----------------------------------------------------

T0 = pd.Timestamp("2022-01-10 10:00")


def _detention(did: str, arrived, requested_after, aa_after, lpa: str = "East") -> dict:
    arrived = pd.Timestamp(arrived)
    at = lambda minutes: None if minutes is None else arrived + pd.Timedelta(minutes=minutes)  # noqa: E731
    return {
        "detention_id": did,
        "child_id": f"C-{did}",
        "force": "Dorset",
        "lpa": lpa,
        "custody_suite": "Bournemouth",
        "age": 15,
        "arrived_at": arrived,
        "aa_requested_at": at(requested_after),
        "aa_arrived_at": at(aa_after),
        "rights_given_at": at(20),
        "interview_at": None,
        "released_at": at(600),
        "charged": False,
        "bail_denied": False,
        "held_overnight": False,
        "alt_accommodation_requested": False,
        "alt_accommodation_provided": False,
        "ppn_submitted": True,
    }


DETENTIONS = [
    _detention("D0", "2021-12-31 23:59:59", 10, 30),  # before the period
    _detention("D1", T0, 30, 90),  # delay 60; AA 90 min after arrival: within 2 h
    _detention("D2", T0 + pd.Timedelta(days=1), None, 100),  # request not recorded: no delay; within
    _detention("D3", T0 + pd.Timedelta(days=2), 50, 40),  # AA before request: negative delay; within
    _detention("D4", T0 + pd.Timedelta(days=3), 10, None),  # AA not recorded: no delay; a miss
    _detention("D5", T0 + pd.Timedelta(days=4), 20, 200),  # delay 180; 200 min: a miss
    _detention("D6", "2022-02-01 09:00", -30, -15),  # delay 15; AA before arrival: negative, a miss
    _detention("D7", "2022-03-15 12:00", 5, 65, lpa="West"),  # delay 60, within; the other LPA
    _detention("D8", "2022-04-01 00:00", 10, 20),  # at period_end: not in the period
    _detention("D9", "2022-06-20 08:00", 10, 20),  # so that May 2022 is covered and empty
]


def _rso(rso_id: str, *, custody=False, required=True, completed=None, due=None, month="2022-03-01") -> dict:
    return {
        "snapshot_month": pd.Timestamp(month),
        "rso_id": rso_id,
        "force": "Dorset",
        "lpa": "East",
        "offender_manager_id": "OM-1",
        "management": "active",
        "in_custody": custody,
        "whereabouts_unknown": False,
        "arms_required": required,
        "arms_completed_date": None if completed is None else pd.Timestamp(completed),
        "arms_due_date": None if due is None else pd.Timestamp(due),
        "next_visit_due": None,
    }


REGISTER = [
    _rso("R1", completed="2021-06-01", due="2022-06-01"),  # in date
    _rso("R2", completed="2021-03-31", due="2022-03-31"),  # due on the last day of `to`: outstanding
    _rso("R3", due="2022-02-01"),  # never assessed and overdue: outstanding
    _rso("R4", due="2022-05-01"),  # never assessed, first not yet due: in neither
    _rso("R5", custody=True, completed="2020-01-01", due="2021-01-01"),  # in custody: in neither
    _rso("R6", required=False),  # ARMS does not apply: in neither
    _rso("R7", completed="2021-04-01", due="2022-04-01"),  # due the day after `to`: in date
    _rso("R1", completed="2021-06-01", due="2022-01-01", month="2022-02-01"),  # another month's snapshot
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> DataStore:
    folder = tmp_path_factory.mktemp("records-kpi-rows") / "extracts"
    for name, rows in (("custody_detentions", DETENTIONS), ("rso_register", REGISTER)):
        frame = pd.DataFrame(rows)[TABLES[name].column_names]
        write_parquet(name, frame, folder / name / "part-0.parquet")
    return DataStore(folder)


Q1 = Period("2022-01", "2022-03")


def _pandas_detentions(period: Period, lpa: str | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(DETENTIONS)
    frame = _in(frame, "arrived_at", period)
    if lpa:
        frame = frame[frame["lpa"] == lpa]
    minutes = lambda a, b: (pd.to_datetime(frame[b]) - pd.to_datetime(frame[a])).dt.total_seconds() / 60  # noqa: E731
    return frame.assign(
        delay_min=minutes("aa_requested_at", "aa_arrived_at"),
        after_arrival_min=minutes("arrived_at", "aa_arrived_at"),
    )


@pytest.mark.parametrize("lpa", [None, "East"])
def test_aa_delay_median_rows_leave_out_nulls_and_negative_intervals(tiny, lpa):
    expected = _pandas_detentions(Q1, lpa)
    usable = expected[expected["delay_min"].notna() & (expected["delay_min"] >= 0)]
    rows, total = kpi_records(tiny, "aa_delay_median_min", Q1, Filters("Dorset", lpa), rows="kpi")
    assert sorted(rows["detention_id"]) == sorted(usable["detention_id"])
    assert total == len(usable) == (4 if lpa is None else 3)
    assert dict(zip(rows["detention_id"], rows["kpi_value"], strict=True)) == dict(
        zip(usable["detention_id"], usable["delay_min"], strict=True)
    )
    assert rows["in_numerator"].isna().all()
    value = kpi_table(tiny, Q1, Filters("Dorset", lpa), kpi_ids=["aa_delay_median_min"])["value"].iloc[0]
    assert rows["kpi_value"].median() == value == usable["delay_min"].median()


def test_aa_within_2h_rows_are_every_detention_and_show_the_recorded_interval(tiny):
    expected = _pandas_detentions(Q1)
    within = expected["after_arrival_min"].between(0, 120)  # NaN and negative are misses
    rows, total = kpi_records(tiny, "aa_within_2h_pct", Q1, DORSET, rows="kpi")
    assert total == len(expected) == 7
    got = rows.set_index("detention_id")
    assert got["in_numerator"].astype(bool).to_dict() == dict(
        zip(expected["detention_id"], within, strict=True)
    )
    assert got.at["D6", "kpi_value"] == -15, "a negative interval shows, as the reason for the miss"
    assert pd.isna(got.at["D4", "kpi_value"]), "not recorded shows as empty"
    assert got["in_numerator"].sum() == 4  # D1, D2, D3, D7


def test_an_empty_month_and_an_uncovered_month_have_no_records(tiny):
    for period in (Period("2022-05", "2022-05"), Period("2021-06", "2021-08")):
        for kpi_id in ("aa_delay_median_min", "aa_within_2h_pct", "child_detentions"):
            rows, total = kpi_records(tiny, kpi_id, period, DORSET, rows="kpi")
            assert total == 0 and rows.empty
            assert {"in_numerator", "kpi_value"} <= set(rows.columns)


def test_arms_completion_on_a_hand_made_register(tiny):
    register = pd.DataFrame(REGISTER)
    snapshot = register[register["snapshot_month"] == "2022-03-01"]
    end_of_to = pd.Timestamp("2022-03-31")
    community = snapshot[~snapshot["in_custody"] & snapshot["arms_required"]]
    in_date = set(
        community.loc[
            (community["arms_due_date"] > end_of_to) & community["arms_completed_date"].notna(), "rso_id"
        ]
    )
    outstanding = set(community.loc[community["arms_due_date"] <= end_of_to, "rso_id"])
    assert (in_date, outstanding) == ({"R1", "R7"}, {"R2", "R3"})
    rows, total = kpi_records(tiny, "arms_completion_pct", Q1, DORSET, rows="kpi")
    assert total == 4
    assert dict(zip(rows["rso_id"], rows["kpi_value"], strict=True)) == {
        "R1": "In date",
        "R7": "In date",
        "R2": "Outstanding",
        "R3": "Outstanding",
    }
    assert set(rows.loc[rows["in_numerator"].astype(bool), "rso_id"]) == in_date
    _all, every = kpi_records(tiny, "arms_completion_pct", Q1, DORSET, rows="all")
    assert every == 7, "every row in scope: the whole snapshot"


# --- The grid -----------------------------------------------------------------------------------


def _frame() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "detention_id": ["D1", "D2"],
            "in_numerator": pd.array([True, None], dtype="boolean"),
            "kpi_value": [60.0, None],
            "arrived_at": pd.to_datetime(["2022-03-31 14:05:00", "2022-03-01 09:00:00"]),
            "due_date": pd.to_datetime(["2022-03-31", None]),
        }
    )
    frame.attrs["column_words"] = {"kpi_value": "Value measured: minutes from AA requested to AA arrival"}
    return frame


def _grid(frame: pd.DataFrame):
    return records_grid(frame, "grid", what="test", total=len(frame)).children[1]


def test_grid_dates_are_iso_values_shown_in_words():
    grid = _grid(_frame())
    defs = {d["field"]: d for d in grid.columnDefs}
    assert grid.rowData[0]["arrived_at"] == "2022-03-31T14:05:00", "ISO text sorts as time"
    assert DATE_TIME_WORDS in defs["arrived_at"]["valueFormatter"]["function"]
    assert DATE_WORDS in defs["due_date"]["valueFormatter"]["function"]
    assert DATE_TIME_WORDS not in defs["due_date"]["valueFormatter"]["function"], "midnight: no time"
    assert defs["due_date"]["filterValueGetter"]["function"].startswith("params.data['due_date']")
    assert grid.rowData[1]["due_date"] is None
    assert pd.Timestamp("2022-03-31 14:05").strftime(DATE_TIME_WORDS) == "31 Mar 2022 14:05"
    assert pd.Timestamp("2022-04-01").strftime(DATE_WORDS) == "1 Apr 2022"
    assert shows_time(pd.Series([pd.Timestamp("2022-01-01"), pd.Timestamp("2022-01-02 00:00:01")]))
    assert not shows_time(pd.Series(pd.to_datetime(["2022-01-01", None])))


def test_grid_headers_for_the_kpi_columns_and_empty_ones_left_out():
    grid = _grid(_frame())
    headers = {d["field"]: d["headerName"] for d in grid.columnDefs}
    assert headers["in_numerator"] == "Counts in numerator"
    assert headers["kpi_value"] == "Value measured: minutes from AA requested to AA arrival"
    assert [r["in_numerator"] for r in grid_rows(_frame())] == ["Yes", None]
    median_like = _frame().assign(in_numerator=pd.array([None, None], dtype="boolean"))
    assert "in_numerator" not in {d["field"] for d in _grid(median_like).columnDefs}


# --- In Chromium: the grid as a reader sees it -----------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def grid_page():
    """A one-grid Dash app (the records grid alone) served by its own process, and headless Chromium on it."""
    from conftest import headless_chromium

    frame = _frame()
    frame = pd.concat([frame, frame.assign(detention_id=["D3", "D4"], arrived_at=pd.to_datetime(
        ["2021-12-25 08:30:00", "2022-11-02 23:59:00"]))], ignore_index=True)  # fmt: skip
    frame.attrs = _frame().attrs
    # In a process of its own: a Dash app made in this one would take on the callbacks that
    # the dashboard's pages registered globally (imported by other tests), for components it lacks.
    folder = Path(tempfile.mkdtemp(prefix="grid-page-"))
    frame.to_parquet(folder / "frame.parquet")
    (folder / "words.json").write_text(json.dumps(frame.attrs["column_words"]))
    port = _free_port()
    script = (
        "import json, sys, pandas as pd\n"
        "from dash import Dash\n"
        "from ui.records import records_grid\n"
        "folder, port = sys.argv[1], int(sys.argv[2])\n"
        "frame = pd.read_parquet(folder + '/frame.parquet')\n"
        "frame.attrs['column_words'] = json.load(open(folder + '/words.json'))\n"
        "app = Dash(__name__, assets_folder=folder + '/no-assets')\n"
        "app.layout = records_grid(frame, 'records-test-grid', what='test records', total=len(frame))\n"
        "app.run(host='127.0.0.1', port=port, debug=False)\n"
    )
    server = subprocess.Popen(
        [sys.executable, "-c", script, str(folder), str(port)],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.2)
    driver = headless_chromium()
    driver.get(f"http://127.0.0.1:{port}/")
    yield driver
    driver.quit()
    server.terminate()
    server.wait(timeout=10)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.browser
def test_the_grid_shows_dates_in_words_and_sorts_them_by_time(grid_page):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def column(field):
        """The column's cell texts in the order the grid shows its rows (its row-index)."""
        rows = grid_page.find_elements(By.CSS_SELECTOR, ".ag-center-cols-container .ag-row")
        rows = sorted(rows, key=lambda row: int(row.get_attribute("row-index")))
        return [row.find_element(By.CSS_SELECTOR, f"[col-id='{field}']").text for row in rows]

    WebDriverWait(grid_page, 30).until(lambda d: len(column("arrived_at")) == 4)
    assert column("arrived_at") == [
        "31 Mar 2022 14:05",
        "1 Mar 2022 09:00",
        "25 Dec 2021 08:30",
        "2 Nov 2022 23:59",
    ]
    assert column("due_date")[0] == "31 Mar 2022"
    headers = [h.text for h in grid_page.find_elements(By.CSS_SELECTOR, ".ag-header-cell-text")]
    assert "Counts in numerator" in headers
    assert any(h.startswith("Value measured: minutes") for h in headers)
    header = grid_page.find_element(
        By.CSS_SELECTOR, ".ag-header-cell[col-id='arrived_at'] .ag-header-cell-label"
    )
    grid_page.execute_script("arguments[0].click()", header)
    WebDriverWait(grid_page, 10).until(lambda d: column("arrived_at")[0] == "25 Dec 2021 08:30")
    assert column("arrived_at") == [
        "25 Dec 2021 08:30",
        "1 Mar 2022 09:00",
        "31 Mar 2022 14:05",
        "2 Nov 2022 23:59",
    ]
    severe = [e["message"] for e in grid_page.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []
