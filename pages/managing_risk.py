"""Managing risk: Registered sex offenders: ARMS assessments, caseloads, home visits and notification breaches."""

import dash

from ui import area_page

AREA = "managing_risk"
dash.register_page(__name__, path="/managing-risk", name="Managing risk", order=5)


def layout(**_query):
    return area_page.layout(AREA, "Registered sex offenders: ARMS assessments, caseloads, home visits and notification breaches.")


area_page.register(AREA)
