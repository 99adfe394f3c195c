"""KPI definitions in words: the one source the app's "About" panels and docs/kpi-definitions.md share.

Everything comes from ``queries/catalog.toml`` (whose definitions follow
metrics.md) and the settings (targets), so the text a reader sees beside a
chart and the text in the documentation cannot drift apart:
``python -m queries definitions > docs/kpi-definitions.md`` regenerates the
document, and a test fails when the committed copy is stale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from data.settings import Settings
from queries.kpis import Kpi, catalog

# "Of <denominator>: % <numerator>." — the shape metrics.md gives percentages.
_PERCENT_SHAPE = re.compile(r"^Of (?P<denominator>[^:]+): % (?P<numerator>.+?)\.?$")
UNIT_WORDS = {
    "pct": "percentage",
    "count": "count",
    "min": "minutes",
    "days": "days",
    "ratio": "ratio",
}


@dataclass(frozen=True)
class Definition:
    """One KPI in words, field by field."""

    kpi_id: str
    label: str
    area: str
    definition: str
    numerator: str | None
    denominator: str | None
    period_rule: str
    source: str
    target: str
    unit: str


def _target_words(kpi: Kpi, settings: Settings) -> str:
    target = settings.targets.get(kpi.id)
    if target is None:
        return "None set"
    sign = "≥" if target.comparison == ">=" else "≤"
    shown = f"{target.target:g}{'%' if kpi.unit == 'pct' else ''}"
    return f"{sign} {shown} (a setting)"


def period_rule(kpi: Kpi) -> str:
    if kpi.kind == "event":
        return "Events in the period, by the date the source table records them."
    return "A snapshot: the state at the end of the period's last month."


def define(kpi_id: str, settings: Settings) -> Definition:
    kpi = catalog().kpis[kpi_id]
    query = catalog().queries[kpi.query]
    numerator = denominator = None
    shape = _PERCENT_SHAPE.match(kpi.definition.split(";")[0]) if kpi.unit == "pct" else None
    if shape:
        denominator = shape["denominator"][0].upper() + shape["denominator"][1:]
        numerator = f"Those {shape['numerator']}"
    return Definition(
        kpi_id=kpi.id,
        label=kpi.label,
        area=catalog().areas[kpi.area],
        definition=kpi.definition,
        numerator=numerator,
        denominator=denominator,
        period_rule=period_rule(kpi),
        source=", ".join((query.table, *query.also)),
        target=_target_words(kpi, settings),
        unit=UNIT_WORDS.get(kpi.unit, kpi.unit),
    )


def markdown(settings: Settings) -> str:
    """Every KPI's definition as a Markdown document, by area, in catalogue order."""
    lines = [
        "# KPI definitions",
        "",
        "Generated from `queries/catalog.toml` and `data/settings.toml` by "
        '`python -m queries definitions`; the dashboard\'s "About" panels show the same text. '
        "Do not edit by hand.",
        "",
    ]
    current_area = None
    for kpi_id in catalog().kpis:
        item = define(kpi_id, settings)
        if item.area != current_area:
            current_area = item.area
            lines += [f"## {item.area}", ""]
        lines += [f"### {item.label} (`{item.kpi_id}`)", "", item.definition, ""]
        if item.numerator:
            lines += [f"- Numerator: {item.numerator}", f"- Denominator: {item.denominator}"]
        lines += [
            f"- Unit: {item.unit}",
            f"- Period: {item.period_rule}",
            f"- Source: {item.source}",
            f"- Target: {item.target}",
            "",
        ]
    return "\n".join(lines)
