"""The Detention page of the six inspection areas."""

import dash

from ui import area_page

INTRO = (
    "Children in police custody: appropriate adults, rights and entitlements, overnight detention and PPNs."
)
BREAKDOWNS = (
    ("aa_delay_median_min", "custody_suite"),
    ("aa_arrival_not_recorded_pct", "custody_suite"),
    ("child_detentions", "custody_suite"),
    ("rights_delay_median_min", "custody_suite"),
)
AREA = "detention"
dash.register_page(__name__, path="/detention", name="Detention", order=6)


def layout(**_query):
    return area_page.layout(AREA, INTRO, BREAKDOWNS)


area_page.register(AREA, BREAKDOWNS)
