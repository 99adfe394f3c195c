"""Detention: Children in police custody: appropriate adults, rights and entitlements, overnight detention and PPNs."""

import dash

from ui import area_page

AREA = "detention"
dash.register_page(__name__, path="/detention", name="Detention", order=6)


def layout(**_query):
    return area_page.layout(AREA, "Children in police custody: appropriate adults, rights and entitlements, overnight detention and PPNs.")


area_page.register(AREA)
