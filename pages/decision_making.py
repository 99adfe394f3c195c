"""The Decision-making page of the six inspection areas."""

import dash

from ui import area_page

INTRO = "Children taken into police protection: PPNs, end times, strategy discussions and the template."
AREA = "decision_making"
dash.register_page(__name__, path="/decision-making", name="Decision-making", order=4)


def layout(**_query):
    return area_page.layout(AREA, INTRO)


area_page.register(AREA)
