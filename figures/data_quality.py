"""The data-quality page's figures: recording gaps (heat map and trend) and data errors (bars).

Pure functions, a frame from ``queries.quality`` in and a figure out, so the page, the exports
and the tests draw the same pictures.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

import figures
from ui.formatting import month_label

# Sequential and colour-blind safe (perceptually uniform); reversed so that a larger
# gap is darker. The numbers are written in the cells: colour never carries them alone.
GAP_COLOURSCALE = "Cividis_r"
# Okabe–Ito without its yellow, which is too pale for a thin line on white.
LINE_COLOURS = [c for c in figures.OKABE_ITO if c != "#F0E442"]
MARKER_SYMBOLS = ["circle", "square", "diamond", "triangle-up", "x", "triangle-down", "star", "cross"]


def gap_order(gaps: pd.DataFrame) -> list[str]:
    """The gap series worst first: by the share missing over all the months shown, then by name."""
    totals = gaps.groupby("series")[["rows_missing", "rows_judged"]].sum()
    share = totals["rows_missing"] / totals["rows_judged"]
    return sorted(share.index, key=lambda s: (-share[s], s))


def _month_axis(gaps: pd.DataFrame, months) -> list[pd.Timestamp]:
    if months is not None:
        return [pd.Timestamp(m) for m in months]
    return sorted(pd.Timestamp(m) for m in gaps["month"].unique())


def gaps_heatmap(gaps: pd.DataFrame, *, title: str, months=None) -> go.Figure:
    """A heat map of the share missing: rows table.column (worst first), columns months, % in each cell.

    Args:
        gaps: the frame of :func:`queries.quality.recording_gaps`.
        title: what, where, when.
        months: every month of the period (first instants), so a month with no records
            shows as a blank column; default: the months in ``gaps``.
    """
    if gaps.empty:
        return figures.empty_figure(title)
    order = gap_order(gaps)
    axis = _month_axis(gaps, months)
    frame = gaps.assign(month=pd.to_datetime(gaps["month"]))
    share = frame.pivot(index="series", columns="month", values="missing_pct").reindex(
        index=order, columns=axis
    )
    judged = frame.pivot(index="series", columns="month", values="rows_judged").reindex(
        index=order, columns=axis
    )
    missing = frame.pivot(index="series", columns="month", values="rows_missing").reindex(
        index=order, columns=axis
    )
    z = [[None if pd.isna(v) else float(v) for v in row] for row in share.to_numpy()]
    text = [["" if v is None else f"{v:.1f}%" for v in row] for row in z]
    custom = [
        [
            "no records" if pd.isna(n) else f"{int(m):,} of {int(n):,} missing"
            for n, m in zip(nrow, mrow, strict=True)
        ]
        for nrow, mrow in zip(judged.to_numpy(), missing.to_numpy(), strict=True)
    ]
    fig = go.Figure(layout={"template": figures.TEMPLATE, "title": {"text": title}})
    fig.add_trace(
        go.Heatmap(
            z=z,
            x=[month_label(m) for m in axis],
            y=order,
            text=text,
            texttemplate="%{text}",
            customdata=custom,
            hovertemplate="%{y}, %{x}: %{text}<br>%{customdata}<extra></extra>",
            colorscale=GAP_COLOURSCALE,
            zmin=0,
            zmax=100,
            hoverongaps=False,
            xgap=2,
            ygap=2,
            colorbar={"title": {"text": "% missing", "side": "right"}, "ticksuffix": "%"},
        )
    )
    fig.update_xaxes(type="category", title_text=None, showgrid=False)
    fig.update_yaxes(autorange="reversed", type="category", title_text=None, showgrid=False, automargin=True)
    return fig


def gaps_trend(gaps: pd.DataFrame, *, title: str, months=None) -> go.Figure:
    """A monthly line per gap column (worst first in the legend); a month with no records is a gap.

    Each line has its own marker shape as well as its colour; a month judged on fewer
    than 10 records has a hollow marker and says "n = 6" in its tooltip (DESIGN.md).
    """
    if gaps.empty:
        return figures.empty_figure(title)
    axis = _month_axis(gaps, months)
    frame = gaps.assign(month=pd.to_datetime(gaps["month"]))
    fig = go.Figure(layout={"template": figures.TEMPLATE, "title": {"text": title}})
    for i, series in enumerate(gap_order(gaps)):
        rows = frame[frame["series"] == series].set_index("month").reindex(axis)
        colour = LINE_COLOURS[i % len(LINE_COLOURS)]
        small = [not pd.isna(n) and n < figures.SMALL_DENOMINATOR for n in rows["rows_judged"]]
        hover = [
            "" if pd.isna(n) else f"n = {int(n):,}" + (" (small: read with care)" if s else "")
            for n, s in zip(rows["rows_judged"], small, strict=True)
        ]
        fig.add_trace(
            go.Scatter(
                x=axis,
                y=[None if pd.isna(v) else float(v) for v in rows["missing_pct"]],
                mode="lines+markers",
                name=series,
                line={"color": colour, "width": 2},
                marker={
                    "symbol": MARKER_SYMBOLS[i % len(MARKER_SYMBOLS)],
                    "size": 8,
                    "color": ["white" if s else colour for s in small],
                    "line": {"color": colour, "width": 2},
                },
                customdata=hover,
                hovertemplate=series + "<br>%{x|%b %Y}: %{y:.1f}% missing<br>%{customdata}<extra></extra>",
                connectgaps=False,
            )
        )
    fig.update_yaxes(title_text="% missing", rangemode="tozero")
    first, last = axis[0].strftime("%Y-%m"), axis[-1].strftime("%Y-%m")
    fig.update_xaxes(title_text=None, **figures.month_ticks(first, last))
    fig.update_layout(legend={"y": -0.15, "yanchor": "top"}, margin={"t": 72, "b": 110})
    return fig


def errors_bar(errors: pd.DataFrame, *, title: str) -> go.Figure:
    """Findings per check over the period, as horizontal bars sorted by count (checks with findings)."""
    if errors.empty:
        return figures.empty_figure(title)
    totals = (
        errors.groupby(["check_id", "label"], as_index=False)
        .agg(errors=("errors", "sum"), rows_checked=("rows_checked", "sum"))
        .sort_values(["errors", "label"], ascending=[True, False])
    )
    found = totals[totals["errors"] > 0]
    if found.empty:
        fig = go.Figure(layout={"template": figures.TEMPLATE, "title": {"text": title}})
        fig.add_annotation(
            text=f"No errors found: {len(totals)} checks ran",
            showarrow=False,
            x=0.5,
            y=0.5,
            xref="paper",
            yref="paper",
            font={"size": 14},
        )
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
        return fig
    fig = go.Figure(layout={"template": figures.TEMPLATE, "title": {"text": title}})
    fig.add_trace(
        go.Bar(
            x=found["errors"],
            y=found["label"],
            orientation="h",
            marker_color=figures.ACCENT,
            text=[f"{n:,}" for n in found["errors"]],
            textposition="outside",
            customdata=[f"{n:,} records checked" for n in found["rows_checked"]],
            hovertemplate="%{y}: %{x:,} records<br>%{customdata}<extra></extra>",
        )
    )
    clean = len(totals) - len(found)
    if clean:
        fig.add_annotation(
            text=f"{clean} other check{'s' if clean != 1 else ''} found nothing",
            showarrow=False,
            # Above the plot's right end: at its foot it sat on the last bar when every bar was long.
            x=1,
            y=1,
            xref="paper",
            yref="paper",
            xanchor="right",
            yanchor="bottom",
            font={"size": 12, "color": figures.GREY},
        )
    fig.update_xaxes(title_text="records", rangemode="tozero", **figures.count_ticks(found["errors"].max()))
    fig.update_yaxes(title_text=None, automargin=True)
    return fig
