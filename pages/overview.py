"""Overview for the gold group: every KPI with a target, by inspection area, and case-audit grades."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, dcc, html

import figures
from data.settings import STATUS_NEAR, STATUS_OFF, STATUS_ON
from kpi import spc
from kpi.briefing import (
    HISTORY_MONTHS,
    TRAVEL_MONTHS,
    Briefing,
    Mover,
    Progress,
    far_from_target,
    largest_mover,
    recommendation_progress,
    sort_exceptions,
)
from kpi.summary import (
    KpiException,
    exceptions,
    kpi_history,
    kpi_spc,
    kpi_summary,
    kpis_with_target,
    load_recommendations,
)
from queries import DataError
from queries.kpis import KPI_IDS, catalog
from ui.area_page import AREA_PATHS, GRAPH_CONFIG, chart_title, mover_sentence, status_badge
from ui.callbacks import audit_detail, dashboard_callback
from ui.filters import ID_STATE, require_state
from ui.formatting import format_change, format_target, format_value, month_label, period_label
from ui.glossary import FirstUse, glossary_list
from ui.spc_badges import assurance_badge, variation_badge
from ui.state import get_events, get_store

dash.register_page(__name__, path="/", name="Overview", order=0)

ID_HEADLINE = "overview-headline"
ID_EXCEPTIONS_HEADING = "overview-exceptions-heading"
ID_MATRIX = "overview-matrix"
ID_EXCEPTIONS = "overview-exceptions"
ID_AUDITS = "overview-audits"
ID_RECOMMENDATIONS = "overview-recommendations"
AUDIT_KPIS = ["audit_good", "audit_requires_improvement", "audit_inadequate"]


def layout(**_query):
    return [
        html.H1("Overview", className="h4 mb-1"),
        dcc.Loading(html.P(id=ID_HEADLINE, className="lead fs-6 mb-2"), type="circle", delay_show=300),
        dbc.Row(
            [
                dbc.Col(
                    [
                        html.H2("Recommendations of the 2021 inspection", className="h5"),
                        html.Div(id=ID_RECOMMENDATIONS),
                    ],
                    xl=7,
                    className="mb-3",
                ),
                dbc.Col(
                    [
                        html.H2(id=ID_EXCEPTIONS_HEADING, children="This month", className="h5"),
                        dcc.Loading(html.Div(id=ID_EXCEPTIONS), type="circle", delay_show=300),
                    ],
                    xl=5,
                    className="mb-3",
                ),
            ],
            className="overview-first-screen",
        ),
        html.H2("KPIs with a target", className="h5 mt-2"),
        html.P(
            "Each KPI with a target for the selected period: value, target, status, change since the "
            "previous period of the same length, and the last 12 months. Select a KPI to open its area.",
            className="text-body-secondary small",
        ),
        dcc.Loading(html.Div(id=ID_MATRIX), type="circle", delay_show=300),
        html.H2("Case audits", className="h5 mt-4"),
        dbc.Card(dbc.CardBody(dcc.Graph(id=ID_AUDITS, config=GRAPH_CONFIG, style={"height": "340px"}))),
        html.H2("Abbreviations", className="h5 mt-4", id="glossary"),
        glossary_list(),
    ]


def chart_href(kpi_id: str, search: str) -> str:
    """The link to a KPI's trend on its area page, with the same filters."""
    area = catalog().kpis[kpi_id].area
    return AREA_PATHS.get(area, "/") + search + f"#chart-trend-{kpi_id}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def headline(briefing: Briefing, progress: list[Progress], month: str) -> list:
    """The answer in one line: this month's concerns and the recommendations' direction (pure)."""
    new = sum(1 for _, is_new in briefing.concerns if is_new)
    concerns = len(briefing.concerns)
    travel = {d: sum(1 for p in progress if p.direction == d) for d in ("better", "worse", "no change")}
    concern_words = f"{_plural(concerns, 'concern')} ({new} new this month)" if concerns else "no concerns"
    return [
        html.Strong(f"{month_label(month)}: "),
        f"{concern_words}; {_plural(len(briefing.at_risk), 'target')} at risk; "
        f"{len(briefing.improving)} improving. Recommendations over the last {TRAVEL_MONTHS} months: "
        f"{travel['better']} better, {travel['worse']} worse, {travel['no change']} no change.",
    ]


STATUS_CHIPS = {STATUS_ON: "on", STATUS_NEAR: "near", STATUS_OFF: "off"}
DIRECTION_ARROWS = {"better": "▲", "worse": "▼", "no change": "▶"}


def status_strip(progress: Progress) -> html.Span:
    """The recommendation's status month by month: one chip per month, its words in the tooltip."""
    chips = [
        html.Span(
            className=f"status-chip status-chip-{STATUS_CHIPS.get(status, 'none')}",
            title=f"{month_label(month)}: {status}",
        )
        for month, status in zip(progress.months, progress.statuses, strict=True)
    ]
    words = "; ".join(
        f"{month_label(m)} {s}" for m, s in zip(progress.months, progress.statuses, strict=True)
    )
    return html.Span([*chips, html.Span(words, className="visually-hidden")], className="status-strip")


def recommendations_table(progress: list[Progress], search: str) -> html.Div:
    """The recommendation tracker (pure): status now, the last months, and the direction of travel."""
    ends = progress[0].months if progress else ()
    then = ends[max(0, len(ends) - 1 - TRAVEL_MONTHS)] if ends else ""
    header = html.Thead(
        html.Tr(
            [
                html.Th("Recommendation", scope="col"),
                html.Th("Status", scope="col"),
                html.Th(f"Last {HISTORY_MONTHS}", scope="col", className="text-nowrap"),
                html.Th(f"Since {month_label(then)}", scope="col", className="text-nowrap"),
            ]
        )
    )
    rows = []
    for item in progress:
        rec = item.recommendation
        before = item.on_target[-1 - TRAVEL_MONTHS]
        on_words = f"{item.on_target[-1]}/{item.with_target} (was {before})" if item.with_target else "—"
        on_title = (
            f"{item.on_target[-1]} of its {item.with_target} KPIs with a target are on target; "
            f"{before} were in {month_label(then)}"
            if item.with_target
            else "None of its KPIs has a target"
        )
        rows.append(
            html.Tr(
                [
                    html.Td(
                        [
                            html.Strong(rec.id + " "),
                            dcc.Link(
                                rec.title, href=AREA_PATHS.get(rec.area, "/") + search, title=rec.summary
                            ),
                        ]
                    ),
                    html.Td(status_badge(item.statuses[-1])),
                    html.Td(status_strip(item)),
                    html.Td(
                        [
                            html.Span(DIRECTION_ARROWS[item.direction], **{"aria-hidden": "true"}),
                            f" {item.words} ",
                            html.Span(f"· {on_words}", className="small text-body-secondary", title=on_title),
                        ],
                        className=f"direction direction-{item.direction.replace(' ', '-')} text-nowrap",
                    ),
                ]
            )
        )
    table = dbc.Table(
        [header, html.Tbody(rows)], size="sm", responsive=True, className="align-middle recommendations mb-1"
    )
    # The evidence behind each status, folded: the KPIs are in the matrix below too.
    quiet = FirstUse.tooltips_only()
    evidence = html.Details(
        [
            html.Summary("Which KPIs evidence each recommendation", className="small"),
            html.Dl(
                [
                    part
                    for item in progress
                    for part in (
                        html.Dt(f"{item.recommendation.id} {item.recommendation.title}"),
                        html.Dd(
                            [
                                html.Span([*quiet.text(catalog().kpis[k].label), "; " if i < last else ""])
                                for i, k in enumerate(item.recommendation.kpis)
                                for last in [len(item.recommendation.kpis) - 1]
                            ]
                        ),
                    )
                ],
                className="small mb-0",
            ),
        ],
        className="recommendation-evidence",
    )
    return html.Div([table, evidence])


def _exception_item(found: KpiException, search: str, words: FirstUse, extra=None) -> html.Li:
    if far_from_target(found):
        badge = html.Span(
            [
                variation_badge(found.variation, compact=True),
                " ",
                assurance_badge(found.assurance, compact=True),
            ],
            title="Improving, and still far from its target",
        )
    elif found.variation.code != "common":
        badge = variation_badge(found.variation, compact=True)
    else:
        badge = assurance_badge(found.assurance)
    label = catalog().kpis[found.kpi_id].label
    return html.Li(
        [
            *([extra, " "] if extra is not None else []),
            badge,
            " ",
            html.A(words.text(label), href=chart_href(found.kpi_id, search), className="fw-semibold"),
            ": ",
            *(["Improving, but still far from its target. "] if far_from_target(found) else []),
            found.sentence,
        ]
    )


def mover_words(mover: Mover | None, unit: str) -> str | None:
    """'Moved most by LPA East (32 → 34)', naming where the change came from."""
    if mover is None:
        return None
    return mover_sentence(
        mover.column, mover.group, format_value(mover.before, unit), format_value(mover.after, unit)
    )


def concerns_section(briefing: Briefing, movers: dict, search: str, month: str, words: FirstUse) -> html.Div:
    """This month's concerns (new or continuing), then targets at risk, then improvements folded (pure)."""
    parts = []
    if briefing.concerns:
        items = []
        for found, is_new in briefing.concerns:
            marker = html.Span(
                "New" if is_new else "Continuing",
                className=f"badge concern-badge concern-{'new' if is_new else 'continuing'}",
            )
            where = mover_words(movers.get(found.kpi_id), catalog().kpis[found.kpi_id].unit)
            item = _exception_item(found, search, words, extra=marker)
            if where:
                item.children.append(html.Div(words.text(where), className="small text-body-secondary"))
            items.append(item)
        parts.append(html.Ul(items, className="list-unstyled exceptions concerns mb-2"))
    else:
        parts.append(
            html.P(f"No concerns in {month_label(month)}: no KPI's latest month signals a worsening.")
        )
    if briefing.at_risk:
        parts.append(html.H3(f"Targets at risk ({len(briefing.at_risk)})", className="h6 mt-2 mb-1"))
        parts.append(
            html.Ul(
                [_exception_item(e, search, words) for e in briefing.at_risk],
                className="list-unstyled exceptions at-risk small mb-1",
            )
        )
    if briefing.improving:
        parts.append(
            html.Details(
                [
                    html.Summary(f"Improving: {_plural(len(briefing.improving), 'KPI')}", className="small"),
                    html.Ul(
                        [_exception_item(e, search, words) for e in briefing.improving],
                        className="list-unstyled exceptions improving small mb-1 mt-1",
                    ),
                ]
            )
        )
    return html.Div(parts, className="briefing")


def matrix_table(
    summary: pd.DataFrame,
    search: str,
    spc_results: dict | None = None,
    *,
    period_words: str = "the period",
    words: FirstUse | None = None,
) -> dbc.Table:
    """The KPI matrix: one section per area, one row per KPI (pure: summary in, table out).

    Args:
        period_words: the period the values are for ("Apr 2021 – Mar 2022"), named in the headings.
        words: the page's abbreviations so far (the matrix spells out only those not yet met).
    """
    spc_results = spc_results or {}
    words = words or FirstUse()
    header = html.Thead(
        html.Tr(
            [
                html.Th("KPI", scope="col"),
                html.Th(
                    ["Value, ", html.Span(period_words, className="text-nowrap")],
                    scope="col",
                    className="text-end",
                ),
                html.Th("Target", scope="col", className="text-end"),
                html.Th("Status", scope="col"),
                html.Th("Change vs the previous period", scope="col", className="text-end"),
                html.Th("Last 12 months", scope="col"),
                html.Th(["Variation, latest month"], scope="col"),
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
                        html.Th(
                            dcc.Link(words.text(row["label"]), href=href), scope="row", className="fw-normal"
                        ),
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


@dashboard_callback(
    Output(ID_HEADLINE, "children"),
    Output(ID_EXCEPTIONS_HEADING, "children"),
    Output(ID_EXCEPTIONS, "children"),
    Output(ID_RECOMMENDATIONS, "children"),
    Output(ID_MATRIX, "children"),
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
    month = state.period_to
    try:
        # One read of every KPI's monthly history serves SPC, the sparks, the status history
        # and the audit chart.
        history = kpi_history(store, state.period, state.filters, list(KPI_IDS))
        summary = kpi_summary(
            store, state.period, state.filters, list(dict.fromkeys(wanted)), history=history
        )
        results = kpi_spc(history, list(KPI_IDS), store.settings, get_events())
        briefing = sort_exceptions(exceptions(results, store.settings, format_value, month), results, month)
        movers = {
            found.kpi_id: largest_mover(store, found.kpi_id, month, state.filters)
            for found, _new in briefing.concerns
        }
    except DataError as exc:
        alert = dbc.Alert(str(exc), color="danger")
        return None, "This month", alert, None, None, figures.empty_figure("Case audits", str(exc))
    progress = [recommendation_progress(history, store.settings, rec, month) for rec in recommendations]
    audits = history[history["kpi_id"].isin(AUDIT_KPIS) & (history["month"] >= state.period_from)]
    audit_figure = figures.audit_grades_figure(audits, title=chart_title("Case audit grades", state))
    search = state.to_search()
    words = FirstUse()  # abbreviations are spelt out on first use, in reading order
    tracker = recommendations_table(progress, search)
    concerns = concerns_section(briefing, movers, search, month, words)
    return (
        headline(briefing, progress, month),
        f"{month_label(month)}: concerns first",
        concerns,
        tracker,
        matrix_table(
            summary[summary["kpi_id"].isin(matrix_kpis)],
            search,
            results,
            period_words=period_label(state.period_from, state.period_to),
            words=words,
        ),
        audit_figure,
    )
