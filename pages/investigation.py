"""The Investigation page of the six inspection areas."""

import dash

from ui import area_page

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


def layout(**_query):
    return area_page.layout(AREA, INTRO, BREAKDOWNS)


area_page.register(AREA, BREAKDOWNS)
