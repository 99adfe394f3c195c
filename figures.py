"""Pure figure builders: DataFrame in, ``go.Figure`` (or SVG text) out; no Dash, no DuckDB.

One Plotly template matches the Bootstrap theme; series use the Okabe–Ito
palette (colour-blind safe); every builder has an explicit empty state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

import pandas as pd
import plotly.graph_objects as go

# Okabe–Ito: distinguishable under the common colour-vision deficiencies.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
ACCENT = OKABE_ITO[0]
GREY = "#6c757d"
# A narrowed month is shaded; a narrowed group's bar takes the palette's vermilion.
HIGHLIGHT = "#FCE9A8"
FOCUS_COLOUR = OKABE_ITO[5]
TEXT = "#212529"
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
EMPTY_MESSAGE = "No data for this selection"
SMALL_DENOMINATOR = 10

TEMPLATE = go.layout.Template(
    layout=go.Layout(
        font={"family": FONT, "size": 13, "color": TEXT},
        title={"font": {"size": 15}, "x": 0, "xanchor": "left"},
        colorway=OKABE_ITO,
        paper_bgcolor="white",
        plot_bgcolor="white",
        margin={"l": 56, "r": 16, "t": 72, "b": 48},
        xaxis={"showgrid": False, "linecolor": "#adb5bd", "ticks": "outside"},
        yaxis={"gridcolor": "#e9ecef", "zeroline": False, "linecolor": "#adb5bd"},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
        hoverlabel={"font": {"family": FONT}},
        # A vertical mode bar at the right never covers the title.
        modebar={"orientation": "v", "bgcolor": "rgba(255,255,255,0.8)"},
        bargap=0.35,
    )
)

UNIT_AXIS = {"pct": "%", "count": "count", "min": "minutes", "days": "days", "ratio": "per officer"}


def empty_figure(title: str, reason: str | None = None) -> go.Figure:
    """A figure that says there is nothing to show, and why when known."""
    text = EMPTY_MESSAGE if not reason else f"{EMPTY_MESSAGE}<br><span style='font-size:12px'>{reason}</span>"
    fig = go.Figure(layout={"template": TEMPLATE, "title": {"text": title}})
    fig.add_annotation(
        text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper", font={"size": 14}
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def _is_number(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def trend_figure(
    series: pd.DataFrame,
    *,
    title: str,
    unit: str,
    target: float | None = None,
    value_label: str = "Value",
    highlight_month: str | None = None,
) -> go.Figure:
    """A monthly trend: line with markers, a dashed labelled target, hollow small-n points.

    Args:
        series: columns ``month`` (YYYY-MM), ``value``, ``numerator``, ``denominator``.
        title: what, where, when.
        unit: the KPI's unit (pct, count, min, days, ratio).
        target: drawn as a dashed line when given.
        value_label: the hover name of the value.
        highlight_month: a month (YYYY-MM) the page is narrowed to, shaded.
    """
    if series.empty or not any(_is_number(v) for v in series["value"]):
        return empty_figure(title)
    months = pd.to_datetime(series["month"], format="%Y-%m")
    values = [v if _is_number(v) else None for v in series["value"]]
    denominators = list(series["denominator"])
    small = [unit == "pct" and _is_number(d) and d < SMALL_DENOMINATOR for d in denominators]
    hover = [
        (f"n = {d:,.0f}" + (" (small: read with care)" if s else "")) if _is_number(d) else ""
        for d, s in zip(denominators, small, strict=True)
    ]
    fig = go.Figure(layout={"template": TEMPLATE, "title": {"text": title}})
    fig.add_trace(
        go.Scatter(
            x=months,
            y=values,
            mode="lines+markers",
            name=value_label,
            line={"color": ACCENT, "width": 2},
            marker={
                "size": 8,
                "color": ["white" if s else ACCENT for s in small],
                "line": {"color": ACCENT, "width": 2},
            },
            customdata=hover,
            hovertemplate="%{x|%b %Y}: %{y:,.1f}<br>%{customdata}<extra></extra>",
            connectgaps=False,
        )
    )
    if target is not None:
        fig.add_hline(
            y=target,
            line={"dash": "dash", "color": TEXT, "width": 1.5},
            annotation_text=f"Target {target:g}{'%' if unit == 'pct' else ''}",
            annotation_position="top left",
        )
    if highlight_month:
        start = pd.Timestamp(highlight_month + "-01")
        fig.add_vrect(
            x0=start - pd.Timedelta(days=14),
            x1=start + pd.Timedelta(days=14),
            fillcolor=HIGHLIGHT,
            opacity=0.6,
            line_width=0,
            layer="below",
        )
    fig.update_yaxes(title_text=UNIT_AXIS.get(unit, unit), rangemode="tozero")
    fig.update_xaxes(title_text=None, dtick="M3", tickformat="%b %Y")
    return fig


def breakdown_bar(
    breakdown: pd.DataFrame,
    *,
    title: str,
    unit: str,
    target: float | None = None,
    group_label: str = "Group",
    highlight_group: str | None = None,
) -> go.Figure:
    """A horizontal bar per group, sorted by value, with its n in the hover.

    Args:
        breakdown: columns ``group``, ``value``, ``numerator``, ``denominator``.
        highlight_group: the group the page is narrowed to, drawn in the accent's contrast colour.
    """
    rows = breakdown[[_is_number(v) for v in breakdown["value"]]] if not breakdown.empty else breakdown
    if rows.empty:
        return empty_figure(title)
    rows = rows.assign(value=rows["value"].astype(float)).sort_values("value")
    hover = [f"n = {d:,.0f}" if _is_number(d) else "" for d in rows["denominator"]]
    fig = go.Figure(layout={"template": TEMPLATE, "title": {"text": title}})
    fig.add_trace(
        go.Bar(
            x=rows["value"],
            y=rows["group"].astype(str),
            orientation="h",
            marker_color=[
                FOCUS_COLOUR if highlight_group is not None and str(g) == highlight_group else ACCENT
                for g in rows["group"]
            ],
            customdata=hover,
            hovertemplate=f"{group_label} %{{y}}: %{{x:,.1f}}<br>%{{customdata}}<extra></extra>",
        )
    )
    if target is not None:
        fig.add_vline(
            x=target,
            line={"dash": "dash", "color": TEXT, "width": 1.5},
            annotation_text=f"Target {target:g}{'%' if unit == 'pct' else ''}",
        )
    fig.update_xaxes(title_text=UNIT_AXIS.get(unit, unit), rangemode="tozero")
    fig.update_yaxes(title_text=None, automargin=True)
    return fig


def sparkline_svg(values: Sequence, *, width: int = 120, height: int = 28, label: str = "") -> str:
    """A tiny inline SVG line of the last months (gaps stay gaps); light enough for a table of KPIs."""
    points = [(i, float(v)) for i, v in enumerate(values) if _is_number(v)]
    title = f"<title>{escape(label)}</title>" if label else ""
    if len(points) < 2:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">'
            f"{title}</svg>"
        )
    low = min(v for _, v in points)
    high = max(v for _, v in points)
    span = (high - low) or 1.0
    step = (width - 4) / max(len(values) - 1, 1)

    def xy(i: int, v: float) -> str:
        return f"{2 + i * step:.1f},{height - 3 - (v - low) / span * (height - 6):.1f}"

    segments, current = [], []
    for i, v in enumerate(values):
        if _is_number(v):
            current.append(xy(i, float(v)))
        elif current:
            segments.append(current)
            current = []
    if current:
        segments.append(current)
    lines = "".join(
        f'<polyline fill="none" stroke="{ACCENT}" stroke-width="1.5" points="{" ".join(s)}"/>'
        for s in segments
        if len(s) > 1
    )
    last_i, last_v = points[-1]
    dot = xy(last_i, last_v).split(",")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">{title}{lines}'
        f'<circle cx="{dot[0]}" cy="{dot[1]}" r="2.5" fill="{ACCENT}"/></svg>'
    )


AUDIT_GRADE_COLOURS = {
    "audit_good": ("Good", OKABE_ITO[2]),
    "audit_requires_improvement": ("Requires improvement", OKABE_ITO[1]),
    "audit_inadequate": ("Inadequate", OKABE_ITO[5]),
}


def audit_grades_figure(audits: pd.DataFrame, *, title: str) -> go.Figure:
    """Case audits by grade and month, as stacked bars (months with no audit left empty).

    Args:
        audits: long rows with ``month``, ``kpi_id`` (audit_good...), ``value``.
    """
    shown = audits[audits["kpi_id"].isin(AUDIT_GRADE_COLOURS)]
    if shown.empty or not any(_is_number(v) and v > 0 for v in shown["value"]):
        return empty_figure(title)
    fig = go.Figure(layout={"template": TEMPLATE, "title": {"text": title}, "barmode": "stack"})
    for kpi_id, (name, colour) in AUDIT_GRADE_COLOURS.items():
        rows = shown[shown["kpi_id"] == kpi_id]
        fig.add_trace(
            go.Bar(
                x=pd.to_datetime(rows["month"], format="%Y-%m"),
                y=[v if _is_number(v) else None for v in rows["value"]],
                name=name,
                marker_color=colour,
                hovertemplate=f"%{{x|%b %Y}}: %{{y}} {name.lower()}<extra></extra>",
            )
        )
    fig.update_yaxes(title_text="cases audited")
    fig.update_xaxes(tickformat="%b %Y")
    return fig
