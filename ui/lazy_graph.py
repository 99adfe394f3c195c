"""Charts drawn when they come into view, not all at once when a page loads.

An area page holds up to 26 charts; drawing them all as the callbacks land kept the
browser's main thread busy for seconds after the first screen was ready (issue 11). So
a page callback writes each figure into a store beside its graph (:func:`figure_output`),
and a clientside function (``assets/lazy-charts.js``) hands it to the graph at once if
the graph is on or near the screen, else when it scrolls into view. The figures are the
same; only the moment Plotly draws them moves.

The store keeps the latest figure, so a chart's table (and anything else that reads the
numbers) uses :func:`figure_input`, which holds the figure whether drawn yet or not.
"""

from __future__ import annotations

import json

import dash
from dash import ALL, ClientsideFunction, Input, Output, dcc, html

# The graph id patterns that are drawn lazily: their keys besides "type".
LAZY_PATTERNS = {
    "area-trend": ("area", "kpi"),
    "area-breakdown": ("area", "index"),
    "page-graph": ("graph",),
}


def store_id(graph_id: dict) -> dict:
    """The id of the store that holds a graph's figure (wildcards kept: ALL and MATCH work)."""
    return {**graph_id, "type": f"{graph_id['type']}-figure"}


def figure_output(graph_id: dict) -> Output:
    """Where a callback writes a lazily drawn graph's figure."""
    return Output(store_id(graph_id), "data")


def figure_input(graph_id: dict) -> Input:
    """A lazily drawn graph's latest figure, drawn or not."""
    return Input(store_id(graph_id), "data")


def chart_key(graph_id: dict) -> str:
    """The id as the browser script finds its graph: compact JSON with sorted keys."""
    return json.dumps(graph_id, sort_keys=True, separators=(",", ":"))


def lazy_graph(graph_id: dict, *, config: dict, height: str) -> html.Div:
    """A graph and the store of its figure, in a box the script watches for coming into view."""
    if graph_id["type"] not in LAZY_PATTERNS:
        raise ValueError(f"{graph_id['type']!r} is not a lazily drawn graph type")
    return html.Div(
        [
            dcc.Store(id=store_id(graph_id)),
            dcc.Graph(id=graph_id, config=config, style={"height": height}),
        ],
        className="lazy-chart",
        **{"data-chart": chart_key(graph_id)},
    )


def register() -> None:
    """One clientside callback per lazily drawn pattern, over every graph of it on the page.

    ALL, not MATCH: with MATCH a page's 22 trends ran 22 clientside callbacks when its figures
    landed, and Dash's renderer walks every mounted component at each step of each callback
    (about 7 store updates a callback); one callback for all of them is one walk per step."""
    for kind, keys in LAZY_PATTERNS.items():
        pattern = {"type": kind, **dict.fromkeys(keys, ALL)}
        dash.clientside_callback(
            ClientsideFunction(namespace="charts", function_name="draw_when_seen"),
            Output(pattern, "figure"),
            Input(store_id(pattern), "data"),
            prevent_initial_call=True,
        )
