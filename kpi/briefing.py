"""The gold group's briefing: what the overview's first screen says, computed without Dash.

The chair asks three things: which recommendations are on track, what got worse this
month, and why. This module answers them from the KPI summaries and SPC results the
overview already holds (pure functions, so the pages, the monthly pack and the tests
share one answer):

- :func:`recommendation_progress`: each recommendation's status month by month and its
  direction of travel (how many of its KPIs are on target now against three months ago);
- :func:`sort_exceptions`: this month's concerns (new or continuing), targets at risk,
  and improvements, so that an improving KPI far from its target is never only "improving";
- :func:`largest_mover`: the group (LPA, team, suite…) whose change moved the force's
  figure most this month, from the breakdowns the KPI already has.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from data.settings import STATUS_NONE, STATUS_OFF, STATUS_ON
from kpi.summary import KpiException, Recommendation, worst_status
from queries import DataStore, concurrently
from queries.kpis import Filters, Period, add_months, catalog, kpi_table

TRAVEL_MONTHS = 3  # direction of travel: now against this many months before
HISTORY_MONTHS = 6  # months of status shown beside each recommendation
MOVER_MIN_CASES = 10  # a median's group needs this many cases to be named as the mover


def month_statuses(history: pd.DataFrame, settings, kpi_ids, months: list[str]) -> pd.DataFrame:
    """Each KPI's status against its target in each month (rows kpi_id, columns months)."""
    values = history.set_index(["kpi_id", "month"])["value"]
    rows = {}
    for kpi_id in kpi_ids:
        target = settings.targets.get(kpi_id)
        if target is None:
            continue
        is_pct = catalog().kpis[kpi_id].is_percentage
        rows[kpi_id] = [
            target.status(_number(values.get((kpi_id, m))), is_percentage=is_pct) or "No data" for m in months
        ]
    return pd.DataFrame.from_dict(rows, orient="index", columns=months)


def months_ending(end_month: str, count: int) -> list[str]:
    """The ``count`` months ending at ``end_month``, oldest first."""
    start = add_months(datetime.strptime(end_month, "%Y-%m"), -(count - 1)).strftime("%Y-%m")
    return Period(start, end_month).month_labels()


def _number(value):
    return None if value is None or pd.isna(value) else float(value)


@dataclass(frozen=True)
class Progress:
    """A recommendation month by month: worst status per month, KPIs on target, direction of travel."""

    recommendation: Recommendation
    months: tuple[str, ...]
    statuses: tuple[str, ...]  # the worst status of its KPIs, per month
    on_target: tuple[int, ...]  # how many of its KPIs were on target, per month
    with_target: int
    direction: str  # "better", "worse" or "no change"

    @property
    def words(self) -> str:
        """'2 of 5 KPIs on target (1 in Dec 2021)'-style text is built by the page; this is the arrow."""
        return {"better": "Better", "worse": "Worse", "no change": "No change"}[self.direction]


def recommendation_progress(
    history: pd.DataFrame, settings, recommendation: Recommendation, end_month: str
) -> Progress:
    """The recommendation's last :data:`HISTORY_MONTHS` months and its direction of travel.

    Direction compares the KPIs on target in the last month with :data:`TRAVEL_MONTHS`
    months before; on a tie, fewer KPIs off target (rather than near) is better. The
    status each month is the worst of its KPIs' (metrics.md), as the tracker shows it.
    """
    months = months_ending(end_month, HISTORY_MONTHS)
    statuses = month_statuses(history, settings, recommendation.kpis, months)
    if statuses.empty:
        empty = (STATUS_NONE,) * len(months)
        return Progress(recommendation, tuple(months), empty, (0,) * len(months), 0, "no change")
    worst = tuple(worst_status(statuses[m]) for m in months)
    on = tuple(int((statuses[m] == STATUS_ON).sum()) for m in months)
    off = [int((statuses[m] == STATUS_OFF).sum()) for m in months]
    then = max(0, len(months) - 1 - TRAVEL_MONTHS)
    if on[-1] != on[then]:
        direction = "better" if on[-1] > on[then] else "worse"
    elif off[-1] != off[then]:
        direction = "better" if off[-1] < off[then] else "worse"
    else:
        direction = "no change"
    return Progress(recommendation, tuple(months), worst, on, len(statuses), direction)


@dataclass(frozen=True)
class Briefing:
    """This month's exceptions sorted as the chair reads them."""

    concerns: list[tuple[KpiException, bool]]  # (exception, is new this month)
    at_risk: list[KpiException]  # target failing or hit and miss, not a concern this month
    improving: list[KpiException]  # special-cause improvement with the target not at risk


def is_concern(found: KpiException) -> bool:
    return found.variation.code.startswith("concern")


def is_target_at_risk(found: KpiException) -> bool:
    return found.assurance is not None and found.assurance.code in ("fails", "hit_and_miss")


def sort_exceptions(found: list[KpiException], results: dict, end_month: str) -> Briefing:
    """Concerns first (new before continuing), then targets at risk, then improvements.

    A concern is *continuing* when the KPI's SPC chart already showed concern variation the
    month before (the same run, still going); otherwise it is new this month.
    """
    concerns, at_risk, improving = [], [], []
    previous = months_ending(end_month, 2)[0]
    for item in found:
        if is_concern(item):
            frame = results[item.kpi_id].frame
            before = frame.loc[frame["month"] == previous, "variation"]
            continuing = not before.empty and before.iloc[0] == "concern"
            concerns.append((item, not continuing))
        elif is_target_at_risk(item):
            at_risk.append(item)
        else:
            improving.append(item)
    concerns.sort(key=lambda pair: not pair[1])  # new first; catalogue order within each
    return Briefing(concerns, at_risk, improving)


def far_from_target(found: KpiException) -> bool:
    """An improving KPI whose process limits still miss the target: say both, never only 'improving'."""
    return found.variation.code.startswith("improvement") and is_target_at_risk(found)


@dataclass(frozen=True)
class Mover:
    """The group whose change this month moved the force's figure most."""

    column: str
    group: str
    before: float | None
    after: float | None
    contribution: float | None  # its share of the change in the force's figure, in the KPI's unit


def _mover_columns(kpi_id: str, filters: Filters) -> list[str]:
    # A column the filters hold to one value has one group, which "moves" the whole figure: under
    # an LPA filter, "moved most by LPA East" would say nothing.
    fixed = {"force"} | {c for c in ("lpa", "local_authority") if getattr(filters, c)}
    columns = [c for c in catalog().queries[catalog().kpis[kpi_id].query].breakdowns if c not in fixed]
    return ["force", *columns] if filters.force is None else columns


def largest_mover(store: DataStore, kpi_id: str, end_month: str, filters: Filters) -> Mover | None:
    """Across the KPI's breakdown columns, the group that moved its figure most from last month.

    For a percentage (or ratio) the force's figure is the denominator-weighted mean of its
    groups', so group g contributes ``d_g,t/D_t · v_g,t − d_g,t−1/D_t−1 · v_g,t−1`` and the
    contributions add up to the force's change; for a count, the change in the group's count.
    A median cannot be split that way: the group (of at least :data:`MOVER_MIN_CASES` cases
    both months) whose own median moved most in the direction of the force's is named.
    """
    return largest_movers(store, [kpi_id], end_month, filters)[kpi_id]


def largest_movers(
    store: DataStore, kpi_ids: list[str], end_month: str, filters: Filters
) -> dict[str, Mover | None]:
    """:func:`largest_mover` of several KPIs, their breakdowns read together.

    Each (query, column) is read once, as the two months' monthly windows of one query, for
    every KPI asked of that query: month by month and column by column the reads were most of
    the overview's update (about 120 ms a concern, for one force).
    """
    previous = months_ending(end_month, 2)[0]
    both = Period(previous, end_month)
    reads: dict[tuple[str, str], list[str]] = {}
    for kpi_id in kpi_ids:
        for column in _mover_columns(kpi_id, filters):
            reads.setdefault((catalog().kpis[kpi_id].query, column), []).append(kpi_id)
    frames = concurrently(
        [
            functools.partial(kpi_table, store, both, filters, monthly=True, breakdown=column, kpi_ids=ids)
            for (_query, column), ids in reads.items()
        ]
    )
    by_read = dict(zip(reads, frames, strict=True))
    after_start = pd.Timestamp(Period(end_month, end_month).period_start)
    movers = {}
    for kpi_id in kpi_ids:
        kpi = catalog().kpis[kpi_id]
        best: Mover | None = None
        for column in _mover_columns(kpi_id, filters):
            rows = by_read[(kpi.query, column)]
            rows = rows[rows["kpi_id"] == kpi_id]
            is_after = pd.to_datetime(rows["window_start"]) == after_start
            after_frame = rows[is_after].set_index("group")
            before_frame = rows[~is_after].set_index("group")
            for group in after_frame.index.union(before_frame.index):
                a = after_frame.loc[group] if group in after_frame.index else None
                b = before_frame.loc[group] if group in before_frame.index else None
                contribution = _contribution(kpi.unit, a, b, after_frame, before_frame)
                if contribution is None:
                    continue
                if best is None or abs(contribution) > abs(best.contribution):
                    best = Mover(
                        column,
                        str(group),
                        None if b is None else _number(b["value"]),
                        None if a is None else _number(a["value"]),
                        contribution,
                    )
        movers[kpi_id] = best if best is not None and best.contribution else None
    return movers


def _weighted(row, value, total) -> float:
    """A group's term in the force's denominator-weighted mean (0 when it has none)."""
    if row is None or value is None or not total or pd.isna(row["denominator"]):
        return 0.0
    return float(row["denominator"]) / total * value


def _contribution(unit, a, b, after_frame, before_frame) -> float | None:
    value_a = None if a is None else _number(a["value"])
    value_b = None if b is None else _number(b["value"])
    if unit == "count":
        return (value_a or 0.0) - (value_b or 0.0)
    if unit in ("pct", "ratio"):
        total_a = after_frame["denominator"].astype(float).sum()
        total_b = before_frame["denominator"].astype(float).sum()
        return _weighted(a, value_a, total_a) - _weighted(b, value_b, total_b)
    # Medians and other intervals: the group's own move, when both months hold enough cases.
    if value_a is None or value_b is None:
        return None
    if min(_number(a["denominator"]) or 0, _number(b["denominator"]) or 0) < MOVER_MIN_CASES:
        return None
    return value_a - value_b
