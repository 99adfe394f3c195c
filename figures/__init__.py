"""Pure figure builders: DataFrame in, ``go.Figure`` (or SVG text) out; no Dash, no DuckDB.

One Plotly template matches the Bootstrap theme; series use the Okabe–Ito
palette (colour-blind safe); every builder has an explicit empty state.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from html import escape

import numpy as np
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
SMALL_N_UNITS = ("pct", "min", "days")  # the units whose figure rests on its denominator's cases

TEMPLATE = go.layout.Template(
    layout=go.Layout(
        font={"family": FONT, "size": 13, "color": TEXT},
        title={"font": {"size": 15}, "x": 0, "xanchor": "left"},
        colorway=OKABE_ITO,
        paper_bgcolor="white",
        plot_bgcolor="white",
        # The right margin holds the vertical mode bar, so that it never covers the plot.
        margin={"l": 56, "r": 40, "t": 72, "b": 48},
        xaxis={"showgrid": False, "linecolor": "#adb5bd", "ticks": "outside"},
        yaxis={"gridcolor": "#e9ecef", "zeroline": False, "linecolor": "#adb5bd"},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
        hoverlabel={"font": {"family": FONT}},
        # A vertical mode bar at the right never covers the title (nor, in its margin, the plot).
        modebar={"orientation": "v", "bgcolor": "rgba(255,255,255,0.8)"},
        bargap=0.35,
    )
)

UNIT_AXIS = {"pct": "%", "count": "count", "min": "minutes", "days": "days", "ratio": "per officer"}


def _target_marks(
    target: float, unit: str, *, vertical: bool = False, top: float | None = None, right: bool = False
) -> tuple[dict, dict]:
    """The target as a dashed line and its label (across a trend, or up a bar chart): a shape and
    an annotation, the ones ``add_hline``/``add_vline`` would make, without their axis machinery.

    Across a trend the label sits above the line at the left, or at the right with ``right``.
    Up a bar chart the label sits just above the plot, where no bar can be, on the side of the
    line that has room: ``top`` is the largest value drawn (the axis runs from 0 to about it).
    """
    line = {"dash": "dash", "color": TEXT, "width": 1.5}
    text = f"Target {target:g}{'%' if unit == 'pct' else ''}"
    if vertical:
        shape = {"xref": "x", "x0": target, "x1": target, "yref": "y domain", "y0": 0, "y1": 1}
        anchor = "left" if top is not None and target < 0.5 * max(top, target) else "right"
        label = {"x": target, "xref": "x", "xanchor": anchor, "y": 1, "yref": "y domain", "yanchor": "bottom"}
    else:
        shape = {"xref": "x domain", "x0": 0, "x1": 1, "yref": "y", "y0": target, "y1": target}
        label = {"x": int(right), "xref": "x domain", "xanchor": "right" if right else "left"}
        label.update(y=target, yref="y", yanchor="bottom")
    return {"type": "line", **shape, "line": line}, {"showarrow": False, "text": text, **label}


def _add_target_line(
    fig: go.Figure, target: float, unit: str, *, vertical: bool = False, top: float | None = None
) -> None:
    """The target as a dashed, labelled line (across a trend, or up a bar chart)."""
    shape, label = _target_marks(target, unit, vertical=vertical, top=top)
    fig.add_shape(shape)
    fig.add_annotation(label)


# A line of notes under a title ("a; b; c") longer than this many characters breaks after a "; ":
# at 11 px, about what a chart half a laptop screen wide holds beside its mode bar.
NOTE_LINE_CHARS = 80
_TAG = re.compile(r"<[^>]*>")


def wrap_notes(title: str, width: int = NOTE_LINE_CHARS) -> str:
    """``title`` with each line of notes longer than ``width`` characters broken after a "; "
    (Plotly never wraps a title: a long line runs out of the figure and is cut)."""
    lines = []
    for line in title.split("<br>"):
        if len(_TAG.sub("", line)) <= width or "; " not in line:
            lines.append(line)
            continue
        parts, current = line.split("; "), ""
        for part in parts:
            joined = f"{current}; {part}" if current else part
            if current and len(_TAG.sub("", joined)) > width:
                lines.append(current + ";")
                current = part
            else:
                current = joined
        lines.append(current)
    return "<br>".join(lines)


def title_layout(title: str) -> dict:
    """The title and a top margin that fits its lines (a title with notes runs to three or four)."""
    title = wrap_notes(title)
    lines = title.count("<br>") + 1
    return {"template": TEMPLATE, "title": {"text": title}, "margin": {"t": 40 + 18 * lines}}


def month_ticks(first: str, last: str) -> dict:
    """A monthly x axis's ticks from ``first`` to ``last`` (YYYY-MM): every month of a period of up
    to 7 months, else every 3, 6 or 12 months, always from the first month, so that the first month
    is labelled and a quarter shows three ticks, not one (nor Plotly's days, each labelled "Jan 2022")."""
    months = (int(last[:4]) - int(first[:4])) * 12 + int(last[5:7]) - int(first[5:7]) + 1
    step = 1 if months <= 7 else 3 if months <= 24 else 6 if months <= 48 else 12
    return {"tick0": f"{first}-01", "dtick": f"M{step}", "tickformat": "%b %Y"}


def count_ticks(largest) -> dict:
    """A count axis's ticks: whole numbers when the counts are small (Plotly's own steps for an axis
    to 3 are 0.5, a fraction of a record; with ",d" those showed as "0, 0, 1, 1")."""
    return {"dtick": 1} if _is_number(largest) and largest <= 6 else {}


# A legend at the foot of the figure, in a margin of its own: with the x axis's automargin its tick
# labels sit above the legend however many rows the legend wraps to at the chart's width. (Not for
# a trend: the picture an export makes of it moves the legend in the plot's coordinates.)
LEGEND_FOOT = {
    "orientation": "h",
    "yref": "container",
    "y": 0,
    "yanchor": "bottom",
    "x": 0,
    "font": {"size": 11},
}


def empty_figure(title: str, reason: str | None = None) -> go.Figure:
    """A figure that says there is nothing to show, and why when known."""
    text = EMPTY_MESSAGE if not reason else f"{EMPTY_MESSAGE}<br><span style='font-size:12px'>{reason}</span>"
    fig = go.Figure(layout=title_layout(title))
    fig.add_annotation(
        text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper", font={"size": 14}
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def _is_number(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


# Making Data Count colours, mapped onto Okabe–Ito: common cause grey,
# improvement blue, concern orange, neither purple. Names go in the legend and
# hover, so colour is never the only cue.
NEITHER_PURPLE = "#6f3f8f"
VARIATION_STYLE = {
    "improvement": ("Special cause: improvement", OKABE_ITO[0], "circle"),
    "concern": ("Special cause: concern", OKABE_ITO[1], "diamond"),
    "neither": ("Special cause: neither", NEITHER_PURPLE, "square"),
}
LINE = "#495057"
LIMIT = "#6c757d"
RULE_WORDS = {
    "outside_upper": "above the upper process limit",
    "outside_lower": "below the lower process limit",
    "two_of_three_upper": "2 of 3 points near the upper limit",
    "two_of_three_lower": "2 of 3 points near the lower limit",
    "run_above": "a run above the mean",
    "run_below": "a run below the mean",
    "trend_up": "a rising trend",
    "trend_down": "a falling trend",
}


def _rules_hit(row) -> str:
    return ", ".join(words for rule, words in RULE_WORDS.items() if bool(row.get(rule, False)))


def _clip(value, unit: str):
    if not _is_number(value):
        return None
    if unit == "pct":
        return min(max(float(value), 0.0), 100.0)
    return max(float(value), 0.0)


HALF_MONTH = pd.Timedelta(days=15)


def _month_start(month: str) -> pd.Timestamp:
    return pd.Timestamp(month + "-01")


def trend_figure(
    series: pd.DataFrame,
    *,
    title: str,
    unit: str,
    target: float | None = None,
    value_label: str = "Value",
    highlight_month: str | None = None,
    spc: pd.DataFrame | None = None,
    annotations: Sequence[tuple[str, str]] = (),
    step_changes: Sequence[tuple[str, str]] = (),
) -> go.Figure:
    """A monthly trend as an XmR chart: mean, process limits, special causes, target and events.

    Args:
        series: columns ``month`` (YYYY-MM), ``value``, ``numerator``, ``denominator``.
        title: what, where, when.
        unit: the KPI's unit (pct, count, min, days, ratio).
        target: drawn as a dashed line when given.
        value_label: the hover name of the value.
        highlight_month: a month (YYYY-MM) the page is narrowed to, shaded.
        spc: the SPC engine's frame for the same months (month, mean, upper,
            lower, is_trial, segment, special, variation and the rule flags);
            limits are clipped to what the unit allows (0–100%, not below 0).
        annotations: (month, label) events drawn as dotted lines.
        step_changes: (month, reason) where limits were recalculated.
    """
    if series.empty or not any(_is_number(v) for v in series["value"]):
        return empty_figure(title)
    month_series = pd.to_datetime(series["month"], format="%Y-%m")
    months = list(month_series)
    values = [v if _is_number(v) else None for v in series["value"]]
    denominators = list(series["denominator"])
    # A percentage or a median (minutes, days) over fewer than 10 cases is drawn hollow: both
    # swing on one or two records (issue 11).
    small = [unit in SMALL_N_UNITS and _is_number(d) and d < SMALL_DENOMINATOR for d in denominators]
    hover = [
        (f"n = {d:,.0f}" + (" (under 10: read with care)" if s else "")) if _is_number(d) else ""
        for d, s in zip(denominators, small, strict=True)
    ]
    # The figure is written as one dict and validated once: built trace by trace (add_trace,
    # add_vline, update_layout), 17 trends took 0.55 s of an area update in plotly's validators.
    traces: list[dict] = []
    shapes: list[dict] = []
    labels: list[dict] = []
    spc_rows = None
    if spc is not None and not spc.empty:
        spc_rows = spc.set_index("month").reindex(list(series["month"]))
        traces += _limit_traces(months, spc_rows, unit)
    colour = LINE if spc_rows is not None else ACCENT
    traces.append(
        {
            "type": "scatter",
            "x": month_series,
            "y": values,
            "mode": "lines+markers",
            "name": value_label,
            "line": {"color": colour, "width": 2},
            "marker": {
                "size": 7,
                "color": ["white" if s else colour for s in small],
                "line": {"color": colour, "width": 2},
            },
            "customdata": hover,
            "hovertemplate": "%{x|%b %Y}: %{y:,.1f}<br>%{customdata}<extra></extra>",
            "connectgaps": False,
            "showlegend": False,
        }
    )
    if spc_rows is not None:
        traces += _special_cause_traces(months, values, spc_rows, small)
    drawn = [v for v in values if v is not None] + [target or 0]
    if spc_rows is not None:
        drawn += [v for v in (_clip(u, unit) for u in spc_rows["upper"]) if v is not None]
    if target is not None:
        # The label sits just above the line at the left, or at the right when the first months'
        # points would lie on it and the last months' would not.
        def on_label(points) -> bool:
            return any(v is not None and target <= v <= target + 0.1 * max(drawn) for v in points)

        right = on_label(values[:2]) and not on_label(values[-2:])
        shape, label = _target_marks(target, unit, right=right)
        shapes.append(shape)
        labels.append(label)
    first, last = series["month"].min(), series["month"].max()
    events = [(month, label, "dot", label) for month, label in annotations]
    events += [(month, "Limits recalculated", "solid", reason) for month, reason in step_changes]
    shown_events = sorted(e for e in events if first <= e[0] <= last)
    # A target near the foot (a count whose target is 0) has its label where the first event
    # label would be: the events start one step up.
    low_target = target is not None and target <= 0.1 * max(drawn)
    late_from = _month_start(first) + (_month_start(last) - _month_start(first)) * 2 / 3
    for level, (month, label, dash, hover_text) in enumerate(shown_events):
        # Labels step up from the foot of the plot, so neighbours never overlap; in the last third
        # of the months a label runs left of its line, so it stays inside the months shown.
        shape, note = _event_marks(
            month,
            label,
            dash=dash,
            hover=hover_text,
            level=level % 4 + int(low_target),
            left=_month_start(month) > late_from,
        )
        shapes.append(shape)
        labels.append(note)
    if highlight_month:
        start = _month_start(highlight_month)
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "x0": start - pd.Timedelta(days=14),
                "x1": start + pd.Timedelta(days=14),
                "yref": "y domain",
                "y0": 0,
                "y1": 1,
                "fillcolor": HIGHLIGHT,
                "opacity": 0.6,
                "line": {"width": 0},
                "layer": "below",
            }
        )
    layout = title_layout(title)
    layout.update(
        shapes=shapes,
        annotations=labels,
        yaxis={
            "title": {"text": UNIT_AXIS.get(unit, unit)},
            "rangemode": "tozero",
            **(count_ticks(max(drawn)) if unit == "count" else {}),
        },
        # The months shown and half a month either side: autorange's padding for the markers
        # reached the next tick, labelling a month after the period (a 3-year trend's "Apr 2023").
        xaxis={
            "title": {"text": None},
            "range": [_month_start(first) - HALF_MONTH, _month_start(last) + HALF_MONTH],
            **month_ticks(first, last),
        },
        **_legend_below(layout["margin"]["t"], [t["name"] for t in traces if t.get("showlegend", True)]),
    )
    return go.Figure({"data": traces, "layout": layout})


# The area pages draw a trend 320 px high (ui/area_page.py); its legend is placed for that height.
GRAPH_PX = 320
TICKS_PX = 28  # the month labels under the plot, and a gap
LEGEND_ROW_PX = 20
LEGEND_ROW_WIDTH = 480  # px a legend row holds in a chart half a 1280 px screen wide


def _legend_rows(names: Sequence[str]) -> int:
    """How many rows a horizontal legend of ``names`` wraps to (11 px text; each item's symbol
    and gaps about 40 px)."""
    rows, used = 1, 0.0
    for name in names:
        width = 40 + 6.2 * len(name)
        if used and used + width > LEGEND_ROW_WIDTH:
            rows, used = rows + 1, 0.0
        used += width
    return rows


def _legend_below(top: int, names: Sequence[str]) -> dict:
    """A trend's legend under the month labels, and a bottom margin that holds both.

    The legend is placed in the plot's own coordinates (as a chart's picture for export moves it,
    exports/routes.py): a fixed fraction of the plot (the old -0.12) ran over the month labels
    when a title of three or four lines left the plot short, so it is worked out from the title.
    """
    bottom = TICKS_PX + LEGEND_ROW_PX * _legend_rows(names) + 6
    plot = max(GRAPH_PX - top - bottom, 60)
    legend = {"font": {"size": 11}, "y": -round(TICKS_PX / plot, 3), "yanchor": "top"}
    return {"legend": legend, "margin": {"t": top, "b": bottom}}


def _limit_traces(months, spc_rows: pd.DataFrame, unit: str) -> list[dict]:
    """Mean and process limits as steps that break at a step change and at months with no limits."""
    segments = spc_rows["segment"].astype(object).where(spc_rows["segment"].notna(), None)
    shown = {"mean": False, "limit": False, "limit_trial": False}
    traces = []
    for segment in dict.fromkeys(s for s in segments if s is not None):
        in_segment = [s == segment for s in segments]
        x = [m for m, keep in zip(months, in_segment, strict=True) if keep]
        rows = spc_rows[in_segment]
        # Trial limits belong to a segment: after a step change only the new one may be trial.
        trial = bool(rows["is_trial"].fillna(False).astype(bool).any())
        limit_key = "limit_trial" if trial else "limit"
        limit_name = "Process limits (trial)" if trial else "Process limits"
        for column, name, dash, key in (
            ("mean", "Mean", "solid", "mean"),
            ("upper", limit_name, "dot" if trial else "dash", limit_key),
            ("lower", limit_name, "dot" if trial else "dash", limit_key),
        ):
            y = [
                _clip(v, unit) if column != "mean" else (float(v) if _is_number(v) else None)
                for v in rows[column]
            ]
            if not any(v is not None for v in y):
                continue
            width = 1 if column != "mean" else 1.25
            trace = {
                "type": "scatter",
                "x": x,
                "y": y,
                "mode": "lines",
                "name": name,
                "line": {"color": LIMIT, "width": width, "dash": dash},
                "hoverinfo": "skip",
                "showlegend": not shown[key],
                "legendgroup": key,
            }
            if len(x) == 1:  # one month (a period of one month): a line of one point is not drawn
                trace["mode"] = "markers"
                trace["marker"] = {"symbol": "line-ew", "size": 28, "line": {"color": LIMIT, "width": width}}
            traces.append(trace)
            shown[key] = True
    return traces


def _special_cause_traces(months, values, spc_rows: pd.DataFrame, small) -> list[dict]:
    variations = list(spc_rows["variation"])
    traces = []
    for variation, (name, colour, symbol) in VARIATION_STYLE.items():
        picked = [i for i, v in enumerate(variations) if v == variation and values[i] is not None]
        if not picked:
            continue
        rows = [spc_rows.iloc[i] for i in picked]
        traces.append(
            {
                "type": "scatter",
                "x": [months[i] for i in picked],
                "y": [values[i] for i in picked],
                "mode": "markers",
                "name": name,
                "marker": {
                    "size": 10,
                    "symbol": symbol,
                    "color": ["white" if small[i] else colour for i in picked],
                    "line": {"color": colour, "width": 2},
                },
                "customdata": [_rules_hit(row) for row in rows],
                "hovertemplate": f"%{{x|%b %Y}}: %{{y:,.1f}}<br>{name}: %{{customdata}}<extra></extra>",
            }
        )
    return traces


def _event_marks(
    month: str, label: str, *, dash: str, hover: str = "", level: int = 0, left: bool = False
) -> tuple[dict, dict]:
    """An event as a dotted line up the plot and its label (a shape and an annotation), the label
    right of the line, or left of it with ``left``."""
    x = _month_start(month)
    line = {"type": "line", "xref": "x", "x0": x, "x1": x, "yref": "y domain", "y0": 0, "y1": 1}
    line["line"] = {"color": LIMIT, "width": 1, "dash": dash}
    note = {
        "x": x,
        "y": 0.02 + 0.09 * level,
        "yref": "paper",
        "text": label,
        "showarrow": False,
        "xanchor": "right" if left else "left",
        "yanchor": "bottom",
        "font": {"size": 10, "color": "#495057"},
        "bgcolor": "rgba(255,255,255,0.8)",
        "hovertext": hover or label,
    }
    return line, note


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
    fig = go.Figure(layout=title_layout(title))
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
        _add_target_line(fig, target, unit, vertical=True, top=float(rows["value"].max()))
    ticks = count_ticks(max(rows["value"].max(), target or 0)) if unit == "count" else {}
    fig.update_xaxes(title_text=UNIT_AXIS.get(unit, unit), rangemode="tozero", **ticks)
    fig.update_yaxes(title_text=None, automargin=True, ticklabelstandoff=4)
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


def stacked_monthly_figure(
    rows: pd.DataFrame, *, key: str, series: dict[str, tuple[str, str]], title: str, y_title: str
) -> go.Figure:
    """Counts by month stacked by category (months with nothing left empty).

    Args:
        rows: long rows with ``month``, the ``key`` column and ``value``.
        key: the column naming each row's category.
        series: category -> (legend name, colour), in stacking order.
    """
    shown = rows[rows[key].isin(series)] if not rows.empty else rows
    if shown.empty or not any(_is_number(v) and v > 0 for v in shown["value"]):
        return empty_figure(title)
    layout = title_layout(title)
    layout["barmode"] = "stack"
    fig = go.Figure(layout=layout)
    for category, (name, colour) in series.items():
        picked = shown[shown[key] == category]
        fig.add_trace(
            go.Bar(
                x=pd.to_datetime(picked["month"], format="%Y-%m"),
                y=[v if _is_number(v) else None for v in picked["value"]],
                name=name,
                marker_color=colour,
                hovertemplate=f"%{{x|%b %Y}}: %{{y}} {name.lower()}<extra></extra>",
            )
        )
    fig.update_yaxes(title_text=y_title, **count_ticks(shown.groupby("month")["value"].sum().max()))
    # The legend at the foot: above the plot it ran over the title's second line ("Dorset, A").
    fig.update_layout(legend=LEGEND_FOOT, margin={"b": 8})
    fig.update_xaxes(automargin=True, **month_ticks(min(shown["month"]), max(shown["month"])))
    return fig


def audit_grades_figure(audits: pd.DataFrame, *, title: str) -> go.Figure:
    """Case audits by grade and month, as stacked bars.

    Args:
        audits: long rows with ``month``, ``kpi_id`` (audit_good...), ``value``.
    """
    return stacked_monthly_figure(
        audits, key="kpi_id", series=AUDIT_GRADE_COLOURS, title=title, y_title="cases audited"
    )


BREACH_OUTCOME_COLOURS = {
    "words of advice": ("Words of advice", OKABE_ITO[1]),
    "cautioned": ("Cautioned", OKABE_ITO[4]),
    "charged": ("Charged", OKABE_ITO[0]),
    "no further action": ("No further action", OKABE_ITO[7]),
    "ongoing": ("Ongoing", "#adb5bd"),
}


def breach_outcomes_figure(breaches: pd.DataFrame, *, title: str) -> go.Figure:
    """Breaches of notification requirements by month, stacked by outcome.

    Args:
        breaches: long rows with ``month``, ``group`` (the outcome), ``value`` (breaches).
    """
    return stacked_monthly_figure(
        breaches, key="group", series=BREACH_OUTCOME_COLOURS, title=title, y_title="breaches recorded"
    )


def peer_bar(
    by_force: pd.DataFrame,
    *,
    title: str,
    unit: str,
    selected: str,
    national: float | None = None,
    national_label: str = "All forces",
    target: float | None = None,
    direction: str = "neutral",
) -> go.Figure:
    """Every force's value for the period, ranked best first, the selected force picked out.

    Args:
        by_force: columns ``group`` (force), ``value``, ``denominator``.
        selected: the force the filter bar shows, drawn in the contrast colour.
        national: the figure over all forces' rows, drawn as a dotted line.
        national_label: what that line is ("All forces"; "Average force" for a count, whose sum
            over forces would dwarf every bar).
        direction: "higher" or "lower" is better ranks best at the top; "neutral" ranks by value.
    """
    rows = by_force[[_is_number(v) for v in by_force["value"]]] if not by_force.empty else by_force
    if rows.empty:
        return empty_figure(title)
    # Plotly draws the first category at the bottom: sort so the best sits on top.
    ascending = direction != "lower"
    rows = rows.assign(value=rows["value"].astype(float)).sort_values("value", ascending=ascending)
    fig = go.Figure(layout=title_layout(title))
    fig.add_trace(
        go.Bar(
            x=rows["value"],
            y=rows["group"].astype(str),
            orientation="h",
            marker_color=[FOCUS_COLOUR if g == selected else ACCENT for g in rows["group"]],
            customdata=[f"n = {d:,.0f}" if _is_number(d) else "" for d in rows["denominator"]],
            hovertemplate="%{y}: %{x:,.1f}<br>%{customdata}<extra></extra>",
            showlegend=False,
        )
    )
    if national is not None and _is_number(national):
        fig.add_vline(
            x=national,
            line={"dash": "dot", "color": TEXT, "width": 1.5},
            annotation_text=f"{national_label} {national:,.1f}{'%' if unit == 'pct' else ''}",
            annotation_position="bottom right",
        )
    if target is not None:
        _add_target_line(fig, target, unit, vertical=True, top=float(rows["value"].max()))
    fig.update_xaxes(title_text=UNIT_AXIS.get(unit, unit), rangemode="tozero")
    fig.update_yaxes(title_text=None, automargin=True, tickfont={"size": 11}, ticklabelstandoff=4)
    return fig


def peer_rank_figure(ranks: pd.DataFrame, *, title: str, forces: int) -> go.Figure:
    """The selected force's rank among the forces month by month (1 = best), best at the top.

    Args:
        ranks: columns ``month`` (YYYY-MM), ``rank`` (None where the force has no value).
        forces: how many forces were ranked, for the axis.
    """
    if ranks.empty or not any(_is_number(r) for r in ranks["rank"]):
        return empty_figure(title)
    fig = go.Figure(layout=title_layout(title))
    fig.add_trace(
        go.Scatter(
            x=pd.to_datetime(ranks["month"], format="%Y-%m"),
            y=[r if _is_number(r) else None for r in ranks["rank"]],
            mode="lines+markers",
            line={"color": FOCUS_COLOUR, "width": 2},
            marker={"size": 7, "color": FOCUS_COLOUR},
            hovertemplate=f"%{{x|%b %Y}}: rank %{{y}} of {forces}<extra></extra>",
            showlegend=False,
        )
    )
    fig.update_yaxes(
        title_text="rank (1 = best)",
        dtick=max(1, forces // 8),
        range=[forces + 0.5, 0.5],
    )
    fig.update_xaxes(title_text=None, **month_ticks(min(ranks["month"]), max(ranks["month"])))
    return fig


# --- labels from data are text ---------------------------------------------------------

# Plotly renders a subset of HTML in every label; of it, only <a href> can act (a link a reader
# may follow out of the force). A label from an extract never carries a link: its "<a" is escaped
# so that it shows as the characters it is.
_LINK_TAG = re.compile(r"<(\s*/?\s*a\b)", re.IGNORECASE)
_TRACE_TEXT = ("x", "y", "text", "hovertext", "labels", "name", "customdata", "ids", "parents")


def _unlinked(value):
    if isinstance(value, str):
        return _LINK_TAG.sub(r"&lt;\1", value) if "<" in value else value
    # Plotly keeps text arrays as tuples or numpy arrays of objects (numeric arrays hold no markup).
    is_texts = isinstance(value, list | tuple) or (isinstance(value, np.ndarray) and value.dtype == object)
    if is_texts and any(isinstance(v, str) and "<" in v for v in value):
        return [_unlinked(v) for v in value]
    return value


def text_only(fig: go.Figure) -> go.Figure:
    """``fig`` with every ``<a ...>`` in its trace data, titles and annotations shown as text (in place)."""
    for trace in fig.data:
        for attr in _TRACE_TEXT:
            if attr in trace and trace[attr] is not None:
                value = trace[attr]
                new = _unlinked(value)
                if new is not value:
                    trace[attr] = new
    layout = fig.layout
    if layout.title.text:
        layout.title.text = _unlinked(layout.title.text)
    for annotation in layout.annotations or ():
        if annotation.text:
            annotation.text = _unlinked(annotation.text)
    for axis in (layout.xaxis, layout.yaxis):
        if axis.ticktext is not None:
            axis.ticktext = _unlinked(list(axis.ticktext))
        if axis.title.text:
            axis.title.text = _unlinked(axis.title.text)
    return fig
