"""The overview's KPI matrix as grid rows, and the recommendations' status strip (pure builders)."""

from __future__ import annotations

import urllib.parse

import pandas as pd
import pytest

from kpi import spc
from ui.glossary import FirstUse


@pytest.fixture(scope="module")
def overview():
    import app  # noqa: F401  (pages register only once the app exists)
    from pages import overview

    return overview


def _summary(rows: list[dict]) -> pd.DataFrame:
    base = {"numerator": None, "denominator": None, "previous": None, "target": None, "comparison": None,
            "status": None, "spark": []}  # fmt: skip
    return pd.DataFrame([{**base, **row} for row in rows])


SUMMARY = _summary(
    [
        {"kpi_id": "thrive_completion_pct", "area": "initial_contact", "label": "THRIVE completion",
         "unit": "pct", "value": 94.0, "previous": 90.0, "target": 100.0, "comparison": ">=",
         "status": "Off target", "spark": [90.0, None, 94.0]},
        {"kpi_id": "grade1_within_target_pct", "area": "initial_contact",
         "label": "Grade 1 <script>x</script>", "unit": "pct", "value": None, "status": None},
        {"kpi_id": "home_visits_overdue", "area": "managing_risk", "label": "Home visits overdue",
         "unit": "count", "value": 9.0, "previous": 43.0, "target": 0.0, "comparison": "<=",
         "status": "Off target"},
    ]
)  # fmt: skip


def test_matrix_rows_are_one_per_kpi_in_order_with_the_area_named_once(overview):
    rows = overview.matrix_rows(SUMMARY, "?force=Dorset")
    assert [r["kpi_id"] for r in rows] == list(SUMMARY["kpi_id"])
    assert [r["area_label"] for r in rows] == ["Initial contact", "", "Managing those posing a risk"]
    assert [r["area"] for r in rows] == ["Initial contact", "Initial contact", "Managing those posing a risk"]
    first, empty, count = rows
    assert first["href"] == "/initial-contact?force=Dorset"
    assert (first["value"], first["target"], first["status"], first["status_colour"]) == (
        "94.0%", "≥ 100.0%", "Off target", "danger",
    )  # fmt: skip
    assert first["change"].startswith("+4.0")
    # A KPI without data says so, in words and in grey.
    assert (empty["value"], empty["status"], empty["status_colour"]) == ("no data", "No data", "secondary")
    assert count["change"].startswith("−34") or count["change"].startswith("-34")
    # No SPC result: no badge data (the cell stays empty).
    assert first["variation"] is None and first["assurance"] is None


def test_matrix_labels_are_text_parts_with_abbreviations_spelt_out_once_per_page(overview):
    words = FirstUse()
    words.text("THRIVE")  # met earlier on the page (the concerns)
    rows = overview.matrix_rows(SUMMARY, "", words=words)
    assert rows[0]["kpi_parts"][0] == {"text": "THRIVE", "title": words.parts("THRIVE")[0]["title"]}
    # Markup in a label is one text part: assets/kpi-matrix.js renders it as text.
    assert rows[1]["kpi_parts"] == [{"text": "Grade 1 <script>x</script>"}]


def test_the_spark_is_an_svg_data_uri_that_keeps_gaps(overview):
    rows = overview.matrix_rows(SUMMARY, "")
    spark = rows[0]["spark"]
    assert spark.startswith("data:image/svg+xml;utf8,<svg")
    assert "#" not in spark  # escaped for a data URI
    assert rows[0]["spark_label"] == "THRIVE completion, last 12 months"
    assert "<polyline" not in rows[2]["spark"]  # no months: an empty image, not a line


def test_matrix_badges_come_from_the_kpis_spc_result(overview):
    months = [f"2021-{m:02d}" for m in range(1, 13)] + [f"2022-{m:02d}" for m in range(1, 13)]
    values = [50.0 + (i % 3) for i in range(23)] + [80.0]
    result = spc.xmr(months, values, direction="higher")
    rows = overview.matrix_rows(SUMMARY, "", {"thrive_completion_pct": result})
    variation = rows[0]["variation"]
    assert variation["letter"] == "H" and variation["modifier"] == "improvement"
    assert variation["label"].startswith("Improving")
    assert rows[0]["assurance"]["label"]  # a target and a comparison: assurance is shown
    assert rows[1]["variation"] is None


def test_matrix_grid_heads_the_value_with_its_period_and_is_one_component(overview):
    grid = overview.matrix_grid(overview.matrix_rows(SUMMARY, ""), period_words="Apr 2021 – Mar 2022")
    headers = [c["headerName"] for c in grid.columnDefs]
    assert headers[2] == "Value, Apr 2021 – Mar 2022"
    assert len(grid.rowData) == 3
    assert grid.dashGridOptions["domLayout"] == "autoHeight"  # every row printed, no inner scroll


def test_the_status_strip_is_one_image_with_the_months_in_words(overview):
    progress = type("P", (), {"months": ("2022-01", "2022-02", "2022-03"),
                              "statuses": ("On target", "Near target", None)})()  # fmt: skip
    strip = overview.status_strip(progress)
    assert strip.alt == "Jan 2022 On target; Feb 2022 Near target; Mar 2022 None"
    svg = urllib.parse.unquote(strip.src.split(",", 1)[1].replace("%23", "#"))
    assert svg.count("<rect") == 3
    assert "#198754" in svg and "#ffc107" in svg and "#ced4da" in svg
