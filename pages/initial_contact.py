"""The Initial contact page of the six inspection areas."""

import dash
import dash_bootstrap_components as dbc
from dash import Input, html

import figures
from figures import distributions as dist
from queries import DataError
from ui import area_page
from ui.callbacks import dashboard_callback
from ui.filters import ID_STATE, FilterState, require_state
from ui.lazy_graph import figure_output
from ui.state import get_store

INTRO = (
    "How the control room and first officers respond to calls involving a child: THRIVE, "
    "attendance, PPNs and the voice of the child."
)
BREAKDOWNS = (
    ("thrive_completion_pct", "lpa"),
    ("grade2_within_target_pct", "lpa"),
    ("thrive_completion_pct", "incident_type"),
    ("ppn_submission_pct", "incident_type"),
)
AREA = "initial_contact"
dash.register_page(__name__, path="/initial-contact", name="Initial contact", order=1)

ID_ARRIVAL = area_page.chart_graph_id("initial-contact-arrival-distribution")
# 5-minute bins line up with the grade targets (15 and 20 min); arrivals after
# 2 hours (mostly grades 3-5) share the last bin.
ARRIVAL_BIN_MIN = 5
ARRIVAL_CAP_MIN = 120
# The incidents columns the arrival query can narrow to (the page's breakdowns and more).
ARRIVAL_FOCUS = ("incident_type", "grade", "lpa", "local_authority", "force")


ARRIVAL_CAPTION = (
    "Minutes from the call to the first officer on scene, for incidents where the call taker identified "
    "vulnerability; one panel per call grade. Incidents with no arrival recorded are counted in the "
    "subtitle, not drawn."
)


def layout(**query):
    return [
        *area_page.layout(AREA, INTRO, BREAKDOWNS, query=query),
        html.H2("Distributions", className="h5"),
        dbc.Row(
            area_page.graph_card(
                ID_ARRIVAL,
                "arrival times by call grade",
                ARRIVAL_CAPTION,
                height="560px",
                xl=8,
                records_kpi="arrival_median_min",
                area=AREA,
            )
        ),
    ]


def shown_state(state: FilterState, focus: area_page.PageFocus) -> FilterState:
    """The filter state with the period a month focus narrows to (for titles)."""
    period = focus.period(state)
    return FilterState(period.start_month, period.end_month, state.force, state.lpa, state.local_authority)


@dashboard_callback(
    figure_output(ID_ARRIVAL),
    Input(ID_STATE, "data"),
    Input({"type": "area-focus", "area": AREA}, "data"),
    action="view initial_contact distributions",
)
def update_initial_contact_arrival_distribution(state_data, focus_data):
    state = require_state(state_data)
    focus = area_page.PageFocus.from_data(focus_data)
    period = focus.period(state)
    store = get_store()
    focus_params = dist.focus_params(focus.column, focus.value, ARRIVAL_FOCUS)
    title = area_page.chart_title(
        "Arrival times, incidents with vulnerability identified", shown_state(state, focus)
    )
    if focus_params["focus_column"]:
        title = dist.with_notes(
            title, f"{area_page.BREAKDOWN_WORDS.get(focus.column, focus.column)} {focus.value} only"
        )
    try:
        bins = store.run(
            "initial_contact/arrival_distribution",
            {
                "period_start": period.period_start,
                "period_end": period.period_end,
                "bin_min": ARRIVAL_BIN_MIN,
                "cap_min": ARRIVAL_CAP_MIN,
                **state.filters.as_params(),
                **focus_params,
            },
        )
    except DataError as exc:
        return figures.empty_figure(title, str(exc))
    return dist.arrival_histogram(
        bins,
        title=title,
        grade1_target_min=store.settings.grade1_target_min,
        grade2_target_min=store.settings.grade2_target_min,
        bin_min=ARRIVAL_BIN_MIN,
        cap_min=ARRIVAL_CAP_MIN,
    )


area_page.register(AREA, BREAKDOWNS)
