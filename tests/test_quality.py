"""The data-quality queries and page against an independent pandas reading of the rules, and hand figures.

The oracle below is written from the rules (data-contract.md, metrics.md and the
headers of queries/quality/*.sql), not by re-running the SQL; tests/quality_fixtures.py
plants the gaps and errors whose counts are also known by hand.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from data import storage  # noqa: E402
from data.contract import TABLES, has_column, write_parquet  # noqa: E402
from data.settings import Settings  # noqa: E402
from figures import data_quality as dq_figures  # noqa: E402
from queries import DataStore, QueryError  # noqa: E402
from queries import quality as q  # noqa: E402
from queries.kpis import Filters, Period  # noqa: E402
from tests import quality_fixtures as fx  # noqa: E402

COVERAGE = {name: table.coverage_column for name, table in TABLES.items()}
H72, H24 = timedelta(hours=72), timedelta(hours=24)

# --- the oracle: the rules, read independently --------------------------------------

# Pairs (first, second) whose second time can never come before the first.
PAIRS = {
    "incidents": [
        ("incident_arrived_before_received", "received_at", "arrived_at"),
        ("incident_ppn_before_received", "received_at", "ppn_submitted_at"),
    ],
    "missing_episodes": [
        ("missing_ratified_before_reported", "reported_at", "risk_ratified_at"),
        ("missing_deployed_before_reported", "reported_at", "first_deployed_at"),
        ("missing_found_before_reported", "reported_at", "found_at"),
        ("missing_rhi_before_found", "found_at", "return_home_interview_at"),
    ],
    "mash_referrals": [
        ("mash_completed_before_received", "received_at", "completed_at"),
        ("mash_strategy_before_received", "received_at", "strategy_held_at"),
        ("mash_minutes_before_strategy", "strategy_held_at", "minutes_received_at"),
    ],
    "investigations": [
        ("investigation_closed_before_opened", "opened_at", "closed_at"),
        ("investigation_video_before_opened", "opened_at", "video_interview_at"),
        ("investigation_csc_before_opened", "opened_at", "csc_informed_at"),
    ],
    "police_protection": [
        ("pp_ended_before_invoked", "invoked_at", "ended_at"),
        ("pp_strategy_before_invoked", "invoked_at", "strategy_discussion_at"),
    ],
    "custody_detentions": [
        ("custody_aa_requested_before_arrival", "arrived_at", "aa_requested_at"),
        ("custody_aa_arrived_before_requested", "aa_requested_at", "aa_arrived_at"),
        ("custody_aa_arrived_before_arrival", "arrived_at", "aa_arrived_at"),
        ("custody_rights_before_arrival", "arrived_at", "rights_given_at"),
        ("custody_interview_before_arrival", "arrived_at", "interview_at"),
        ("custody_released_before_arrival", "arrived_at", "released_at"),
        # Rights must come before the interview: given after it is the KPI rights_after_interview.
        ("custody_rights_after_interview", "rights_given_at", "interview_at"),
    ],
}
# Dates that look ahead by design, and a table whose months may be planned: not "after now" errors.
LOOK_AHEAD = {("rso_register", "arms_due_date"), ("rso_register", "next_visit_due")}
NOT_CHECKED_FOR_FUTURE = {"team_staffing"}
KEY = {
    "incidents": "incident_id",
    "missing_episodes": "episode_id",
    "mash_referrals": "referral_id",
    "investigations": "crime_id",
    "investigation_reviews": "crime_id",
    "police_protection": "pp_id",
    "rso_register": "rso_id",
    "rso_breaches": "breach_id",
    "custody_detentions": "detention_id",
    "case_audits": "audit_id",
    "team_staffing": "team",
}


def in_force(frames, table, filters: Filters) -> pd.DataFrame:
    df = frames[table]
    return df if filters.force is None else df[df["force"] == filters.force]


def selected(frames, table, period: Period, filters: Filters, df=None) -> pd.DataFrame:
    """Rows in the period under every filter the table has (metrics.md)."""
    df = in_force(frames, table, filters) if df is None else df
    for column in ("lpa", "local_authority"):
        value = getattr(filters, column)
        if value is not None and has_column(table, column):
            df = df[df[column] == value]
    t = pd.to_datetime(df[COVERAGE[table]])
    return df[(t >= period.period_start) & (t < period.period_end)]


def oracle_gaps(frames, period, filters, now) -> set:
    out = set()
    for table, column in q.GAP_COLUMNS:
        df = in_force(frames, table, filters).copy()
        cov = COVERAGE[table]
        df["as_of"] = df.groupby("force")[cov].transform("max").clip(upper=pd.Timestamp(now))
        df = selected(frames, table, period, filters, df)
        if (table, column) == ("missing_episodes", "return_home_interview_at"):
            df = df[df["found_at"].notna() & (df["found_at"] + H72 <= df["as_of"])]
        elif (table, column) == ("police_protection", "ended_at"):
            df = df[df["invoked_at"] + H72 <= df["as_of"]]
        elif (table, column) == ("custody_detentions", "aa_arrived_at"):
            df = df[df["released_at"].notna() | (df["arrived_at"] + H24 <= df["as_of"])]
        for month, rows in df.groupby(df[cov].dt.to_period("M")):
            n, m = len(rows), int(rows[column].isna().sum())
            out.add((table, column, month.to_timestamp(), n, m, round(100 * m / n, 9)))
    return out


def oracle_findings(frames, period, filters, now) -> set:
    """(check_id, table, record_id, column, month) of every finding."""
    now = pd.Timestamp(now)
    out = set()
    for table in TABLES:
        df = selected(frames, table, period, filters)
        month = pd.to_datetime(df[COVERAGE[table]]).dt.to_period("M").dt.to_timestamp()
        for check_id, first, second in PAIRS.get(table, []):
            hit = df[second] < df[first]
            out |= {
                (check_id, table, r, first, m)
                for r, m in zip(df.loc[hit, KEY[table]], month[hit], strict=True)
            }
        if table in NOT_CHECKED_FOR_FUTURE:
            continue
        for col in TABLES[table].columns:
            if col.type in ("timestamp", "date") and (table, col.name) not in LOOK_AHEAD:
                hit = pd.to_datetime(df[col.name]) > now
                out |= {
                    ("time_after_now", table, r, col.name, m)
                    for r, m in zip(df.loc[hit, KEY[table]], month[hit], strict=True)
                }
    register = frames["rso_register"]
    breaches = selected(frames, "rso_breaches", period, filters)
    for row in breaches.itertuples():
        force_rows = register[register["force"] == row.force]
        if len(force_rows) and row.rso_id not in set(force_rows["rso_id"]):
            out.add(
                (
                    "breach_rso_not_on_register",
                    "rso_breaches",
                    row.breach_id,
                    "rso_id",
                    row.recorded_at.to_period("M").to_timestamp(),
                )
            )
    reviews = selected(frames, "investigation_reviews", period, filters)
    crimes = set(frames["investigations"]["crime_id"])
    for row in reviews.itertuples():
        if crimes and row.crime_id not in crimes:
            out.add(
                (
                    "review_crime_not_in_investigations",
                    "investigation_reviews",
                    row.crime_id,
                    "crime_id",
                    row.reviewed_at.to_period("M").to_timestamp(),
                )
            )
    return out


def oracle_error_counts(frames, period, filters, now) -> dict:
    """(check_id, month) -> (rows checked, errors), only months where the check's table has rows."""
    findings = oracle_findings(frames, period, filters, now)
    rows_by_month: dict[str, pd.Series] = {}
    for table in TABLES:
        df = selected(frames, table, period, filters)
        rows_by_month[table] = (
            pd.to_datetime(df[COVERAGE[table]]).dt.to_period("M").dt.to_timestamp().value_counts()
        )
    everything = pd.concat(rows_by_month.values()).groupby(level=0).sum()
    out = {}
    for check in q.CHECKS.values():
        counts = everything if check.table is None else rows_by_month[check.table]
        for month, n in counts.items():
            errors = sum(1 for f in findings if f[0] == check.id and f[4] == month)
            out[(check.id, month)] = (int(n), errors)
    return out


def oracle_summary(frames, period, filters, now, today, stale_after_days) -> dict:
    out = {}
    now = pd.Timestamp(now)
    for table in TABLES:
        df = in_force(frames, table, filters)
        t = pd.to_datetime(df[COVERAGE[table]])
        past = t[t <= now]
        latest = past.max() if len(past) else None
        if latest is not None and table in ("rso_register", "team_staffing"):
            latest = latest + pd.offsets.MonthEnd(0)  # a snapshot is the state at its month's end
        days = None if latest is None else max((pd.Timestamp(today) - latest.normalize()).days, 0)
        out[table] = {
            "rows_in_period": len(selected(frames, table, period, filters)),
            "rows_all": len(df),
            "first_month": t.min().to_period("M").to_timestamp() if len(t) else None,
            "last_month": t.max().to_period("M").to_timestamp() if len(t) else None,
            "latest_at": latest,
            "rows_future": int((t > now).sum()),
            "days_since_latest": days,
            "is_stale": None if days is None else days > stale_after_days,
        }
    return out


# --- fixtures ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def frames():
    return fx.frames()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return fx.write(tmp_path_factory.mktemp("quality") / "extracts")


@pytest.fixture(scope="module")
def store(data_dir):
    return DataStore(data_dir, Settings(stale_after_days=45))


@pytest.fixture(scope="module")
def page():
    import app  # noqa: F401  (pages register only once the app exists)
    from pages import data_quality

    return data_quality


SCENARIOS = [
    ("dorset-q1", fx.PERIOD, Filters("Dorset")),
    ("all-forces-q1", fx.PERIOD, Filters()),
    ("dorset-east", fx.PERIOD, Filters("Dorset", "East")),
    ("dorset-bcp", fx.PERIOD, Filters("Dorset", None, "BCP Council")),
    ("wiltshire", fx.PERIOD, Filters("Wiltshire")),
    ("dorset-february", Period("2022-02", "2022-02"), Filters("Dorset")),
    ("before-coverage", Period("2021-01", "2021-03"), Filters("Dorset")),
    ("lpa-not-in-data", fx.PERIOD, Filters("Dorset", "Nowhere")),
]
IDS = [s[0] for s in SCENARIOS]


def _gap_set(frame: pd.DataFrame) -> set:
    return {
        (
            r.table_name,
            r.column_name,
            pd.Timestamp(r.month),
            r.rows_judged,
            r.rows_missing,
            round(r.missing_pct, 9),
        )
        for r in frame.itertuples()
    }


# --- recording gaps ----------------------------------------------------------------


@pytest.mark.parametrize(("name", "period", "filters"), SCENARIOS, ids=IDS)
def test_recording_gaps_match_oracle(store, frames, name, period, filters):
    got = q.recording_gaps(store, period, filters, now=fx.NOW)
    assert _gap_set(got) == oracle_gaps(frames, period, filters, fx.NOW)
    assert (got["series"] == got["table_name"] + "." + got["column_name"]).all()


def test_recording_gaps_hand_figures(store):
    got = q.recording_gaps(store, fx.PERIOD, fx.DORSET_ONLY, now=fx.NOW)
    cells = {
        (r.table_name, r.column_name, pd.Timestamp(r.month).strftime("%Y-%m")): (
            r.rows_judged,
            r.rows_missing,
        )
        for r in got.itertuples()
    }
    assert cells == fx.HAND["gaps"]
    # A month with no rows (custody and police protection in February) has no cell, not 0%.
    assert ("custody_detentions", "aa_arrived_at", "2022-02") not in cells
    assert ("police_protection", "ended_at", "2022-02") not in cells
    # A month with rows but none judged (RHI in March: found too recently) has no cell either.
    assert ("missing_episodes", "return_home_interview_at", "2022-03") not in cells
    row = got[(got["series"] == "custody_detentions.aa_requested_at") & (got["month"] == "2022-01-01")]
    assert row["missing_pct"].iloc[0] == pytest.approx(100 / 3)


def test_gap_as_of_time_is_each_forces_own(store):
    # W1 arrived 22 h before Wiltshire's latest detention: not judged. Dorset's later
    # data must not make it judged.
    got = q.recording_gaps(store, fx.PERIOD, Filters(), now=fx.NOW)
    jan = got[(got["series"] == "custody_detentions.aa_arrived_at") & (got["month"] == "2022-01-01")]
    assert (jan["rows_judged"].iloc[0], jan["rows_missing"].iloc[0]) == (4, 1)  # D1, D2, D3, W2


def test_gap_columns_are_the_contracts_not_recorded_columns(store):
    assert set(q.GAP_COLUMNS) == {
        ("missing_episodes", "risk_ratified_at"),
        ("missing_episodes", "return_home_interview_at"),
        ("investigations", "csc_informed_at"),
        ("police_protection", "ended_at"),
        ("custody_detentions", "aa_requested_at"),
        ("custody_detentions", "aa_arrived_at"),
        ("custody_detentions", "rights_given_at"),
    }
    assert set(q.GAP_JUDGED_ON) == set(q.GAP_COLUMNS)
    got = q.recording_gaps(store, fx.PERIOD, fx.DORSET_ONLY, now=fx.NOW)
    assert set(zip(got["table_name"], got["column_name"], strict=True)) == set(q.GAP_COLUMNS)


# --- data errors -------------------------------------------------------------------


@pytest.mark.parametrize(("name", "period", "filters"), SCENARIOS, ids=IDS)
def test_data_error_counts_match_oracle(store, frames, name, period, filters):
    got = q.data_errors(store, period, filters, now=fx.NOW)
    counts = {(r.check_id, pd.Timestamp(r.month)): (r.rows_checked, r.errors) for r in got.itertuples()}
    assert counts == oracle_error_counts(frames, period, filters, fx.NOW)
    assert list(dict.fromkeys(got["check_id"])) == [c for c in q.CHECKS if c in set(got["check_id"])]


@pytest.mark.parametrize(("name", "period", "filters"), SCENARIOS, ids=IDS)
def test_error_records_match_oracle(store, frames, name, period, filters):
    expected = oracle_findings(frames, period, filters, fx.NOW)
    got = set()
    for check_id in q.CHECKS:
        records = q.error_records(store, check_id, period, filters, now=fx.NOW)
        assert (records["check_id"] == check_id).all()
        got |= {
            (r.check_id, r.table_name, r.record_id, r.first_column, pd.Timestamp(r.month))
            for r in records.itertuples()
        }
    assert got == expected


def test_data_errors_hand_figures(store):
    errors = q.data_errors(store, fx.PERIOD, fx.DORSET_ONLY, now=fx.NOW)
    found = errors[errors["errors"] > 0]
    got = {
        check_id: sorted(pd.Timestamp(m).strftime("%Y-%m") for m in rows["month"] for _ in range(1))
        for check_id, rows in found.groupby("check_id")
    }
    assert got == {c: [m for _, m in recs] for c, recs in fx.HAND["errors"].items()}
    assert found["errors"].sum() == len(fx.HAND["errors"])
    for check_id, expected in fx.HAND["errors"].items():
        records = q.error_records(store, check_id, fx.PERIOD, fx.DORSET_ONLY, now=fx.NOW)
        assert list(records["record_id"]) == [r for r, _ in expected]
    # Custody has no February rows: no cell for its checks that month, but 0 where it has rows.
    custody = errors[errors["check_id"] == "custody_rights_after_interview"]
    assert [pd.Timestamp(m).month for m in custody["month"]] == [1, 3]
    assert list(custody["errors"]) == [0, 1]
    assert list(custody["rows_checked"]) == [3, 3]


def test_negative_interval_record_says_by_how_much(store):
    records = q.error_records(
        store, "custody_aa_arrived_before_requested", fx.PERIOD, fx.DORSET_ONLY, now=fx.NOW
    )
    row = records.iloc[0]
    assert (row["first_column"], row["second_column"]) == ("aa_requested_at", "aa_arrived_at")
    assert row["difference_min"] == pytest.approx(-10.0)


def test_future_time_names_its_column(store):
    records = q.error_records(store, "time_after_now", fx.PERIOD, fx.DORSET_ONLY, now=fx.NOW)
    assert list(zip(records["record_id"], records["first_column"], strict=True)) == [
        ("I3", "ppn_submitted_at")
    ]
    # next_visit_due in the future is a plan, not an error; a later "now" finds nothing at all.
    later = q.error_records(store, "time_after_now", fx.PERIOD, fx.DORSET_ONLY, now=fx.NOW.replace(year=2023))
    assert later.empty


def test_orphan_breach_judged_only_where_a_register_exists(store):
    records = q.error_records(store, "breach_rso_not_on_register", fx.PERIOD, Filters(), now=fx.NOW)
    assert list(records["record_id"]) == ["B2"]  # B4 (Wiltshire, no register) is not judged
    assert list(records["linked_id"]) == ["RSO-9"]


def test_unknown_check_is_refused(store):
    with pytest.raises(QueryError):
        q.error_records(store, "1; drop table incidents", fx.PERIOD, fx.DORSET_ONLY)


def test_sql_check_ids_are_the_whitelist():
    import re

    text = (ROOT / "queries" / "quality" / "error_findings.sql").read_text()
    code = "\n".join(line.split("--", 1)[0] for line in text.splitlines())
    named = set(re.findall(r"check_id: '([a-z_]+)'", code))
    assert named <= set(q.CHECKS)
    assert all(f"'{check_id}'" in code for check_id in q.CHECKS)


# --- tables: coverage and freshness --------------------------------------------------


@pytest.mark.parametrize(("name", "period", "filters"), SCENARIOS, ids=IDS)
def test_table_summary_matches_oracle(store, frames, name, period, filters):
    got = q.table_summary(store, period, filters, now=fx.NOW, today=fx.TODAY).set_index("table_name")
    expected = oracle_summary(frames, period, filters, fx.NOW, fx.TODAY, 45)
    assert list(got.index) == list(TABLES)
    for table, want in expected.items():
        row = got.loc[table]
        for key, value in want.items():
            have = row[key]
            if value is None:
                assert have is None or pd.isna(have), (table, key, have)
            elif key in ("first_month", "last_month", "latest_at"):
                assert pd.Timestamp(have) == pd.Timestamp(value), (table, key)
            else:
                assert have == value, (table, key, have, value)


def test_stale_and_fresh_tables_by_hand(store):
    got = q.table_summary(store, fx.PERIOD, fx.DORSET_ONLY, now=fx.NOW, today=fx.TODAY).set_index(
        "table_name"
    )
    for table, expected in fx.HAND["freshness"].items():
        assert tuple(got.loc[table, ["days_since_latest", "is_stale", "rows_future"]]) == expected, table
    # The latest record is not I5, which is dated after now.
    assert pd.Timestamp(got.at["incidents", "latest_at"]) == pd.Timestamp("2022-03-31 23:00")
    assert got.at["incidents", "rows_in_period"] == 4
    assert got.at["incidents", "filters_applied"] == "force, LPA, local authority"
    assert got.at["case_audits", "filters_applied"] == "force"


def test_staleness_follows_the_setting(data_dir):
    strict = DataStore(data_dir, Settings(stale_after_days=10))
    got = q.table_summary(strict, fx.PERIOD, fx.DORSET_ONLY, now=fx.NOW, today=fx.TODAY).set_index(
        "table_name"
    )
    assert not got.at["incidents", "is_stale"]  # 10 days: not more than 10
    assert got.at["police_protection", "is_stale"]  # 11 days


def test_empty_table_has_no_freshness(tmp_path):
    write_parquet("incidents", fx.frame("incidents"), tmp_path / "incidents" / "part.parquet")
    got = q.table_summary(DataStore(tmp_path), fx.PERIOD, fx.DORSET_ONLY, now=fx.NOW, today=fx.TODAY)
    audits = got.set_index("table_name").loc["case_audits"]
    assert audits["rows_all"] == 0 and audits["is_stale"] is None and pd.isna(audits["latest_at"])
    assert q.recording_gaps(DataStore(tmp_path), fx.PERIOD, fx.DORSET_ONLY).empty


# --- loads, the ingest log, versions and rollback -------------------------------------


def test_generated_data_has_no_log(store):
    loads = q.table_loads(store.data_dir).set_index("table_name")
    assert set(loads["load_status"]) == {"generated"}
    assert loads["files_written_at"].notna().all()
    assert q.ingest_history(store.data_dir).empty
    assert q.kept_versions(store.data_dir).empty


@pytest.fixture
def ingested_dir(tmp_path):
    """A generated folder, then: a good load of incidents, a refused load (3 bad rows), a second good load."""
    from data.ingest import IngestError, ingest

    data_dir = fx.write(tmp_path / "extracts")
    good = tmp_path / "incidents.csv"
    fx.frame("incidents").to_csv(good, index=False)
    bad = tmp_path / "bad.csv"
    broken = fx.frame("incidents").astype({"received_at": str})
    broken.loc[:2, "received_at"] = "not a time"
    broken.to_csv(bad, index=False)
    ingest(data_dir, "incidents", [good], user="analyst1")
    with pytest.raises(IngestError):
        ingest(data_dir, "incidents", [bad], user="analyst2")
    ingest(data_dir, "incidents", [good], user="analyst1")
    return data_dir


def test_ingest_history_lists_loads_and_refusals(ingested_dir):
    history = q.ingest_history(ingested_dir)
    log = [json.loads(line) for line in (ingested_dir / storage.LOG_NAME).read_text().splitlines()]
    assert len(history) == len(log) == 3
    assert list(history["status"]) == ["loaded", "refused", "loaded"]  # newest first
    refused = history.iloc[1]
    assert refused["user"] == "analyst2" and refused["rejected_rows"] == 3 and refused["rows"] == 6
    assert len(refused["reasons"]) == 3 and "received_at" in refused["reasons"][0]
    assert refused["files"] == ["bad.csv"]
    loads = q.table_loads(ingested_dir).set_index("table_name")
    assert loads.at["incidents", "load_status"] == "loaded"
    assert loads.at["incidents", "loaded_by"] == "analyst1"
    assert loads.at["incidents", "version"] == log[-1]["version"]
    assert loads.at["case_audits", "load_status"] == "generated"


def test_kept_versions_and_the_exact_rollback_command(ingested_dir):
    versions = q.kept_versions(ingested_dir)
    incidents = versions[versions["table_name"] == "incidents"]
    assert len(incidents) == 3  # the generated folder kept as -original, then two loads
    assert incidents["is_current"].tolist() == [False, False, True]
    assert set(incidents["rows"]) == {6}
    assert q.can_roll_back(ingested_dir, "incidents")
    assert q.can_roll_back(ingested_dir, "case_audits") is False  # a plain folder with no version
    command = q.rollback_command(ingested_dir, "incidents")
    assert (
        command
        == f"python -m data.ingest --data {shlex.quote(str(ingested_dir))} --table incidents --rollback"
    )
    before = storage.current_version(ingested_dir, "incidents")
    args = shlex.split(command)
    result = subprocess.run(
        [sys.executable, *args[1:]], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert storage.current_version(ingested_dir, "incidents") == incidents["version"].iloc[1] != before
    assert q.table_loads(ingested_dir).set_index("table_name").at["incidents", "load_status"] == "rolled back"


# --- the page's pure builders ---------------------------------------------------------


def _gaps(rows):
    frame = pd.DataFrame(rows, columns=["table_name", "column_name", "month", "rows_judged", "rows_missing"])
    frame["month"] = pd.to_datetime(frame["month"])
    frame["missing_pct"] = 100 * frame["rows_missing"] / frame["rows_judged"]
    frame.insert(2, "series", frame["table_name"] + "." + frame["column_name"])
    return frame


def _empty_message(fig) -> bool:
    import figures

    return any(figures.EMPTY_MESSAGE in (a.text or "") for a in fig.layout.annotations)


def test_gap_order_is_worst_first_over_all_months(page):
    gaps = _gaps(
        [
            ("t", "a", "2022-01-01", 10, 1),  # a: 2 of 20 = 10%
            ("t", "a", "2022-02-01", 10, 1),
            ("t", "b", "2022-01-01", 2, 2),  # b: 2 of 12 = 16.7% (100% in a small month)
            ("t", "b", "2022-02-01", 10, 0),
            ("t", "c", "2022-01-01", 10, 5),  # c: 50%
        ]
    )
    assert dq_figures.gap_order(gaps) == ["t.c", "t.b", "t.a"]


def test_heatmap_rows_worst_first_cells_with_numbers_and_blank_months(page):
    gaps = _gaps(
        [
            ("t", "a", "2022-01-01", 10, 1),
            ("t", "c", "2022-01-01", 10, 5),
            ("t", "c", "2022-03-01", 4, 1),
        ]
    )
    months = pd.date_range("2022-01-01", periods=3, freq="MS")
    fig = dq_figures.gaps_heatmap(gaps, title="Recording gaps, Dorset, Jan – Mar 2022", months=months)
    trace = fig.data[0]
    assert list(trace.y) == ["t.c", "t.a"]
    assert list(trace.x) == ["Jan 2022", "Feb 2022", "Mar 2022"]
    assert [list(r) for r in trace.z] == [[50.0, None, 25.0], [10.0, None, None]]  # February: no cell, not 0
    assert trace.text[0][0] == "50.0%" and trace.text[0][1] == ""
    assert fig.layout.yaxis.autorange == "reversed"  # the first row is drawn at the top
    assert fig.layout.title.text.startswith("Recording gaps")


def test_trend_draws_a_line_per_column_with_gaps(page):
    gaps = _gaps(
        [("t", "a", "2022-01-01", 10, 1), ("t", "a", "2022-03-01", 10, 2), ("t", "c", "2022-01-01", 4, 2)]
    )
    months = pd.date_range("2022-01-01", periods=3, freq="MS")
    fig = dq_figures.gaps_trend(gaps, title="trend", months=months)
    assert [t.name for t in fig.data] == ["t.c", "t.a"]
    assert list(fig.data[1].y) == [10.0, None, 20.0]
    assert fig.data[0].marker.symbol != fig.data[1].marker.symbol  # not colour alone
    assert fig.data[0].marker.color[0] == "white"  # 4 records judged: a small month, hollow
    assert "n = 4" in fig.data[0].customdata[0]


def test_empty_states(page):
    empty_gaps = _gaps([])
    assert _empty_message(dq_figures.gaps_heatmap(empty_gaps, title="t"))
    assert _empty_message(dq_figures.gaps_trend(empty_gaps, title="t"))
    empty_errors = pd.DataFrame(columns=q.ERROR_COLUMNS)
    assert _empty_message(dq_figures.errors_bar(empty_errors, title="t"))
    assert "No data for this selection" in str(page.errors_table(empty_errors))
    assert "No data for this selection" in str(page.tables_view(pd.DataFrame(), stale_after_days=45))
    # Records were checked and none failed: say so, not "no data".
    clean = pd.DataFrame(
        [("incident_ppn_before_received", "incidents", "x", "k", pd.Timestamp("2022-01-01"), 5, 0)],
        columns=q.ERROR_COLUMNS,
    )
    fig = dq_figures.errors_bar(clean, title="t")
    assert not _empty_message(fig) and "No errors found" in fig.layout.annotations[0].text


def test_errors_builders_on_the_fixture(page, store):
    errors = q.data_errors(store, fx.PERIOD, fx.DORSET_ONLY, now=fx.NOW)
    fig = dq_figures.errors_bar(errors, title="Data errors")
    assert sorted(fig.data[0].y) == sorted(q.CHECKS[c].label for c in fx.HAND["errors"])
    table = str(page.errors_table(errors, months=pd.date_range("2022-01-01", periods=3, freq="MS")))
    assert "–" in table  # a month where the check's table had no rows
    assert page.worst_check(errors) in fx.HAND["errors"]
    options = page.check_options(errors)
    assert len(options) == len(q.CHECKS) and options[0]["label"].endswith("(1)")


def test_tables_view_says_stale_in_words(page, store):
    summary = q.table_summary(store, fx.PERIOD, fx.DORSET_ONLY, now=fx.NOW, today=fx.TODAY)
    text = str(page.tables_view(summary, stale_after_days=45))
    assert "Stale: latest record 85 days before today" in text
    assert "Fresh: latest record 45 days before today" in text
    assert "1 record dated after today" in text
    assert "Generated, not ingested" in text


def test_records_view_for_each_kind(page, store):
    for check_id in ("custody_rights_after_interview", "time_after_now", "breach_rso_not_on_register"):
        records = q.error_records(store, check_id, fx.PERIOD, fx.DORSET_ONLY, now=fx.NOW)
        frame = page.records_frame(records, check_id)
        assert frame["record_id"].tolist() == [r for r, _ in fx.HAND["errors"][check_id]]
        assert "records-grid" in str(page.records_view(records, check_id, where="Dorset"))
    frame = page.records_frame(
        q.error_records(store, "custody_rights_after_interview", fx.PERIOD, fx.DORSET_ONLY, now=fx.NOW),
        "custody_rights_after_interview",
    )
    assert frame["minutes_out_of_order"].tolist() == [60.0]
    assert "unlinked_rso_id" in page.records_frame(
        q.error_records(store, "breach_rso_not_on_register", fx.PERIOD, fx.DORSET_ONLY, now=fx.NOW),
        "breach_rso_not_on_register",
    )


def test_history_view_empty_state_and_refusal(page, store, ingested_dir):
    empty = str(
        page.history_view(
            pd.DataFrame(columns=q.HISTORY_COLUMNS),
            q.kept_versions(store.data_dir),
            {},
            data_dir=str(store.data_dir),
        )
    )
    assert "generated, not ingested" in empty
    commands = {"incidents": q.rollback_command(ingested_dir, "incidents")}
    text = str(
        page.history_view(
            q.ingest_history(ingested_dir),
            q.kept_versions(ingested_dir),
            commands,
            data_dir=str(ingested_dir),
        )
    )
    assert "Refused: 3 of 6 rows rejected" in text
    assert "received_at" in text and "analyst2" in text
    assert commands["incidents"] in text


def test_filter_note_names_tables_a_filter_skips(page):
    from ui.filters import FilterState

    assert page.filter_note(FilterState("2022-01", "2022-03", "Dorset")) is None
    note = str(page.filter_note(FilterState("2022-01", "2022-03", "Dorset", "East", "BCP Council")))
    assert "not applied to investigation reviews, team staffing, case audits" in note
    assert "applied only to incidents, missing episodes, mash referrals" in note


def test_layout_reads_no_data_and_callbacks_fill_it(page, data_dir, monkeypatch, as_user):
    from ui import state

    layout = str(page.layout())
    for component_id in (
        page.ID_TABLES,
        page.ID_GAPS_HEATMAP["graph"],
        page.ID_ERRORS_BAR["graph"],
        page.ID_CHECK,
        page.ID_HISTORY,
    ):
        assert component_id in layout
    monkeypatch.setattr(state, "_store", DataStore(data_dir))
    filter_state = {"period_from": "2022-01", "period_to": "2022-03", "force": "Dorset"}
    with as_user("admin"):
        outputs = page.update_data_quality(filter_state, None)
        assert len(outputs) == 8
        assert outputs[-1] in q.CHECKS  # the worst check is chosen until the reader picks one
        assert "records-grid" in str(page.update_error_records(outputs[-1], filter_state))
        history = str(page.update_ingest_history(filter_state))
        assert "generated, not ingested" in history and str(data_dir) in history
    with as_user("gold"):
        # Who loaded what, rejected values and the server's folder are for administrators only.
        assert str(data_dir) not in str(page.update_ingest_history(filter_state))


# --- the synthetic data ---------------------------------------------------------------


def test_page_functions_run_on_the_synthetic_data(synthetic_dir, page):
    store = DataStore(synthetic_dir)
    period, filters = Period("2020-04", "2023-03"), Filters("Dorset")
    summary = q.table_summary(store, period, filters)
    assert (summary["rows_all"] > 0).all() and summary["is_stale"].all()  # generated to Mar 2023
    gaps = q.recording_gaps(store, period, filters)
    assert set(gaps["series"]) == {f"{t}.{c}" for t, c in q.GAP_COLUMNS}
    errors = q.data_errors(store, period, filters)
    totals = errors.groupby("check_id")["errors"].sum()
    # The generator plants these (data/generate.py).
    for check_id in (
        "incident_arrived_before_received",
        "missing_found_before_reported",
        "investigation_closed_before_opened",
        "custody_aa_arrived_before_requested",
        "custody_rights_after_interview",
        "breach_rso_not_on_register",
    ):
        assert totals[check_id] > 0, check_id
    assert totals["time_after_now"] == 0
    for check_id in q.CHECKS:
        records = q.error_records(store, check_id, period, filters)
        assert len(records) == totals.get(check_id, 0)
    dq_figures.gaps_heatmap(gaps, title="t")
    dq_figures.gaps_trend(gaps, title="t")
    dq_figures.errors_bar(errors, title="t")
    page.tables_view(summary, stale_after_days=45)
