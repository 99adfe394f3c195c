"""What every inspection-area page shares: headline cards and a monthly trend per KPI.

A page module calls :func:`layout` from its ``layout`` function and
:func:`register` once at import; its own breakdown charts sit beside these.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
import pandas as pd
from dash import ALL, Input, Output, dcc, html

import figures
from data.contract import has_column
from data.settings import STATUS_NEAR, STATUS_OFF, STATUS_ON
from queries import DataError
from queries.kpis import catalog, kpi_breakdown, kpi_table
from queries.summary import kpi_summary
from ui.callbacks import dashboard_callback
from ui.filters import ID_STATE, FilterState, require_state
from ui.formatting import format_change, format_target, format_value, period_label
from ui.state import get_store

AREA_PATHS = {
    "initial_contact": "/initial-contact",
    "assessment_and_help": "/assessment-and-help",
    "investigation": "/investigation",
    "decision_making": "/decision-making",
    "managing_risk": "/managing-risk",
    "detention": "/detention",
}
STATUS_COLOURS = {STATUS_ON: "success", STATUS_NEAR: "warning", STATUS_OFF: "danger"}
# Keep the camera (analysts export snapshots); drop tools a reader never needs.
GRAPH_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d", "pan2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}
FILTER_WORDS = {"lpa": "LPA", "local_authority": "local authority"}
BREAKDOWN_WORDS = {
    "force": "force",
    "lpa": "LPA",
    "local_authority": "local authority",
    "incident_type": "incident type",
    "grade": "call grade",
    "risk_level": "risk level",
    "source": "referral source",
    "team": "team",
    "category": "category",
    "management": "management",
    "outcome": "outcome",
    "custody_suite": "custody suite",
    "area": "area",
}


def area_kpis(area: str) -> list[str]:
    return [k.id for k in catalog().kpis.values() if k.area == area]


def status_badge(status: str | None) -> dbc.Badge:
    """Status in words with its colour (never colour alone)."""
    text = status if isinstance(status, str) and status else "No data"
    colour = STATUS_COLOURS.get(text, "secondary")
    return dbc.Badge(
        text, color=colour, className="status-badge" + (" text-dark" if colour == "warning" else "")
    )


def unapplied_filters(kpi_id: str, state: FilterState) -> list[str]:
    """Filters the user set that the KPI's table cannot apply (metrics.md: the chart says so)."""
    query = catalog().queries[catalog().kpis[kpi_id].query]
    notes = []
    for column in ("lpa", "local_authority"):
        if getattr(state, column) and not has_column(query.table, column):
            notes.append(
                f"{FILTER_WORDS[column]} filter not applied: {query.table} has no {FILTER_WORDS[column]}"
            )
    return notes


def chart_title(label: str, state: FilterState) -> str:
    where = state.force
    if state.lpa:
        where += f", {state.lpa} LPA"
    if state.local_authority:
        where += f", {state.local_authority}"
    period = period_label(state.period_from, state.period_to)
    # What on the first line; where and when on a second, smaller one, so a
    # long title fits half a laptop screen.
    return f"{label}<br><span style='font-size:12px;color:#495057'>{where}, {period}</span>"


PER_OFFICER_KPIS = ("impact_cases_per_officer", "rso_per_offender_manager")


def unavailable_reason(kpi_id: str, state: FilterState) -> str | None:
    """Why a KPI has no value by definition under this selection (metrics.md), if it does not."""
    if kpi_id in PER_OFFICER_KPIS and (state.lpa or state.local_authority):
        return "Not available under an LPA or local-authority filter: staffing is force-wide."
    return None


def kpi_card(row: pd.Series, reason: str | None = None) -> dbc.Card:
    kpi = catalog().kpis[row["kpi_id"]]
    denominator = row["denominator"]
    n_text = f"n = {denominator:,.0f}" if kpi.unit == "pct" and pd.notna(denominator) else ""
    return dbc.Card(
        dbc.CardBody(
            [
                html.H3(kpi.label, className="h6 card-title mb-1"),
                html.P(format_value(row["value"], kpi.unit), className="fs-3 fw-semibold mb-0 kpi-value"),
                html.P(
                    [
                        status_badge(row["status"]),
                        html.Span(
                            f" Target {format_target(row['target'], row['comparison'], kpi.unit)}",
                            className="small",
                        ),
                    ],
                    className="mb-1",
                ),
                html.P(
                    reason
                    or f"{format_change(row['value'], row['previous'], kpi.unit)} vs previous period"
                    + (f" · {n_text}" if n_text else ""),
                    className="small text-body-secondary mb-0",
                ),
            ]
        ),
        className="h-100 kpi-card",
        id={"type": "kpi-card", "kpi": kpi.id},
    )


def _graph_card(graph_id: dict, note: str | None = None) -> dbc.Col:
    body = [
        dcc.Loading(
            dcc.Graph(id=graph_id, config=GRAPH_CONFIG, style={"height": "320px"}),
            type="circle",
        )
    ]
    if note:
        body.append(html.P(note, className="small text-body-secondary mb-0"))
    return dbc.Col(dbc.Card(dbc.CardBody(body)), xs=12, xl=6, className="mb-3")


def layout(area: str, intro: str, breakdowns: tuple[tuple[str, str], ...] = ()) -> list:
    """Heading, the card row, the breakdowns and the trend grid of an area (no data is read here).

    Args:
        area: the catalogue's area id.
        intro: one sentence under the heading.
        breakdowns: (kpi_id, column) pairs drawn as sorted bars for the period.
    """
    breakdown_cards = [
        _graph_card(
            {"type": "area-breakdown", "area": area, "index": i},
            catalog().kpis[kpi_id].definition,
        )
        for i, (kpi_id, _column) in enumerate(breakdowns)
    ]
    graphs = [
        _graph_card({"type": "area-trend", "area": area, "kpi": kpi_id}, catalog().kpis[kpi_id].definition)
        for kpi_id in area_kpis(area)
    ]
    return [
        html.H1(catalog().areas[area], className="h3"),
        html.P(intro, className="text-body-secondary"),
        html.Div(id={"type": "area-cards", "area": area}, className="mb-3"),
        *([html.H2("Where it differs", className="h5"), dbc.Row(breakdown_cards)] if breakdowns else []),
        html.H2("Trends", className="h5"),
        dbc.Row(graphs),
    ]


def breakdown_figures(state: FilterState, breakdowns: tuple[tuple[str, str], ...]) -> list:
    """One sorted bar chart per (kpi_id, column) for the selected period."""
    store = get_store()
    out = []
    for kpi_id, column in breakdowns:
        kpi = catalog().kpis[kpi_id]
        target = store.settings.targets.get(kpi_id)
        title = chart_title(f"{kpi.label} by {BREAKDOWN_WORDS.get(column, column)}", state)
        frame = kpi_breakdown(store, kpi_id, column, state.period, state.filters)
        out.append(
            figures.breakdown_bar(
                frame,
                title=title,
                unit=kpi.unit,
                target=target.target if target else None,
                group_label=BREAKDOWN_WORDS.get(column, column).capitalize(),
            )
        )
    return out


def register(area: str, breakdowns: tuple[tuple[str, str], ...] = ()) -> None:
    """The area's callbacks: cards, breakdowns and trends follow the filter state."""
    kpi_ids = area_kpis(area)
    with_target = [k for k in kpi_ids if k in get_store().settings.targets] or kpi_ids[:4]

    @dashboard_callback(
        Output({"type": "area-cards", "area": area}, "children"),
        Output({"type": "area-trend", "area": area, "kpi": ALL}, "figure"),
        Output({"type": "area-breakdown", "area": area, "index": ALL}, "figure"),
        Input(ID_STATE, "data"),
        action=f"view {area}",
    )
    def update_area(state_data):
        state = require_state(state_data)
        store = get_store()
        try:
            summary = kpi_summary(store, state.period, state.filters, with_target)
            series = kpi_table(store, state.period, state.filters, monthly=True, kpi_ids=kpi_ids)
            bars = breakdown_figures(state, breakdowns)
        except DataError as exc:
            alert = dbc.Alert(str(exc), color="danger")
            return (
                alert,
                [figures.empty_figure("", str(exc)) for _ in kpi_ids],
                [figures.empty_figure("", str(exc)) for _ in breakdowns],
            )
        cards = dbc.Row(
            [
                dbc.Col(
                    kpi_card(row, unavailable_reason(row["kpi_id"], state)),
                    xs=12,
                    sm=6,
                    lg=3,
                    className="mb-2",
                )
                for _, row in summary.iterrows()
            ]
        )
        series = series.assign(month=pd.to_datetime(series["window_start"]).dt.strftime("%Y-%m"))
        out = []
        for kpi_id in kpi_ids:
            kpi = catalog().kpis[kpi_id]
            target = store.settings.targets.get(kpi_id)
            title = chart_title(kpi.label, state)
            notes = unapplied_filters(kpi_id, state)
            if notes:
                title += "<br><span style='font-size:11px'>" + "; ".join(notes) + "</span>"
            out.append(
                figures.trend_figure(
                    series[series["kpi_id"] == kpi_id],
                    title=title,
                    unit=kpi.unit,
                    target=target.target if target else None,
                    value_label=kpi.label,
                )
            )
        return cards, out, bars

    update_area.__name__ = f"update_{area}_area"
