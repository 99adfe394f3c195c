"""KPIs of metrics.md: the catalogue, periods, filters, and the three ways to read a KPI.

Each KPI is defined once, in the SQL file its catalogue entry names; that one
query serves a single period (``kpi_values``), a monthly series
(``kpi_series``) and a breakdown by one whitelisted column
(``kpi_breakdown``), always with the numerator and denominator beside the value.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path

import duckdb
import pandas as pd

from data.contract import TABLES
from queries import DataError, DataStore, QueryError, load_sql, rollup

CATALOG_PATH = Path(__file__).with_name("catalog.toml")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
RESULT_COLUMNS = ["window_start", "group", "kpi_id", "is_covered", "numerator", "denominator", "value"]


class PeriodError(ValueError):
    """A month or period that is not valid; the message says which and why."""


def parse_month(text: str, *, what: str = "month") -> datetime:
    """Parse ``YYYY-MM`` into the first instant of that month.

    Raises:
        PeriodError: not of the form YYYY-MM, or month not 01–12.
    """
    match = _MONTH.match(str(text).strip()) if text is not None else None
    if not match:
        raise PeriodError(f"{what} {text!r} is not a month of the form YYYY-MM (e.g. 2022-03)")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12 or year < 1900:
        raise PeriodError(f"{what} {text!r} is not a real month")
    return datetime(year, month, 1)


def add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """A month range ``start_month``..``end_month`` inclusive (``YYYY-MM``)."""

    start_month: str
    end_month: str

    def __post_init__(self) -> None:
        start = parse_month(self.start_month, what="from")
        end = parse_month(self.end_month, what="to")
        if end < start:
            raise PeriodError(f"to ({self.end_month}) is before from ({self.start_month})")
        object.__setattr__(self, "start_month", start.strftime("%Y-%m"))
        object.__setattr__(self, "end_month", end.strftime("%Y-%m"))

    @property
    def period_start(self) -> datetime:
        """The first instant of ``from``."""
        return parse_month(self.start_month)

    @property
    def period_end(self) -> datetime:
        """The first instant of the month after ``to`` (exclusive)."""
        return add_months(parse_month(self.end_month), 1)

    @property
    def months(self) -> int:
        start, end = self.period_start, self.period_end
        return (end.year - start.year) * 12 + end.month - start.month

    def previous(self) -> Period:
        """The period of the same length that ends just before ``from``."""
        end = add_months(self.period_start, -1)
        start = add_months(end, -(self.months - 1))
        return Period(start.strftime("%Y-%m"), end.strftime("%Y-%m"))

    def month_labels(self) -> list[str]:
        return [add_months(self.period_start, i).strftime("%Y-%m") for i in range(self.months)]


def _clean(value: str | None) -> str | None:
    # metrics.md: a filter that is empty or only spaces means no filter.
    if value is None:
        return None
    value = str(value).strip()
    return value or None


@dataclass(frozen=True)
class Filters:
    """The filter bar: force, LPA, local authority (None or blank = no filter)."""

    force: str | None = None
    lpa: str | None = None
    local_authority: str | None = None

    def __post_init__(self) -> None:
        for name in ("force", "lpa", "local_authority"):
            object.__setattr__(self, name, _clean(getattr(self, name)))

    def as_params(self) -> dict:
        return {"force": self.force, "lpa": self.lpa, "local_authority": self.local_authority}


@dataclass(frozen=True)
class Focus:
    """A drill-down inside the filters: one group of a whitelisted breakdown column."""

    column: str
    value: str

    def as_params(self) -> dict:
        return {"focus_column": self.column, "focus_value": self.value}


NO_FOCUS = {"focus_column": None, "focus_value": None}


def can_focus(kpi_id: str, focus: Focus | None) -> bool:
    """Can this KPI be narrowed to the focus group (its query allows that breakdown)?"""
    return focus is None or focus.column in catalog().queries[get_kpi(kpi_id).query].breakdowns


@dataclass(frozen=True)
class Kpi:
    """One KPI of the catalogue."""

    id: str
    area: str
    query: str
    label: str
    unit: str
    kind: str
    definition: str

    @property
    def is_percentage(self) -> bool:
        return self.unit == "pct"


@dataclass(frozen=True)
class KpiQuery:
    """One SQL file and what it may be broken down by."""

    name: str
    table: str
    breakdowns: tuple[str, ...]
    also: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Catalog:
    areas: dict[str, str]
    kpis: dict[str, Kpi]
    queries: dict[str, KpiQuery]


@cache
def catalog() -> Catalog:
    """The KPI catalogue from ``queries/catalog.toml`` (read once)."""
    with CATALOG_PATH.open("rb") as fh:
        raw = tomllib.load(fh)
    queries = {
        name: KpiQuery(name, q["table"], tuple(q["breakdowns"]), tuple(q.get("also", ())))
        for name, q in raw["queries"].items()
    }
    kpis = {kpi_id: Kpi(id=kpi_id, **spec) for kpi_id, spec in raw["kpi"].items()}
    for kpi in kpis.values():
        if kpi.query not in queries:
            raise QueryError(f"catalog: {kpi.id} names unknown query {kpi.query}")
    return Catalog(areas=dict(raw["areas"]), kpis=kpis, queries=queries)


KPI_IDS: tuple[str, ...] = tuple(catalog().kpis)


def get_kpi(kpi_id: str) -> Kpi:
    try:
        return catalog().kpis[kpi_id]
    except KeyError:
        raise QueryError(f"unknown KPI {kpi_id!r}") from None


def kpi_table(
    store: DataStore,
    period: Period,
    filters: Filters,
    *,
    monthly: bool = False,
    breakdown: str = "none",
    kpi_ids: list[str] | tuple[str, ...] | None = None,
    focus: Focus | None = None,
    window_months: int | None = None,
    use_rollup: bool = True,
) -> pd.DataFrame:
    """Run the queries behind ``kpi_ids`` (default: all) and return their long rows.

    Args:
        store: the data.
        period: the month range.
        filters: force, lpa, local authority.
        monthly: one window per month (a series) instead of one for the period.
        window_months: windows of this many months instead (it must divide the period's
            months): e.g. a period and the one before it, read as one span of two windows,
            in one query where there were two. Overrides ``monthly``.
        use_rollup: read from the store's roll-ups where they can answer (the same
            figures: ``queries/rollup.py``); False reads the queries themselves.
        breakdown: ``none`` or a column the queries allow (whitelisted per query).
        kpi_ids: the KPIs wanted; each query runs once for all its KPIs.
        focus: a drill-down group: KPIs whose query can split by its column
            are read for that group only (the breakdown's row, as group
            'all'); the others stay whole (see :func:`can_focus`).

    Returns:
        Columns ``window_start, group, kpi_id, is_covered, numerator,
        denominator, value``; values are None (not NaN) where null.

    Raises:
        QueryError: an unknown KPI, or a breakdown a KPI's query does not allow.
    """
    wanted = list(kpi_ids) if kpi_ids is not None else list(KPI_IDS)
    if focus is not None:
        if breakdown != "none":
            raise QueryError("a focus and a breakdown cannot be combined")
        narrowed = [k for k in wanted if can_focus(k, focus)]
        whole = [k for k in wanted if k not in narrowed]
        parts = []
        if narrowed:
            split = kpi_table(
                store,
                period,
                filters,
                monthly=monthly,
                breakdown=focus.column,
                kpi_ids=narrowed,
                window_months=window_months,
                use_rollup=use_rollup,
            )
            parts.append(split[split["group"] == focus.value].assign(group="all"))
        if whole:
            parts.append(
                kpi_table(
                    store,
                    period,
                    filters,
                    monthly=monthly,
                    kpi_ids=whole,
                    window_months=window_months,
                    use_rollup=use_rollup,
                )
            )
        return (
            pd.concat(parts, ignore_index=True)[RESULT_COLUMNS]
            if parts
            else kpi_table(store, period, filters, monthly=monthly, kpi_ids=[])
        )
    if window_months is None:
        window_months = 1 if monthly else period.months
    if window_months < 1 or period.months % window_months:
        raise QueryError(f"windows of {window_months} months do not divide a period of {period.months}")
    query_names: list[str] = []
    for kpi_id in wanted:
        query = catalog().queries[get_kpi(kpi_id).query]
        if breakdown != "none" and breakdown not in query.breakdowns:
            raise QueryError(
                f"{kpi_id} cannot be broken down by {breakdown!r}; it allows {', '.join(query.breakdowns)}"
            )
        if query.name not in query_names:
            query_names.append(query.name)
    params = {
        "period_start": period.period_start,
        "period_end": period.period_end,
        "window_months": window_months,
        "breakdown": breakdown,
        **filters.as_params(),
    }
    frames, direct = [], []
    rollups = getattr(store, "rollups", None) if use_rollup else None
    for name in query_names:
        ids = [k for k in wanted if get_kpi(k).query == name]
        served = None
        if rollups is not None and rollup.servable(ids, window_months, filters, breakdown, None):
            built = rollups.get(name)
            if built is not None:
                served = rollup.serve(built, ids, period, window_months, filters, breakdown)
        if served is None:
            direct.append(name)
        else:
            frames.append(served)
    frames += store.run_many([(name, params) for name in direct])
    result = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=RESULT_COLUMNS)
    result = result[result["kpi_id"].isin(wanted)].reset_index(drop=True)
    for column in ("numerator", "denominator", "value"):
        result[column] = result[column].astype(object).where(result[column].notna(), None)
    return result[RESULT_COLUMNS]


def kpi_values(
    store: DataStore, period: Period, filters: Filters, *, kpi_ids: list[str] | None = None
) -> dict[str, float | None]:
    """Every KPI's value for one period: ``{kpi_id: value or None}``."""
    table = kpi_table(store, period, filters, kpi_ids=kpi_ids)
    values = dict(zip(table["kpi_id"], table["value"], strict=True))
    return {kpi_id: values.get(kpi_id) for kpi_id in (kpi_ids or KPI_IDS)}


def kpi_series(store: DataStore, kpi_id: str, period: Period, filters: Filters) -> pd.DataFrame:
    """A KPI month by month: columns ``month`` (YYYY-MM), value, numerator, denominator.

    One row per month of the period; months outside the data's coverage hold
    nulls (a gap, not a zero).
    """
    table = kpi_table(store, period, filters, monthly=True, kpi_ids=[kpi_id])
    table = table.assign(month=pd.to_datetime(table["window_start"]).dt.strftime("%Y-%m"))
    return table[["month", "value", "numerator", "denominator"]].reset_index(drop=True)


def kpi_breakdown(store: DataStore, kpi_id: str, by: str, period: Period, filters: Filters) -> pd.DataFrame:
    """A KPI for one period split by a whitelisted column: columns group, value, numerator, denominator."""
    if by == "none":
        raise QueryError("a breakdown needs a column")
    table = kpi_table(store, period, filters, breakdown=by, kpi_ids=[kpi_id])
    return table[["group", "value", "numerator", "denominator"]].reset_index(drop=True)


# --- Records: the rows behind a KPI ------------------------------------------
#
# Records open on the KPI's own rows: the rows its denominator counts (for a
# count, the rows it counts; for a median or percentile, the rows whose
# interval it takes), each with whether it counts in the numerator and the
# value the KPI measures for it. Nothing here restates a KPI's logic: each
# row's flags are read from the KPI's one query, run with every unit (a row,
# or a child, or an offender manager) as a group of its own. The query is run
# unchanged on a private cursor where its table has the unit's key in place of
# a breakdown column that no KPI reads (UNIT_COLUMNS), so the query's
# numerator and denominator for the one-unit group say whether that unit
# counts. Sums over units are the KPI's own figures by construction.

# Snapshot KPIs of these tables read the rows open at the period end, not
# those that started in it; their records do the same.
OPEN_AT_END_TABLES = ("mash_referrals", "investigations")
RECORDS_ROW_LIMIT = 5000
RECORD_ROWS = ("kpi", "all")

# Each table's row key: what records/<table>.sql selects by through $row_ids.
RECORD_KEYS = {
    "incidents": "incident_id",
    "missing_episodes": "episode_id",
    "mash_referrals": "referral_id",
    "investigations": "crime_id",
    "police_protection": "pp_id",
    "rso_register": "rso_id",
    "rso_breaches": "breach_id",
    "custody_detentions": "detention_id",
    "case_audits": "audit_id",
}
# The breakdown column that carries each unit's key: one that the table's KPI
# query reads only to filter and group by (tests/test_records_kpi_rows.py
# checks that no KPI query reads it otherwise). case_audits has no lpa.
UNIT_COLUMNS = {"case_audits": "area"}
DEFAULT_UNIT_COLUMN = "lpa"
# What one unit is when it is not one row of the KPI's table: the SQL that
# names it, over the table's own columns (constants, never user input).
_UNIT_SEPARATOR = "\x1f"
UNIT_KEYS = {
    "child": "child_id",
    "offender_manager": f"force || '{_UNIT_SEPARATOR}' || offender_manager_id",
}
# KPIs that count units other than rows (metrics.md: repeat-missing children;
# the largest caseload of one (force, offender_manager_id)).
KPI_UNITS = {
    "repeat_missing_children": "child",
    "repeat_missing_max_episodes": "child",
    "repeat_missing_referred_pct": "child",
    "rso_max_per_offender_manager": "offender_manager",
}
# KPIs that count distinct values over their rows: read row by row, then one
# records row per value (the most recent of its rows).
DISTINCT_KPIS = {"impact_high_risk_children": "victim_child_id"}
# Ratio KPIs (per officer) divide by officers, not rows: their records are the
# rows of their numerator, a count KPI of the same query, in the forces whose
# ratio is defined.
RATIO_NUMERATORS = {
    "impact_cases_per_officer": "impact_open_cases",
    "rso_per_offender_manager": "rso_in_community",
}


@dataclass(frozen=True)
class RecordMeasure:
    """The value a KPI measures for one of its rows, and its words for a column header.

    Exactly one source: ``kpi`` (a KPI of the same query whose value for the
    one-unit group is the row's value: a median's own interval), ``sql`` (a
    ``$measure`` of the table's records query: the recorded interval a
    "within T" KPI judges) or ``words`` (in, out of the numerator).
    """

    header: str
    kpi: str | None = None
    sql: str | None = None
    words: tuple[str, str] | None = None


RECORD_MEASURES: dict[str, RecordMeasure] = {
    # Initial contact
    "grade1_within_target_pct": RecordMeasure("minutes from call to arrival", sql="arrival_min"),
    "grade2_within_target_pct": RecordMeasure("minutes from call to arrival", sql="arrival_min"),
    "arrival_median_min": RecordMeasure("minutes from call to arrival", kpi="arrival_median_min"),
    "ppn_within_24h_pct": RecordMeasure("hours from call to PPN", sql="ppn_hours"),
    # Assessment and help
    "missing_deploy_delay_median_min": RecordMeasure(
        "minutes from report to first deployment", kpi="missing_deploy_delay_median_min"
    ),
    "missing_deployed_within_target_pct": RecordMeasure(
        "minutes from report to first deployment", sql="deploy_min"
    ),
    "missing_ratification_delay_median_min": RecordMeasure(
        "minutes from report to ratification", kpi="missing_ratification_delay_median_min"
    ),
    "missing_deployed_after_ratification_pct": RecordMeasure(
        "minutes from ratification to deployment", sql="ratification_to_deploy_min"
    ),
    "repeat_missing_children": RecordMeasure(
        "episodes in the 90 days to the period end", kpi="repeat_missing_max_episodes"
    ),
    "repeat_missing_max_episodes": RecordMeasure(
        "episodes in the 90 days to the period end", kpi="repeat_missing_max_episodes"
    ),
    "repeat_missing_referred_pct": RecordMeasure(
        "episodes in the 90 days to the period end", kpi="repeat_missing_max_episodes"
    ),
    "rhi_within_72h_pct": RecordMeasure("hours from found to return home interview", sql="rhi_hours"),
    "mash_open_at_end": RecordMeasure("days open at the period end", sql="days_open_at_end"),
    "mash_open_oldest_days_high": RecordMeasure(
        "days open at the period end", kpi="mash_open_oldest_days_high"
    ),
    "strategy_minutes_delay_median_days": RecordMeasure(
        "days from strategy meeting to minutes", kpi="strategy_minutes_delay_median_days"
    ),
    # Investigation
    "investigations_open_at_end": RecordMeasure("days open at the period end", sql="days_open_at_end"),
    "video_interview_delay_median_days": RecordMeasure(
        "days from opening to video interview", kpi="video_interview_delay_median_days"
    ),
    "csc_informed_within_24h_pct": RecordMeasure("hours from opening to CSC informed", sql="csc_hours"),
    "impact_high_risk_children": RecordMeasure("investigations counted for the child"),
    # Decision-making
    "pp_strategy_within_24h_pct": RecordMeasure(
        "hours from powers used to strategy discussion", sql="strategy_hours"
    ),
    # Managing risk
    "arms_completion_pct": RecordMeasure("ARMS assessment", words=("In date", "Outstanding")),
    "rso_max_per_offender_manager": RecordMeasure(
        "RSOs in the community managed", kpi="rso_max_per_offender_manager"
    ),
    # Police detention
    "aa_request_delay_median_min": RecordMeasure(
        "minutes from arrival to AA requested", kpi="aa_request_delay_median_min"
    ),
    "aa_delay_median_min": RecordMeasure(
        "minutes from AA requested to AA arrival", kpi="aa_delay_median_min"
    ),
    "aa_delay_p90_min": RecordMeasure("minutes from AA requested to AA arrival", kpi="aa_delay_p90_min"),
    "aa_within_2h_pct": RecordMeasure("minutes from arrival to AA arrival", sql="aa_after_arrival_min"),
    "rights_delay_median_min": RecordMeasure(
        "minutes from arrival to rights given", kpi="rights_delay_median_min"
    ),
    "rights_after_interview": RecordMeasure(
        "minutes from interview to rights given", sql="rights_after_interview_min"
    ),
}


def records_column_words(kpi_id: str) -> dict[str, str]:
    """Header words for the columns kpi_records adds (``rows="kpi"``)."""
    measure = RECORD_MEASURES.get(kpi_id)
    return {
        "in_numerator": "Counts in numerator",
        "kpi_value": f"Value measured: {measure.header}" if measure else "Value measured",
    }


def _unit_figures(
    store: DataStore,
    kpi_ids: list[str],
    unit: str,
    period: Period,
    filters: Filters,
    focus: Focus | None,
) -> pd.DataFrame:
    """Each unit's figures for the KPIs (of one query): columns kpi_id, unit, numerator, denominator, value.

    Only the units that count (a denominator, or for a count a numerator,
    above 0) are returned. ``unit`` is ``row`` or a key of UNIT_KEYS.
    """
    query = catalog().queries[get_kpi(kpi_ids[0]).query]
    table = query.table
    columns = TABLES[table].column_names
    group = UNIT_COLUMNS.get(table, DEFAULT_UNIT_COLUMN)
    unit_sql = RECORD_KEYS[table] if unit == "row" else UNIT_KEYS[unit]
    # The filters the KPI query can no longer apply by itself (its lpa column
    # now holds the unit) and the focus group keep a unit; other rows keep
    # their place in the table (coverage reads them) but belong to no unit.
    # Their values reach the view as the cursor's own variables (a view
    # cannot take parameters); the column names are whitelisted above.
    keep, variables = ["true"], {}
    if "lpa" in columns and filters.lpa is not None:
        keep.append("lpa = getvariable('records_lpa')")
        variables["records_lpa"] = filters.lpa
    if focus is not None:
        if focus.column not in query.breakdowns or focus.column not in columns:
            raise QueryError(f"{kpi_ids[0]} cannot be narrowed by {focus.column!r}")
        keep.append(f"{focus.column}::varchar = getvariable('records_focus')")
        variables["records_focus"] = focus.value
    force = filters.force
    if focus is not None and focus.column == "force" and force is None:
        force = focus.value  # as a force breakdown would: that force's own coverage
    sql, wanted = load_sql(query.name)
    given = {
        **store.settings.query_parameters(),
        "period_start": period.period_start,
        "period_end": period.period_end,
        "window_months": period.months,
        "breakdown": group,
        "force": force,
        "lpa": None,
        "local_authority": filters.local_authority,
    }
    connection = store._connect()  # the runner's views and macros, read through a cursor of our own
    cursor = connection.cursor()
    try:
        for name, value in variables.items():
            cursor.execute(f"set variable {name} = $value", {"value": value})
        database = cursor.execute("select current_database()").fetchone()[0]
        # A temporary view of the cursor's own hides the table's view from the KPI query alone.
        cursor.execute(
            f"create temp view {table} as select * replace ("
            f"(case when {' and '.join(keep)} then {unit_sql} end)::varchar as {group}) "
            f'from "{database}".main.{table}'
        )
        relation = cursor.sql(sql, params={k: given[k] for k in wanted})
        if relation is None:  # not a query that returns rows (an empty file, say)
            raise QueryError(f"query {query.name} returns no rows")
        # A unit counts when its denominator is above 0, or for a count (no denominator) its numerator.
        zero = duckdb.ConstantExpression(0)
        numerator, denominator = duckdb.ColumnExpression("numerator"), duckdb.ColumnExpression("denominator")
        counts = (denominator > zero) | (denominator.isnull() & (numerator > zero))
        wanted_kpi = duckdb.ColumnExpression("kpi_id").isin(*(duckdb.ConstantExpression(k) for k in kpi_ids))
        relation = relation.filter(wanted_kpi & duckdb.ColumnExpression("group").isnotnull() & counts)
        frame = relation.select(
            duckdb.ColumnExpression("kpi_id"),
            duckdb.ColumnExpression("group").alias("unit"),
            duckdb.ColumnExpression("numerator"),
            duckdb.ColumnExpression("denominator"),
            duckdb.ColumnExpression("value"),
        ).df()
    except duckdb.IOException as exc:
        raise DataError(f"cannot read the data in {store.data_dir}: {exc}") from exc
    except duckdb.InvalidInputException as exc:
        raise DataError(f"a data file in {store.data_dir} is not valid parquet: {exc}") from exc
    finally:
        cursor.close()
    return frame


def _records_params(kpi: Kpi, period: Period, filters: Filters, focus: Focus | None, row_limit: int) -> dict:
    query = catalog().queries[kpi.query]
    scope = "open_at_end" if kpi.kind == "snapshot" and query.table in OPEN_AT_END_TABLES else "period"
    return {
        "period_start": period.period_start,
        "period_end": period.period_end,
        "scope": scope,
        "row_limit": int(row_limit),
        "row_ids": None,
        "child_ids": None,
        "measure": None,
        **filters.as_params(),
        **(focus.as_params() if focus else NO_FOCUS),
    }


def _split(rows: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    total = int(rows["total_rows"].iloc[0]) if not rows.empty else 0
    return rows.drop(columns="total_rows").reset_index(drop=True), total


def _ratio_forces(
    store: DataStore, kpi_id: str, period: Period, filters: Filters, focus: Focus | None
) -> set[str]:
    """The forces whose per-officer ratio is defined under the filters and focus (none when it is null)."""
    whole = kpi_table(store, period, filters, kpi_ids=[kpi_id], focus=focus)
    if whole.empty or whole["numerator"].iloc[0] is None:
        return set()
    by_force = kpi_breakdown(store, kpi_id, "force", period, filters)
    forces = set(by_force.loc[by_force["numerator"].notna(), "group"])
    return forces & {focus.value} if focus is not None and focus.column == "force" else forces


def _manager_rows(figures: pd.DataFrame, kpi_id: str, period: Period) -> pd.DataFrame:
    """One row per offender manager: the unit of rso_max_per_offender_manager."""
    mine = figures[figures["kpi_id"] == kpi_id]
    parts = mine["unit"].str.split(_UNIT_SEPARATOR, n=1, expand=True)
    frame = pd.DataFrame(
        {
            "offender_manager_id": parts[1] if not mine.empty else pd.Series(dtype=object),
            "snapshot_month": pd.Timestamp(add_months(period.period_end, -1)),
            "force": parts[0] if not mine.empty else pd.Series(dtype=object),
            "kpi_value": mine["value"].to_numpy(),
        }
    )
    return frame.sort_values(
        ["kpi_value", "force", "offender_manager_id"], ascending=[False, True, True]
    ).reset_index(drop=True)


def _kpi_rows(
    store: DataStore, kpi: Kpi, period: Period, filters: Filters, focus: Focus | None, row_limit: int
) -> tuple[pd.DataFrame, int]:
    """kpi_records(rows="kpi"): the units the KPI counts, their records, in_numerator and kpi_value."""
    query = catalog().queries[kpi.query]
    measure = RECORD_MEASURES.get(kpi.id)
    counted = RATIO_NUMERATORS.get(kpi.id, kpi.id)
    unit = KPI_UNITS.get(kpi.id, "row")
    wanted = [counted] + ([measure.kpi] if measure and measure.kpi and measure.kpi != counted else [])
    figures = _unit_figures(store, wanted, unit, period, filters, focus)
    mine = figures[figures["kpi_id"] == counted].set_index("unit")
    params = {**_records_params(kpi, period, filters, focus, row_limit), "measure": measure and measure.sql}

    if unit == "offender_manager":
        rows = _manager_rows(figures, kpi.id, period)
        total = len(rows)
        rows = rows.head(row_limit).assign(in_numerator=None)
        return rows[["offender_manager_id", "in_numerator", "kpi_value", "snapshot_month", "force"]], total

    units = list(mine.index)
    if unit == "child":
        params["child_ids"] = units
        key = "child_id"
    else:
        params["row_ids"] = units
        key = RECORD_KEYS[query.table]
    # Ratios and distinct counts keep or merge rows after the query: read them all first.
    post = kpi.id in RATIO_NUMERATORS or kpi.id in DISTINCT_KPIS
    if post:
        params["row_limit"] = max(len(units), 1)
    rows, total = _split(store.run(f"records/{query.table}", params))

    has_numerator = mine["numerator"].notna() & mine["denominator"].notna()
    in_numerator = (mine["numerator"] > 0).where(has_numerator)
    if kpi.id in RATIO_NUMERATORS:
        forces = _ratio_forces(store, kpi.id, period, filters, focus)
        rows = rows[rows["force"].isin(forces)]
        in_numerator = pd.Series(True, index=mine.index)
    keyed = rows[key]
    rows = rows.assign(
        in_numerator=pd.array(keyed.map(in_numerator), dtype="boolean")
        if in_numerator.notna().any()
        else None
    )
    if measure is not None and measure.kpi is not None:
        values = figures[figures["kpi_id"] == measure.kpi].set_index("unit")["value"]
        rows = rows.assign(kpi_value=keyed.map(values).astype(float))
    elif measure is not None and measure.words is not None:
        yes, no = measure.words
        rows = rows.assign(kpi_value=rows["in_numerator"].map({True: yes, False: no}).astype(object))
    if kpi.id in DISTINCT_KPIS:
        distinct = DISTINCT_KPIS[kpi.id]
        per_value = rows[distinct].map(rows[distinct].value_counts())
        rows = rows.assign(kpi_value=per_value.astype(float)).drop_duplicates(distinct, keep="first")
    if post:
        total = len(rows)
        rows = rows.head(row_limit)
    # The unit's key first, then what the KPI makes of the row, then the record.
    rest = [c for c in rows.columns if c not in (key, "in_numerator", "kpi_value")]
    return rows[[key, "in_numerator", "kpi_value", *rest]].reset_index(drop=True), total


def kpi_records(
    store: DataStore,
    kpi_id: str,
    period: Period,
    filters: Filters,
    *,
    focus: Focus | None = None,
    row_limit: int = RECORDS_ROW_LIMIT,
    rows: str = "all",
) -> tuple[pd.DataFrame, int]:
    """The pseudonymised rows behind a KPI for the period: (first ``row_limit`` rows, total matched).

    Args:
        store: the data.
        kpi_id: the KPI.
        period: the month range.
        filters: force, lpa, local authority.
        focus: a drill-down group the KPI's query can split by.
        row_limit: at most this many rows are returned (the total counts them all).
        rows: ``"kpi"``: the KPI's own rows — those its denominator counts (for
            a count, those it counts; for a median or percentile, those whose
            interval it takes; for a per-officer ratio, its numerator's rows),
            the total being that denominator (or count), with two columns
            added after the key: ``in_numerator`` (boolean; null where the KPI
            has no numerator) and ``kpi_value`` (the value the KPI measures for
            the row; null where it measures none). A KPI that counts children
            or offender managers has one row per child (its latest episode) or
            manager. ``"all"`` (the default, as before): every row of the KPI's
            table in scope — events in the period, or for a snapshot KPI the
            rows open (or on the register) at its end.

    Returns:
        The rows (header words for the added columns in ``.attrs["column_words"]``)
        and the total.

    Raises:
        QueryError: an unknown KPI, a focus column its query cannot split by,
            or an unknown ``rows``.
    """
    kpi = get_kpi(kpi_id)
    query = catalog().queries[kpi.query]
    if focus is not None and focus.column not in query.breakdowns:
        raise QueryError(f"{kpi_id} cannot be narrowed by {focus.column!r}")
    if rows not in RECORD_ROWS:
        raise QueryError(f"rows must be one of {', '.join(RECORD_ROWS)}, not {rows!r}")
    if rows == "all":
        found, total = _split(
            store.run(f"records/{query.table}", _records_params(kpi, period, filters, focus, row_limit))
        )
        return found.drop(columns="kpi_value"), total
    found, total = _kpi_rows(store, kpi, period, filters, focus, row_limit)
    found.attrs["column_words"] = records_column_words(kpi_id)
    return found, total
