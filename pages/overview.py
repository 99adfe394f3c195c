"""Overview for the gold group: every KPI with a target, by inspection area, and case-audit grades."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, dcc, html

import figures
from queries import DataError, spc
from queries.kpis import KPI_IDS, catalog
from queries.summary import (
    KpiException,
    Recommendation,
    exceptions,
    kpi_history,
    kpi_spc,
    kpi_summary,
    kpis_with_target,
    load_recommendations,
    recommendation_status,
)
from ui.area_page import AREA_PATHS, GRAPH_CONFIG, chart_title, status_badge
from ui.callbacks import audit_detail, dashboard_callback
from ui.filters import ID_STATE, require_state
from ui.formatting import format_change, format_target, format_value, month_label
from ui.spc_badges import assurance_badge, variation_badge
from ui.state import get_events, get_store

dash.register_page(__name__, path="/", name="Overview", order=0)

ID_MATRIX = "overview-matrix"
ID_EXCEPTIONS = "overview-exceptions"
ID_AUDITS = "overview-audits"
ID_RECOMMENDATIONS = "overview-recommendations"
AUDIT_KPIS = ["audit_good", "audit_requires_improvement", "audit_inadequate"]


def layout(**_query):
    return [
        html.H1("Overview", className="h3"),
        html.H2("This month's exceptions", className="h5"),
        html.P(
            "KPIs whose latest month shows special-cause variation, and KPIs whose process limits say the "
            "target will be missed every month or only sometimes (statistical process control, as NHS "
            "England's Making Data Count teaches it). Select one to open its chart.",
            className="small text-body-secondary",
        ),
        dcc.Loading(html.Div(id=ID_EXCEPTIONS), type="circle"),
        html.H2("KPIs with a target", className="h5 mt-4"),
        html.P(
            "Each KPI with a target for the selected period: value, target, status, change since the "
            "previous period of the same length, and the last 12 months. Select a KPI to open its area.",
            className="text-body-secondary",
        ),
        dcc.Loading(html.Div(id=ID_MATRIX), type="circle"),
        html.H2("Recommendations of the 2021 inspection", className="h5 mt-4"),
        html.P(
            "Each recommendation's status is the worst status among the KPIs with a target that evidence it.",
            className="small text-body-secondary",
        ),
        html.Div(id=ID_RECOMMENDATIONS),
        html.H2("Case audits", className="h5 mt-4"),
        dbc.Card(dbc.CardBody(dcc.Graph(id=ID_AUDITS, config=GRAPH_CONFIG, style={"height": "340px"}))),
    ]


def chart_href(kpi_id: str, search: str) -> str:
    """The link to a KPI's trend on its area page, with the same filters."""
    area = catalog().kpis[kpi_id].area
    return AREA_PATHS.get(area, "/") + search + f"#chart-trend-{kpi_id}"


def _exception_item(found: KpiException, search: str) -> html.Li:
    badge = (
        variation_badge(found.variation, compact=True)
        if found.variation.code != "common"
        else assurance_badge(found.assurance)
    )
    label = catalog().kpis[found.kpi_id].label
    return html.Li(
        [
            badge,
            " ",
            html.A(label, href=chart_href(found.kpi_id, search), className="fw-semibold"),
            ": ",
            found.sentence,
        ]
    )


def exceptions_list(found: list[KpiException], search: str, month: str):
    """The exception summary (pure): by area, what needs attention first; improvements folded away."""
    if not found:
        return html.P(
            f"No exceptions in {month_label(month)}: every KPI shows common-cause variation and no target "
            "is at risk.",
            className="mb-0",
        )
    needing = sum(1 for e in found if e.needs_attention)
    sections = [
        html.P(
            [
                html.Strong(f"{needing} KPI{'s' if needing != 1 else ''} need attention"),
                f" in {month_label(month)}; {len(found) - needing} improving.",
            ],
            className="mb-1",
        )
    ]
    for area in dict.fromkeys(e.area for e in found):
        in_area = [e for e in found if e.area == area]
        attention = [e for e in in_area if e.needs_attention]
        improving = [e for e in in_area if not e.needs_attention]
        sections.append(html.H3(catalog().areas[area], className="h6 mt-3 mb-1"))
        if attention:
            sections.append(
                html.Ul(
                    [_exception_item(e, search) for e in attention], className="list-unstyled exceptions mb-1"
                )
            )
        if improving:
            sections.append(
                html.Details(
                    [
                        html.Summary(
                            f"Improving: {len(improving)} KPI{'s' if len(improving) != 1 else ''}",
                            className="small",
                        ),
                        html.Ul(
                            [_exception_item(e, search) for e in improving],
                            className="list-unstyled exceptions mb-1 mt-1",
                        ),
                    ]
                )
            )
    return html.Div(sections)


def matrix_table(summary: pd.DataFrame, search: str, spc_results: dict | None = None) -> dbc.Table:
    """The KPI matrix: one section per area, one row per KPI (pure: summary in, table out)."""
    spc_results = spc_results or {}
    header = html.Thead(
        html.Tr(
            [
                html.Th("KPI", scope="col"),
                html.Th("Value", scope="col", className="text-end"),
                html.Th("Target", scope="col", className="text-end"),
                html.Th("Status", scope="col"),
                html.Th("Change vs previous period", scope="col", className="text-end"),
                html.Th("Last 12 months", scope="col"),
                html.Th("Variation", scope="col"),
                html.Th("Assurance", scope="col"),
            ]
        )
    )
    bodies = []
    for area, rows in summary.groupby("area", sort=False):
        body = [html.Tr(html.Th(catalog().areas[area], colSpan=8, scope="colgroup", className="table-light"))]
        for _, row in rows.iterrows():
            href = AREA_PATHS.get(area, "/") + search
            spark_label = f"{row['label']}, last 12 months"
            body.append(
                html.Tr(
                    [
                        html.Th(dcc.Link(row["label"], href=href), scope="row", className="fw-normal"),
                        html.Td(
                            format_value(row["value"], row["unit"]),
                            className="text-end fw-semibold text-nowrap",
                        ),
                        html.Td(
                            format_target(row["target"], row["comparison"], row["unit"]),
                            className="text-end text-nowrap",
                        ),
                        html.Td(status_badge(row["status"])),
                        html.Td(
                            format_change(row["value"], row["previous"], row["unit"]), className="text-end"
                        ),
                        html.Td(
                            html.Img(
                                src="data:image/svg+xml;utf8,"
                                + figures.sparkline_svg(row["spark"], label=spark_label).replace("#", "%23"),
                                alt=spark_label,
                                height=28,
                                width=120,
                            )
                        ),
                        *_spc_cells(row, spc_results.get(row["kpi_id"])),
                    ]
                )
            )
        bodies.append(html.Tbody(body))
    return dbc.Table([header, *bodies], hover=True, responsive=True, className="align-middle kpi-matrix")


def _spc_cells(row, result: spc.SpcResult | None) -> list:
    if result is None:
        return [html.Td(""), html.Td("")]
    assured = (
        spc.assurance(result, row["target"], row["comparison"]) if row["comparison"] in (">=", "<=") else None
    )
    return [
        html.Td(variation_badge(result.variation, compact=True), className="small"),
        html.Td(assurance_badge(assured) or "", className="small"),
    ]


def recommendations_table(
    summary: pd.DataFrame, recommendations: list[Recommendation], search: str
) -> dbc.Table:
    """The recommendation tracker (pure: summary rows and recommendations in, table out)."""
    by_id = summary.set_index("kpi_id")
    header = html.Thead(
        html.Tr(
            [
                html.Th("Recommendation", scope="col"),
                html.Th("Area", scope="col"),
                html.Th("Due", scope="col"),
                html.Th("Evidence (this period)", scope="col"),
                html.Th("Status", scope="col"),
            ]
        )
    )
    rows = []
    for rec in recommendations:
        evidence = []
        for kpi_id in rec.kpis:
            kpi = catalog().kpis[kpi_id]
            value = by_id.at[kpi_id, "value"] if kpi_id in by_id.index else None
            evidence.append(html.Li(f"{kpi.label}: {format_value(value, kpi.unit)}"))
        rows.append(
            html.Tr(
                [
                    html.Td([html.Strong(rec.id + " "), rec.summary]),
                    html.Td(dcc.Link(catalog().areas[rec.area], href=AREA_PATHS.get(rec.area, "/") + search)),
                    html.Td(f"{rec.due.capitalize()} ({month_label(rec.due_month)})"),
                    html.Td(html.Ul(evidence, className="small mb-0 ps-3")),
                    html.Td(status_badge(recommendation_status(summary, rec))),
                ]
            )
        )
    return dbc.Table([header, html.Tbody(rows)], responsive=True, className="align-middle recommendations")


@dashboard_callback(
    Output(ID_EXCEPTIONS, "children"),
    Output(ID_MATRIX, "children"),
    Output(ID_RECOMMENDATIONS, "children"),
    Output(ID_AUDITS, "figure"),
    Input(ID_STATE, "data"),
    action="view overview",
)
def update_overview(state_data):
    state = require_state(state_data)
    audit_detail(filters=state.to_search())
    store = get_store()
    recommendations = load_recommendations()
    matrix_kpis = kpis_with_target(store)
    wanted = matrix_kpis + [k for r in recommendations for k in r.kpis if k not in matrix_kpis]
    try:
        # One read of every KPI's monthly history serves SPC, the sparks and the audit chart.
        history = kpi_history(store, state.period, state.filters, list(KPI_IDS))
        summary = kpi_summary(
            store, state.period, state.filters, list(dict.fromkeys(wanted)), history=history
        )
    except DataError as exc:
        alert = dbc.Alert(str(exc), color="danger")
        return alert, None, None, figures.empty_figure("Case audits", str(exc))
    results = kpi_spc(history, list(KPI_IDS), store.settings, get_events())
    found = exceptions(results, store.settings, format_value, state.period_to)
    audits = history[history["kpi_id"].isin(AUDIT_KPIS) & (history["month"] >= state.period_from)]
    audit_figure = figures.audit_grades_figure(audits, title=chart_title("Case audit grades", state))
    search = state.to_search()
    return (
        exceptions_list(found, search, state.period_to),
        matrix_table(summary[summary["kpi_id"].isin(matrix_kpis)], search, results),
        recommendations_table(summary, recommendations, search),
        audit_figure,
    )
