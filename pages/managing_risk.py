"""The Managing risk page of the six inspection areas."""

import dash

from ui import area_page

INTRO = "Registered sex offenders: ARMS assessments, caseloads, home visits and notification breaches."
AREA = "managing_risk"
dash.register_page(__name__, path="/managing-risk", name="Managing risk", order=5)


def layout(**_query):
    return area_page.layout(AREA, INTRO)


area_page.register(AREA)
