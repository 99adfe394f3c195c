"""The Initial contact page of the six inspection areas."""

import dash

from ui import area_page

INTRO = (
    "How the control room and first officers respond to calls involving a child: THRIVE, "
    "attendance, PPNs and the voice of the child."
)
BREAKDOWNS = (
    ("thrive_completion_pct", "lpa"),
    ("grade2_within_target_pct", "lpa"),
    ("thrive_completion_pct", "incident_type"),
    ("ppn_submission_pct", "incident_type"),
)
AREA = "initial_contact"
dash.register_page(__name__, path="/initial-contact", name="Initial contact", order=1)


def layout(**_query):
    return area_page.layout(AREA, INTRO, BREAKDOWNS)


area_page.register(AREA, BREAKDOWNS)
