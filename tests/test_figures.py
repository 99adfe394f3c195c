"""Figure builders are pure: DataFrame in, figure out, with an explicit empty state."""

import pandas as pd

import figures


def _series(values, denominators=None):
    months = [f"2022-{m:02d}" for m in range(1, len(values) + 1)]
    return pd.DataFrame(
        {
            "month": months,
            "value": values,
            "numerator": [None] * len(values),
            "denominator": denominators or [100] * len(values),
        }
    )


def _has_empty_message(fig):
    return any(figures.EMPTY_MESSAGE in (a.text or "") for a in fig.layout.annotations)


def test_trend_has_title_target_line_and_gaps():
    fig = figures.trend_figure(_series([90.0, None, 95.0]), title="THRIVE completion", unit="pct", target=100)
    assert fig.layout.title.text == "THRIVE completion"
    assert list(fig.data[0].y) == [90.0, None, 95.0]  # a gap is a gap, not a zero
    assert fig.layout.shapes[0].y0 == 100
    assert any("Target 100%" in (a.text or "") for a in fig.layout.annotations)
    assert fig.layout.yaxis.title.text == "%"


def test_small_denominators_are_hollow_and_say_n():
    fig = figures.trend_figure(_series([50.0, 80.0], [6, 40]), title="t", unit="pct")
    assert list(fig.data[0].marker.color) == ["white", figures.ACCENT]
    assert "n = 6" in fig.data[0].customdata[0]


def test_a_median_over_few_cases_is_hollow_too_but_a_count_never():
    median = figures.trend_figure(_series([45.0, 80.0], [7, 40]), title="t", unit="min")
    assert list(median.data[0].marker.color) == ["white", figures.ACCENT]
    count = figures.trend_figure(_series([3.0, 80.0], [3, 40]), title="t", unit="count")
    assert "white" not in list(count.data[0].marker.color)


def test_trend_empty_states():
    assert _has_empty_message(figures.trend_figure(_series([]), title="t", unit="pct"))
    assert _has_empty_message(figures.trend_figure(_series([None, None]), title="t", unit="pct"))


def test_breakdown_sorted_by_value():
    frame = pd.DataFrame(
        {"group": ["East", "West"], "value": [97.0, 91.0], "numerator": [1, 1], "denominator": [9, 12]}
    )
    fig = figures.breakdown_bar(frame, title="By LPA", unit="pct")
    assert list(fig.data[0].y) == ["West", "East"]
    assert _has_empty_message(figures.breakdown_bar(frame.iloc[0:0], title="t", unit="pct"))


def test_sparkline_svg_breaks_at_gaps_and_has_a_label():
    svg = figures.sparkline_svg([1, 2, None, 3, 4], label="THRIVE, last 12 months")
    assert svg.count("<polyline") == 2
    assert "<title>THRIVE, last 12 months</title>" in svg
    assert "<polyline" not in figures.sparkline_svg([None, 5])


def test_audit_grades_stacked_and_empty():
    rows = pd.DataFrame(
        {
            "month": ["2022-04"] * 3,
            "kpi_id": ["audit_good", "audit_requires_improvement", "audit_inadequate"],
            "value": [10.0, 10.0, 11.0],
        }
    )
    fig = figures.audit_grades_figure(rows, title="Case audit grades")
    assert [t.name for t in fig.data] == ["Good", "Requires improvement", "Inadequate"]
    assert _has_empty_message(figures.audit_grades_figure(rows.assign(value=0.0), title="t"))


def test_breach_outcomes_stack_by_outcome_in_a_fixed_order():
    rows = pd.DataFrame(
        {
            "month": ["2022-01", "2022-01", "2022-02"],
            "group": ["charged", "words of advice", "words of advice"],
            "value": [1.0, 3.0, 2.0],
        }
    )
    fig = figures.breach_outcomes_figure(rows, title="Breaches by outcome")
    assert fig.layout.barmode == "stack"
    assert [t.name for t in fig.data] == [
        "Words of advice",
        "Cautioned",
        "Charged",
        "No further action",
        "Ongoing",
    ]
    assert list(fig.data[0].y) == [3.0, 2.0]
    empty = figures.breach_outcomes_figure(rows.assign(value=0.0), title="t")
    assert figures.EMPTY_MESSAGE in empty.layout.annotations[0].text
