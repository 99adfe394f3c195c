"""Assessment and help: Missing children, return home interviews, risk-assessment language, the MASH and strategy meetings."""

import dash

from ui import area_page

AREA = "assessment_and_help"
dash.register_page(__name__, path="/assessment-and-help", name="Assessment and help", order=2)


def layout(**_query):
    return area_page.layout(AREA, "Missing children, return home interviews, risk-assessment language, the MASH and strategy meetings.")


area_page.register(AREA)
