"""The Investigation page of the six inspection areas."""

import dash
import dash_bootstrap_components as dbc
from dash import Input, html

import figures
from figures import distributions as dist
from queries import DataError
from ui import area_page
from ui.callbacks import dashboard_callback
from ui.filters import ID_STATE, FilterState, require_state
from ui.formatting import month_label
from ui.lazy_graph import figure_output
from ui.state import get_store

INTRO = (
    "Child protection investigations: plans, drift, video interviews, POLIT KIRAT, sharing with "
    "social care and the IMPACT caseload."
)
BREAKDOWNS = (
    ("investigations_drifting", "team"),
    ("investigations_open_at_end", "team"),
    ("investigation_plan_pct", "team"),
    ("csc_informed_within_24h_pct", "category"),
)
AREA = "investigation"
dash.register_page(__name__, path="/investigation", name="Investigation", order=3)

ID_IMPACT_CASELOAD = area_page.chart_graph_id("investigation-impact-caseload")
ID_DRIFT = area_page.chart_graph_id("investigation-drift-by-team")
focus_id = {"type": "area-focus", "area": AREA}
# The investigations columns the drift query can narrow to when a breakdown bar is clicked.
DRIFT_FOCUS = ("team", "category", "risk_level", "lpa", "force")
IMPACT_CAPTION = (
    "Top panel: IMPACT investigations open at each month's end. Lower panel: IMPACT officers (full-time "
    "equivalent, from team staffing) and open cases per officer. Two panels, not two scales on one."
)
DRIFT_CAPTION = (
    "Investigations open at the end of the period, opened at least 28 days before it and with no "
    "supervisory review in its last 28 days, by team and time since the last review."
)


def layout(**query):
    return [
        *area_page.layout(AREA, INTRO, BREAKDOWNS, query=query),
        html.H2("Distributions", className="h5"),
        dbc.Row(
            [
                area_page.graph_card(
                    ID_IMPACT_CASELOAD,
                    "IMPACT caseload and officers by month",
                    IMPACT_CAPTION,
                    height="460px",
                    records_kpi="impact_open_cases",
                    area=AREA,
                ),
                area_page.graph_card(
                    ID_DRIFT,
                    "drifting investigations by team",
                    DRIFT_CAPTION,
                    height="460px",
                    records_kpi="investigations_drifting",
                    area=AREA,
                ),
            ]
        ),
    ]


@dashboard_callback(
    figure_output(ID_IMPACT_CASELOAD),
    figure_output(ID_DRIFT),
    Input(ID_STATE, "data"),
    Input(focus_id, "data"),
    action="view investigation distributions",
)
def update_investigation_distributions(state_data, focus_data):
    state = require_state(state_data)
    focus = area_page.PageFocus.from_data(focus_data)
    end_month = focus.period(state).end_month
    period_end = focus.period(state).period_end
    store = get_store()
    unapplied = dist.unapplied_filters("investigations", lpa=state.lpa, local_authority=state.local_authority)
    staffing_reason = (
        "Officers not shown under an LPA or local-authority filter: staffing is force-wide."
        if state.lpa or state.local_authority
        else None
    )
    impact_title = dist.with_notes(
        area_page.chart_title("IMPACT caseload and officers by month", state),
        area_page.group_focus_note(focus, None),
        *unapplied,
    )
    snapshot_state = FilterState(end_month, end_month, state.force, state.lpa, state.local_authority)
    drift_params = dist.focus_params(focus.column, focus.value, DRIFT_FOCUS)
    drift_title = dist.with_notes(
        area_page.chart_title(
            f"Drifting investigations at the end of {month_label(end_month)}", snapshot_state
        ),
        area_page.group_focus_note(focus, drift_params),
        *unapplied,
    )
    try:
        caseload = store.run(
            "investigation/impact_caseload",
            {
                "period_start": state.period.period_start,
                "period_end": state.period.period_end,
                **state.filters.as_params(),
            },
        )
        drift = store.run(
            "investigation/drift_by_team",
            {"period_end": period_end, **state.filters.as_params(), **drift_params},
        )
    except DataError as exc:
        return figures.empty_figure(impact_title, str(exc)), figures.empty_figure(drift_title, str(exc))
    return (
        dist.impact_caseload(
            caseload, title=impact_title, staffing_reason=staffing_reason, highlight_month=focus.month
        ),
        dist.drift_by_team(drift, title=drift_title),
    )


area_page.register(AREA, BREAKDOWNS)
