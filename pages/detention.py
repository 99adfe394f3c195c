"""The Detention page of the six inspection areas."""

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
    "Children in police custody: appropriate adults, rights and entitlements, overnight detention and PPNs."
)
BREAKDOWNS = (
    ("aa_delay_median_min", "custody_suite"),
    ("aa_arrival_not_recorded_pct", "custody_suite"),
    ("child_detentions", "custody_suite"),
    ("rights_delay_median_min", "custody_suite"),
)
AREA = "detention"
dash.register_page(__name__, path="/detention", name="Detention", order=6)

ID_AA_DELAY = area_page.chart_graph_id("detention-aa-delay-by-suite")
focus_id = {"type": "area-focus", "area": AREA}
# The custody_detentions columns the AA delay query can narrow to when a breakdown bar is clicked.
AA_DELAY_FOCUS = ("custody_suite", "lpa", "force")
AA_LINE_MIN = 120
AA_DELAY_CAPTION = (
    "Minutes from the appropriate adult's request to their arrival, each child a point, by custody suite. "
    "The 2-hour line is for reference: the KPI “AA within 2 hours” counts from the child's arrival in "
    "custody, and counts a missing AA arrival as a miss."
)


def layout(**query):
    return [
        *area_page.layout(AREA, INTRO, BREAKDOWNS, query=query),
        html.H2("Distributions", className="h5"),
        dbc.Row(
            area_page.graph_card(
                ID_AA_DELAY,
                "appropriate adult delay by custody suite",
                AA_DELAY_CAPTION,
                height="460px",
                records_kpi="aa_delay_median_min",
                area=AREA,
            )
        ),
    ]


@dashboard_callback(
    figure_output(ID_AA_DELAY),
    Input(ID_STATE, "data"),
    Input(focus_id, "data"),
    action="view detention distributions",
)
def update_detention_aa_delay_by_suite(state_data, focus_data):
    state = require_state(state_data)
    focus = area_page.PageFocus.from_data(focus_data)
    period = focus.period(state)
    params = dist.focus_params(focus.column, focus.value, AA_DELAY_FOCUS)
    focus_note = area_page.group_focus_note(focus, params)
    shown = FilterState(period.start_month, period.end_month, state.force, state.lpa, state.local_authority)
    title = dist.with_notes(
        area_page.chart_title("Appropriate adult delay by custody suite", shown),
        focus_note,
        *dist.unapplied_filters("custody_detentions", lpa=state.lpa, local_authority=state.local_authority),
    )
    try:
        delays = get_store().run(
            "detention/aa_delay_by_suite",
            {
                "period_start": period.period_start,
                "period_end": period.period_end,
                **state.filters.as_params(),
                **params,
            },
        )
    except DataError as exc:
        return figures.empty_figure(title, str(exc))
    return dist.aa_delay_box(delays, title=title, line_min=AA_LINE_MIN)


area_page.register(AREA, BREAKDOWNS)
