"""The Managing risk page of the six inspection areas."""

import dash

from ui import area_page

INTRO = "Registered sex offenders: ARMS assessments, caseloads, home visits and notification breaches."
BREAKDOWNS = (
    ("arms_completion_pct", "lpa"),
    ("home_visits_overdue", "lpa"),
    ("breaches", "outcome"),
    ("rso_in_community", "management"),
)
AREA = "managing_risk"
dash.register_page(__name__, path="/managing-risk", name="Managing risk", order=5)


def layout(**_query):
    return area_page.layout(AREA, INTRO, BREAKDOWNS)


area_page.register(AREA, BREAKDOWNS)
