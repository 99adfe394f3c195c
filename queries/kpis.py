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

import pandas as pd

from queries import DataStore, QueryError

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
) -> pd.DataFrame:
    """Run the queries behind ``kpi_ids`` (default: all) and return their long rows.

    Args:
        store: the data.
        period: the month range.
        filters: force, lpa, local authority.
        monthly: one window per month (a series) instead of one for the period.
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
                store, period, filters, monthly=monthly, breakdown=focus.column, kpi_ids=narrowed
            )
            parts.append(split[split["group"] == focus.value].assign(group="all"))
        if whole:
            parts.append(kpi_table(store, period, filters, monthly=monthly, kpi_ids=whole))
        return (
            pd.concat(parts, ignore_index=True)[RESULT_COLUMNS]
            if parts
            else kpi_table(store, period, filters, monthly=monthly, kpi_ids=[])
        )
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
        "monthly": monthly,
        "breakdown": breakdown,
        **filters.as_params(),
    }
    frames = [store.run(name, params) for name in query_names]
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


# Snapshot KPIs of these tables read the rows open at the period end, not
# those that started in it; their records do the same.
OPEN_AT_END_TABLES = ("mash_referrals", "investigations")
RECORDS_ROW_LIMIT = 5000


def kpi_records(
    store: DataStore,
    kpi_id: str,
    period: Period,
    filters: Filters,
    *,
    focus: Focus | None = None,
    row_limit: int = RECORDS_ROW_LIMIT,
) -> tuple[pd.DataFrame, int]:
    """The pseudonymised rows behind a KPI for the period: (first ``row_limit`` rows, total matched).

    Rows are those of the KPI's main table that the KPI reads for this period
    and filters: events in the period, or for a snapshot KPI the rows open
    (or on the register) at its end.

    Raises:
        QueryError: an unknown KPI, or a focus column its query cannot split by.
    """
    kpi = get_kpi(kpi_id)
    query = catalog().queries[kpi.query]
    if focus is not None and focus.column not in query.breakdowns:
        raise QueryError(f"{kpi_id} cannot be narrowed by {focus.column!r}")
    scope = "open_at_end" if kpi.kind == "snapshot" and query.table in OPEN_AT_END_TABLES else "period"
    params = {
        "period_start": period.period_start,
        "period_end": period.period_end,
        "scope": scope,
        "row_limit": int(row_limit),
        **filters.as_params(),
        **(focus.as_params() if focus else NO_FOCUS),
    }
    rows = store.run(f"records/{query.table}", params)
    total = int(rows["total_rows"].iloc[0]) if not rows.empty else 0
    return rows.drop(columns="total_rows"), total
