"""Monthly roll-ups per data version: each KPI query's own result, month by month, kept in memory.

A page update at national scale re-read millions of rows for figures that only change when the
data does. So, once per data version and settings, each KPI query of ``catalog.toml`` is run
unchanged with one-month windows over every month of its tables, twice: for all forces (no
filter) and broken down by force. Nothing is written again: the roll-up *is* the query's result.

From those rows :func:`serve` answers, without touching the extracts, what the filter bar asks
most (no LPA or local-authority filter, no drill-down, no breakdown but by force):

- a monthly series: the month's own rows;
- a window of several months (a period, or a period beside the one before it):
  - an event count or percentage sums the months' numerators and denominators (each event
    falls in exactly one month), covered when any month is;
  - a snapshot KPI (open at the end, on the register, a ratio, a maximum) is the window's last
    month, which ends where the window does;
  - a median or percentile of events (unit ``min`` or ``days``) cannot be summed from months:
    its query is read directly.

Under a force filter the figure is that force's row of the by-force roll-up: the same rows,
coverage and staffing as the filtered query (tests/test_rollup.py checks every KPI both ways).
Months outside the tables' months hold no data: their rows are uncovered, as the query's are.

Roll-ups are built in turn on one background thread, started by the first read of a data
version (a page reads the queries directly until then), and dropped with their data version.
``CPD_ROLLUPS=0`` turns them off.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass

import pandas as pd

ROLLUPS_ENV = "CPD_ROLLUPS"
log = logging.getLogger(__name__)
STAT_UNITS = ("min", "days")  # medians and percentiles of events: not summable from months


def enabled_by_environment() -> bool:
    """Roll-ups for the app's store unless ``CPD_ROLLUPS`` is 0, false, no or off."""
    return os.environ.get(ROLLUPS_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


@dataclass(frozen=True)
class Rollup:
    """One query's monthly rows over ``first_month``..``last_month`` (inclusive month starts)."""

    first_month: pd.Timestamp
    last_month: pd.Timestamp
    national: pd.DataFrame  # group 'all', every KPI of the query, one row per month
    by_force: pd.DataFrame  # one group per force
    forces: tuple[str, ...]
    seconds: float


class Rollups:
    """The roll-ups of one :class:`queries.DataStore`, keyed on its data version and settings."""

    def __init__(self, store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._built: dict[tuple, Rollup] = {}
        self._failed: set[tuple] = set()
        self._warming = False
        self._thread: threading.Thread | None = None

    def _key(self, query_name: str) -> tuple:
        settings = tuple(sorted((k, repr(v)) for k, v in self._store.settings.query_parameters().items()))
        return (self._store.version, settings, query_name)

    def get(self, query_name: str, *, wait: bool = False) -> Rollup | None:
        """The query's roll-up if built. Else None, having started :meth:`warm` if it is not
        running (the first read of a data version starts the builds), or built it (``wait``)."""
        key = self._key(query_name)
        with self._lock:
            if key in self._built:
                return self._built[key]  # may be None: nothing to roll up
            if key in self._failed:
                return None
            start = not wait and not self._warming
        if wait:
            return self._build(key, query_name)
        if start:
            self.warm()
        return None

    def build_all(self) -> None:
        """Build every KPI query's roll-up, in turn, on this thread."""
        from queries.kpis import catalog

        for name in catalog().queries:
            self.get(name, wait=True)

    def warm(self) -> threading.Thread | None:
        """Build every roll-up in turn on one background thread (pages read the queries meanwhile,
        and two cores are not taken by ten builds at once); None if it is running already.

        Started by the first read of a data version, not at import: a command-line process that
        imports the app and exits must not leave DuckDB working in a thread as it shuts down."""

        def work() -> None:
            from queries import DataError

            try:
                self.build_all()
            except DataError as exc:  # no data yet: the pages say so, and reads build them later
                log.warning("roll-ups not built at start-up: %s", exc)
            finally:
                with self._lock:
                    self._warming = False

        with self._lock:
            if self._warming:
                return None
            self._warming = True
        thread = threading.Thread(target=work, name="rollups", daemon=True)
        self._thread = thread
        thread.start()
        return thread

    def join(self, timeout: float | None = None) -> None:
        """Wait for a running :meth:`warm` (tests, and a process about to exit)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _build(self, key: tuple, query_name: str) -> Rollup | None:
        try:
            rollup = build(self._store, query_name)
        except Exception:  # a roll-up is only a shortcut: the query itself still answers
            log.exception("roll-up of %s failed; pages read the query directly", query_name)
            with self._lock:
                self._failed.add(key)
            return None
        with self._lock:
            # Only the current data version's roll-ups are kept.
            self._built = {k: v for k, v in self._built.items() if k[0] == key[0] and k[1] == key[1]}
            self._built[key] = rollup  # None: its tables hold no months; the query answers (quickly)
        if rollup is not None:
            log.info("roll-up of %s built in %.1f s", query_name, rollup.seconds)
        return rollup


def _month_span(store, query_name: str) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    from queries.kpis import catalog

    query = catalog().queries[query_name]
    months = store.run("meta/table_months", use_cache=False).set_index("table_name")
    months = months.loc[[query.table, *query.also]]
    lo, hi = months["first_month"].min(), months["last_month"].max()
    if pd.isna(lo) or pd.isna(hi):
        return None
    return pd.Timestamp(lo), pd.Timestamp(hi)


def build(store, query_name: str) -> Rollup | None:
    """Run the query with one-month windows over its tables' months: for all forces, and by force."""
    from queries.kpis import Filters, Period, catalog, kpi_table

    started = time.perf_counter()
    span = _month_span(store, query_name)
    if span is None:
        return None
    period = Period(span[0].strftime("%Y-%m"), span[1].strftime("%Y-%m"))
    kpi_ids = [k.id for k in catalog().kpis.values() if k.query == query_name]
    national = kpi_table(store, period, Filters(), monthly=True, kpi_ids=kpi_ids, use_rollup=False)
    by_force = kpi_table(
        store, period, Filters(), monthly=True, breakdown="force", kpi_ids=kpi_ids, use_rollup=False
    )
    for frame in (national, by_force):
        frame["window_start"] = pd.to_datetime(frame["window_start"])
    return Rollup(
        first_month=span[0],
        last_month=span[1],
        national=national,
        by_force=by_force,
        forces=tuple(sorted(by_force["group"].unique())),
        seconds=time.perf_counter() - started,
    )


def servable(kpi_ids, window_months: int, filters, breakdown: str, focus) -> bool:
    """Can the roll-ups answer this read (see the module's docstring)?"""
    from queries.kpis import catalog

    if focus is not None or filters.lpa or filters.local_authority or breakdown not in ("none", "force"):
        return False
    if window_months > 1:
        kpis = catalog().kpis
        return not any(kpis[k].kind == "event" and kpis[k].unit in STAT_UNITS for k in kpi_ids)
    return True


def serve(rollup: Rollup, kpi_ids, period, window_months: int, filters, breakdown: str) -> pd.DataFrame:
    """``kpi_table``'s rows for this read, from the roll-up (the caller checked :func:`servable`)."""
    from queries.kpis import RESULT_COLUMNS, catalog

    if breakdown == "force":
        rows = rollup.by_force
        groups = list(rollup.forces)
        if filters.force:
            rows = rows[rows["group"] == filters.force]
            groups = [filters.force] if filters.force in rollup.forces else []
    elif filters.force:
        rows = rollup.by_force[rollup.by_force["group"] == filters.force].assign(group="all")
        groups = ["all"]
    else:
        rows, groups = rollup.national, ["all"]
    rows = rows[rows["kpi_id"].isin(kpi_ids)]
    months = pd.date_range(pd.Timestamp(period.period_start), periods=period.months, freq="MS")
    kinds = {k: catalog().kpis[k].kind for k in kpi_ids}
    units = {k: catalog().kpis[k].unit for k in kpi_ids}
    by_cell = {(r.window_start, r.group, r.kpi_id): r for r in rows.itertuples(index=False)}
    out = []
    for w in range(0, period.months, window_months):
        window = months[w : w + window_months]
        for group in sorted(groups):
            for kpi_id in sorted(kpi_ids):
                cells = [by_cell.get((m, group, kpi_id)) for m in window]
                out.append(_window_row(window[0], group, kpi_id, kinds[kpi_id], units[kpi_id], cells))
    frame = pd.DataFrame(out, columns=RESULT_COLUMNS)
    frame["window_start"] = pd.to_datetime(frame["window_start"])
    frame["is_covered"] = frame["is_covered"].astype(bool)
    return frame


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _window_row(start, group, kpi_id, kind, unit, cells) -> dict:
    row = {"window_start": start, "group": group, "kpi_id": kpi_id, "is_covered": False,
           "numerator": None, "denominator": None, "value": None}  # fmt: skip
    if kind == "snapshot" or len(cells) == 1:
        # A snapshot is read at the window's end: the last month's row (a month outside the
        # tables' months has none and is uncovered).
        last = cells[-1]
        if last is not None and bool(last.is_covered):
            row.update(is_covered=True, numerator=_number(last.numerator),
                       denominator=_number(last.denominator), value=_number(last.value))  # fmt: skip
        return row
    covered = [c for c in cells if c is not None and bool(c.is_covered)]
    if not covered:
        return row
    numerator = sum(_number(c.numerator) or 0.0 for c in covered)
    row.update(is_covered=True, numerator=numerator)
    if unit == "count":
        row["value"] = numerator
    else:  # a percentage, as the query's pct(): 100 * n / d, null when d is 0
        denominator = sum(_number(c.denominator) or 0.0 for c in covered)
        row["denominator"] = denominator
        row["value"] = None if denominator == 0 else 100.0 * numerator / denominator
    return row
