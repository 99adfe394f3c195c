"""Words and numbers as DESIGN.md writes them."""

import pytest

from ui.formatting import (
    format_change,
    format_minutes,
    format_target,
    format_value,
    month_label,
    period_label,
)


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (96.8123, "pct", "96.8%"),
        (1234, "count", "1,234"),
        (45.4, "min", "45 min"),
        (135, "min", "2 h 15 min"),
        (120, "min", "2 h"),
        (1500, "min", "1 day 1 h"),
        (3.46, "days", "3.5 days"),
        (50.04, "ratio", "50.0"),
        (None, "pct", "no data"),
        (float("nan"), "count", "no data"),
    ],
)
def test_format_value(value, unit, text):
    assert format_value(value, unit) == text


def test_format_minutes_rounds_to_whole_minutes():
    assert format_minutes(59.6) == "1 h"


def test_format_change():
    assert format_change(96.8, 94.5, "pct") == "+2.3 pts"
    assert format_change(10, 22, "count") == "−12"
    assert format_change(5, 5, "count") == "no change"
    assert format_change(None, 5, "count") == "no data"


def test_labels():
    assert month_label("2022-03") == "Mar 2022"
    assert period_label("2021-04", "2022-03") == "Apr 2021 – Mar 2022"
    assert period_label("2022-03", "2022-03") == "Mar 2022"
    assert format_target(95, ">=", "pct") == "≥ 95.0%"
    assert format_target(None, None, "pct") == "No target"
