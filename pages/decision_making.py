"""The Decision-making page of the six inspection areas."""

import dash

from ui import area_page

INTRO = "Children taken into police protection: PPNs, end times, strategy discussions and the template."
BREAKDOWNS = (
    ("police_protection_count", "lpa"),
    ("pp_end_recorded_pct", "lpa"),
)
AREA = "decision_making"
dash.register_page(__name__, path="/decision-making", name="Decision-making", order=4)


def layout(**query):
    return area_page.layout(AREA, INTRO, BREAKDOWNS, query=query)


area_page.register(AREA, BREAKDOWNS)
