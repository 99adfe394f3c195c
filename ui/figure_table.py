"""Any chart's numbers as a table, read from the figure itself: the text alternative of a chart.

KPI trends and breakdowns build their tables from the query rows; a page's own
charts (distributions, data quality) use this instead, so every chart has a
"Table" view without each page writing one. Pure: a figure dict in, a
component out.
"""

from __future__ import annotations

import base64
import math

import dash_bootstrap_components as dbc
import numpy as np
from dash import html

MAX_ROWS = 400
EMPTY = "No data for this selection"


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return f"{float(value):,.1f}".removesuffix(".0")
    text = str(value)
    # Plotly keeps dates as ISO strings: show the day (or the month) a reader thinks in.
    if len(text) >= 10 and text[4] == "-" and text[7] == "-":
        return text[:7] if text[8:10] == "01" and text[10:].strip(" T0:.") == "" else text[:10]
    return text


def _values(trace: dict, key: str) -> list:
    values = trace.get(key)
    if values is None:
        return []
    if isinstance(values, dict) and "bdata" in values:
        # Plotly sends numpy arrays as base64 typed arrays ({"dtype": "f8", "bdata": ...}).
        array = np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"]))
        if "shape" in values:
            array = array.reshape([int(n) for n in str(values["shape"]).split(",")])
        return array.tolist()
    return list(values)


def _box_rows(trace: dict) -> list[list[str]]:
    name = trace.get("name") or ""
    raw = _values(trace, "y") or _values(trace, "x")
    values = np.array([v for v in raw if v is not None], dtype=float)
    if values.size == 0 and trace.get("median") is not None:  # a box drawn from precomputed quartiles
        quartiles = [_cell(_first(trace.get(k))) for k in ("q1", "median", "q3")]
        return [[name, "–", *quartiles]]
    if values.size == 0:
        return []
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return [[name, f"{values.size:,}", _cell(q1), _cell(median), _cell(q3)]]


def _first(value):
    return value[0] if isinstance(value, (list, tuple)) and value else value


def figure_rows(figure: dict) -> tuple[list[str], list[list[str]]]:
    """(header, rows) for a figure's traces: x, y and the series name; boxes as n and quartiles.

    Heat maps become one row per (row label, column label) cell with a value.
    """
    traces = [t for t in (figure or {}).get("data", []) if t.get("visible", True) is not False]
    if not traces:
        return [], []
    if all(t.get("type") == "box" for t in traces):
        rows = [row for t in traces for row in _box_rows(t)]
        return ["Group", "Values", "Lower quartile", "Median", "Upper quartile"], rows
    if any(t.get("type") == "heatmap" for t in traces):
        rows = []
        for t in traces:
            if t.get("type") != "heatmap":
                continue
            xs, ys, zs = _values(t, "x"), _values(t, "y"), _values(t, "z")
            for y, z_row in zip(ys, zs, strict=False):
                rows += [
                    [_cell(y), _cell(x), _cell(z)] for x, z in zip(xs, z_row, strict=False) if z is not None
                ]
        return ["Row", "Column", "Value"], rows
    rows = []
    for t in traces:
        if t.get("hoverinfo") == "skip":  # limits and guides, not data
            continue
        name = t.get("name") or ""
        xs, ys = _values(t, "x"), _values(t, "y")
        if t.get("orientation") == "h":
            xs, ys = ys, xs
        rows += [[name, _cell(x), _cell(y)] for x, y in zip(xs, ys, strict=False)]
    return ["Series", "Category or month", "Value"], rows


def figure_table(figure: dict) -> html.Div | dbc.Table:
    """The figure's numbers as a small striped table (capped at ``MAX_ROWS`` rows, which it says)."""
    header, rows = figure_rows(figure)
    if not rows:
        return html.P(EMPTY, className="small mb-0")
    shown = rows[:MAX_ROWS]
    table = dbc.Table(
        [
            html.Thead(html.Tr([html.Th(h, scope="col") for h in header])),
            html.Tbody([html.Tr([html.Td(c) for c in row]) for row in shown]),
        ],
        size="sm",
        striped=True,
        className="numbers-table mb-2",
    )
    if len(rows) > MAX_ROWS:
        return html.Div(
            [html.P(f"The first {MAX_ROWS:,} of {len(rows):,} rows.", className="small mb-1"), table]
        )
    return table
