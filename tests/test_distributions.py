"""The area pages' distribution charts: each query against pandas over tiny parquet, and the pure builders.

The data are the hand-checkable KPI fixtures (tests/kpi_fixtures.py: nulls,
negative intervals, rows at the period's edges, a month in coverage with no
events, two forces) plus a few rows that only these charts need. Each query
is compared with an independent pandas computation, and with the KPI it
breaks down where there is one (so the chart and the card never disagree).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import figures
from data.settings import load_settings
from figures import distributions as dist
from queries import DataStore
from queries.kpis import Filters, Period, kpi_breakdown, kpi_series, kpi_table, kpi_values
from tests import kpi_fixtures as fx

BIN_MIN, CAP_MIN = 5, 120
SETTINGS = load_settings()
PHRASES = [p.lower() for p in SETTINGS.language_phrases]

# (id, from, to, force, lpa, local_authority)
SCENARIOS = [
    ("dorset-q1", "2022-01", "2022-03", "Dorset", None, None),
    ("all-forces-q1", "2022-01", "2022-03", None, None, None),
    ("dorset-east", "2022-01", "2022-03", "Dorset", "East", None),
    ("dorset-bcp", "2022-01", "2022-03", "Dorset", None, "BCP Council"),
    ("dorset-february", "2022-02", "2022-02", "Dorset", None, None),
    ("dorset-empty-month", "2022-05", "2022-05", "Dorset", None, None),
    ("before-coverage", "2021-06", "2021-08", "Dorset", None, None),
    ("wiltshire-q1", "2022-01", "2022-03", "Wiltshire", None, None),
    ("lpa-not-in-data", "2022-01", "2022-03", "Dorset", "Nowhere", None),
]
IDS = [s[0] for s in SCENARIOS]


def _extra_incidents() -> list[dict]:
    t = True
    return [
        # vulnerable, arrival before the call: negative, left out of the distribution
        fx._incident("X01", fx.EAST, "2022-02-01 10:00:00", 2, t, t, 0, False, -3, None, t, t),
        # vulnerable grade 4 arriving after 3 h: the overflow bin
        fx._incident("X02", fx.WEST, "2022-02-02 10:00:00", 4, t, t, 0, False, 180, None, t, t),
        # a bin edge exactly: 20 min falls in the 20-25 bin; not attended
        fx._incident("X03", fx.WEST, "2022-03-03 10:00:00", 2, t, t, 0, False, 20, None, t, t),
        fx._incident("X04", fx.EAST, "2022-03-04 10:00:00", 1, t, t, 0, False, None, None, t, t),
    ]


def _extra_rso() -> list[dict]:
    f, t = False, True
    # OM3 manages three in the community in March (one of them in custody): 3 counted
    return [
        fx._rso("2022-03-01", f"S1{i}", fx.WEST, "OM3", "active", custody, f, f, None, None, None)
        for i, custody in enumerate([f, f, f, t])
    ] + [fx._rso("2022-03-01", "S20", fx.EAST, "OM4", "reactive", f, f, f, None, None, None)]


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    frames = fx.all_frames()
    frames["incidents"] = pd.concat(
        [frames["incidents"], fx._frame("incidents", _extra_incidents())], ignore_index=True
    )
    frames["rso_register"] = pd.concat(
        [frames["rso_register"], fx._frame("rso_register", _extra_rso())], ignore_index=True
    )
    return frames


@pytest.fixture(scope="module")
def store(tmp_path_factory, frames) -> DataStore:
    data_dir = tmp_path_factory.mktemp("distributions") / "extracts"
    fx.write_fixtures(data_dir, frames)
    return DataStore(data_dir, SETTINGS)


def _scenario(scenario):
    _id, start, end, force, lpa, local_authority = scenario
    return Period(start, end), Filters(force, lpa, local_authority)


def _params(period: Period, filters: Filters, **extra) -> dict:
    return {
        "period_start": period.period_start,
        "period_end": period.period_end,
        **filters.as_params(),
        **dist.NO_FOCUS,
        **extra,
    }


def _filtered(frame: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """The filter bar on a table: a filter on a column the table lacks is not applied."""
    keep = pd.Series(True, index=frame.index)
    for column in ("force", "lpa", "local_authority"):
        value = getattr(filters, column)
        if value and column in frame.columns:
            keep &= frame[column] == value
    return frame[keep]


def _in_period(frame: pd.DataFrame, column: str, period: Period) -> pd.DataFrame:
    moment = pd.to_datetime(frame[column])
    return frame[(moment >= pd.Timestamp(period.period_start)) & (moment < pd.Timestamp(period.period_end))]


def _minutes(start: pd.Series, end: pd.Series) -> pd.Series:
    return (pd.to_datetime(end) - pd.to_datetime(start)).dt.total_seconds() / 60


def _snapshot_covered(frame: pd.DataFrame, column: str, filters: Filters, period: Period) -> bool:
    """Is month `to` within the table's months, taken over the force filter only?"""
    rows = frame if not filters.force else frame[frame["force"] == filters.force]
    if rows.empty:
        return False
    months = pd.to_datetime(rows[column]).dt.to_period("M")
    return months.min() <= pd.Period(period.end_month, "M") <= months.max()


def _same(actual: pd.DataFrame, expected: pd.DataFrame, keys: list[str]) -> None:
    actual = actual.sort_values(keys).reset_index(drop=True)
    expected = expected.sort_values(keys).reset_index(drop=True)
    assert list(actual.columns) == list(expected.columns)
    assert len(actual) == len(expected), (actual, expected)
    for column in actual.columns:
        left, right = actual[column].tolist(), expected[column].tolist()
        for a, b in zip(left, right, strict=True):
            if b is None or (isinstance(b, float) and math.isnan(b)):
                assert a is None or (isinstance(a, float) and math.isnan(a)), (column, left, right)
            elif isinstance(b, float):
                assert a == pytest.approx(b), (column, left, right)
            else:
                assert a == b, (column, left, right)


# --- Initial contact: arrival distribution.


def oracle_arrival(frames, period, filters, *, focus_lpa: str | None = None) -> pd.DataFrame:
    rows = _in_period(_filtered(frames["incidents"], filters), "received_at", period)
    rows = rows[rows["vulnerability_identified"]]
    if focus_lpa:
        rows = rows[rows["lpa"] == focus_lpa]
    minutes = _minutes(rows["received_at"], rows["arrived_at"])
    out = pd.DataFrame(
        {
            "grade_group": rows["grade"].map({1: "grade 1", 2: "grade 2"}).fillna("other"),
            "status": np.where(
                rows["arrived_at"].isna(), "not_recorded", np.where(minutes >= 0, "usable", "negative")
            ),
            "minutes": minutes,
        }
    )
    out["bin_min"] = np.where(
        out["status"] == "usable", np.minimum(np.floor(out["minutes"] / BIN_MIN) * BIN_MIN, CAP_MIN), np.nan
    )
    medians = out[out["status"] == "usable"].groupby("grade_group")["minutes"].quantile(0.5)
    counted = (
        out.groupby(["grade_group", "status", "bin_min"], dropna=False)
        .size()
        .rename("n_incidents")
        .reset_index()
    )
    counted["median_min"] = counted["grade_group"].map(medians)
    return counted


@pytest.mark.parametrize("scenario", SCENARIOS, ids=IDS)
def test_arrival_distribution_equals_pandas(store, frames, scenario):
    period, filters = _scenario(scenario)
    actual = store.run(
        "initial_contact/arrival_distribution", _params(period, filters, bin_min=BIN_MIN, cap_min=CAP_MIN)
    )
    expected = oracle_arrival(frames, period, filters)
    _same(actual, expected, ["grade_group", "status", "bin_min"])


def test_arrival_distribution_cases(store):
    period = Period("2022-01", "2022-03")
    rows = store.run(
        "initial_contact/arrival_distribution",
        _params(period, Filters("Dorset"), bin_min=BIN_MIN, cap_min=CAP_MIN),
    )
    by = {
        (r.grade_group, r.status, r.bin_min if r.status == "usable" else None): r.n_incidents
        for r in rows.itertuples()
    }
    assert by[("grade 2", "negative", None)] == 1  # X01: left out of the bins
    assert by[("other", "usable", float(CAP_MIN))] == 1  # X02: 3 h lands in the overflow bin
    assert by[("grade 2", "usable", 20.0)] == 3  # I05, X03 (20 min: the 20-25 bin) and I06 (21 min)
    assert by[("grade 1", "not_recorded", None)] == 2  # I03 and X04
    # The usable arrivals are the ones the KPI's median reads (its n).
    kpi = kpi_table(store, period, Filters("Dorset"), kpi_ids=["arrival_median_min"])
    usable = rows[rows["status"] == "usable"]
    assert usable["n_incidents"].sum() == kpi["denominator"].iloc[0] == 6


def test_arrival_focus_equals_the_lpa_filter(store):
    period = Period("2022-01", "2022-03")
    extra = {"bin_min": BIN_MIN, "cap_min": CAP_MIN}
    focused = store.run(
        "initial_contact/arrival_distribution",
        {**_params(period, Filters("Dorset"), **extra), **dist.focus_params("lpa", "East", ("lpa",))},
    )
    filtered = store.run(
        "initial_contact/arrival_distribution", _params(period, Filters("Dorset", "East"), **extra)
    )
    _same(focused, filtered, ["grade_group", "status", "bin_min"])


# --- Assessment and help: flagged language, MASH backlog.


def oracle_flagged(frames, period, filters) -> pd.DataFrame:
    rows = _in_period(_filtered(frames["missing_episodes"], filters), "reported_at", period)
    matched = [
        [p for p in PHRASES if isinstance(text, str) and p in text.lower()]
        for text in rows["risk_assessment_text"]
    ]
    rows = rows.assign(matched_phrases=matched)
    rows = rows[rows["matched_phrases"].map(len) > 0]
    return rows.sort_values(["reported_at", "episode_id"], ascending=[False, True])


@pytest.mark.parametrize("scenario", SCENARIOS, ids=IDS)
def test_flagged_language_equals_pandas_and_the_kpi(store, frames, scenario):
    period, filters = _scenario(scenario)
    actual = store.run("assessment/flagged_language", _params(period, filters))
    expected = oracle_flagged(frames, period, filters)
    assert actual["episode_id"].tolist() == expected["episode_id"].tolist()
    assert [list(m) for m in actual["matched_phrases"]] == expected["matched_phrases"].tolist()
    assert actual["child_id"].tolist() == expected["child_id"].tolist()
    # The rows are exactly what the KPI counts (null when the period is outside coverage: then none).
    kpi = kpi_values(store, period, filters, kpi_ids=["inappropriate_language_count"])
    value = kpi["inappropriate_language_count"]
    assert (value or 0) == len(actual)


def test_flagged_language_rules(store):
    rows = store.run("assessment/flagged_language", _params(Period("2022-01", "2022-03"), Filters("Dorset")))
    phrases = dict(zip(rows["episode_id"], (list(m) for m in rows["matched_phrases"]), strict=True))
    assert phrases["E01"] == ["through choice", "streetwise"]  # upper case matches; several phrases
    assert phrases["E02"] == ["voluntarily absent"]  # a plain substring: "absented" matches
    assert phrases["E06"] == ["through choice"]  # negation is not seen: the table shows it in context
    assert "E03" not in phrases and "E08" not in phrases  # null and empty text match nothing
    assert "E04" not in phrases and "E11" not in phrases  # outside the period


def test_language_by_month_totals_equal_the_kpi_series(store):
    period, filters = Period("2021-11", "2022-06"), Filters("Dorset")
    rows = store.run("assessment/flagged_language", _params(period, filters))
    series = kpi_series(store, "inappropriate_language_count", period, filters)
    covered = [m for m, v in zip(series["month"], series["value"], strict=True) if v is not None]
    fig = dist.language_by_month(rows, months=covered, title="t")
    totals = np.sum([list(trace.y) for trace in fig.data], axis=0)
    expected = [v for v in series["value"] if v is not None]
    assert list(totals) == expected
    assert "2021-11" not in covered  # before coverage: left off, not a zero


BANDS = [(7, "0-7", 1), (28, "8-28", 2), (90, "29-90", 3), (math.inf, "over 90", 4)]


def oracle_backlog(frames, period, filters) -> pd.DataFrame:
    table = frames["mash_referrals"]
    columns = ["risk_level", "age_band", "band_order", "n_open"]
    if not _snapshot_covered(table, "received_at", filters, period):
        return pd.DataFrame(columns=columns)
    end = pd.Timestamp(period.period_end)
    rows = _filtered(table, filters)
    rows = rows[(rows["received_at"] < end) & (rows["completed_at"].isna() | (rows["completed_at"] >= end))]
    days = np.floor((end - rows["received_at"]).dt.total_seconds() / 86400)
    band = [next((b, o) for limit, b, o in BANDS if d <= limit) for d in days]
    out = rows.assign(age_band=[b for b, _ in band], band_order=[o for _, o in band])
    return (
        out.groupby(["risk_level", "age_band", "band_order"]).size().rename("n_open").reset_index()[columns]
    )


@pytest.mark.parametrize("scenario", SCENARIOS, ids=IDS)
def test_mash_backlog_equals_pandas_and_the_kpi(store, frames, scenario):
    period, filters = _scenario(scenario)
    actual = store.run("assessment/mash_backlog", _params(period, filters))
    _same(actual, oracle_backlog(frames, period, filters), ["risk_level", "age_band"])
    value = kpi_values(store, period, filters, kpi_ids=["mash_open_at_end"])["mash_open_at_end"]
    assert (value or 0) == actual["n_open"].sum()


def test_mash_backlog_bands_at_their_edges(store):
    rows = store.run("assessment/mash_backlog", _params(Period("2022-01", "2022-03"), Filters("Dorset")))
    got = {(r.risk_level, r.age_band): r.n_open for r in rows.itertuples()}
    # M01 received 2021-12-20 09:00: 102 days; M02 exactly 90 days: 29-90; M06 1 s before the end: 0-7.
    assert got == {("high", "over 90"): 1, ("high", "29-90"): 1, ("low", "29-90"): 1, ("high", "0-7"): 1}


# --- Investigation: IMPACT caseload, drift by team.


def oracle_impact(frames, period, filters) -> pd.DataFrame:
    cases = frames["investigations"]
    in_force = cases if not filters.force else cases[cases["force"] == filters.force]
    opened_months = pd.to_datetime(in_force["opened_at"]).dt.to_period("M")
    staffing = frames["team_staffing"]
    out = []
    for month in period.month_labels():
        m = pd.Period(month, "M")
        end = (m + 1).to_timestamp()
        covered = not in_force.empty and opened_months.min() <= m <= opened_months.max()
        open_rows = in_force[
            (in_force["team"] == "impact")
            & (in_force["opened_at"] < end)
            & (in_force["closed_at"].isna() | (in_force["closed_at"] >= end))
        ]
        if filters.lpa:
            open_rows = open_rows[open_rows["lpa"] == filters.lpa]
        staff = staffing[(staffing["team"] == "impact") & (staffing["month"] == m.to_timestamp())]
        if filters.force:
            staff = staff[staff["force"] == filters.force]
        fte = per_officer = None
        if not (filters.lpa or filters.local_authority) and not staff.empty:
            fte = float(staff["officers_fte"].sum())
            staffed_open = open_rows[open_rows["force"].isin(staff["force"])]
            per_officer = len(staffed_open) / fte if covered and fte > 0 else None
        out.append(
            {
                "month": m.to_timestamp(),
                "open_cases": float(len(open_rows)) if covered else None,
                "officers_fte": fte,
                "cases_per_officer": per_officer,
            }
        )
    return pd.DataFrame(out, columns=["month", "open_cases", "officers_fte", "cases_per_officer"])


@pytest.mark.parametrize("scenario", SCENARIOS, ids=IDS)
def test_impact_caseload_equals_pandas_and_the_kpis(store, frames, scenario):
    period, filters = _scenario(scenario)
    actual = store.run("investigation/impact_caseload", _params(period, filters))
    _same(actual, oracle_impact(frames, period, filters), ["month"])
    for column, kpi_id in (
        ("open_cases", "impact_open_cases"),
        ("cases_per_officer", "impact_cases_per_officer"),
    ):
        series = kpi_series(store, kpi_id, period, filters)
        for got, want in zip(actual[column], series["value"], strict=True):
            assert (want is None and pd.isna(got)) or got == pytest.approx(want), (kpi_id, got, want)


def oracle_drift(frames, period, filters) -> pd.DataFrame:
    columns = ["team", "review_band", "band_order", "n_drifting"]
    reviews = frames["investigation_reviews"]
    if not (
        _snapshot_covered(frames["investigations"], "opened_at", filters, period)
        and _snapshot_covered(reviews, "reviewed_at", filters, period)
    ):
        return pd.DataFrame(columns=columns)
    end = pd.Timestamp(period.period_end)
    cut_off = end - pd.Timedelta(days=28)
    rows = _filtered(frames["investigations"], filters)
    rows = rows[
        (rows["opened_at"] < end)
        & (rows["closed_at"].isna() | (rows["closed_at"] >= end))
        & (rows["opened_at"] <= cut_off)
    ]
    last = reviews[reviews["reviewed_at"] < end].groupby("crime_id")["reviewed_at"].max()
    rows = rows.assign(last_review=rows["crime_id"].map(last))
    rows = rows[rows["last_review"].isna() | (rows["last_review"] < cut_off)]
    days = np.floor((end - rows["last_review"]).dt.total_seconds() / 86400)
    bands = [
        ("never reviewed", 1)
        if np.isnan(d)
        else ("28-56 days", 2)
        if d <= 56
        else ("57-90 days", 3)
        if d <= 90
        else ("over 90 days", 4)
        for d in days
    ]
    rows = rows.assign(review_band=[b for b, _ in bands], band_order=[o for _, o in bands])
    return (
        rows.groupby(["team", "review_band", "band_order"]).size().rename("n_drifting").reset_index()[columns]
    )


@pytest.mark.parametrize("scenario", SCENARIOS, ids=IDS)
def test_drift_by_team_equals_pandas_and_the_kpi(store, frames, scenario):
    period, filters = _scenario(scenario)
    actual = store.run("investigation/drift_by_team", _params(period, filters))
    _same(actual, oracle_drift(frames, period, filters), ["team", "review_band"])
    by_team = kpi_breakdown(store, "investigations_drifting", "team", period, filters)
    kpi = {g: v for g, v in zip(by_team["group"], by_team["value"], strict=True) if v}
    assert actual.groupby("team")["n_drifting"].sum().to_dict() == kpi


# --- Managing risk: caseload per offender manager.


def oracle_caseload(frames, period, filters) -> pd.DataFrame:
    rows = _filtered(frames["rso_register"], filters)
    rows = rows[(rows["snapshot_month"] == pd.Timestamp(period.end_month + "-01")) & ~rows["in_custody"]]
    counted = rows.groupby(["force", "offender_manager_id"]).size().rename("n_rso").reset_index()
    return counted


@pytest.mark.parametrize("scenario", SCENARIOS, ids=IDS)
def test_rso_caseload_equals_pandas_and_the_kpi(store, frames, scenario):
    period, filters = _scenario(scenario)
    actual = store.run("managing_risk/rso_caseload", _params(period, filters))
    _same(actual, oracle_caseload(frames, period, filters), ["force", "offender_manager_id"])
    assert actual["n_rso"].is_monotonic_decreasing
    kpi = kpi_values(store, period, filters, kpi_ids=["rso_max_per_offender_manager"])
    assert kpi["rso_max_per_offender_manager"] == (actual["n_rso"].max() if not actual.empty else None)


def test_rso_caseload_counts_each_forces_manager_apart(store):
    rows = store.run("managing_risk/rso_caseload", _params(Period("2022-03", "2022-03"), Filters()))
    got = {(r.force, r.offender_manager_id): r.n_rso for r in rows.itertuples()}
    # OM1 in Dorset: S01, S02, S03, S06; Wiltshire's OM1 is another person.
    assert got[("Dorset", "OM1")] == 4
    assert got[("Wiltshire", "OM1")] == 1
    assert got[("Dorset", "OM3")] == 3  # one of OM3's four is in custody


# --- Detention: AA delay by suite.


def oracle_aa(frames, period, filters, *, suite: str | None = None) -> pd.DataFrame:
    rows = _in_period(_filtered(frames["custody_detentions"], filters), "arrived_at", period)
    if suite:
        rows = rows[rows["custody_suite"] == suite]
    minutes = _minutes(rows["aa_requested_at"], rows["aa_arrived_at"])
    status = np.where(
        rows["aa_arrived_at"].isna(),
        "not_recorded",
        np.where(
            rows["aa_requested_at"].isna(),
            "request_not_recorded",
            np.where(minutes >= 0, "usable", "negative"),
        ),
    )
    out = pd.DataFrame(
        {
            "custody_suite": rows["custody_suite"],
            "status": status,
            "aa_delay_min": np.where(status == "usable", minutes, np.nan),
        }
    )
    return (
        out.groupby(["custody_suite", "status", "aa_delay_min"], dropna=False)
        .size()
        .rename("n_detentions")
        .reset_index()
    )


@pytest.mark.parametrize("scenario", SCENARIOS, ids=IDS)
def test_aa_delay_by_suite_equals_pandas_and_the_kpis(store, frames, scenario):
    period, filters = _scenario(scenario)
    actual = store.run("detention/aa_delay_by_suite", _params(period, filters))
    _same(actual, oracle_aa(frames, period, filters), ["custody_suite", "status", "aa_delay_min"])
    kpi = kpi_values(store, period, filters, kpi_ids=["aa_delay_median_min", "child_detentions"])
    usable = actual[actual["status"] == "usable"]
    values = np.repeat(usable["aa_delay_min"].to_numpy(float), usable["n_detentions"].to_numpy(int))
    median = float(np.quantile(values, 0.5)) if values.size else None
    assert kpi["aa_delay_median_min"] == pytest.approx(median)
    assert (kpi["child_detentions"] or 0) == actual["n_detentions"].sum()


def test_aa_delay_statuses_and_suite_focus(store, frames):
    period = Period("2022-01", "2022-03")
    rows = store.run("detention/aa_delay_by_suite", _params(period, Filters("Dorset")))
    statuses = rows.groupby("status")["n_detentions"].sum().to_dict()
    # D05 negative (left out), D03 no request time, D04 no AA arrival; D01, D06, D02 usable.
    assert statuses == {"negative": 1, "request_not_recorded": 1, "not_recorded": 1, "usable": 3}
    focused = store.run(
        "detention/aa_delay_by_suite",
        {
            **_params(period, Filters("Dorset")),
            **dist.focus_params("custody_suite", "Weymouth", ("custody_suite", "lpa")),
        },
    )
    _same(
        focused,
        oracle_aa(frames, period, Filters("Dorset"), suite="Weymouth"),
        ["custody_suite", "status", "aa_delay_min"],
    )


# --- Pure builders.


def _has_empty_message(fig) -> bool:
    return any(figures.EMPTY_MESSAGE in (a.text or "") for a in fig.layout.annotations)


def _annotation_texts(fig) -> list[str]:
    return [a.text or "" for a in fig.layout.annotations]


def test_focus_params_apply_only_columns_the_query_has():
    assert dist.focus_params("lpa", "East", ("lpa", "force")) == {
        "focus_column": "lpa",
        "focus_value": "East",
    }
    assert dist.focus_params("outcome", "charged", ("lpa",)) == dist.NO_FOCUS
    assert dist.focus_params(None, None, ("lpa",)) == dist.NO_FOCUS
    assert dist.unapplied_filters("custody_detentions", lpa="East", local_authority="BCP Council") == [
        "local authority filter not applied: custody_detentions has no local authority"
    ]
    assert dist.unapplied_filters("incidents", lpa="East", local_authority="BCP Council") == []


ARRIVAL_ROWS = pd.DataFrame(
    {
        "grade_group": ["grade 1", "grade 1", "grade 2", "other", "grade 2"],
        "status": ["usable", "usable", "not_recorded", "usable", "negative"],
        "bin_min": [5.0, 15.0, None, 120.0, None],
        "n_incidents": [10, 4, 3, 2, 1],
        "median_min": [8.0, 8.0, None, 150.0, None],
    }
)


def _arrival(rows):
    return dist.arrival_histogram(
        rows, title="Arrival", grade1_target_min=15, grade2_target_min=20, bin_min=5, cap_min=120
    )


def test_arrival_histogram_targets_panels_and_subtitle():
    fig = _arrival(ARRIVAL_ROWS)
    lines = [s for s in fig.layout.shapes if s.line.dash == "dash"]
    assert sorted(s.x0 for s in lines) == [15, 20]
    texts = _annotation_texts(fig)
    assert "Grade 1 target 15 min" in texts and "Grade 2 target 20 min" in texts
    assert any(t.startswith("Grade 1: 14 arrivals, median 8 min") for t in texts)
    assert (
        "No arrival recorded (not in the chart): grade 1 0, grade 2 3, grades 3–5 0" in fig.layout.title.text
    )
    assert "1 arrival before the call left out" in fig.layout.title.text
    assert [len(trace.x) for trace in fig.data] == [2, 0, 1]
    assert list(fig.data[0].x) == [7.5, 17.5]  # bar centres
    assert fig.data[2].customdata[0] == "120 min or more"
    assert not _has_empty_message(fig)


def test_arrival_histogram_empty_states():
    assert _has_empty_message(_arrival(ARRIVAL_ROWS.iloc[0:0]))
    only_missing = _arrival(ARRIVAL_ROWS[ARRIVAL_ROWS["status"] == "not_recorded"])
    assert _has_empty_message(only_missing)
    assert "grade 2 3" in only_missing.layout.title.text  # the missing arrivals are still stated


def test_excerpt_highlights_the_phrases():
    text = "x" * 100 + " He appears to be missing THROUGH CHOICE and is streetwise. " + "y " * 80
    segments = dist.excerpt_segments(text, ["through choice", "streetwise"], width=60)
    marked = [s for s, is_phrase in segments if is_phrase]
    assert marked == ["THROUGH CHOICE", "streetwise"]  # case kept as written; every phrase in the excerpt
    joined = "".join(s for s, _ in segments)
    assert joined.startswith("…") and joined.endswith("…")
    assert len(joined) < 2 * 60 + len("THROUGH CHOICE") + 4
    assert "missing THROUGH CHOICE and is streetwise." in joined


def test_excerpt_short_text_null_and_no_match():
    assert dist.excerpt_segments("Streetwise.", ["streetwise"]) == [("Streetwise", True), (".", False)]
    assert dist.excerpt_segments(None, ["streetwise"]) == []
    assert dist.excerpt_segments("no concerns", ["streetwise"]) == [("no concerns", False)]
    # A plain substring, as the KPI reads it: "absented" holds "absent".
    assert ("voluntarily absent", True) in dist.excerpt_segments(
        "voluntarily absented", ["voluntarily absent"]
    )


def test_language_table_marks_the_phrase():

    import app  # noqa: F401  (pages register only once the app exists)
    from pages import assessment_and_help as page

    rows = pd.DataFrame(
        {
            "episode_id": ["E1"],
            "child_id": ["C1"],
            "reported_at": [pd.Timestamp("2022-03-01 10:00")],
            "risk_level": ["high"],
            "lpa": ["East"],
            "local_authority": ["BCP Council"],
            "matched_phrases": [["through choice"]],
            "risk_assessment_text": ["Missing through choice again."],
        }
    )
    caption, grid = page.language_table(rows, ["through choice"], what="Dorset, Mar 2022")
    assert "1 episode with flagged language: Dorset, Mar 2022." in caption.children
    (row,) = grid.rowData
    # The phrase is a part of its own, marked by the grid's cell renderer; the text is kept whole.
    assert row["excerpt_parts"] == [["Missing ", False], ["through choice", True], [" again.", False]]
    assert row["excerpt"] == "Missing through choice again."
    assert row["reported"] == "2022-03-01T10:00:00" and row["phrase"] == "through choice"
    assert next(c for c in grid.columnDefs if c["field"] == "excerpt")["cellRenderer"] == "MarkedExcerpt"
    empty = page.language_table(rows.iloc[0:0], ["through choice"], what="Dorset")
    assert empty[1].children == figures.EMPTY_MESSAGE


def test_language_by_month_stacks_and_says_none():
    rows = pd.DataFrame(
        {
            "reported_at": pd.to_datetime(["2022-01-05", "2022-01-09", "2022-03-01"]),
            "risk_level": ["high", "low", "low"],
        }
    )
    fig = dist.language_by_month(rows, months=["2022-01", "2022-02", "2022-03"], title="t")
    by_name = {trace.name: list(trace.y) for trace in fig.data}
    assert by_name == {"High risk": [1, 0, 0], "Medium risk": [0, 0, 0], "Low risk": [1, 0, 1]}
    assert fig.layout.barmode == "stack"
    none = dist.language_by_month(rows.iloc[0:0], months=["2022-01"], title="t")
    assert "No flagged language in these months" in _annotation_texts(none)
    assert _has_empty_message(dist.language_by_month(rows, months=[], title="t"))


def test_mash_backlog_bands_in_order_with_totals():
    rows = pd.DataFrame(
        {"risk_level": ["high", "low", "low"], "age_band": ["over 90", "0-7", "over 90"], "n_open": [1, 5, 2]}
    )
    fig = dist.mash_backlog(rows, title="t")
    assert list(fig.data[0].x) == ["0–7 days", "8–28 days", "29–90 days", "Over 90 days"]
    assert list(fig.data[0].y) == [0, 0, 0, 1]  # high risk
    assert "8 referrals open, 1 high risk" in fig.layout.title.text
    assert "3" in _annotation_texts(fig)
    assert _has_empty_message(dist.mash_backlog(rows.iloc[0:0], title="t"))


CASELOAD = pd.DataFrame(
    {
        "month": pd.to_datetime(["2022-01-01", "2022-02-01"]),
        "open_cases": [20.0, 22.0],
        "officers_fte": [2.0, None],
        "cases_per_officer": [10.0, None],
    }
)


def test_impact_caseload_two_panels_named_in_the_legend():
    fig = dist.impact_caseload(CASELOAD, title="t", highlight_month="2022-02")
    names = [trace.name for trace in fig.data]
    assert names == [
        "Open IMPACT cases (top panel)",
        "IMPACT officers, FTE (lower panel)",
        "Cases per officer (lower panel)",
    ]
    assert fig.data[0].yaxis == "y" and fig.data[2].yaxis == "y2"  # stacked panels, not a second scale
    assert list(fig.data[1].y) == [2.0, None]  # a month without staffing is a gap
    assert len(fig.layout.shapes) == 2  # the narrowed month shaded in both panels
    no_staff = dist.impact_caseload(
        CASELOAD.assign(officers_fte=None, cases_per_officer=None), title="t", staffing_reason="LPA filter"
    )
    assert "LPA filter" in _annotation_texts(no_staff)
    assert _has_empty_message(dist.impact_caseload(CASELOAD.assign(open_cases=None), title="t"))


def test_drift_by_team_sorted_and_stacked():
    rows = pd.DataFrame(
        {
            "team": ["cait", "cait", "impact"],
            "review_band": ["never reviewed", "28-56 days", "over 90 days"],
            "n_drifting": [1, 4, 2],
        }
    )
    fig = dist.drift_by_team(rows, title="t")
    assert list(fig.data[0].y) == ["IMPACT", "CAIT"]  # largest at the top
    assert fig.data[0].name == "Never reviewed"
    assert "7 investigations drifting" in fig.layout.title.text
    assert _has_empty_message(dist.drift_by_team(rows.iloc[0:0], title="t"))


def test_manager_caseload_threshold_and_count_above():
    rows = pd.DataFrame(
        {"force": ["Dorset"] * 3, "offender_manager_id": ["OM1", "OM2", "OM3"], "n_rso": [69, 50, 12]}
    )
    fig = dist.manager_caseload(rows, title="t", threshold=50)
    assert "1 of 3 offender managers above 50" in fig.layout.title.text  # 50 itself is not above
    assert [s.x0 for s in fig.layout.shapes] == [50]
    assert "Threshold 50" in _annotation_texts(fig)
    assert {trace.name: list(trace.y) for trace in fig.data} == {
        "Above 50": ["OM1"],
        "50 or fewer": ["OM3", "OM2"],
    }
    assert list(fig.layout.yaxis.categoryarray) == ["OM3", "OM2", "OM1"]
    assert _has_empty_message(dist.manager_caseload(rows.iloc[0:0], title="t", threshold=50))


AA_ROWS = pd.DataFrame(
    {
        "custody_suite": ["Bournemouth", "Bournemouth", "Bournemouth", "Weymouth", "Weymouth"],
        "status": ["usable", "usable", "not_recorded", "usable", "negative"],
        "aa_delay_min": [30.0, 150.0, None, 45.0, None],
        "n_detentions": [2, 1, 4, 1, 1],
    }
)


def test_aa_delay_box_points_line_and_missing_per_suite():
    fig = dist.aa_delay_box(AA_ROWS, title="t")
    assert [trace.type for trace in fig.data] == ["box", "box"]
    assert sorted(fig.data[0].y) == [30.0, 30.0, 150.0]  # every delay a point, counts expanded
    assert fig.data[0].boxpoints == "all"
    assert "No AA arrival recorded: Bournemouth 4, Weymouth 0" in fig.layout.title.text
    assert "1 arrival before the request left out" in fig.layout.title.text
    assert "4 no AA arrival" in fig.data[0].x0
    assert [s.y0 for s in fig.layout.shapes] == [120]
    assert "2 hours" in _annotation_texts(fig)
    assert _has_empty_message(dist.aa_delay_box(AA_ROWS.iloc[0:0], title="t"))
    assert _has_empty_message(dist.aa_delay_box(AA_ROWS[AA_ROWS["status"] != "usable"], title="t"))


def test_aa_delay_box_aggregates_beyond_the_cap():
    fig = dist.aa_delay_box(AA_ROWS, title="t", max_points=2)
    assert fig.data[0].y is None and fig.data[0].median == (30.0,)
    assert "points not drawn" in fig.layout.title.text
