"""A breakdown by LPA under an LPA filter goes one level down, or says why it has one bar (issue 11)."""

from __future__ import annotations

import pytest

from ui.filters import FilterState

AREA = "initial_contact"  # its breakdowns: THRIVE and grade 2 by LPA, THRIVE and PPN by incident type


@pytest.fixture(scope="module")
def area_page(synthetic_dir):
    import app  # noqa: F401  (registers the pages, and with them each area's breakdowns)
    from ui import area_page, state

    state.configure(synthetic_dir)
    return area_page


def _titles(area_page, state):
    breakdowns = area_page.AREA_BREAKDOWNS[AREA]
    return [
        fig.layout.title.text
        for fig in area_page._breakdown_outputs(breakdowns, state, area_page.PageFocus())
    ]


def test_which_column_a_breakdown_is_drawn_by(area_page):
    shown = area_page.shown_breakdown
    whole = FilterState("2021-04", "2022-03", "Dorset")
    east = FilterState("2021-04", "2022-03", "Dorset", lpa="East")
    both = FilterState("2021-04", "2022-03", "Dorset", lpa="East", local_authority="BCP Council")
    assert shown("thrive_completion_pct", "lpa", whole) == ("lpa", None)
    column, why = shown("thrive_completion_pct", "lpa", east)
    assert column == "local_authority" and "filtered to LPA East" in why
    column, why = shown("thrive_completion_pct", "lpa", both)
    assert column == "lpa" and why.startswith("One bar")
    column, why = shown("thrive_completion_pct", "local_authority", both)
    assert column == "local_authority" and "BCP Council" in why
    # A column the filters do not touch is drawn as asked.
    assert shown("thrive_completion_pct", "incident_type", east) == ("incident_type", None)
    # A query that cannot split by local authority keeps its LPA bar and says why.
    column, why = shown("arms_completion_pct", "lpa", east)
    assert column == "lpa" and "clear it to compare LPAs" in why


def test_under_an_lpa_filter_the_lpa_chart_shows_the_local_authorities_and_says_so(area_page):
    from queries.kpis import kpi_breakdown
    from ui.state import get_store

    east = FilterState("2021-04", "2022-03", "Dorset", lpa="East")
    breakdowns = area_page.AREA_BREAKDOWNS[AREA]
    figures = area_page._breakdown_outputs(breakdowns, east, area_page.PageFocus())
    (index, fig) = next(
        (i, f) for i, f in enumerate(figures) if breakdowns[i] == ("thrive_completion_pct", "lpa")
    )
    expected = kpi_breakdown(
        get_store(), "thrive_completion_pct", "local_authority", east.period, east.filters
    )
    assert list(fig.data[0].y) == [str(g) for g in expected.dropna(subset=["value"])["group"]]
    # The synthetic East is one local authority: the chart says its one bar is no fault.
    assert "LPA East lies in one local authority" in fig.layout.title.text
    assert "by local authority" in fig.layout.title.text
    # The numbers table under the chart is of the same column.
    key = f"breakdown-{index}"
    table = area_page.chart_tables([key], [], breakdowns, east, area_page.PageFocus())[key]
    assert "Local authority" in str(table)


def test_without_a_filter_no_note_and_every_lpa(area_page):
    whole = FilterState("2021-04", "2022-03", "Dorset")
    breakdowns = area_page.AREA_BREAKDOWNS[AREA]
    figures = area_page._breakdown_outputs(breakdowns, whole, area_page.PageFocus())
    for (_kpi_id, column), fig in zip(breakdowns, figures, strict=True):
        assert "One bar" not in fig.layout.title.text and "filtered to" not in fig.layout.title.text
        if column == "lpa":
            assert sorted(fig.data[0].y) == ["East", "West"]
