"""Data quality: table freshness, recording gaps, data errors and the ingest history, as DataFrames.

The definitions live in ``queries/quality/*.sql`` (what a gap or an error is,
which rows are judged); the functions here pass the filters as named
parameters and add what only the file system knows (the ingest log, kept
versions, file times). The data-quality page, the tests and any export share
them, so a count never differs between two places.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from data import storage
from data.contract import TABLES, has_column
from queries import DataStore, QueryError
from queries.kpis import Filters, Period

# Every column whose null the contract reads as "not recorded", in contract order.
GAP_COLUMNS: tuple[tuple[str, str], ...] = tuple(
    (table.name, column.name)
    for table in TABLES.values()
    for column in table.columns
    if column.is_recording_gap
)

# Which rows each gap is judged on (queries/quality/recording_gaps.sql says why), in words.
GAP_JUDGED_ON: dict[tuple[str, str], str] = {
    ("missing_episodes", "risk_ratified_at"): "every missing episode",
    ("missing_episodes", "return_home_interview_at"): "episodes found at least 72 h before the extract's "
    "latest record",
    ("investigations", "csc_informed_at"): "every investigation",
    ("police_protection", "ended_at"): "uses invoked at least 72 h (the most police protection lasts) before "
    "the extract's latest record",
    ("custody_detentions", "aa_requested_at"): "every detention",
    ("custody_detentions", "aa_arrived_at"): "detentions released, or begun at least 24 h before the "
    "extract's latest record",
    ("custody_detentions", "rights_given_at"): "every detention",
}

KIND_INTERVAL = "Negative interval"
KIND_ORDER = "Wrong order"
KIND_FUTURE = "Time after now"
KIND_LINK = "Id does not link"


@dataclass(frozen=True)
class Check:
    """One data-error check of ``queries/quality/error_findings.sql``.

    Attributes:
        id: the check id the SQL returns.
        table: the table whose records it checks (None: every table).
        label: what is wrong, in plain words.
        kind: one of the KIND_* groups.
    """

    id: str
    table: str | None
    label: str
    kind: str


def _interval(check_id: str, table: str, label: str) -> Check:
    return Check(check_id, table, label, KIND_INTERVAL)


# The whitelist of checks, in display order: a check the user picks is looked up here,
# never pasted into SQL.
CHECKS: dict[str, Check] = {
    c.id: c
    for c in (
        _interval(
            "incident_arrived_before_received", "incidents", "Officer on scene before the call was received"
        ),
        _interval("incident_ppn_before_received", "incidents", "PPN submitted before the call was received"),
        _interval(
            "missing_ratified_before_reported",
            "missing_episodes",
            "Risk ratified before the child was reported missing",
        ),
        _interval(
            "missing_deployed_before_reported",
            "missing_episodes",
            "Officer deployed before the child was reported missing",
        ),
        _interval(
            "missing_found_before_reported", "missing_episodes", "Child found before being reported missing"
        ),
        _interval(
            "missing_rhi_before_found", "missing_episodes", "Return home interview before the child was found"
        ),
        _interval(
            "mash_completed_before_received",
            "mash_referrals",
            "MASH referral completed before it was received",
        ),
        _interval(
            "mash_strategy_before_received",
            "mash_referrals",
            "Strategy meeting before the referral was received",
        ),
        _interval(
            "mash_minutes_before_strategy", "mash_referrals", "Strategy minutes received before the meeting"
        ),
        _interval(
            "investigation_closed_before_opened",
            "investigations",
            "Investigation closed before it was opened",
        ),
        _interval(
            "investigation_video_before_opened",
            "investigations",
            "Video interview before the crime was recorded",
        ),
        _interval(
            "investigation_csc_before_opened",
            "investigations",
            "Social care informed before the crime was recorded",
        ),
        _interval(
            "pp_ended_before_invoked", "police_protection", "Police protection ended before it was invoked"
        ),
        _interval(
            "pp_strategy_before_invoked",
            "police_protection",
            "Strategy discussion before police protection was invoked",
        ),
        _interval(
            "custody_aa_requested_before_arrival",
            "custody_detentions",
            "Appropriate adult requested before the child arrived in custody",
        ),
        _interval(
            "custody_aa_arrived_before_requested",
            "custody_detentions",
            "Appropriate adult arrived before being requested",
        ),
        _interval(
            "custody_aa_arrived_before_arrival",
            "custody_detentions",
            "Appropriate adult arrived before the child arrived in custody",
        ),
        _interval(
            "custody_rights_before_arrival",
            "custody_detentions",
            "Rights given before the child arrived in custody",
        ),
        _interval(
            "custody_interview_before_arrival",
            "custody_detentions",
            "Interview before the child arrived in custody",
        ),
        _interval(
            "custody_released_before_arrival",
            "custody_detentions",
            "Child released before arriving in custody",
        ),
        Check(
            "custody_rights_after_interview",
            "custody_detentions",
            "Rights given after the interview",
            KIND_ORDER,
        ),
        Check("time_after_now", None, "A time or date after now", KIND_FUTURE),
        Check(
            "breach_rso_not_on_register", "rso_breaches", "Breach by an RSO id not on the register", KIND_LINK
        ),
        Check(
            "review_crime_not_in_investigations",
            "investigation_reviews",
            "Review of a crime id not in investigations",
            KIND_LINK,
        ),
    )
}

HISTORY_COLUMNS = [
    "at",
    "user",
    "table",
    "status",
    "rows",
    "rejected_rows",
    "reasons",
    "files",
    "version",
    "previous_version",
]
VERSION_COLUMNS = ["table_name", "version", "created", "rows", "is_current"]
ERROR_COLUMNS = ["check_id", "table_name", "label", "kind", "month", "rows_checked", "errors"]
LOADED_STATUSES = ("loaded", "rolled back")


def _now(now: datetime | None) -> datetime:
    # To the minute: "now" is part of the cache key, and a minute's drift changes no finding that matters.
    return (now or datetime.now()).replace(second=0, microsecond=0)


def _params(period: Period, filters: Filters) -> dict:
    return {"period_start": period.period_start, "period_end": period.period_end, **filters.as_params()}


def applied_filters(table: str, filters: Filters | None = None) -> list[str]:
    """The filter names that apply to ``table`` (all it has, or only those set in ``filters``)."""
    names = [("force", "force"), ("lpa", "LPA"), ("local_authority", "local authority")]
    return [
        words
        for column, words in names
        if has_column(table, column) and (filters is None or getattr(filters, column) is not None)
    ]


def table_loads(data_dir: str | Path) -> pd.DataFrame:
    """When each table's current data arrived: its latest successful ingest, else its files' time.

    Returns:
        One row per contract table: ``table_name``, ``load_status`` ("loaded", "rolled back"
        or "generated" when the log has no successful entry for it), ``loaded_at`` (a naive
        local datetime, or None), ``loaded_by``, ``version``, ``files_written_at`` (latest
        data-file mtime, naive local; None without files).
    """
    latest: dict[str, dict] = {}
    for entry in storage.read_ingest_log(data_dir):
        if entry.get("status") in LOADED_STATUSES and entry.get("table") in TABLES:
            latest[entry["table"]] = entry  # the log is oldest first: the last one wins
    rows = []
    for table in TABLES:
        files = storage.list_data_files(data_dir, table)
        mtimes = []
        for path in files:
            try:
                mtimes.append(path.stat().st_mtime)
            except FileNotFoundError:
                continue
        entry = latest.get(table)
        rows.append(
            {
                "table_name": table,
                "load_status": entry["status"] if entry else "generated",
                "loaded_at": _local_time(entry.get("at")) if entry else None,
                "loaded_by": entry.get("user") if entry else None,
                "version": entry.get("version") if entry else None,
                "files_written_at": datetime.fromtimestamp(max(mtimes)) if mtimes else None,
            }
        )
    return pd.DataFrame(rows)


def _local_time(text) -> datetime | None:
    """An ingest-log time (ISO, with its offset) as naive local time; None if unreadable."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone().replace(tzinfo=None)
    return moment


def table_summary(
    store: DataStore,
    period: Period,
    filters: Filters,
    *,
    now: datetime | None = None,
    today: date | None = None,
) -> pd.DataFrame:
    """One row per contract table: rows, coverage, freshness (stale or not) and when it was loaded.

    Args:
        store: the data and settings (``settings.stale_after_days``).
        period: the months whose rows ``rows_in_period`` counts.
        filters: force (coverage and freshness use it alone), lpa, local authority.
        now: the moment after which a time is in the future (default: now).
        today: the day staleness is measured to (default: today).

    Returns:
        The columns of ``quality/table_summary.sql`` plus those of :func:`table_loads`
        and ``filters_applied`` (the filters the table can apply, in words).
    """
    moment = _now(now)
    frame = store.run(
        "quality/table_summary",
        {
            **_params(period, filters),
            "now": moment,
            "today": today or moment.date(),
            "stale_after_days": int(store.settings.stale_after_days),
        },
    )
    frame["is_stale"] = frame["is_stale"].astype(object).where(frame["latest_at"].notna(), None)
    frame = frame.merge(table_loads(store.data_dir), on="table_name", how="left")
    frame["filters_applied"] = [", ".join(applied_filters(t)) for t in frame["table_name"]]
    return frame


def recording_gaps(
    store: DataStore, period: Period, filters: Filters, *, now: datetime | None = None
) -> pd.DataFrame:
    """The share of judged rows missing each "not recorded" column, per month.

    Returns:
        ``table_name``, ``column_name``, ``series`` ("table.column"), ``month``,
        ``rows_judged``, ``rows_missing``, ``missing_pct``; only months with judged rows.
    """
    frame = store.run("quality/recording_gaps", {**_params(period, filters), "now": _now(now)})
    frame.insert(2, "series", frame["table_name"] + "." + frame["column_name"])
    return frame


def _findings(store: DataStore, check: str | None, period: Period, filters: Filters, now) -> pd.DataFrame:
    return store.run("quality/error_findings", {**_params(period, filters), "now": _now(now), "check": check})


def data_errors(
    store: DataStore, period: Period, filters: Filters, *, now: datetime | None = None
) -> pd.DataFrame:
    """Findings per check and month, beside the rows checked that month.

    A month in which a check's table has no rows gives no row (no data, not 0 errors);
    a month with rows and no finding gives ``errors`` 0. ``time_after_now`` checks every
    table, so its ``rows_checked`` is the rows of all tables that month.

    Returns:
        ``check_id``, ``table_name``, ``label``, ``kind``, ``month``, ``rows_checked``,
        ``errors``, in the order of :data:`CHECKS` then month.
    """
    findings = _findings(store, None, period, filters, now)
    monthly = store.run("quality/monthly_rows", _params(period, filters))
    counts = findings.groupby(["check_id", "month"]).size()
    all_tables = monthly.groupby("month", as_index=False)["rows"].sum()
    parts = []
    for check in CHECKS.values():
        months = all_tables if check.table is None else monthly[monthly["table_name"] == check.table]
        if months.empty:
            continue
        parts.append(
            pd.DataFrame(
                {
                    "check_id": check.id,
                    "table_name": check.table or "all tables",
                    "label": check.label,
                    "kind": check.kind,
                    "month": months["month"].to_numpy(),
                    "rows_checked": months["rows"].to_numpy(),
                    "errors": [int(counts.get((check.id, m), 0)) for m in months["month"]],
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=ERROR_COLUMNS)
    return pd.concat(parts, ignore_index=True)  # monthly_rows.sql returns months in order


def error_records(
    store: DataStore, check: str, period: Period, filters: Filters, *, now: datetime | None = None
) -> pd.DataFrame:
    """The records behind one check (pseudonymous ids and the times in question).

    Raises:
        QueryError: ``check`` is not a check of :data:`CHECKS`.

    Returns:
        The columns of ``quality/error_findings.sql`` plus ``difference_min`` (second
        time minus first, in minutes; negative for a negative interval).
    """
    if check not in CHECKS:
        raise QueryError(f"no data-quality check named {check!r}")
    frame = _findings(store, check, period, filters, now)
    frame["difference_min"] = (frame["second_at"] - frame["first_at"]).dt.total_seconds() / 60.0
    return frame


def ingest_history(data_dir: str | Path) -> pd.DataFrame:
    """Every ingest and rollback attempt of the ingest log, newest first (empty when there is no log).

    Returns:
        ``at`` (naive local), ``user``, ``table``, ``status`` ("loaded", "refused",
        "rolled back"), ``rows``, ``rejected_rows``, ``reasons`` (a list of strings),
        ``files`` (file names), ``version``, ``previous_version``.
    """
    rows = [
        {
            "at": _local_time(entry.get("at")),
            "user": entry.get("user"),
            "table": entry.get("table"),
            "status": entry.get("status"),
            "rows": entry.get("rows"),
            "rejected_rows": entry.get("rejected_rows"),
            "reasons": list(entry.get("reasons") or []),
            "files": [Path(str(f)).name for f in entry.get("files") or []],
            "version": entry.get("version"),
            "previous_version": entry.get("previous_version"),
        }
        for entry in storage.read_ingest_log(data_dir)
    ]
    return pd.DataFrame(rows[::-1], columns=HISTORY_COLUMNS)


def kept_versions(data_dir: str | Path) -> pd.DataFrame:
    """Every kept version of every table, oldest first within a table.

    Returns:
        ``table_name``, ``version``, ``created`` (naive local), ``rows``, ``is_current``.
    """
    rows = [
        {
            "table_name": table,
            "version": v["version"],
            "created": v["created"].astimezone().replace(tzinfo=None),
            "rows": v["rows"],
            "is_current": v["is_current"],
        }
        for table in TABLES
        for v in storage.list_versions(data_dir, table)
    ]
    return pd.DataFrame(rows, columns=VERSION_COLUMNS)


def can_roll_back(data_dir: str | Path, table: str) -> bool:
    """Whether ``python -m data.ingest --rollback`` has an earlier version of ``table`` to go back to."""
    names = [v["version"] for v in storage.list_versions(data_dir, table, with_rows=False)]
    folder = storage.table_dir(data_dir, table)
    if folder.is_dir() and not folder.is_symlink():
        return bool(names)  # the real folder is kept first, then the latest version comes back
    current = storage.current_version(data_dir, table)
    return current is not None and any(name < current for name in names)


def rollback_command(data_dir: str | Path, table: str) -> str:
    """The exact command (run from the dashboard's folder) that points ``table`` at its previous version."""
    if table not in TABLES:
        raise QueryError(f"no table named {table!r}")
    folder = shlex.quote(str(Path(data_dir).absolute()))
    return f"python -m data.ingest --data {folder} --table {table} --rollback"
