"""A chart's numbers read back from the figure as the browser sends it (packed arrays included)."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from ui.figure_table import MAX_ROWS, figure_rows, figure_table


def _as_sent(fig: go.Figure) -> dict:
    # What a Dash State holds: Plotly's JSON, numpy arrays packed as base64 typed arrays.
    return json.loads(pio.to_json(fig))


def test_bars_and_lines_become_series_category_value_rows():
    fig = go.Figure(
        [
            go.Bar(x=np.array([12.5, 7.0]), y=["East", "West"], orientation="h", name="THRIVE"),
            go.Scatter(x=["2022-01-01", "2022-02-01"], y=np.array([3, 4]), name="Open"),
            go.Scatter(x=["2022-01-01"], y=[9], name="Limit", hoverinfo="skip"),  # a guide, not data
        ]
    )
    header, rows = figure_rows(_as_sent(fig))
    assert header == ["Series", "Category or month", "Value"]
    assert rows == [
        ["THRIVE", "East", "12.5"],
        ["THRIVE", "West", "7"],
        ["Open", "2022-01", "3"],
        ["Open", "2022-02", "4"],
    ]


def test_boxes_give_n_and_quartiles_from_points_or_from_precomputed_quartiles():
    fig = go.Figure(
        [
            go.Box(y=np.array([10.0, 20.0, 30.0, 40.0]), name="Weymouth"),
            go.Box(q1=[1], median=[2], q3=[3], name="B"),
        ]
    )
    header, rows = figure_rows(_as_sent(fig))
    assert header[0] == "Group"
    # numpy's linear quantiles of 10, 20, 30, 40: 17.5, 25, 32.5
    assert rows == [["Weymouth", "4", "17.5", "25", "32.5"], ["B", "–", "1", "2", "3"]]


def test_heat_maps_give_one_row_per_cell_and_a_blank_month_as_a_dash():
    fig = go.Figure(go.Heatmap(z=np.array([[90.6, np.nan], [10.0, 5.5]]), x=["Apr", "May"], y=["a", "b"]))
    _header, rows = figure_rows(_as_sent(fig))
    assert rows == [["a", "Apr", "90.6"], ["a", "May", "–"], ["b", "Apr", "10"], ["b", "May", "5.5"]]


def test_an_empty_figure_says_so_and_a_long_one_is_capped():
    assert "No data" in str(figure_table({"data": []}))
    assert "No data" in str(figure_table(None))
    many = go.Figure(go.Bar(x=list(range(MAX_ROWS + 5)), y=list(range(MAX_ROWS + 5))))
    shown = str(figure_table(_as_sent(many)))
    assert f"The first {MAX_ROWS:,} of {MAX_ROWS + 5:,} rows." in shown
