"""The Detention page of the six inspection areas."""

import dash

from ui import area_page

INTRO = (
    "Children in police custody: appropriate adults, rights and entitlements, overnight detention and PPNs."
)
AREA = "detention"
dash.register_page(__name__, path="/detention", name="Detention", order=6)


def layout(**_query):
    return area_page.layout(AREA, INTRO)


area_page.register(AREA)
