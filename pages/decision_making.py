"""Decision-making: Children taken into police protection: PPNs, end times, strategy discussions and the template."""

import dash

from ui import area_page

AREA = "decision_making"
dash.register_page(__name__, path="/decision-making", name="Decision-making", order=4)


def layout(**_query):
    return area_page.layout(AREA, "Children taken into police protection: PPNs, end times, strategy discussions and the template.")


area_page.register(AREA)
