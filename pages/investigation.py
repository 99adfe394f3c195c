"""The Investigation page of the six inspection areas."""

import dash

from ui import area_page

INTRO = (
    "Child protection investigations: plans, drift, video interviews, POLIT KIRAT, sharing with "
    "social care and the IMPACT caseload."
)
AREA = "investigation"
dash.register_page(__name__, path="/investigation", name="Investigation", order=3)


def layout(**_query):
    return area_page.layout(AREA, INTRO)


area_page.register(AREA)
