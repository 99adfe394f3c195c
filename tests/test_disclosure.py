"""The one disclosure-control rule for exports, and the one formula-neutralising rule for cells."""

from __future__ import annotations

import math

import pytest

from exports.cells import inert_cell
from exports.disclosure import SUPPRESSED_COUNT, WITHHELD, control_count, control_row, control_value


@pytest.mark.parametrize(
    ("count", "shown"), [(0, 0), (1, "<5"), (4, "<5"), (4.0, "<5"), (5, 5), (1234, 1234)]
)
def test_counts_from_1_to_4_are_shown_as_under_5(count, shown):
    assert control_count(count) == shown


def test_a_missing_count_stays_missing():
    assert control_count(None) is None
    assert math.isnan(control_count(float("nan")))


@pytest.mark.parametrize(
    ("value", "denominator", "shown"),
    [(75.0, 4, WITHHELD), (100.0, 1, WITHHELD), (80.0, 5, 80.0), (None, 0, None), (62.5, 8, 62.5)],
)
def test_a_percentage_on_fewer_than_5_records_is_withheld(value, denominator, shown):
    assert control_value(value, denominator) == shown


def test_a_row_applies_both_rules():
    row = {"month": "2022-03", "value": 50.0, "numerator": 2, "denominator": 4}
    controlled = control_row(
        row, counts=("numerator", "denominator"), value="value", denominator="denominator"
    )
    assert controlled == {
        "month": "2022-03",
        "value": WITHHELD,
        "numerator": SUPPRESSED_COUNT,
        "denominator": SUPPRESSED_COUNT,
    }
    assert row["value"] == 50.0, "the input row is not changed"


@pytest.mark.parametrize("text", ['=HYPERLINK("http://evil")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_a_formula_cell_is_made_inert(text):
    assert inert_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["Dorset", "", -5, 3.2, None, "a=b"])
def test_other_cells_are_unchanged(value):
    assert inert_cell(value) == value
