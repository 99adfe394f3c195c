"""The Assessment and help page of the six inspection areas."""

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, html

from queries import DataError
from ui import area_page
from ui.callbacks import dashboard_callback
from ui.filters import ID_STATE, FilterState, require_state
from ui.formatting import month_label
from ui.state import get_store

INTRO = "Missing children, return home interviews, risk-assessment language, the MASH and strategy meetings."
BREAKDOWNS = (
    ("missing_episodes", "risk_level"),
    ("missing_deploy_delay_median_min", "risk_level"),
    ("mash_open_at_end", "risk_level"),
    ("strategy_held_pct", "local_authority"),
)
AREA = "assessment_and_help"
dash.register_page(__name__, path="/assessment-and-help", name="Assessment and help", order=2)


ID_COHORT = "assessment-and-help-repeat-cohort"


def layout(**_query):
    return [
        *area_page.layout(AREA, INTRO, BREAKDOWNS),
        html.H2("Children missing 3 or more times in 90 days", className="h5 mt-2"),
        html.Div(id=ID_COHORT),
    ]


def cohort_table(cohort: pd.DataFrame, state: FilterState) -> list:
    """The repeat-missing cohort at the period end (pseudonymous ids; pure: frame in, components out)."""
    caption = (
        f"At the end of {month_label(state.period_to)}: episodes reported in the previous 90 days. "
        "National practice: 3 in 90 days triggers a referral to children's social care."
    )
    if cohort.empty:
        return [html.P(caption, className="small text-body-secondary"), html.P("No data for this selection")]
    header = html.Thead(
        html.Tr(
            [
                html.Th("Child (pseudonymous id)", scope="col"),
                html.Th("Episodes in 90 days", scope="col", className="text-end"),
                html.Th("High-risk episodes", scope="col", className="text-end"),
                html.Th("Last reported", scope="col"),
                html.Th("Referred to social care", scope="col"),
            ]
        )
    )
    rows = [
        html.Tr(
            [
                html.Td(row.child_id),
                html.Td(f"{row.episodes:,}", className="text-end"),
                html.Td(f"{row.high_risk_episodes:,}", className="text-end"),
                html.Td(pd.Timestamp(row.last_reported_at).strftime("%d %b %Y %H:%M")),
                html.Td("Yes" if row.is_referred else "No — not referred"),
            ]
        )
        for row in cohort.itertuples()
    ]
    table = dbc.Table(
        [header, html.Tbody(rows)], striped=True, size="sm", responsive=True, className="repeat-cohort"
    )
    return [
        html.P(caption, className="small text-body-secondary"),
        html.Div(
            table,
            className="table-scroll",
            tabIndex="0",
            role="region",
            **{"aria-label": "Repeat-missing cohort (scrollable)"},
        ),
    ]


@dashboard_callback(
    Output(ID_COHORT, "children"),
    Input(ID_STATE, "data"),
    action="view repeat-missing cohort records",
)
def update_repeat_cohort(state_data):
    state = require_state(state_data)
    try:
        cohort = get_store().run(
            "assessment/repeat_missing_cohort",
            {"period_end": state.period.period_end, **state.filters.as_params()},
        )
    except DataError as exc:
        return dbc.Alert(str(exc), color="danger")
    return cohort_table(cohort, state)


area_page.register(AREA, BREAKDOWNS)
