"""What every inspection-area page shares: cards, breakdowns, trends, drill-down and records.

A page module calls :func:`layout` from its ``layout`` function and
:func:`register` once at import; its own charts sit beside these. Every
chart card carries the same three controls: "About" (the definition),
"Table" (its numbers, the chart's text alternative) and "Records" (the
pseudonymised rows behind it). A click on a month or a bar narrows the page
to it (a page focus, on top of the shared filter bar).
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, replace
from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import ALL, MATCH, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

import figures
from data.settings import STATUS_NEAR, STATUS_OFF, STATUS_ON
from figures import distributions as distribution_figures
from kpi import spc
from kpi.summary import kpi_history, kpi_spc, kpi_summary, peer_ranks
from queries import DataError, concurrently
from queries.definitions import define
from queries.kpis import (
    Filters,
    Focus,
    Period,
    PeriodError,
    can_focus,
    catalog,
    kpi_breakdown,
    kpi_records,
    kpi_table,
)
from ui.callbacks import RECORDS_ROLE, InputError, audit_detail, dashboard_callback, user_may
from ui.downloads import chart_download_menu, records_download_links
from ui.figure_table import figure_table
from ui.filters import ID_STATE, ID_URL, FilterState, require_state
from ui.formatting import format_change, format_target, format_value, month_label, period_label
from ui.lazy_graph import figure_input, figure_output, lazy_graph
from ui.lazy_graph import register as register_lazy_graphs
from ui.purpose import purpose_needed_alert
from ui.records import MAX_ROWS, records_grid, records_scope
from ui.spc_badges import spc_badges
from ui.state import get_events, get_store

AREA_PATHS = {
    "initial_contact": "/initial-contact",
    "assessment_and_help": "/assessment-and-help",
    "investigation": "/investigation",
    "decision_making": "/decision-making",
    "managing_risk": "/managing-risk",
    "detention": "/detention",
}
STATUS_COLOURS = {STATUS_ON: "success", STATUS_NEAR: "warning", STATUS_OFF: "danger"}
# Keep the camera (analysts export snapshots); drop tools a reader never needs, and every
# button that would send a chart (and the children's figures in it) to Plotly's cloud.
GRAPH_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "plotlyServerURL": "",
    "modeBarButtonsToRemove": [
        "select2d",
        "lasso2d",
        "zoomIn2d",
        "zoomOut2d",
        "autoScale2d",
        "pan2d",
        "sendDataToCloud",
        "editInChartStudio",
    ],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}
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


def mover_sentence(column: str, group: str, before: str, after: str) -> str:
    """'Moved most by LPA East (32 → 34 this month).': where a month's change came from, in words
    (the overview and the monthly pack; the values are already formatted, or withheld)."""
    return f"Moved most by {BREAKDOWN_WORDS.get(column, column)} {group} ({before} → {after} this month)."


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
    table = catalog().queries[catalog().kpis[kpi_id].query].table
    return distribution_figures.unapplied_filters(table, lpa=state.lpa, local_authority=state.local_authority)


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
                html.Div(
                    [
                        html.H3(kpi.label, className="h6 card-title mb-1"),
                        dbc.Button(
                            "About",
                            id={"type": "card-info", "kpi": kpi.id},
                            color="link",
                            size="sm",
                            className="p-0 ms-2 align-self-start",
                            title=f"What {kpi.label} counts",
                        ),
                        dbc.Popover(
                            [dbc.PopoverHeader(kpi.label), dbc.PopoverBody(definition_text(kpi.id, row))],
                            target={"type": "card-info", "kpi": kpi.id},
                            trigger="legacy",
                            placement="bottom",
                        ),
                    ],
                    className="d-flex justify-content-between",
                ),
                html.P(format_value(row["value"], kpi.unit), className="fs-3 fw-semibold mb-0 kpi-value"),
                html.P(
                    [
                        status_badge(row["status"]),
                        # "No target" is already the badge: say the target only when there is one.
                        html.Span(
                            f" Target {format_target(row['target'], row['comparison'], kpi.unit)}",
                            className="small",
                        )
                        if pd.notna(row["target"])
                        else None,
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


# --- Chart cards: the graph, its definition, a table of its numbers, its records.


def _chart_key(kind: str, ref) -> str:
    return f"{kind}-{ref}"


def definition_text(kpi_id: str, current: pd.Series | None = None) -> list:
    """A KPI's definition (queries/definitions.py, the text the docs use) and, on a card, its figure's n."""
    item = define(kpi_id, get_store().settings)
    unit = catalog().kpis[kpi_id].unit
    terms = []
    if item.numerator:
        terms += [
            html.Dt("Numerator"),
            html.Dd(item.numerator),
            html.Dt("Denominator"),
            html.Dd(item.denominator),
        ]
    terms += [
        html.Dt("Period"),
        html.Dd(item.period_rule),
        html.Dt("Source"),
        html.Dd(item.source),
        html.Dt("Target"),
        html.Dd(item.target),
        html.Dt("KPI id"),
        html.Dd(html.Code(item.kpi_id)),
    ]
    if current is not None:
        terms += [html.Dt("This figure"), html.Dd(figure_basis(current, unit))]
    return [html.P(item.definition, className="mb-1"), html.Dl(terms, className="definition mb-0 small")]


def figure_basis(row: pd.Series, unit: str) -> str:
    """What the current figure rests on: '412 of 450', 'median over 75 records', 'no data'."""
    numerator, denominator = row.get("numerator"), row.get("denominator")
    if pd.isna(row.get("value")):
        return "No data for this selection."
    if unit == "pct" and pd.notna(denominator):
        return f"{numerator:,.0f} of {denominator:,.0f}"
    if unit in ("min", "days") and pd.notna(denominator):
        return f"Over {denominator:,.0f} records with a usable interval."
    if unit == "ratio" and pd.notna(denominator):
        return f"{numerator:,.0f} ÷ {denominator:,.1f}"
    return f"{row['value']:,.0f} counted."


def toolbar_button(label: str, button_id: dict, title: str) -> dbc.Button:
    """A small link-style button of a chart's toolbar (About, Table, Records)."""
    return dbc.Button(label, id=button_id, color="link", size="sm", className="px-1", title=title)


def _chart_toolbar(area: str, key: str, kpi_id: str) -> html.Div:
    button_ids = {"area": area, "chart": key}
    return html.Div(
        [
            toolbar_button("About", {"type": "chart-info", **button_ids}, "What this chart counts"),
            dbc.Popover(
                [dbc.PopoverHeader(catalog().kpis[kpi_id].label), dbc.PopoverBody(definition_text(kpi_id))],
                target={"type": "chart-info", **button_ids},
                trigger="legacy",
                placement="bottom",
            ),
            toolbar_button(
                "Table", {"type": "chart-table-button", **button_ids}, "Show the numbers as a table"
            ),
            *(
                [
                    toolbar_button(
                        "Records",
                        {"type": "chart-records", **button_ids, "kpi": kpi_id},
                        "The pseudonymised records behind this chart",
                    )
                ]
                if user_may(RECORDS_ROLE)
                else []
            ),
            chart_download_menu(area, key),
        ],
        className="chart-toolbar d-flex justify-content-end gap-1",
        role="group",
        **{"aria-label": "Chart options"},
    )


def _graph_card(area: str, graph_id: dict, key: str, kpi_id: str, *, with_spc: bool = False) -> dbc.Col:
    body = [
        _chart_toolbar(area, key, kpi_id),
        *([html.Div(id={"type": "spc-badges", "area": area, "kpi": kpi_id})] if with_spc else []),
        # The graph's accessible name; its numbers are in the "Table" view below it.
        html.Div(
            dcc.Loading(
                lazy_graph(graph_id, config=GRAPH_CONFIG, height="320px"),
                type="circle",
                delay_show=300,
            ),
            role="figure",
            **{"aria-label": f"Chart: {catalog().kpis[kpi_id].label}. Select Table for its numbers."},
        ),
        dbc.Collapse(
            html.Div(id={"type": "chart-table", "area": area, "chart": key}),
            id={"type": "chart-table-collapse", "area": area, "chart": key},
            is_open=False,
        ),
        html.P(catalog().kpis[kpi_id].definition, className="small text-body-secondary mb-0"),
    ]
    return dbc.Col(dbc.Card(dbc.CardBody(body)), xs=12, xl=6, className="mb-3", id=f"chart-{key}")


def layout(
    area: str, intro: str, breakdowns: tuple[tuple[str, str], ...] = (), *, query: dict | None = None
) -> list:
    """Heading, the card row, the breakdowns and the trend grid of an area (no data is read here).

    Args:
        area: the catalogue's area id.
        intro: one sentence under the heading.
        breakdowns: (kpi_id, column) pairs drawn as sorted bars for the period.
    """
    breakdown_cards = [
        _graph_card(
            area, {"type": "area-breakdown", "area": area, "index": i}, _chart_key("breakdown", i), kpi_id
        )
        for i, (kpi_id, _column) in enumerate(breakdowns)
    ]
    graphs = [
        _graph_card(
            area,
            {"type": "area-trend", "area": area, "kpi": kpi_id},
            _chart_key("trend", kpi_id),
            kpi_id,
            with_spc=True,
        )
        for kpi_id in area_kpis(area)
    ]
    return [
        # A link's drill-down (month=, group=) opens the page narrowed, as it was when copied.
        dcc.Store(id={"type": "area-focus", "area": area}, data=_initial_focus(query)),
        html.H1(catalog().areas[area], className="h3"),
        html.P(
            [intro, " Click a month or a bar to narrow the page to it."],
            className="text-body-secondary",
        ),
        html.Div(focus_banner(area), **{"aria-live": "polite"}),
        html.Div(id={"type": "area-cards", "area": area}, className="mb-3"),
        *([html.H2("Where it differs", className="h5"), dbc.Row(breakdown_cards)] if breakdowns else []),
        html.H2("Trends", className="h5"),
        dbc.Row(graphs),
        peer_section(area),
        dbc.Modal(
            [
                dbc.ModalHeader(dbc.ModalTitle(id={"type": "records-title", "area": area})),
                dbc.ModalBody(
                    [
                        # The KPI's own rows by default (its denominator, marked in or out of the
                        # numerator); every row of its table in scope on request.
                        dbc.Switch(
                            id={"type": "records-every-row", "area": area},
                            label="Every row in scope, not only the rows the KPI counts",
                            value=False,
                            className="small mb-2",
                        ),
                        dcc.Store(id={"type": "records-kpi", "area": area}),
                        dcc.Loading(html.Div(id={"type": "records-body", "area": area})),
                    ]
                ),
            ],
            id={"type": "records-modal", "area": area},
            size="xl",
            scrollable=True,
            is_open=False,
        ),
    ]


def _initial_focus(query: dict | None) -> dict | None:
    focus = PageFocus.from_query(query)
    return None if focus.is_empty() else asdict(focus)


# --- A page's own charts (distributions): the same card, and the same words for a focus.


def chart_graph_id(name: str) -> dict:
    """The id of a page's own chart: pattern-matched, so one callback serves every chart's Table view."""
    return {"type": "page-graph", "graph": name}


def graph_card(
    graph_id: dict,
    name: str,
    caption: str,
    *,
    height: str = "420px",
    xl: int = 6,
    records_kpi: str | None = None,
    area: str | None = None,
) -> dbc.Col:
    """A page's own chart in a card: Table (its numbers) and, given a KPI, Records; named for screen readers.

    Args:
        graph_id: from :func:`chart_graph_id`.
        name: what the chart shows, for its accessible name.
        caption: one sentence under the chart.
        records_kpi, area: the KPI whose rows lie behind the chart, and the page's area (its records dialog).
    """
    key = graph_id["graph"]
    buttons = [
        toolbar_button(
            "Table", {"type": "page-graph-table-button", "graph": key}, "Show the numbers as a table"
        )
    ]
    if records_kpi and area and user_may(RECORDS_ROLE):
        buttons.append(
            toolbar_button(
                "Records",
                {"type": "chart-records", "area": area, "chart": key, "kpi": records_kpi},
                "The pseudonymised records behind this chart",
            )
        )
    graph = lazy_graph(graph_id, config=GRAPH_CONFIG, height=height)
    body = [
        html.Div(buttons, className="chart-toolbar d-flex justify-content-end gap-1"),
        html.Div(
            dcc.Loading(graph, type="circle", delay_show=300),
            role="figure",
            **{"aria-label": f"Chart: {name}.", "aria-describedby": f"{key}-caption"},
        ),
        dbc.Collapse(
            html.Div(id={"type": "page-graph-table", "graph": key}),
            id={"type": "page-graph-table-collapse", "graph": key},
            is_open=False,
        ),
        dcc.Store(id={"type": "page-graph-table-figure", "graph": key}),
        html.P(caption, id=f"{key}-caption", className="small text-body-secondary mb-0"),
    ]
    return dbc.Col(dbc.Card(dbc.CardBody(body)), xs=12, xl=xl, className="mb-3", id=f"chart-{key}")


# In the browser: open or close a chart's table, and pass the chart's figure on only while the table
# is open. Sent with every new figure, each chart's whole figure went back to the server on every
# filter change to be answered "nothing to do" (issue 13's benchmark).
dash.clientside_callback(
    """
    function (clicks, figure, isOpen) {
        const triggered = (dash_clientside.callback_context.triggered || []).map(t => t.prop_id).join(" ");
        const opening = triggered.includes("page-graph-table-button") && Boolean(clicks);
        if (!opening && !isOpen) {
            return [dash_clientside.no_update, dash_clientside.no_update];
        }
        const nowOpen = opening ? !isOpen : Boolean(isOpen);
        return [nowOpen, nowOpen ? figure : null];
    }
    """,
    Output({"type": "page-graph-table-collapse", "graph": MATCH}, "is_open"),
    Output({"type": "page-graph-table-figure", "graph": MATCH}, "data"),
    Input({"type": "page-graph-table-button", "graph": MATCH}, "n_clicks"),
    figure_input({"type": "page-graph", "graph": MATCH}),
    State({"type": "page-graph-table-collapse", "graph": MATCH}, "is_open"),
    prevent_initial_call=True,
)


@dashboard_callback(
    Output({"type": "page-graph-table", "graph": MATCH}, "children"),
    Input({"type": "page-graph-table-figure", "graph": MATCH}, "data"),
    action="show chart table",
    prevent_initial_call=True,
)
def fill_page_graph_table(figure):
    """The numbers of an open chart's figure as a table (none once it is closed)."""
    return figure_table(figure) if figure else None


register_lazy_graphs()


@dashboard_callback(
    Output(ID_URL, "search", allow_duplicate=True),
    Input({"type": "area-focus", "area": ALL}, "data"),
    State(ID_STATE, "data"),
    action="drill down in the address",
    prevent_initial_call=True,
)
def focus_to_url(focus_data, state_data):
    """The page's drill-down in its address, so that a copied link opens the page narrowed the same way.

    One callback for every area (ALL): the address is the shell's, the focus is the page's."""
    if not focus_data or not isinstance(focus_data, list):
        raise PreventUpdate
    return drill_search(require_state(state_data).to_search(), PageFocus.from_data(focus_data[0]))


def group_focus_note(focus: PageFocus, params: dict | None) -> str | None:
    """A title's note on a group focus: applied ("risk level high only") or not, from the query's params."""
    if not focus.group:
        return None
    words = f"{BREAKDOWN_WORDS.get(focus.column, focus.column)} {focus.value}"
    return f"{words} only" if params and params.get("focus_column") else f"Not narrowed to {words}"


# --- Peer comparison: shown when the data holds more than one force.


def peer_select_id(area: str) -> str:
    # A plain string id, so that the label's html_for can name it.
    return f"peer-kpi-{area.replace('_', '-')}"


def peer_graph_id(area: str, kind: str) -> dict:
    return chart_graph_id(f"peer-{kind}-{area.replace('_', '-')}")


def peer_section(area: str) -> html.Section:
    kpi_ids = area_kpis(area)
    targets = get_store().settings.targets
    default = next((k for k in kpi_ids if k in targets), kpi_ids[0])
    select_id = peer_select_id(area)
    return html.Section(
        [
            html.H2("Compared with other forces", className="h5 mt-2"),
            html.P(
                "Every force in the data for the selected period, best first by the KPI's improvement "
                "direction, and the selected force's rank month by month. The LPA and local-authority "
                "filters do not apply: forces have their own.",
                className="small text-body-secondary",
            ),
            dbc.Row(
                dbc.Col(
                    [
                        dbc.Label(
                            "KPI to compare",
                            html_for=select_id,
                        ),
                        dbc.Select(
                            id=select_id,
                            options=[{"label": catalog().kpis[k].label, "value": k} for k in kpi_ids],
                            value=default,
                        ),
                    ],
                    xs=12,
                    md=6,
                    lg=4,
                ),
                className="mb-2",
            ),
            dbc.Row(
                [
                    graph_card(
                        peer_graph_id(area, "bar"),
                        "every force's figure, ranked",
                        "Best first; the dotted line is the figure over every force's records.",
                    ),
                    graph_card(
                        peer_graph_id(area, "rank"),
                        "the selected force's rank month by month",
                        "1 is the best; forces with no figure in a month are not ranked.",
                    ),
                ]
            ),
        ],
        id={"type": "peer-section", "area": area},
        hidden=True,
        **{"aria-label": "Compared with other forces"},
    )


def peer_figures(kpi_id: str, state: FilterState):
    """(ranked bar, rank over time) for a KPI across every force; None when the data holds one force."""
    store = get_store()
    kpi = catalog().kpis[kpi_id]
    everyone = Filters()
    # Nothing here depends on the selected force but the highlight: the three reads are the same
    # for every force's user, so the result cache computes them once per period and KPI.
    by_force, whole, monthly = concurrently(
        [
            functools.partial(kpi_breakdown, store, kpi_id, "force", state.period, everyone),
            functools.partial(kpi_table, store, state.period, everyone, kpi_ids=[kpi_id]),
            functools.partial(
                kpi_table, store, state.period, everyone, monthly=True, breakdown="force", kpi_ids=[kpi_id]
            ),
        ]
    )
    if by_force["group"].nunique() < 2:
        return None
    if kpi.unit == "count":
        # A count over all forces is their sum, many times any one force's bar: compare with the
        # average force instead (issue 11).
        national, national_label = by_force["value"].astype(float).mean(), "Average force"
    else:
        national, national_label = whole["value"].iloc[0], "All forces"
    direction = store.settings.direction(kpi_id)
    target = store.settings.targets.get(kpi_id)
    period = period_label(state.period_from, state.period_to)
    bar = figures.peer_bar(
        by_force,
        title=f"{kpi.label} by force<br><span style='font-size:12px;color:#495057'>{period}; "
        f"{state.force} highlighted</span>",
        unit=kpi.unit,
        selected=state.force,
        national=national,
        national_label=national_label,
        target=target.target if target else None,
        direction=direction,
    )
    monthly = monthly.assign(month=pd.to_datetime(monthly["window_start"]).dt.strftime("%Y-%m"))
    ranks = peer_ranks(monthly, state.force, direction)
    forces = int(by_force["group"].nunique())
    words = {"higher": "higher is better", "lower": "lower is better"}.get(
        direction, "ranked by value: no better direction"
    )
    rank = figures.peer_rank_figure(
        ranks,
        title=f"{state.force}'s rank among {forces} forces: {kpi.label}<br>"
        f"<span style='font-size:12px;color:#495057'>{period}; {words}</span>",
        forces=forces,
    )
    return bar, rank


# --- Drill-down: a page focus (a month, and/or one group of a breakdown column).


@dataclass(frozen=True)
class PageFocus:
    """What a click narrowed the page to, on top of the filter bar."""

    month: str | None = None
    column: str | None = None
    value: str | None = None
    # The filter selection the focus was made under ("?from=…"): a new selection clears it.
    # None for a focus read from a link, which takes the selection the page resolves.
    search: str | None = None

    @classmethod
    def from_data(cls, data) -> PageFocus:
        if not data:
            return cls()
        if not isinstance(data, dict):
            raise InputError("the drill-down must be an object")
        values = {name: data.get(name) for name in ("month", "column", "value", "search")}
        if not all(v is None or isinstance(v, str) for v in values.values()):
            raise InputError("the drill-down's values must be text")
        return cls(**values)

    @classmethod
    def from_query(cls, query: dict | None) -> PageFocus:
        """The drill-down a link carries (``month=YYYY-MM``, ``group=<column>:<value>``).

        Bad parts are dropped. ``search`` is the link's filter part, as :meth:`FilterState.to_search`
        writes it: the drill-down holds while the page's selection is that one."""
        query = query or {}
        month = query.get("month")
        try:
            month = Period(month, month).start_month if isinstance(month, str) else None
        except PeriodError:
            month = None
        column, value = None, None
        group = query.get("group")
        if isinstance(group, str) and ":" in group:
            column, _, value = group.partition(":")
            if column not in BREAKDOWN_WORDS or not value or len(value) > MAX_GROUP_CHARS:
                column, value = None, None
        filters = [
            (key, query[key])
            for key in ("from", "to", "force", "lpa", "local_authority")
            if isinstance(query.get(key), str) and query[key]
        ]
        return cls(month, column, value, "?" + urlencode(filters))

    def to_query(self) -> list[tuple[str, str]]:
        """The drill-down's part of a link (see :meth:`from_query`)."""
        pairs = []
        if self.month:
            pairs.append(("month", self.month))
        if self.group:
            pairs.append(("group", f"{self.column}:{self.value}"))
        return pairs

    @property
    def group(self) -> Focus | None:
        return Focus(self.column, self.value) if self.column and self.value is not None else None

    def is_empty(self) -> bool:
        return self.month is None and self.group is None

    def period(self, state: FilterState) -> Period:
        return Period(self.month, self.month) if self.month else state.period

    def words(self) -> str:
        parts = []
        if self.group:
            parts.append(f"{BREAKDOWN_WORDS.get(self.column, self.column)} {self.value}")
        if self.month:
            parts.append(month_label(self.month))
        return " · ".join(parts)


MAX_GROUP_CHARS = 120


def drill_search(state_search: str, focus: PageFocus) -> str:
    """The page's query string: the filter selection, then the drill-down (so a copied link keeps it)."""
    pairs = focus.to_query()
    return state_search + ("&" + urlencode(pairs) if pairs else "")


def click_to_focus(click: dict | None, column: str | None, current: PageFocus) -> PageFocus:
    """The focus after a click on a trend point (``column`` None) or a breakdown bar."""
    if not click or not click.get("points"):
        return current
    point = click["points"][0]
    if column is None:
        month = str(point.get("x", ""))[:7]
        try:
            Period(month, month)
        except PeriodError:
            return current
        return PageFocus(month, current.column, current.value, current.search)
    value = point.get("y")
    if value is None:
        return current
    return PageFocus(current.month, column, str(value), current.search)


def focus_banner(area: str) -> dbc.Alert:
    """The "Narrowed to ..." strip; hidden until a click narrows the page."""
    return dbc.Alert(
        [
            html.Span(id={"type": "area-focus-text", "area": area}),
            dbc.Button(
                "Show all",
                id={"type": "area-focus-clear", "area": area},
                color="primary",
                outline=True,
                size="sm",
                className="ms-3",
            ),
        ],
        id={"type": "area-focus-banner", "area": area},
        is_open=False,
        color="info",
        className="d-flex align-items-center py-2",
    )


# --- Tables of a chart's numbers (the text alternative of every chart).


def numbers_table(frame: pd.DataFrame, *, first: str, first_label: str, unit: str) -> dbc.Table | html.P:
    """A chart's numbers: one row per month or group, with value, numerator and denominator."""
    if frame.empty:
        return html.P(figures.EMPTY_MESSAGE, className="small mb-0")
    has_numerator = frame["numerator"].notna().any() and unit in ("pct", "ratio")
    has_denominator = frame["denominator"].notna().any()
    header = [html.Th(first_label, scope="col"), html.Th("Value", scope="col", className="text-end")]
    if has_numerator:
        header.append(html.Th("Numerator", scope="col", className="text-end"))
    if has_denominator:
        header.append(html.Th("Denominator (n)", scope="col", className="text-end"))
    rows = []
    for row in frame.itertuples():
        label = getattr(row, first)
        cells = [
            html.Th(
                month_label(label) if first == "month" else str(label), scope="row", className="fw-normal"
            ),
            html.Td(format_value(row.value, unit), className="text-end"),
        ]
        if has_numerator:
            cells.append(html.Td(format_value(row.numerator, "count"), className="text-end"))
        if has_denominator:
            # A ratio's denominator is FTE: shown as used (757 / 15.1 = 50.1, not "15").
            shown = (
                f"{row.denominator:,.1f}"
                if unit == "ratio" and pd.notna(row.denominator)
                else format_value(row.denominator, "count")
            )
            cells.append(html.Td(shown, className="text-end"))
        rows.append(html.Tr(cells))
    return dbc.Table(
        [html.Thead(html.Tr(header)), html.Tbody(rows)],
        size="sm",
        striped=True,
        className="numbers-table mb-2",
    )


# --- Callbacks.


def _focus_note(kpi_id: str, focus: PageFocus) -> str | None:
    if focus.group and not can_focus(kpi_id, focus.group):
        return f"Not split by {BREAKDOWN_WORDS.get(focus.column, focus.column)}: shows the whole selection."
    return None


def _cards(summary: pd.DataFrame, state: FilterState, focus: PageFocus) -> dbc.Row:
    return dbc.Row(
        [
            dbc.Col(
                kpi_card(row, unavailable_reason(row["kpi_id"], state) or _focus_note(row["kpi_id"], focus)),
                xs=12,
                sm=6,
                lg=3,
                className="mb-2",
            )
            for _, row in summary.iterrows()
        ]
    )


def _trend_outputs(
    history: pd.DataFrame, kpi_ids: list[str], state: FilterState, focus: PageFocus, area: str
):
    """Per KPI: its XmR trend over the months on screen (limits from the whole history), and its icons."""
    store = get_store()
    events = get_events()
    results = kpi_spc(history, kpi_ids, store.settings, events)
    shown = history[history["month"] >= state.period_from]
    trend_figures, badges = [], []
    for kpi_id in kpi_ids:
        kpi = catalog().kpis[kpi_id]
        target = store.settings.targets.get(kpi_id)
        rows = shown[shown["kpi_id"] == kpi_id]
        result = results[kpi_id]
        notes = unapplied_filters(kpi_id, state)
        if focus.group and can_focus(kpi_id, focus.group):
            notes.insert(0, f"{BREAKDOWN_WORDS.get(focus.column, focus.column)} {focus.value} only")
        elif focus.group:
            notes.insert(0, _focus_note(kpi_id, focus))
        if kpi.unit in figures.SMALL_N_UNITS and any(
            d is not None and d < figures.SMALL_DENOMINATOR for d in rows["denominator"] if not pd.isna(d)
        ):
            notes.append(
                f"hollow points: fewer than {figures.SMALL_DENOMINATOR} cases that month, read with care"
            )
        if result.is_trial and result.has_limits:
            notes.append(f"trial limits: fewer than {spc.DEFAULT_BASELINE_POINTS} months of history")
        title = chart_title(kpi.label, state)
        if notes:
            title += "<br><span style='font-size:11px'>" + "; ".join(notes) + "</span>"
        trend_figures.append(
            figures.trend_figure(
                rows,
                title=title,
                unit=kpi.unit,
                target=target.target if target else None,
                value_label=kpi.label,
                highlight_month=focus.month,
                spc=result.frame,
                annotations=[(a.month, a.label) for a in events.annotations_for(kpi_id, area)],
                step_changes=[(s.month, s.reason) for s in events.step_changes if s.applies_to(kpi_id)],
            )
        )
        assured = spc.assurance(result, target.target, target.comparison) if target else None
        badges.append(spc_badges(result.variation, assured))
    return trend_figures, badges


def shown_breakdown(kpi_id: str, column: str, state: FilterState) -> tuple[str, str | None]:
    """The column a breakdown is drawn by under ``state``, and why, when it is not the page's own.

    Split by LPA under an LPA filter, the chart had one bar and said nothing (issue 11): it goes
    one level down, to the LPA's local authorities, when the KPI's query can split by them; else
    it keeps its one bar and says why.
    """
    allowed = catalog().queries[catalog().kpis[kpi_id].query].breakdowns
    if column == "lpa" and state.lpa:
        if "local_authority" in allowed and not state.local_authority:
            return "local_authority", f"By local authority: the page is filtered to LPA {state.lpa}"
        return column, f"One bar: the page is filtered to LPA {state.lpa}; clear it to compare LPAs"
    if column == "local_authority" and state.local_authority:
        return column, (
            f"One bar: the page is filtered to {state.local_authority}; clear it to compare local authorities"
        )
    return column, None


def _small_note(text: str) -> str:
    return f"<br><span style='font-size:11px'>{text}</span>"


def _breakdown_outputs(breakdowns, state: FilterState, focus: PageFocus):
    """One sorted bar per (kpi_id, column) for the period (or the focus month)."""
    store = get_store()
    period = focus.period(state)
    shown_state = FilterState(
        period.start_month, period.end_month, state.force, state.lpa, state.local_authority
    )
    shown = [(kpi_id, *shown_breakdown(kpi_id, column, state)) for kpi_id, column in breakdowns]
    frames = concurrently(
        [
            functools.partial(kpi_breakdown, store, kpi_id, column, period, state.filters)
            for kpi_id, column, _ in shown
        ]
    )
    bar_figures = []
    for (kpi_id, column, why), frame in zip(shown, frames, strict=True):
        kpi = catalog().kpis[kpi_id]
        target = store.settings.targets.get(kpi_id)
        words = BREAKDOWN_WORDS.get(column, column)
        title = chart_title(f"{kpi.label} by {words}", shown_state)
        one_bar = frame["value"].notna().sum() == 1
        if why and one_bar and column == "local_authority" and state.lpa and not state.local_authority:
            why = (
                f"One bar: LPA {state.lpa} lies in one local authority; clear the LPA filter to compare LPAs"
            )
        if why:
            title += _small_note(why)
        elif one_bar:
            title += _small_note(f"One bar: only one {words} has records in this selection")
        highlight = None
        if focus.group and focus.column == column:
            highlight = focus.value
        elif focus.group:
            title += _small_note(f"Not narrowed to {BREAKDOWN_WORDS.get(focus.column)} {focus.value}")
        bar_figures.append(
            figures.breakdown_bar(
                frame,
                title=title,
                unit=kpi.unit,
                target=target.target if target else None,
                group_label=words.capitalize(),
                highlight_group=highlight,
            )
        )
    return bar_figures


def chart_tables(
    keys: list[str],
    kpi_ids: list[str],
    breakdowns: tuple[tuple[str, str], ...],
    state: FilterState,
    focus: PageFocus,
) -> dict:
    """The numbers tables of the charts named by ``keys``, from the same (cached) queries as the charts."""
    if not keys:
        return {}
    store = get_store()
    tables = {}
    trend_keys = {_chart_key("trend", kpi_id): kpi_id for kpi_id in kpi_ids}
    if any(key in trend_keys for key in keys):
        history = kpi_history(store, state.period, state.filters, kpi_ids, focus=focus.group)
        shown = history[history["month"] >= state.period_from]
        for key in keys:
            if key in trend_keys:
                kpi_id = trend_keys[key]
                unit = catalog().kpis[kpi_id].unit
                rows = shown[shown["kpi_id"] == kpi_id]
                tables[key] = numbers_table(rows, first="month", first_label="Month", unit=unit)
    period = focus.period(state)
    for index, (kpi_id, column) in enumerate(breakdowns):
        key = _chart_key("breakdown", index)
        if key in keys:
            column, _why = shown_breakdown(kpi_id, column, state)
            frame = kpi_breakdown(store, kpi_id, column, period, state.filters)
            label = BREAKDOWN_WORDS.get(column, column).capitalize()
            unit = catalog().kpis[kpi_id].unit
            tables[key] = numbers_table(frame, first="group", first_label=label, unit=unit)
    return tables


@dataclass(frozen=True)
class ChartView:
    """One area chart as a page draws it, for an export: the figure, its numbers, and what it rests on.

    ``table`` has the chart's first column (``month`` or ``group``) and value, numerator,
    denominator; a trend adds its process limits (mean, lower, upper). ``spc_words`` is
    the trend's variation and assurance in words ("" for a breakdown)."""

    kpi_id: str
    kind: str  # "trend" or "breakdown"
    figure: object
    table: pd.DataFrame
    spc_words: str
    n: float | None


# The breakdowns each area page registered: (kpi_id, column) pairs, by area.
AREA_BREAKDOWNS: dict[str, tuple[tuple[str, str], ...]] = {}


def area_chart(area: str, key: str, state: FilterState, focus: PageFocus | None = None) -> ChartView:
    """The chart ``key`` ("trend-<kpi_id>", "breakdown-<i>") of an area, built as its page builds it.

    Raises:
        KeyError: no such chart on that area's page.
    """
    focus = focus or PageFocus()
    kpi_ids = area_kpis(area)
    kind, _, ref = key.partition("-")
    if kind == "trend" and ref in kpi_ids:
        history = kpi_history(get_store(), state.period, state.filters, kpi_ids, focus=focus.group)
        (figure,), _badges = _trend_outputs(history, [ref], state, focus, area)
        result = kpi_spc(history, [ref], get_store().settings, get_events())[ref]
        rows = history[(history["month"] >= state.period_from) & (history["kpi_id"] == ref)]
        limits = result.frame[["month", "mean", "lower", "upper"]] if not result.frame.empty else None
        table = rows[["month", "value", "numerator", "denominator"]].reset_index(drop=True)
        if limits is not None:
            table = table.merge(limits, on="month", how="left")
        target = get_store().settings.targets.get(ref)
        assured = spc.assurance(result, target.target, target.comparison) if target else None
        words = result.variation.label + (f"; {assured.label}" if assured else "")
        # n of the whole period as the KPI reads it (a snapshot KPI's months must not be summed).
        whole = kpi_table(get_store(), state.period, state.filters, kpi_ids=[ref], focus=focus.group)
        n = whole["denominator"].iloc[0] if not whole.empty else None
        return ChartView(ref, "trend", figure, table, words, None if pd.isna(n) else float(n))
    breakdowns = AREA_BREAKDOWNS.get(area, ())
    if kind == "breakdown" and ref.isdigit() and int(ref) < len(breakdowns):
        kpi_id, column = breakdowns[int(ref)]
        (figure,) = _breakdown_outputs((breakdowns[int(ref)],), state, focus)
        column, _why = shown_breakdown(kpi_id, column, state)
        frame = kpi_breakdown(get_store(), kpi_id, column, focus.period(state), state.filters)
        table = frame[["group", "value", "numerator", "denominator"]].reset_index(drop=True)
        n = float(frame["denominator"].sum()) if frame["denominator"].notna().any() else None
        return ChartView(kpi_id, "breakdown", figure, table, "", n)
    raise KeyError(f"{area} has no chart {key!r}")


def register(area: str, breakdowns: tuple[tuple[str, str], ...] = ()) -> None:
    """The area's callbacks: cards, breakdowns and trends follow the filter state and the focus."""
    AREA_BREAKDOWNS[area] = breakdowns
    kpi_ids = area_kpis(area)
    with_target = [k for k in kpi_ids if k in get_store().settings.targets] or kpi_ids[:4]
    focus_id = {"type": "area-focus", "area": area}

    @dashboard_callback(
        Output({"type": "area-cards", "area": area}, "children"),
        figure_output({"type": "area-trend", "area": area, "kpi": ALL}),
        figure_output({"type": "area-breakdown", "area": area, "index": ALL}),
        Output({"type": "spc-badges", "area": area, "kpi": ALL}, "children"),
        Output({"type": "area-focus-text", "area": area}, "children"),
        Output({"type": "area-focus-banner", "area": area}, "is_open"),
        Input(ID_STATE, "data"),
        Input(focus_id, "data"),
        action=f"view {area}",
    )
    def update_area(state_data, focus_data):
        state = require_state(state_data)
        focus = PageFocus.from_data(focus_data)
        audit_detail(filters=state.to_search(), focus=focus.words())
        store = get_store()
        try:
            history = kpi_history(store, state.period, state.filters, kpi_ids, focus=focus.group)
            summary = kpi_summary(
                store, focus.period(state), state.filters, with_target, focus=focus.group, history=history
            )
            bars = _breakdown_outputs(breakdowns, state, focus)
        except DataError as exc:
            message = str(exc)
            return (
                dbc.Alert(message, color="danger"),
                [figures.empty_figure("", message) for _ in kpi_ids],
                [figures.empty_figure("", message) for _ in breakdowns],
                [None for _ in kpi_ids],
                None,
                False,
            )
        trends, badges = _trend_outputs(history, kpi_ids, state, focus, area)
        return (
            _cards(summary, state, focus),
            trends,
            bars,
            badges,
            ["Narrowed to ", html.Strong(focus.words()), "."],
            not focus.is_empty(),
        )

    update_area.__name__ = f"update_{area}_area"

    @dashboard_callback(
        Output(focus_id, "data"),
        Input({"type": "area-trend", "area": area, "kpi": ALL}, "clickData"),
        Input({"type": "area-breakdown", "area": area, "index": ALL}, "clickData"),
        Input({"type": "area-focus-clear", "area": area}, "n_clicks"),
        Input(ID_STATE, "data"),
        State(focus_id, "data"),
        action=f"drill down {area}",
        prevent_initial_call=True,
    )
    def narrow(_trend_clicks, _bar_clicks, _clear, state_data, focus_data):
        trigger = ctx.triggered_id
        current = PageFocus.from_data(focus_data)
        search = require_state(state_data).to_search()
        if trigger == ID_STATE:
            if current.is_empty() or current.search == search:
                raise PreventUpdate
            if current.search is None:
                # A link's drill-down: it holds under the selection the page resolved from the link.
                return asdict(replace(current, search=search))
            # A new filter selection starts unfocused: a group may not exist in it.
            return None
        if isinstance(trigger, dict) and trigger.get("type") == "area-focus-clear":
            return None
        click = ctx.triggered[0]["value"] if ctx.triggered else None
        if isinstance(trigger, dict) and trigger.get("type") == "area-trend":
            focus = click_to_focus(click, None, current)
        elif isinstance(trigger, dict) and trigger.get("type") == "area-breakdown":
            index = trigger.get("index")
            if not isinstance(index, int) or not 0 <= index < len(breakdowns):
                raise InputError("no such chart on this page")
            # The bar clicked is of the column the chart was drawn by (one level down under an LPA).
            kpi_id, column = breakdowns[index]
            focus = click_to_focus(
                click, shown_breakdown(kpi_id, column, require_state(state_data))[0], current
            )
        else:
            raise PreventUpdate
        return asdict(replace(focus, search=search))

    narrow.__name__ = f"narrow_{area}"

    @dashboard_callback(
        Output({"type": "chart-table-collapse", "area": area, "chart": MATCH}, "is_open"),
        Input({"type": "chart-table-button", "area": area, "chart": MATCH}, "n_clicks"),
        State({"type": "chart-table-collapse", "area": area, "chart": MATCH}, "is_open"),
        action=f"show chart table {area}",
        prevent_initial_call=True,
    )
    def toggle_table(n_clicks, is_open):
        return not is_open if n_clicks else is_open

    toggle_table.__name__ = f"toggle_{area}_table"

    @dashboard_callback(
        Output({"type": "chart-table", "area": area, "chart": ALL}, "children"),
        Input({"type": "chart-table-collapse", "area": area, "chart": ALL}, "is_open"),
        Input(ID_STATE, "data"),
        Input(focus_id, "data"),
        action=f"show chart tables {area}",
        prevent_initial_call=True,
    )
    def fill_tables(open_flags, state_data, focus_data):
        # Built only for the tables that are open: built up front, every chart's table made the
        # page's components several thousand and froze the browser for seconds (issue 11).
        trigger = ctx.triggered_id
        toggled = trigger.get("chart") if isinstance(trigger, dict) else None
        if not any(open_flags) and toggled is None:
            raise PreventUpdate
        state = require_state(state_data)
        focus = PageFocus.from_data(focus_data)
        keys = [output["id"]["chart"] for output in ctx.outputs_list]
        try:
            built = chart_tables(
                [key for key, is_open in zip(keys, open_flags, strict=True) if is_open],
                kpi_ids,
                breakdowns,
                state,
                focus,
            )
        except DataError as exc:
            built = {key: html.P(str(exc)) for key in keys}
        # A table the user just closed is emptied; other closed ones are left as they are.
        return [built.get(key, None if key == toggled else no_update) for key in keys]

    fill_tables.__name__ = f"fill_{area}_tables"

    @dashboard_callback(
        Output({"type": "peer-section", "area": area}, "hidden"),
        figure_output(peer_graph_id(area, "bar")),
        figure_output(peer_graph_id(area, "rank")),
        Input(ID_STATE, "data"),
        Input(peer_select_id(area), "value"),
        action=f"compare forces {area}",
    )
    def update_peers(state_data, kpi_id):
        state = require_state(state_data)
        if kpi_id not in catalog().kpis:
            raise PreventUpdate
        try:
            shown = peer_figures(kpi_id, state)
        except DataError as exc:
            return False, figures.empty_figure("", str(exc)), figures.empty_figure("", str(exc))
        if shown is None:
            return True, no_update, no_update
        return False, *shown

    update_peers.__name__ = f"update_{area}_peers"

    @dashboard_callback(
        Output({"type": "records-modal", "area": area}, "is_open"),
        Output({"type": "records-title", "area": area}, "children"),
        Output({"type": "records-body", "area": area}, "children"),
        Output({"type": "records-kpi", "area": area}, "data"),
        Input({"type": "chart-records", "area": area, "chart": ALL, "kpi": ALL}, "n_clicks"),
        Input({"type": "records-every-row", "area": area}, "value"),
        State(ID_STATE, "data"),
        State(focus_id, "data"),
        State({"type": "records-kpi", "area": area}, "data"),
        action=f"view records {area}",
        records=True,
        without_purpose=lambda: (True, "Records", purpose_needed_alert(), no_update),
        prevent_initial_call=True,
    )
    def show_records(clicks, every_row, state_data, focus_data, open_kpi):
        trigger = ctx.triggered_id
        if isinstance(trigger, dict) and trigger.get("type") == "chart-records":
            if not any(clicks):
                raise PreventUpdate
            kpi_id = trigger["kpi"]
        elif isinstance(open_kpi, str) and open_kpi in catalog().kpis:
            kpi_id = open_kpi  # the switch: the same KPI's records, the other way
        else:
            raise PreventUpdate
        state = require_state(state_data)
        focus = PageFocus.from_data(focus_data)
        audit_detail(kpi=kpi_id, filters=state.to_search(), focus=focus.words(), every_row=bool(every_row))
        title, body = records_view(kpi_id, state, focus, every_row=bool(every_row))
        return (
            True,
            title,
            html.Div([records_download_links(area, kpi_id, every_row=bool(every_row)), body]),
            kpi_id,
        )

    show_records.__name__ = f"show_{area}_records"


def records_view(
    kpi_id: str, state: FilterState, focus: PageFocus, *, every_row: bool = False
) -> tuple[str, object]:
    """(modal title, body) for the records behind a KPI under the filters and focus.

    The KPI's own rows (what its denominator counts, each marked in or out of the numerator
    with the value it measures), or with ``every_row`` every row of its table in scope."""
    kpi = catalog().kpis[kpi_id]
    period = focus.period(state)
    group = focus.group if focus.group and can_focus(kpi_id, focus.group) else None
    where = ", ".join(
        part
        for part in (
            state.force,
            f"{state.lpa} LPA" if state.lpa else None,
            state.local_authority,
            f"{BREAKDOWN_WORDS.get(group.column)} {group.value}" if group else None,
            period_label(period.start_month, period.end_month),
        )
        if part
    )
    try:
        rows, total = kpi_records(
            get_store(), kpi_id, period, state.filters, focus=group, rows="all" if every_row else "kpi"
        )
    except DataError as exc:
        return f"Records: {kpi.label}", dbc.Alert(str(exc), color="danger")
    audit_detail(rows=min(total, MAX_ROWS))  # the rows this view disclosed (the grid's cap)
    what = f"{kpi.label} — {records_scope(kpi_id, every_row=every_row)}, {where}"
    return f"Records behind {kpi.label}", records_grid(
        rows, {"type": "records-grid", "kpi": kpi_id}, what=what, total=total
    )
