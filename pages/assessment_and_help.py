"""The Assessment and help page of the six inspection areas."""

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, dcc, html

import figures
from figures import distributions as dist
from queries import DataError
from queries.kpis import kpi_series
from ui import area_page
from ui.callbacks import audit_detail, dashboard_callback, records_or_note
from ui.filters import ID_STATE, FilterState, require_state
from ui.formatting import month_label, period_label
from ui.lazy_graph import figure_output
from ui.purpose import purpose_needed_alert
from ui.records import MAX_ROWS, records_grid
from ui.state import get_store

INTRO = "Missing children, return home interviews, risk-assessment language, the MASH and strategy meetings."
BREAKDOWNS = (
    ("missing_episodes", "risk_level"),
    ("missing_deploy_delay_median_min", "risk_level"),
    ("missing_ratification_delay_median_min", "risk_level"),
    ("mash_open_at_end", "risk_level"),
    ("strategy_held_pct", "local_authority"),
)
AREA = "assessment_and_help"
dash.register_page(__name__, path="/assessment-and-help", name="Assessment and help", order=2)


ID_COHORT = "assessment-and-help-repeat-cohort"
ID_LANGUAGE_MONTHS = area_page.chart_graph_id("assessment-and-help-language-by-month")
ID_LANGUAGE_TABLE = "assessment-and-help-language-table"
ID_MASH_BACKLOG = area_page.chart_graph_id("assessment-and-help-mash-backlog")
focus_id = {"type": "area-focus", "area": AREA}
# The columns each query can narrow to when a breakdown bar is clicked.
LANGUAGE_FOCUS = ("risk_level", "lpa", "local_authority", "force")
BACKLOG_FOCUS = ("risk_level", "source", "lpa", "local_authority", "force")
LANGUAGE_CAPTION = (
    "Missing episodes whose risk assessment uses language that blames the child (the settings' phrase "
    "list), by month reported and risk level: the episodes the KPI counts."
)
BACKLOG_CAPTION = (
    "MASH referrals received and not completed by the end of the period, by whole days open then, "
    "and risk level."
)


def layout(**query):
    return [
        *area_page.layout(AREA, INTRO, BREAKDOWNS, query=query),
        html.H2("Children missing 3 or more times in 90 days", className="h5 mt-2"),
        records_or_note(html.Div(id=ID_COHORT)),
        html.H2("Distributions", className="h5 mt-3"),
        dbc.Row(
            [
                area_page.graph_card(
                    ID_LANGUAGE_MONTHS,
                    "flagged language by month",
                    LANGUAGE_CAPTION,
                    records_kpi="inappropriate_language_count",
                    area=AREA,
                ),
                area_page.graph_card(
                    ID_MASH_BACKLOG,
                    "MASH open backlog by time open",
                    BACKLOG_CAPTION,
                    records_kpi="mash_open_at_end",
                    area=AREA,
                ),
            ]
        ),
        html.H3("Flagged risk-assessment language", className="h6"),
        records_or_note(dcc.Loading(html.Div(id=ID_LANGUAGE_TABLE), type="circle", delay_show=300)),
    ]


def cohort_table(cohort: pd.DataFrame, state: FilterState) -> list:
    """The repeat-missing cohort at the period end (pseudonymous ids; pure: frame in, components out).

    One grid component, not a table of cells: several hundred rows of html.Td were thousands of
    Dash components, which the renderer re-walks on every update (the page froze; issue 11)."""
    caption = (
        f"At the end of {month_label(state.period_to)}: episodes reported in the previous 90 days. "
        "National practice: 3 in 90 days triggers a referral to children's social care."
    )
    if cohort.empty:
        return [html.P(caption, className="small text-body-secondary"), html.P("No data for this selection")]
    shown = pd.DataFrame(
        {
            "child_id": cohort["child_id"],
            "episodes_in_90_days": cohort["episodes"],
            "high_risk_episodes": cohort["high_risk_episodes"],
            "last_reported": pd.to_datetime(cohort["last_reported_at"]),
            "referred_to_social_care": cohort["is_referred"].astype("boolean"),
        }
    )
    grid = records_grid(
        shown,
        "assessment-and-help-repeat-cohort-grid",
        what=f"children missing 3 or more times in the 90 days to the end of {month_label(state.period_to)}",
    )
    return [html.P(caption, className="small text-body-secondary"), html.Div(grid, className="repeat-cohort")]


@dashboard_callback(
    Output(ID_COHORT, "children"),
    Input(ID_STATE, "data"),
    action="view repeat-missing cohort records",
    records=True,
    without_purpose=purpose_needed_alert,
)
def update_repeat_cohort(state_data):
    state = require_state(state_data)
    audit_detail(filters=state.to_search())
    try:
        cohort = get_store().run(
            "assessment/repeat_missing_cohort",
            {"period_end": state.period.period_end, **state.filters.as_params()},
        )
    except DataError as exc:
        return dbc.Alert(str(exc), color="danger")
    audit_detail(rows=len(cohort))
    return cohort_table(cohort, state)


def shown_state(state: FilterState, focus: area_page.PageFocus, *, snapshot: bool = False) -> FilterState:
    """The filter state with the period a month focus narrows to (a snapshot: its last month), for titles."""
    period = focus.period(state)
    start = period.end_month if snapshot else period.start_month
    return FilterState(start, period.end_month, state.force, state.lpa, state.local_authority)


def flagged_language(state: FilterState, focus: area_page.PageFocus) -> tuple[pd.DataFrame, dict]:
    """The flagged episodes of the period (or focus month) under the filters, and the focus applied."""
    period = focus.period(state)
    params = dist.focus_params(focus.column, focus.value, LANGUAGE_FOCUS)
    rows = get_store().run(
        "assessment/flagged_language",
        {
            "period_start": period.period_start,
            "period_end": period.period_end,
            **state.filters.as_params(),
            **params,
        },
    )
    return rows, params


def language_rows(rows: pd.DataFrame, phrases) -> list[dict]:
    """The grid's rows: each excerpt cut into (text, is_phrase) parts that the cell renderer marks.

    The text stays text: assets/dashAgGridComponentFunctions.js builds React elements from the
    parts, so a risk assessment holding markup is shown, never run."""
    return [
        {
            "reported": pd.Timestamp(row.reported_at).isoformat(),
            "child_id": row.child_id,
            "risk_level": str(row.risk_level).capitalize(),
            "phrase": ", ".join(row.matched_phrases),
            "excerpt": "".join(text for text, _ in parts),
            "excerpt_parts": [[text, bool(is_phrase)] for text, is_phrase in parts],
        }
        for row in rows.itertuples()
        for parts in [dist.excerpt_segments(row.risk_assessment_text, phrases)]
    ]


LANGUAGE_COLUMNS = [
    {"field": "reported", "headerName": "Reported", "pinned": "left", "width": 130,
     "valueFormatter": {"function": "dayMonthYear(params.value)"}},
    {"field": "child_id", "headerName": "Child (pseudonymous id)", "width": 190},
    {"field": "risk_level", "headerName": "Risk level", "width": 120},
    {"field": "phrase", "headerName": "Phrase", "width": 200},
    {"field": "excerpt", "headerName": "Excerpt of the risk assessment", "flex": 1, "minWidth": 320,
     "cellRenderer": "MarkedExcerpt", "wrapText": True, "autoHeight": True},
]  # fmt: skip


def language_table(rows: pd.DataFrame, phrases, *, what: str) -> list:
    """Flagged episodes, newest first, each with a short excerpt and its phrases marked (pure: rows in).

    Args:
        rows: rows of ``assessment/flagged_language``.
        phrases: the settings' language list (what to mark).
        what: which episodes these are, for the caption.
    """
    total = len(rows)
    caption = (
        f"{total:,} episode{'s' if total != 1 else ''} with flagged language: {what}."
        + (f" The latest {MAX_ROWS:,} are listed." if total > MAX_ROWS else "")
        + " A phrase match cannot see negation (“not missing through choice”): read each in context."
    )
    if rows.empty:
        return [html.P(caption, className="small text-body-secondary"), html.P(figures.EMPTY_MESSAGE)]
    grid = dag.AgGrid(
        id="assessment-and-help-language-grid",
        rowData=language_rows(rows.head(MAX_ROWS), phrases),
        columnDefs=LANGUAGE_COLUMNS,
        defaultColDef={"sortable": True, "resizable": True, "filter": True},
        dashGridOptions={"pagination": True, "paginationPageSize": 25, "animateRows": False,
                         "enableCellTextSelection": True},
        className="language-grid",
        style={"height": "520px"},
    )  # fmt: skip
    return [html.P(caption, className="small text-body-secondary"), grid]


@dashboard_callback(
    figure_output(ID_LANGUAGE_MONTHS),
    figure_output(ID_MASH_BACKLOG),
    Input(ID_STATE, "data"),
    Input(focus_id, "data"),
    action="view assessment_and_help distributions",
)
def update_assessment_and_help_distributions(state_data, focus_data):
    state = require_state(state_data)
    focus = area_page.PageFocus.from_data(focus_data)
    period = focus.period(state)
    store = get_store()
    language_title = area_page.chart_title(
        "Missing episodes with flagged risk-assessment language", shown_state(state, focus)
    )
    backlog_title = area_page.chart_title(
        f"MASH referrals open at the end of {month_label(period.end_month)}, by time open",
        shown_state(state, focus, snapshot=True),
    )
    backlog_params = dist.focus_params(focus.column, focus.value, BACKLOG_FOCUS)
    try:
        flagged, language_params = flagged_language(state, focus)
        series = kpi_series(store, "inappropriate_language_count", period, state.filters)
        backlog = store.run(
            "assessment/mash_backlog",
            {"period_end": period.period_end, **state.filters.as_params(), **backlog_params},
        )
    except DataError as exc:
        return figures.empty_figure(language_title, str(exc)), figures.empty_figure(backlog_title, str(exc))
    # Months outside the data's coverage are left off (a gap, not a zero), as the KPI reads them.
    covered = [m for m, v in zip(series["month"], series["value"], strict=True) if v is not None]
    return (
        dist.language_by_month(
            flagged,
            months=covered,
            title=dist.with_notes(language_title, area_page.group_focus_note(focus, language_params)),
        ),
        dist.mash_backlog(
            backlog, title=dist.with_notes(backlog_title, area_page.group_focus_note(focus, backlog_params))
        ),
    )


@dashboard_callback(
    Output(ID_LANGUAGE_TABLE, "children"),
    Input(ID_STATE, "data"),
    Input(focus_id, "data"),
    action="view flagged risk-assessment language records",
    records=True,
    without_purpose=purpose_needed_alert,
)
def update_assessment_and_help_language_table(state_data, focus_data):
    state = require_state(state_data)
    focus = area_page.PageFocus.from_data(focus_data)
    audit_detail(filters=state.to_search(), focus=focus.words())
    try:
        flagged, params = flagged_language(state, focus)
    except DataError as exc:
        return dbc.Alert(str(exc), color="danger")
    period = focus.period(state)
    where = ", ".join(
        part
        for part in (
            state.force,
            f"{state.lpa} LPA" if state.lpa else None,
            state.local_authority,
            area_page.group_focus_note(focus, params),
            period_label(period.start_month, period.end_month),
        )
        if part
    )
    audit_detail(rows=len(flagged))
    return language_table(flagged, get_store().settings.language_phrases, what=where)


area_page.register(AREA, BREAKDOWNS)
