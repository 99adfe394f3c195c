"""The Managing risk page of the six inspection areas."""

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, html

import figures
from figures import distributions as dist
from queries import DataError
from queries.kpis import kpi_table
from ui import area_page
from ui.callbacks import dashboard_callback
from ui.filters import ID_STATE, FilterState, require_state
from ui.formatting import month_label
from ui.lazy_graph import figure_output
from ui.state import get_store

INTRO = "Registered sex offenders: ARMS assessments, caseloads, home visits and notification breaches."
BREAKDOWNS = (
    ("arms_completion_pct", "lpa"),
    ("home_visits_overdue", "lpa"),
    ("breaches", "outcome"),
    ("rso_in_community", "management"),
)
AREA = "managing_risk"
dash.register_page(__name__, path="/managing-risk", name="Managing risk", order=5)

ID_CASELOAD = area_page.chart_graph_id("managing-risk-manager-caseload")
ID_OUTCOMES = area_page.chart_graph_id("managing-risk-breach-outcomes")
OUTCOMES_CAPTION = (
    "Breaches recorded each month by their outcome; the review found most closed by words of advice, "
    "and many without a ViSOR entry."
)
focus_id = {"type": "area-focus", "area": AREA}
# The rso_register columns the caseload query can narrow to when a breakdown bar is clicked.
CASELOAD_FOCUS = ("lpa", "management", "force")
CASELOAD_CAPTION = (
    "Registered sex offenders in the community (not in custody) per offender manager on the register at "
    "the end of the period's last month, largest caseload first. The line is the caseload target of 50 "
    "RSOs per offender manager."
)


def layout(**query):
    return [
        *area_page.layout(AREA, INTRO, BREAKDOWNS, query=query),
        html.H2("Distributions", className="h5"),
        dbc.Row(
            [
                area_page.graph_card(
                    ID_CASELOAD,
                    "RSOs per offender manager",
                    CASELOAD_CAPTION,
                    height="520px",
                    records_kpi="rso_count",
                    area=AREA,
                ),
                area_page.graph_card(
                    ID_OUTCOMES,
                    "breaches by outcome and month",
                    OUTCOMES_CAPTION,
                    height="520px",
                    records_kpi="breaches",
                    area=AREA,
                ),
            ]
        ),
    ]


@dashboard_callback(
    figure_output(ID_OUTCOMES),
    Input(ID_STATE, "data"),
    action="view managing_risk breach outcomes",
)
def update_managing_risk_breach_outcomes(state_data):
    state = require_state(state_data)
    title = area_page.chart_title("Breaches by outcome", state)
    try:
        monthly = kpi_table(
            get_store(), state.period, state.filters, monthly=True, breakdown="outcome", kpi_ids=["breaches"]
        )
    except DataError as exc:
        return figures.empty_figure(title, str(exc))
    monthly = monthly.assign(month=pd.to_datetime(monthly["window_start"]).dt.strftime("%Y-%m"))
    return figures.breach_outcomes_figure(monthly, title=title)


@dashboard_callback(
    figure_output(ID_CASELOAD),
    Input(ID_STATE, "data"),
    Input(focus_id, "data"),
    action="view managing_risk distributions",
)
def update_managing_risk_manager_caseload(state_data, focus_data):
    state = require_state(state_data)
    focus = area_page.PageFocus.from_data(focus_data)
    period = focus.period(state)
    store = get_store()
    params = dist.focus_params(focus.column, focus.value, CASELOAD_FOCUS)
    focus_note = area_page.group_focus_note(focus, params)
    snapshot_state = FilterState(
        period.end_month, period.end_month, state.force, state.lpa, state.local_authority
    )
    title = dist.with_notes(
        area_page.chart_title(
            f"RSOs per offender manager at the end of {month_label(period.end_month)}", snapshot_state
        ),
        focus_note,
        *dist.unapplied_filters("rso_register", lpa=state.lpa, local_authority=state.local_authority),
    )
    target = store.settings.targets.get("rso_per_offender_manager")
    try:
        caseload = store.run(
            "managing_risk/rso_caseload",
            {"period_end": period.period_end, **state.filters.as_params(), **params},
        )
    except DataError as exc:
        return figures.empty_figure(title, str(exc))
    return dist.manager_caseload(caseload, title=title, threshold=target.target if target else None)


area_page.register(AREA, BREAKDOWNS)
