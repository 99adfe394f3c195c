"""Investigation: Child protection investigations: plans, drift, video interviews, POLIT KIRAT, sharing with social care and the IMPACT caseload."""

import dash

from ui import area_page

AREA = "investigation"
dash.register_page(__name__, path="/investigation", name="Investigation", order=3)


def layout(**_query):
    return area_page.layout(AREA, "Child protection investigations: plans, drift, video interviews, POLIT KIRAT, sharing with social care and the IMPACT caseload.")


area_page.register(AREA)
