"""The Assessment and help page of the six inspection areas."""

import dash

from ui import area_page

INTRO = "Missing children, return home interviews, risk-assessment language, the MASH and strategy meetings."
BREAKDOWNS = (
    ("missing_episodes", "risk_level"),
    ("missing_deploy_delay_median_min", "risk_level"),
    ("mash_open_at_end", "risk_level"),
    ("strategy_held_pct", "local_authority"),
)
AREA = "assessment_and_help"
dash.register_page(__name__, path="/assessment-and-help", name="Assessment and help", order=2)


def layout(**_query):
    return area_page.layout(AREA, INTRO, BREAKDOWNS)


area_page.register(AREA, BREAKDOWNS)
