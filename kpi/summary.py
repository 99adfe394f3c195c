"""KPI summaries for cards, the overview matrix and (later) the monthly pack.

One place joins a period's values with the previous period, the last 12
months and the targets of the settings, so every surface shows the same
status for the same figure.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from data.settings import STATUS_NEAR, STATUS_NONE, STATUS_OFF, STATUS_ON
from kpi import spc
from queries import DataStore, QueryError
from queries.kpis import Filters, Focus, Period, add_months, catalog, kpi_table

SPARK_MONTHS = 12
SUMMARY_COLUMNS = [
    "kpi_id",
    "area",
    "label",
    "unit",
    "value",
    "numerator",
    "denominator",
    "previous",
    "target",
    "comparison",
    "status",
    "spark",
]


def kpis_with_target(store: DataStore) -> list[str]:
    """The KPI ids that have a target in the settings, in catalogue order."""
    return [k for k in catalog().kpis if k in store.settings.targets]


def current_and_previous(
    store: DataStore, period: Period, filters: Filters, kpi_ids: list[str], *, focus: Focus | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The KPIs for ``period`` and for the period of the same length before it (``kpi_table`` rows).

    One query per SQL file: the two periods are one span of two windows, each evaluated as
    the period alone would be (tests/test_kpis.py checks that they equal two reads)."""
    before = period.previous()
    span = Period(before.start_month, period.end_month)
    both = kpi_table(store, span, filters, kpi_ids=kpi_ids, focus=focus, window_months=period.months)
    starts = pd.to_datetime(both["window_start"])
    is_current = starts == pd.Timestamp(period.period_start)
    return both[is_current].reset_index(drop=True), both[~is_current].reset_index(drop=True)


def kpi_summary(
    store: DataStore,
    period: Period,
    filters: Filters,
    kpi_ids: list[str],
    *,
    focus: Focus | None = None,
    history: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per KPI: value, numerator, denominator, previous period, target, status, 12-month spark.

    Args:
        store: the data and settings.
        period: the selected months; the spark covers the 12 months ending at ``to``.
        filters: force, lpa, local authority.
        kpi_ids: the KPIs wanted, in display order.
        focus: a drill-down group (see ``kpi_table``).
        history: :func:`kpi_history` rows (same filters and focus) already read for SPC and
            reaching ``to``; the sparks are taken from them instead of querying the months again.
    """
    if not kpi_ids:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    current, previous = current_and_previous(store, period, filters, kpi_ids, focus=focus)
    current, previous = current.set_index("kpi_id"), previous.set_index("kpi_id")
    end = pd.Timestamp(period.period_end).to_pydatetime()
    spark_period = Period(add_months(end, -SPARK_MONTHS).strftime("%Y-%m"), period.end_month)
    if history is not None and set(kpi_ids) <= set(history["kpi_id"]):
        spark_months = spark_period.month_labels()
        by_month = history.set_index(["kpi_id", "month"])["value"]
        # Months before the history starts are gaps, as kpi_table gives them outside coverage.
        sparks = {k: [by_month.get((k, m)) for m in spark_months] for k in kpi_ids}
    else:
        monthly = kpi_table(store, spark_period, filters, monthly=True, kpi_ids=kpi_ids, focus=focus)
        sparks = monthly.groupby("kpi_id", sort=False)["value"].apply(list).to_dict()
    rows = []
    for kpi_id in kpi_ids:
        kpi = catalog().kpis[kpi_id]
        target = store.settings.targets.get(kpi_id)
        value = current.at[kpi_id, "value"] if kpi_id in current.index else None
        rows.append(
            {
                "kpi_id": kpi_id,
                "area": kpi.area,
                "label": kpi.label,
                "unit": kpi.unit,
                "value": value,
                "numerator": current.at[kpi_id, "numerator"] if kpi_id in current.index else None,
                "denominator": current.at[kpi_id, "denominator"] if kpi_id in current.index else None,
                "previous": previous.at[kpi_id, "value"] if kpi_id in previous.index else None,
                "target": target.target if target else None,
                "comparison": target.comparison if target else None,
                "status": (target.status(value, is_percentage=kpi.is_percentage) if target else STATUS_NONE),
                "spark": sparks.get(kpi_id, []),
            }
        )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


RECOMMENDATIONS_PATH = Path(__file__).resolve().parent.parent / "data" / "recommendations.toml"
STATUS_SEVERITY = [STATUS_OFF, STATUS_NEAR, STATUS_ON]  # worst first


@dataclass(frozen=True)
class Recommendation:
    """One inspection recommendation and the KPIs that evidence it."""

    id: str
    area: str
    summary: str
    due: str
    due_month: str
    kpis: tuple[str, ...]
    short: str = ""  # a few words for the overview's first screen

    @property
    def title(self) -> str:
        """The short title, or the summary's first clause when the file gives none."""
        return self.short or self.summary.split(",")[0].split(":")[0].rstrip(".")


def load_recommendations(path: str | Path | None = None) -> list[Recommendation]:
    """The recommendations file (an analyst edits it); every KPI id must be in the catalogue.

    Raises:
        QueryError: the file names an unknown KPI or area, or lacks a field.
    """
    path = Path(path) if path else RECOMMENDATIONS_PATH
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    recommendations = []
    for entry in raw.get("recommendation", []):
        try:
            rec = Recommendation(
                id=entry["id"],
                area=entry["area"],
                summary=entry["summary"],
                due=entry["due"],
                due_month=entry["due_month"],
                kpis=tuple(entry["kpis"]),
                short=str(entry.get("short", "")),
            )
        except KeyError as exc:
            raise QueryError(f"{path}: a recommendation lacks {exc.args[0]!r}") from None
        unknown = [k for k in rec.kpis if k not in catalog().kpis]
        if unknown or rec.area not in catalog().areas:
            raise QueryError(f"{path}: {rec.id} names unknown KPIs {unknown} or area {rec.area!r}")
        recommendations.append(rec)
    return recommendations


def worst_status(statuses) -> str:
    """The worst of the KPIs' statuses (metrics.md); "No target" if none has one, "No data" if no value."""
    present = [s for s in statuses if isinstance(s, str)]
    for status in STATUS_SEVERITY:
        if status in present:
            return status
    return STATUS_NONE if not present or all(s == STATUS_NONE for s in present) else "No data"


def recommendation_status(summary: pd.DataFrame, recommendation: Recommendation) -> str:
    """The recommendation's status from its KPIs' rows in a :func:`kpi_summary` frame."""
    rows = summary[summary["kpi_id"].isin(recommendation.kpis)]
    with_target = rows[rows["target"].notna()]
    if with_target.empty:
        return STATUS_NONE
    statuses = [s if isinstance(s, str) else "No data" for s in with_target["status"]]
    return worst_status(statuses)


# --- SPC: limits come from a KPI's whole history, never from the months on screen.


def history_start(store: DataStore, filters: Filters) -> str | None:
    """The first month any table holds for the filter's force (or all forces): where SPC history starts."""
    options = store.run("meta/filter_options", {})
    if filters.force:
        options = options[options["force"] == filters.force]
    if options.empty:
        return None
    return pd.Timestamp(options["first_month"].min()).strftime("%Y-%m")


def history_period(store: DataStore, period: Period, filters: Filters) -> Period:
    """From the data's first month to the period's end (the period itself if it starts earlier)."""
    start = history_start(store, filters)
    if start is None or start > period.start_month:
        return period
    return Period(start, period.end_month)


def kpi_history(
    store: DataStore, period: Period, filters: Filters, kpi_ids: list[str], *, focus: Focus | None = None
) -> pd.DataFrame:
    """Monthly long rows (with a ``month`` column) from the data's first month to the period's end."""
    history = kpi_table(
        store, history_period(store, period, filters), filters, monthly=True, kpi_ids=kpi_ids, focus=focus
    )
    return history.assign(month=pd.to_datetime(history["window_start"]).dt.strftime("%Y-%m"))


def kpi_spc(
    history: pd.DataFrame, kpi_ids: list[str], settings, events: spc.Events
) -> dict[str, spc.SpcResult]:
    """An XmR chart per KPI from :func:`kpi_history` rows, with its direction, run length and step changes."""
    results = {}
    # One split of the history, not a scan of it per KPI (72 on the overview).
    by_kpi = dict(tuple(history.groupby("kpi_id", sort=False)))
    empty = history.iloc[0:0]
    for kpi_id in kpi_ids:
        rows = by_kpi.get(kpi_id, empty)
        result = spc.xmr(
            list(rows["month"]),
            [None if v is None else float(v) for v in rows["value"]],
            direction=settings.direction(kpi_id),
            run_length=settings.spc_run_length,
            step_changes=events.step_changes_for(kpi_id),
        )
        results[kpi_id] = replace(result, cases=_cases_a_month(rows, result, catalog().kpis[kpi_id].unit))
    return results


CASE_UNITS = ("pct", "min", "days")  # a figure that rests on its cases: its denominator counts them


def _cases_a_month(rows: pd.DataFrame, result: spc.SpcResult, unit: str) -> float | None:
    """The median denominator of the months (with a value) in the chart's last segment, or None."""
    if unit not in CASE_UNITS or not result.segments or rows.empty:
        return None
    last = result.segments[-1]
    counts = [
        float(d)
        for month, d, v in zip(rows["month"], rows["denominator"], rows["value"], strict=True)
        if last.start_month <= month <= last.end_month and v is not None and d is not None and not pd.isna(d)
    ]
    return float(pd.Series(counts).median()) if counts else None


ASSURANCE_VERDICTS = {
    "fails": "will not be met without a change",
    "hit_and_miss": "will be met in some months only",
}


def clip_to_unit(value: float, unit: str) -> float:
    """A limit as a reader can meet it: a percentage within 0–100, anything else not below 0."""
    if unit == "pct":
        return min(max(value, 0.0), 100.0)
    return max(value, 0.0)


@dataclass(frozen=True)
class KpiException:
    """One line of the exception summary: a KPI whose latest month is a signal or whose target is at risk."""

    kpi_id: str
    area: str
    sentence: str  # about the KPI, which the reader sees named beside it ("It rose above ...")
    variation: spc.Status
    assurance: spc.Status | None

    @property
    def needs_attention(self) -> bool:
        """A concern, a signal of no set direction, or a target at risk; pure improvements do not."""
        at_risk = self.assurance is not None and self.assurance.code in ("fails", "hit_and_miss")
        return at_risk or not self.variation.code.startswith(("improvement", "common"))


def exceptions(
    results: dict[str, spc.SpcResult], settings, describe_value, period_end_month: str
) -> list[KpiException]:
    """This month's exceptions in catalogue (area) order: special causes, failing or hit-and-miss targets.

    Args:
        results: :func:`kpi_spc` per KPI.
        settings: for targets.
        describe_value: ``(value, unit) -> str`` for the sentences.
        period_end_month: only a signal at this month (the period's last) is this month's news.
    """
    out = []
    for kpi_id, result in results.items():
        kpi = catalog().kpis[kpi_id]
        target = settings.targets.get(kpi_id)
        assured = spc.assurance(result, target.target, target.comparison) if target else None
        sentences = []
        signal = result.signal
        if signal is not None and signal.month == period_end_month:
            # The reader sees the KPI's name beside the sentence: describe it as "It ...".
            told = signal.describe("It", lambda v, unit=kpi.unit: describe_value(v, unit))
            sentences.append(told + ".")
        if assured is not None and assured.code in ("fails", "hit_and_miss"):
            segment = result.segments[-1]
            low, high = clip_to_unit(segment.lower, kpi.unit), clip_to_unit(segment.upper, kpi.unit)
            limits = f"{describe_value(low, kpi.unit)} to {describe_value(high, kpi.unit)}"
            if assured.code == "hit_and_miss":
                where = "either side of"
            else:
                where = "both below" if target.comparison == ">=" else "both above"
            sentences.append(
                f"Its process limits ({limits}) are {where} the target of "
                f"{describe_value(target.target, kpi.unit)}, so it {ASSURANCE_VERDICTS[assured.code]}."
            )
        if sentences:
            out.append(KpiException(kpi_id, kpi.area, " ".join(sentences), result.variation, assured))
    order = list(catalog().kpis)
    return sorted(out, key=lambda e: order.index(e.kpi_id))


# --- Peer comparison: the selected force against the others.


def peer_ranks(monthly_by_force: pd.DataFrame, force: str, direction: str) -> pd.DataFrame:
    """The force's rank among forces with a value, month by month (1 = best; ties share the best rank).

    Args:
        monthly_by_force: long rows with ``month``, ``group`` (force) and ``value``.
        force: the force to follow.
        direction: "lower" ranks the smallest value first; "higher" and "neutral" the largest.

    Returns:
        Columns ``month``, ``rank`` (None where the force has no value), ``forces`` (how many were ranked).
    """
    rows = monthly_by_force[monthly_by_force["value"].notna()]
    out = []
    for month in sorted(monthly_by_force["month"].unique()):
        in_month = rows[rows["month"] == month]
        values = in_month["value"].astype(float)
        ranks = values.rank(ascending=direction == "lower", method="min")
        mine = ranks[in_month["group"] == force]
        out.append(
            {"month": month, "rank": int(mine.iloc[0]) if not mine.empty else None, "forces": len(in_month)}
        )
    ranks = pd.DataFrame(out, columns=["month", "rank", "forces"])
    # Object dtype keeps a missing rank None (pandas would make the column float with NaN).
    ranks["rank"] = pd.Series([r["rank"] for r in out], dtype=object)
    return ranks
