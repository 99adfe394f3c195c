"""KPI summaries for cards, the overview matrix and (later) the monthly pack.

One place joins a period's values with the previous period, the last 12
months and the targets of the settings, so every surface shows the same
status for the same figure.
"""

from __future__ import annotations

import pandas as pd

from data.settings import STATUS_NONE
from queries import DataStore
from queries.kpis import Filters, Period, add_months, catalog, kpi_table

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


def kpi_summary(store: DataStore, period: Period, filters: Filters, kpi_ids: list[str]) -> pd.DataFrame:
    """One row per KPI: value, numerator, denominator, previous period, target, status, 12-month spark.

    Args:
        store: the data and settings.
        period: the selected months; the spark covers the 12 months ending at ``to``.
        filters: force, lpa, local authority.
        kpi_ids: the KPIs wanted, in display order.
    """
    if not kpi_ids:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    current = kpi_table(store, period, filters, kpi_ids=kpi_ids).set_index("kpi_id")
    previous = kpi_table(store, period.previous(), filters, kpi_ids=kpi_ids).set_index("kpi_id")
    end = pd.Timestamp(period.period_end).to_pydatetime()
    spark_period = Period(add_months(end, -SPARK_MONTHS).strftime("%Y-%m"), period.end_month)
    monthly = kpi_table(store, spark_period, filters, monthly=True, kpi_ids=kpi_ids)
    sparks = monthly.groupby("kpi_id", sort=False)["value"].apply(list)
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
