"""Overview for the gold group: every KPI with a target, by inspection area, and case-audit grades.

Analysts also build the gold group's monthly pack here (``exports.pack``): a background job
(``ui.jobs``) that the page polls for its progress while it runs, then offers its PowerPoint and
PDF as downloads from ``/export/pack/<job>/<file>``.
"""

from __future__ import annotations

import time

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

import figures
from auth import audit
from auth.web import current_principal
from data.settings import STATUS_NEAR, STATUS_OFF, STATUS_ON
from exports.pack import PackError, build_pack, select
from exports.routes import RenderError, where_words
from kpi import spc
from kpi.briefing import (
    HISTORY_MONTHS,
    TRAVEL_MONTHS,
    Briefing,
    Mover,
    Progress,
    far_from_target,
    largest_movers,
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
from ui.area_page import AREA_PATHS, GRAPH_CONFIG, STATUS_COLOURS, chart_title, mover_sentence, status_badge
from ui.callbacks import InputError, audit_detail, dashboard_callback, user_may
from ui.filters import ID_STATE, ID_TO, require_state
from ui.formatting import format_change, format_target, format_value, month_label, period_label
from ui.glossary import FirstUse, glossary_list
from ui.jobs import DONE, FAILED, RUNNING, JobBusy, JobFailed, JobNotFound, job_status, list_jobs, start_job
from ui.progress import progress_bar
from ui.spc_badges import assurance_badge, assurance_parts, variation_badge, variation_parts
from ui.state import get_events, get_store

dash.register_page(__name__, path="/", name="Overview", order=0)

ID_HEADLINE = "overview-headline"
ID_EXCEPTIONS_HEADING = "overview-exceptions-heading"
ID_MATRIX = "overview-matrix"
ID_MATRIX_GRID = "overview-kpi-matrix"
ID_EXCEPTIONS = "overview-exceptions"
ID_AUDITS = "overview-audits"
ID_RECOMMENDATIONS = "overview-recommendations"
AUDIT_KPIS = ["audit_good", "audit_requires_improvement", "audit_inadequate"]
ID_PACK_MONTH = "overview-pack-month"
ID_PACK_MONTH_HINT = "overview-pack-month-hint"
ID_PACK_DISCLOSURE = "overview-pack-disclosure"
ID_PACK_BUILD = "overview-pack-build"
ID_PACK_JOB = "overview-pack-job"
ID_PACK_POLL = "overview-pack-poll"
ID_PACK_STATUS = "overview-pack-status"
PACK_ROLE = "analyst"
PACK_JOB = "pack"  # the ui.jobs kind
PACK_POLL_MS = 1000  # the bar moves a step about every second (21 pictures in 8–12 s)
DISCLOSURE_ON = "on"


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
        *([pack_panel()] if user_may(PACK_ROLE) else []),
        html.H2("Abbreviations", className="h5 mt-4", id="glossary"),
        glossary_list(),
    ]


def pack_panel() -> html.Section:
    """The monthly pack's controls: month, disclosure control, "Build the pack", its progress.

    Only analysts see it (the callbacks refuse everyone else). The month starts as the filter
    bar's last month and is held to the force's data (both client-side, from the filter bar;
    the server checks again).
    """
    month = dbc.Col(
        [
            dbc.Label("Month", html_for=ID_PACK_MONTH, className="small mb-0"),
            dbc.Input(id=ID_PACK_MONTH, type="month", size="sm"),
            dbc.FormFeedback(id=ID_PACK_MONTH_HINT, type="invalid"),
        ],
        xs=12,
        md=3,
    )
    disclosure = dbc.Col(
        [
            dbc.Checklist(
                id=ID_PACK_DISCLOSURE,
                options=[{"label": "Disclosure control", "value": DISCLOSURE_ON}],
                value=[],
                switch=True,
                className="small mb-0",
            ),
            html.Div(
                "Counts of 1 to 4 as “<5”, percentages on fewer than 5 records withheld: "
                "for a pack that leaves the force.",
                className="form-text mt-0",
            ),
        ],
        xs=12,
        md=6,
    )
    build = dbc.Col(
        dbc.Button("Build the pack", id=ID_PACK_BUILD, color="primary", size="sm"),
        xs=12,
        md=3,
        className="d-flex align-items-end",
    )
    return html.Section(
        [
            html.H2("Monthly pack for the gold group", className="h5 mt-4", id="pack"),
            html.P(
                "A PowerPoint to present and a PDF to circulate: this month's exceptions, the KPIs "
                "with a target, each area's key trends, the recommendation tracker, definitions and "
                "data quality. It takes the force, LPA and local authority from the filter bar; its "
                "period is the 12 months ending at the month. It takes under a minute to build, and "
                "the page can be used meanwhile.",
                className="text-body-secondary small",
            ),
            dbc.Card(
                dbc.CardBody(
                    [
                        dbc.Row([month, disclosure, build], className="g-2 align-items-end"),
                        html.Div(
                            id=ID_PACK_STATUS, className="mt-2", role="status", **{"aria-live": "polite"}
                        ),
                    ]
                ),
                className="pack-panel",
            ),
            dcc.Store(id=ID_PACK_JOB),
            dcc.Interval(id=ID_PACK_POLL, interval=PACK_POLL_MS, disabled=True),
        ]
    )


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


STATUS_CHIP_COLOURS = {"on": "#198754", "near": "#ffc107", "off": "#dc3545", "none": "#ced4da"}


def status_strip_svg(statuses) -> str:
    """One square per month in its status's colour, as a small SVG (the words go beside it)."""
    squares = "".join(
        f'<rect x="{i * 14}" y="0" width="12" height="12" rx="2" '
        f'fill="{STATUS_CHIP_COLOURS[STATUS_CHIPS.get(status, "none")]}"/>'
        for i, status in enumerate(statuses)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{max(14 * len(statuses) - 2, 1)}" height="12">'
        f"{squares}</svg>"
    )


def status_strip(progress: Progress) -> html.Img:
    """The recommendation's status month by month: one square per month, its words as the image's text.

    One image, not a component per month: Dash's renderer walks every component on each update."""
    words = "; ".join(
        f"{month_label(m)} {s}" for m, s in zip(progress.months, progress.statuses, strict=True)
    )
    return html.Img(
        src="data:image/svg+xml;utf8," + status_strip_svg(progress.statuses).replace("#", "%23"),
        alt=words,
        title=words,
        className="status-strip",
    )


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
    # The evidence behind each status, folded: the KPIs are in the matrix below too. Plain text
    # with the abbreviations' long forms in their tooltips (one component per line, not per KPI).
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
                            quiet.text("; ".join(catalog().kpis[k].label for k in item.recommendation.kpis))
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


def matrix_rows(
    summary: pd.DataFrame, search: str, spc_results: dict | None = None, *, words: FirstUse | None = None
) -> list[dict]:
    """The KPI matrix's rows: one per KPI in area order, each cell as data (pure: summary in, rows out).

    The grid's cell renderers (assets/kpi-matrix.js) draw the link, badges and spark from these
    values as React elements, never as HTML, so a label holding markup is only shown.

    Args:
        words: the page's abbreviations so far (the matrix spells out only those not yet met).
    """
    spc_results = spc_results or {}
    words = words or FirstUse()
    rows = []
    for area, group in summary.groupby("area", sort=False):
        for first, (_, row) in zip([True] + [False] * (len(group) - 1), group.iterrows(), strict=True):
            result = spc_results.get(row["kpi_id"])
            assured = (
                spc.assurance(result, row["target"], row["comparison"])
                if result is not None and row["comparison"] in (">=", "<=")
                else None
            )
            spark_label = f"{row['label']}, last 12 months"
            status = row["status"] if isinstance(row["status"], str) and row["status"] else "No data"
            rows.append(
                {
                    "kpi_id": row["kpi_id"],
                    "area": catalog().areas[area],
                    # The area is named on its first row only, as a table's section heading would be
                    # (AG Grid's cell spanning writes aria-rowindex="0", which axe rejects).
                    "area_label": catalog().areas[area] if first else "",
                    "kpi": row["label"],
                    "kpi_parts": words.parts(row["label"]),
                    "href": AREA_PATHS.get(area, "/") + search,
                    "value": format_value(row["value"], row["unit"]),
                    "target": format_target(row["target"], row["comparison"], row["unit"]),
                    "status": status,
                    "status_colour": STATUS_COLOURS.get(status, "secondary"),
                    "change": format_change(row["value"], row["previous"], row["unit"]),
                    "spark": "data:image/svg+xml;utf8,"
                    + figures.sparkline_svg(row["spark"], label=spark_label).replace("#", "%23"),
                    "spark_label": spark_label,
                    "variation": variation_parts(result.variation, compact=True)
                    if result is not None
                    else None,
                    "assurance": assurance_parts(assured) if assured is not None else None,
                }
            )
    return rows


def matrix_columns(period_words: str) -> list[dict]:
    """The matrix's columns; the value's heading names the period it is for."""
    wrapped = {"wrapText": True, "autoHeight": True}
    badge = {
        "cellRenderer": "SpcBadge",
        "valueFormatter": {"function": "params.value ? params.value.label : ''"},
    }
    return [
        {"field": "area_label", "headerName": "Area", "width": 128, "cellClass": "matrix-area", **wrapped},
        {"field": "kpi", "headerName": "KPI", "cellRenderer": "KpiLink", "flex": 1, "minWidth": 190,
         **wrapped},
        {"field": "value", "headerName": f"Value, {period_words}", "type": "rightAligned", "width": 125,
         "cellClass": "fw-semibold"},
        {"field": "target", "headerName": "Target", "type": "rightAligned", "width": 108},
        {"field": "status", "headerName": "Status", "cellRenderer": "StatusBadge", "width": 122},
        {"field": "change", "headerName": "Change vs the previous period", "type": "rightAligned",
         "width": 128},
        {"field": "spark_label", "headerName": "Last 12 months", "cellRenderer": "Spark", "width": 134},
        {"field": "variation", "headerName": "Variation, latest month", "width": 150, **badge, **wrapped},
        {"field": "assurance", "headerName": "Assurance", "width": 150, **badge, **wrapped},
    ]  # fmt: skip


def matrix_grid(rows: list[dict], *, period_words: str = "the period") -> dag.AgGrid:
    """The KPI matrix as one grid (one component for the page to walk, not ~400 cells)."""
    return dag.AgGrid(
        id=ID_MATRIX_GRID,
        rowData=rows,
        columnDefs=matrix_columns(period_words),
        getRowId="params.data.kpi_id",
        defaultColDef={"sortable": False, "resizable": True, "suppressMovable": True,
                       "wrapHeaderText": True},
        rowClassRules={"matrix-area-start": "params.data.area_label !== ''"},
        dashGridOptions={"domLayout": "autoHeight", "animateRows": False, "headerHeight": 76,
                         "suppressColumnVirtualisation": True, "suppressRowVirtualisation": True,
                         "enableCellTextSelection": True, "ensureDomOrder": True,
                         "suppressCellFocus": False},
        className="kpi-matrix",
        style={"width": "100%"},
    )  # fmt: skip


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
        movers = largest_movers(
            store, [found.kpi_id for found, _new in briefing.concerns], month, state.filters
        )
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
        matrix_grid(
            matrix_rows(summary[summary["kpi_id"].isin(matrix_kpis)], search, results, words=words),
            period_words=period_label(state.period_from, state.period_to),
        ),
        audit_figure,
    )


# --------------------------------------------------------------------------- the monthly pack

# The month starts as the filter bar's last month, within the force's months (the filter bar's
# "To" carries them as min and max), whenever the filters change.
dash.clientside_callback(
    "function (state, first, last) {"
    "  if (!state || !state.period_to) { return [window.dash_clientside.no_update, first, last]; }"
    "  return [state.period_to, first, last];"
    "}",
    Output(ID_PACK_MONTH, "value"),
    Output(ID_PACK_MONTH, "min"),
    Output(ID_PACK_MONTH, "max"),
    Input(ID_STATE, "data"),
    State(ID_TO, "min"),
    State(ID_TO, "max"),
)

# A month outside the data says so at once, and the button waits; so does a pack being built
# (the poll runs only then). The server checks the month again: this only saves a round trip.
dash.clientside_callback(
    "function (month, first, last, idle) {"
    "  var names = ['Jan','Feb','Mar','Apr','May','Jun','Jul','Aug','Sep','Oct','Nov','Dec'];"
    "  var words = function (m) { return names[Number(m.slice(5, 7)) - 1] + ' ' + m.slice(0, 4); };"
    "  var ok = typeof month === 'string' && /^[0-9]{4}-[0-9]{2}$/.test(month)"
    "    && (!first || month >= first) && (!last || month <= last);"
    "  var hint = ok ? '' : (first && last"
    "    ? 'Choose a month from ' + words(first) + ' to ' + words(last) + ', the months the data covers.'"
    "    : 'Choose a month.');"
    "  return [!ok || idle === false, !ok, hint];"
    "}",
    Output(ID_PACK_BUILD, "disabled"),
    Output(ID_PACK_MONTH, "invalid"),
    Output(ID_PACK_MONTH_HINT, "children"),
    Input(ID_PACK_MONTH, "value"),
    Input(ID_PACK_MONTH, "min"),
    Input(ID_PACK_MONTH, "max"),
    Input(ID_PACK_POLL, "disabled"),
)


def _disclosure_asked(value) -> bool:
    if value in (None, []):
        return False
    if value == [DISCLOSURE_ON]:
        return True
    raise InputError(f"disclosure control is [] (off) or [{DISCLOSURE_ON!r}] (on)")


def _pack_work(selection, *, disclosure: bool, principal):
    """The job's work: build the pack into the job's folder, reporting each step; its files' names.

    The build's end is an audit row of its own (the request that started it has long returned):
    its pack id ties the files to the log.
    """

    def work(progress) -> list[str]:
        started = time.perf_counter()
        job = {"job": progress.folder.name, "month": selection.month, "disclosure": disclosure}
        try:
            built = build_pack(
                get_store(),
                selection.month,
                selection.filters,
                disclosure=disclosure,
                out_dir=progress.folder,
                user=principal.name,
                progress=progress.report,
            )
        except (PackError, DataError) as exc:  # the data changed or went away since the click
            _record_job(principal, "refused", started, {**job, "reason": str(exc)}, selection)
            raise JobFailed(f"No pack: {exc}") from exc
        except RenderError as exc:
            _record_job(principal, "failed", started, {**job, "reason": str(exc)}, selection)
            raise JobFailed(f"No pack: {exc}. Try again in a minute.") from exc
        except Exception as exc:
            _record_job(principal, "failed", started, {**job, "reason": type(exc).__name__}, selection)
            raise
        done = {
            **job,
            "pack_id": built.plan.pack_id,
            "pages": len(built.plan.pages),
            "data_version": built.plan.data_version,
            "seconds": {step: round(took, 1) for step, took in built.seconds.items()},
        }
        _record_job(principal, "done", started, done, selection)
        return [built.pptx.name, built.pdf.name]

    return work


def _record_job(principal, outcome: str, started: float, detail: dict, selection) -> None:
    audit.record(
        "export pack job",
        outcome=outcome,
        user=principal.name,
        role=principal.role,
        force=principal.force,
        page="/",
        filters=selection.state.to_search(),
        duration_ms=(time.perf_counter() - started) * 1000,
        detail=detail,
    )


@dashboard_callback(
    Output(ID_PACK_JOB, "data"),
    Input(ID_PACK_BUILD, "n_clicks"),
    State(ID_STATE, "data"),
    State(ID_PACK_MONTH, "value"),
    State(ID_PACK_DISCLOSURE, "value"),
    action="export pack",
    role=PACK_ROLE,
    prevent_initial_call=True,
)
def update_pack_job(clicks, state_data, month, disclosure_value):
    """Start the pack as a background job of the user's (or show the one still being built)."""
    if not clicks:
        raise PreventUpdate
    state = require_state(state_data)  # the force the user may see, whatever the browser said
    disclosure = _disclosure_asked(disclosure_value)
    if not isinstance(month, str) or not month:
        raise InputError("No pack: choose a month (YYYY-MM).")
    try:
        # The month is checked against the force's data here, before any job exists.
        selection = select(get_store(), month, state.filters)
    except PackError as exc:
        raise InputError(f"No pack: {exc}") from None
    filters = selection.state.to_search()
    audit_detail(filters=filters, month=selection.month, disclosure=disclosure)
    principal = current_principal()
    where = where_words(selection.state.force, selection.state.lpa, selection.state.local_authority)
    label = f"Pack for {where}, {month_label(selection.month)}" + (
        ", disclosure controlled" if disclosure else ""
    )
    asked = {"month": selection.month, "disclosure": disclosure, "filters": filters}
    try:
        job_id = start_job(
            PACK_JOB,
            principal.name,
            _pack_work(selection, disclosure=disclosure, principal=principal),
            label=label,
            detail=asked,
        )
    except JobBusy:
        # One pack at a time per analyst: show the one under way rather than refuse the click.
        running = [s for s in list_jobs(principal.name) if s["kind"] == PACK_JOB and s["state"] == RUNNING]
        if not running:
            raise
        audit_detail(job=running[0]["id"], reason=f"{running[0]['label']} was still being built")
        return running[0]["id"]
    audit_detail(job=job_id)
    return job_id


@dashboard_callback(
    Output(ID_PACK_STATUS, "children"),
    Output(ID_PACK_POLL, "disabled"),
    Input(ID_PACK_POLL, "n_intervals"),
    Input(ID_PACK_JOB, "data"),
    # Not a "view" action: a status read from the shared cache would stop the bar.
    action="check pack progress",
    role=PACK_ROLE,
)
def update_pack_status(_ticks, job_id):
    """The pack's progress while it is built, then its downloads (or why it failed)."""
    owner = current_principal().name
    if job_id is None:
        # Opening the page: the user's newest pack still kept (one under way when they left).
        status = next((s for s in list_jobs(owner) if s["kind"] == PACK_JOB), None)
        if status is None:
            raise PreventUpdate
    else:
        try:
            status = job_status(job_id, owner)
            if status["kind"] != PACK_JOB:
                raise JobNotFound("no such job")
        except JobNotFound:
            audit_detail(reason="no such pack")
            message = "That pack is no longer kept (packs are kept for a day): build it again."
            return dbc.Alert(message, color="warning", className="mb-0 small"), True
    asked = status.get("detail") or {}
    audit_detail(
        filters=asked.get("filters"),
        job=status["id"],
        state=status["state"],
        done=status.get("done"),
        total=status.get("total"),
    )
    return pack_status_view(status), status["state"] != RUNNING


PACK_FILE_WORDS = {"pptx": "PowerPoint", "pdf": "PDF"}


def pack_progress(done: int, total: int | None, *, running: bool) -> html.Div:
    share = round(100 * done / total) if total else 0
    return progress_bar(share, label="Pack built so far", running=running, class_name="pack-progress")


def pack_status_view(status: dict) -> list:
    """A pack job's status as the panel shows it (pure): bar and step, downloads, or what went wrong."""
    done, total = int(status.get("done") or 0), status.get("total")
    label = status.get("label") or "The pack"
    if status["state"] == RUNNING:
        return [
            html.P([html.Strong(label), ": being built."], className="small mb-1"),
            pack_progress(done, total, running=True),
            html.P(
                status.get("message") or "Starting", className="small text-body-secondary mt-1 mb-0 pack-step"
            ),
        ]
    if status["state"] == DONE:
        links = []
        for name in status.get("files", []):
            kind = PACK_FILE_WORDS.get(name.rpartition(".")[2], name)
            links.append(
                html.A(
                    f"Download the {kind} ({name})",
                    href=f"/export/pack/{status['id']}/{name}",
                    download=name,
                    className="btn btn-outline-primary btn-sm me-2 mb-1 pack-download",
                )
            )
        took = f" in {status['seconds']:.0f} s" if status.get("seconds") is not None else ""
        return [
            html.P(
                [html.Strong(label), f": built{took}. Kept for a day, for you only."], className="small mb-1"
            ),
            pack_progress(1, 1, running=False),
            html.Div(links, className="mt-2"),
        ]
    return [
        dbc.Alert(
            [html.Strong(label), ": not built. ", status.get("message") or ""],
            color="danger" if status["state"] == FAILED else "warning",
            className="small mb-0 pack-failed",
        )
    ]
