"""Pure builders of the area pages' distribution charts: DataFrame in, ``go.Figure`` out; no Dash, no DuckDB.

Each takes the rows of one ``queries/<area>/*.sql`` distribution query (their
header comments give the columns), keyword-only options, and returns a figure
with an explicit empty state. :func:`excerpt_segments` cuts the short,
highlighted excerpt of a flagged risk assessment that the page renders.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from data.contract import has_column
from figures import (
    ACCENT,
    FOCUS_COLOUR,
    GREY,
    HIGHLIGHT,
    OKABE_ITO,
    TEMPLATE,
    TEXT,
    count_ticks,
    empty_figure,
    month_ticks,
    wrap_notes,
)
from ui.formatting import format_minutes

# The parameters a distribution query takes when the page is not narrowed to
# a group (as queries.kpis.NO_FOCUS, without importing the DuckDB runner).
NO_FOCUS = {"focus_column": None, "focus_value": None}
TARGET_LINE = {"dash": "dash", "color": TEXT, "width": 1.5}
MEDIAN_LINE = {"dash": "dot", "color": GREY, "width": 1.5}
RISK_LEVELS = (
    ("high", "High risk", OKABE_ITO[5]),
    ("medium", "Medium risk", OKABE_ITO[1]),
    ("low", "Low risk", OKABE_ITO[4]),
)


def focus_params(column: str | None, value, allowed: Iterable[str]) -> dict:
    """A distribution query's focus parameters: the page's group when its SQL has that column, else none."""
    if column and value is not None and column in set(allowed):
        return {"focus_column": column, "focus_value": str(value)}
    return dict(NO_FOCUS)


def unapplied_filters(table: str, *, lpa: str | None, local_authority: str | None) -> list[str]:
    """Filters the user set that ``table`` cannot apply (metrics.md: the chart says so)."""
    notes = []
    for column, value, words in (
        ("lpa", lpa, "LPA"),
        ("local_authority", local_authority, "local authority"),
    ):
        if value and not has_column(table, column):
            notes.append(f"{words} filter not applied: {table} has no {words}")
    return notes


def with_notes(title: str, *notes: str | None) -> str:
    """The title with a small line of notes under it (empty notes left out)."""
    shown = [n for n in notes if n]
    if not shown:
        return title
    return title + "<br><span style='font-size:11px'>" + "; ".join(shown) + "</span>"


# The legend at the foot of the figure, under the axis title, in the order the traces were added.
LEGEND_BELOW = {
    "orientation": "h",
    "yref": "container",
    "y": 0.01,
    "yanchor": "bottom",
    "x": 0,
    "font": {"size": 11},
    "traceorder": "normal",
}


def _titled(title: str, *, legend: bool = False) -> dict:
    """Layout for a title of one or more lines at the top, in a top margin that fits them (a long
    line of notes broken after a "; ", as Plotly never wraps it)."""
    title = wrap_notes(title)
    lines = title.count("<br>") + 1
    return {
        "template": TEMPLATE,
        "title": {"text": title, "yref": "container", "y": 1, "yanchor": "top", "pad": {"t": 12}},
        "margin": {"t": 32 + 20 * lines, **({"b": 100} if legend else {})},
        **({"legend": LEGEND_BELOW} if legend else {"showlegend": False}),
    }


def _count(frame: pd.DataFrame, column: str) -> int:
    return int(frame[column].sum()) if not frame.empty else 0


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


# --- Initial contact: arrival times.

GRADE_GROUPS = (
    ("grade 1", "Grade 1", OKABE_ITO[0]),
    ("grade 2", "Grade 2", OKABE_ITO[1]),
    ("other", "Grades 3–5", OKABE_ITO[2]),
)


def arrival_histogram(
    bins: pd.DataFrame,
    *,
    title: str,
    grade1_target_min: float,
    grade2_target_min: float,
    bin_min: float,
    cap_min: float,
) -> go.Figure:
    """Arrival-time histograms of vulnerable incidents, one panel per grade group, with the grade targets.

    Args:
        bins: rows of ``initial_contact/arrival_distribution``: grade_group,
            status, bin_min, n_incidents, median_min.
        title: what, where, when.
        grade1_target_min, grade2_target_min: drawn as labelled dashed lines.
        bin_min: the bins' width in minutes; cap_min: the overflow bin's edge.
    """
    usable = bins[bins["status"] == "usable"] if not bins.empty else bins
    not_recorded = bins[bins["status"] == "not_recorded"] if not bins.empty else bins
    negative = _count(bins[bins["status"] == "negative"], "n_incidents") if not bins.empty else 0
    missing_words = [
        f"{label.lower()} {_count(not_recorded[not_recorded['grade_group'] == group], 'n_incidents'):,}"
        for group, label, _colour in GRADE_GROUPS
    ]
    notes = []
    if _count(not_recorded, "n_incidents"):
        notes.append("No arrival recorded (not in the chart): " + ", ".join(missing_words))
    if negative:
        notes.append(f"{_plural(negative, 'arrival')} before the call left out (data quality)")
    title = with_notes(title, *notes)
    if usable.empty:
        return empty_figure(title)
    subplot_titles = []
    for group, label, _colour in GRADE_GROUPS:
        rows = usable[usable["grade_group"] == group]
        n = _count(rows, "n_incidents")
        median = rows["median_min"].iloc[0] if n else None
        subplot_titles.append(
            f"{label}: {_plural(n, 'arrival')}" + (f", median {format_minutes(median)}" if n else "")
        )
    fig = make_subplots(
        rows=len(GRADE_GROUPS),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.09,
        subplot_titles=subplot_titles,
    )
    for row, (group, label, colour) in enumerate(GRADE_GROUPS, start=1):
        rows = usable[usable["grade_group"] == group].sort_values("bin_min")
        lows = rows["bin_min"].astype(float).tolist()
        hover = [
            f"{low:g} min or more" if low >= cap_min else f"{low:g}–{low + bin_min:g} min" for low in lows
        ]
        fig.add_trace(
            go.Bar(
                x=[low + bin_min / 2 for low in lows],
                y=rows["n_incidents"].tolist(),
                width=bin_min,
                name=label,
                marker={"color": colour, "line": {"color": "white", "width": 1}},
                customdata=hover,
                hovertemplate=f"{label}, %{{customdata}}: %{{y:,}} incidents<extra></extra>",
                showlegend=False,
            ),
            row=row,
            col=1,
        )
        if not rows.empty and pd.notna(rows["median_min"].iloc[0]):
            median = float(rows["median_min"].iloc[0])
            fig.add_vline(x=median, line=MEDIAN_LINE, row=row, col=1)
            # The label right of the line; when a grade target's line is close on that side
            # (a median of 10 min, targets at 15 and 20) it would cross the label: the label then
            # sits beyond the targets, with a line back to the median.
            near = [t for t in (grade1_target_min, grade2_target_min) if median < t <= median + 20]
            axis = "x" if row == 1 else f"x{row}"
            fig.add_annotation(
                x=median,
                y=1,
                xref=axis,
                yref=f"y{'' if row == 1 else row} domain",
                text=f"median {format_minutes(median)}",
                xanchor="left",
                yanchor="top",
                font={"size": 10, "color": "#495057"},
                showarrow=bool(near),
                **({"ax": max(near) + bin_min / 5, "axref": axis, "ay": 0, "arrowhead": 0} if near else {}),
                arrowcolor=GREY,
            )
    for target, label, anchor in (
        (grade1_target_min, f"Grade 1 target {format_minutes(grade1_target_min)}", "right"),
        (grade2_target_min, f"Grade 2 target {format_minutes(grade2_target_min)}", "left"),
    ):
        fig.add_shape(type="line", x0=target, x1=target, xref="x", y0=0, y1=1, yref="paper", line=TARGET_LINE)
        fig.add_annotation(
            x=target,
            y=1.0,
            xref="x",
            yref="paper",
            yanchor="bottom",
            xanchor=anchor,
            yshift=2,
            text=label,
            showarrow=False,
            font={"size": 11},
        )
    step = 15 if cap_min <= 120 else 30
    ticks = [float(t) for t in np.arange(0, cap_min, step)]  # the overflow bar labels the cap itself
    fig.update_xaxes(
        range=[0, cap_min + bin_min],
        tickvals=[*ticks, cap_min + bin_min / 2],
        ticktext=[f"{t:g}" for t in ticks] + [f"≥{cap_min:g}"],
        tickangle=0,
    )
    fig.update_xaxes(title_text="minutes from call to first officer on scene", row=len(GRADE_GROUPS), col=1)
    fig.update_yaxes(title_text="incidents", row=2, col=1, rangemode="tozero")
    fig.update_yaxes(rangemode="tozero")
    fig.update_layout(**_titled(title), bargap=0)
    # Panel titles at the right, so that the target labels have the top left to themselves.
    for annotation in fig.layout.annotations[: len(GRADE_GROUPS)]:
        annotation.update(font={"size": 12}, x=1, xanchor="right")
    return fig


# --- Assessment and help: flagged language, MASH backlog.

ELLIPSIS = "…"


def _phrase_pattern(phrases: Sequence[str]) -> re.Pattern | None:
    wanted = sorted({p for p in phrases if p}, key=len, reverse=True)
    return re.compile("|".join(re.escape(p) for p in wanted), re.IGNORECASE) if wanted else None


def excerpt_segments(text: str | None, phrases: Sequence[str], *, width: int = 60) -> list[tuple[str, bool]]:
    """A short excerpt of ``text`` around its first flagged phrase, as (text, is_phrase) segments.

    About ``width`` characters either side of the first match, cut at a
    space and marked "…" where text is left out; every phrase inside the
    excerpt is its own segment with ``is_phrase`` True (for ``html.Mark``).
    Matching ignores case, as the KPI's lower-cased substring rule does.
    """
    if not text:
        return []
    pattern = _phrase_pattern(phrases)
    matches = list(pattern.finditer(text)) if pattern else []
    if not matches:
        short = text if len(text) <= 2 * width else text[: 2 * width].rsplit(" ", 1)[0] + ELLIPSIS
        return [(short, False)]
    first = matches[0]
    start = max(0, first.start() - width)
    end = min(len(text), first.end() + width)
    if start > 0:
        space = text.find(" ", start, first.start())
        start = space + 1 if space != -1 else start
    if end < len(text):
        space = text.rfind(" ", first.end(), end)
        end = space if space != -1 else end
    segments: list[tuple[str, bool]] = []
    cursor = start
    for match in matches:
        if match.start() < start or match.end() > end:
            continue
        if match.start() > cursor:
            segments.append((text[cursor : match.start()], False))
        segments.append((match.group(0), True))
        cursor = match.end()
    if cursor < end:
        segments.append((text[cursor:end], False))
    if start > 0:
        segments.insert(0, (ELLIPSIS, False))
    if end < len(text):
        segments.append((ELLIPSIS, False))
    return segments


def language_by_month(flagged: pd.DataFrame, *, months: Sequence[str], title: str) -> go.Figure:
    """Episodes with flagged language per month, stacked by risk level.

    Args:
        flagged: rows of ``assessment/flagged_language`` (reported_at, risk_level).
        months: the months to show (YYYY-MM): those the data covers; none
            gives the empty state.
        title: what, where, when.
    """
    if not months:
        return empty_figure(title)
    month_of = (
        pd.to_datetime(flagged["reported_at"]).dt.strftime("%Y-%m")
        if not flagged.empty
        else pd.Series(dtype=str)
    )
    x = pd.to_datetime(list(months), format="%Y-%m")
    total = 0
    fig = go.Figure(layout={**_titled(title, legend=True), "barmode": "stack"})
    for level, name, colour in RISK_LEVELS:
        rows = month_of[flagged["risk_level"] == level] if not flagged.empty else month_of
        counts = rows.value_counts()
        values = [int(counts.get(m, 0)) for m in months]
        total += sum(values)
        fig.add_trace(
            go.Bar(
                x=x,
                y=values,
                name=name,
                marker_color=colour,
                hovertemplate=f"%{{x|%b %Y}}: %{{y}} {name.lower()} episodes<extra></extra>",
            )
        )
    if total == 0:
        fig.add_annotation(
            text="No flagged language in these months",
            showarrow=False,
            x=0.5,
            y=0.5,
            xref="paper",
            yref="paper",
        )
    most = max((sum(t.y[i] for t in fig.data) for i in range(len(months))), default=0)
    fig.update_yaxes(title_text="episodes flagged", rangemode="tozero", tickformat=",d", **count_ticks(most))
    fig.update_xaxes(**month_ticks(months[0], months[-1]))
    return fig


BACKLOG_BANDS = (
    ("0-7", "0–7 days"),
    ("8-28", "8–28 days"),
    ("29-90", "29–90 days"),
    ("over 90", "Over 90 days"),
)


def mash_backlog(backlog: pd.DataFrame, *, title: str) -> go.Figure:
    """MASH referrals open at the period end by how long they have been open, stacked by risk level.

    Args:
        backlog: rows of ``assessment/mash_backlog``: risk_level, age_band, n_open.
        title: what, where, when.
    """
    if backlog.empty:
        return empty_figure(title)
    total = _count(backlog, "n_open")
    high = _count(backlog[backlog["risk_level"] == "high"], "n_open")
    title = with_notes(title, f"{_plural(total, 'referral')} open, {high:,} high risk")
    labels = [label for _band, label in BACKLOG_BANDS]
    fig = go.Figure(layout={**_titled(title, legend=True), "barmode": "stack"})
    for level, name, colour in RISK_LEVELS:
        rows = backlog[backlog["risk_level"] == level].set_index("age_band")["n_open"]
        fig.add_trace(
            go.Bar(
                x=labels,
                y=[int(rows.get(band, 0)) for band, _label in BACKLOG_BANDS],
                name=name,
                marker_color=colour,
                hovertemplate=f"Open %{{x}}: %{{y}} {name.lower()}<extra></extra>",
            )
        )
    totals = backlog.groupby("age_band")["n_open"].sum()
    for band, label in BACKLOG_BANDS:
        fig.add_annotation(
            x=label,
            y=int(totals.get(band, 0)),
            text=f"{int(totals.get(band, 0)):,}",
            showarrow=False,
            yshift=10,
        )
    ticks = count_ticks(totals.max())
    fig.update_yaxes(title_text="referrals open", rangemode="tozero", tickformat=",d", **ticks)
    fig.update_xaxes(title_text="time open at the end of the period")
    return fig


# --- Investigation: IMPACT caseload, drift by team.


def impact_caseload(
    caseload: pd.DataFrame,
    *,
    title: str,
    staffing_reason: str | None = None,
    highlight_month: str | None = None,
) -> go.Figure:
    """Open IMPACT cases (top panel) over IMPACT officers and cases per officer (lower panel), by month.

    Two stacked panels sharing the months, not two y axes on one panel.

    Args:
        caseload: rows of ``investigation/impact_caseload``: month, open_cases,
            officers_fte, cases_per_officer.
        title: what, where, when.
        staffing_reason: why officers are missing (e.g. an LPA filter), shown in the lower panel.
        highlight_month: a month (YYYY-MM) the page is narrowed to, shaded.
    """
    if caseload.empty or caseload["open_cases"].isna().all():
        return empty_figure(title)
    months = pd.to_datetime(caseload["month"])
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1)
    fig.add_trace(
        go.Bar(
            x=months,
            y=caseload["open_cases"].astype(object).where(caseload["open_cases"].notna(), None).tolist(),
            name="Open IMPACT cases (top panel)",
            marker_color=ACCENT,
            hovertemplate="%{x|%b %Y}: %{y:,} open IMPACT cases at month end<extra></extra>",
        ),
        row=1,
        col=1,
    )
    for column, name, colour, dash, symbol, hover in (
        ("officers_fte", "IMPACT officers, FTE (lower panel)", GREY, "dash", "square", "officers (FTE)"),
        (
            "cases_per_officer",
            "Cases per officer (lower panel)",
            OKABE_ITO[5],
            "solid",
            "circle",
            "cases per officer",
        ),
    ):
        values = caseload[column].astype(object).where(caseload[column].notna(), None).tolist()
        fig.add_trace(
            go.Scatter(
                x=months,
                y=values,
                mode="lines+markers",
                name=name,
                line={"color": colour, "dash": dash, "width": 2},
                marker={"symbol": symbol, "size": 7, "color": colour},
                connectgaps=False,
                hovertemplate=f"%{{x|%b %Y}}: %{{y:,.1f}} {hover}<extra></extra>",
            ),
            row=2,
            col=1,
        )
    if caseload["officers_fte"].isna().all():
        fig.add_annotation(
            text=staffing_reason or "No IMPACT staffing recorded for these months",
            showarrow=False,
            x=0.5,
            y=0.5,
            xref="x2 domain",
            yref="y2 domain",
            font={"size": 12},
        )
    if highlight_month:
        start = pd.Timestamp(highlight_month + "-01")
        for row in (1, 2):
            fig.add_vrect(
                x0=start - pd.Timedelta(days=14),
                x1=start + pd.Timedelta(days=14),
                fillcolor=HIGHLIGHT,
                opacity=0.6,
                line_width=0,
                layer="below",
                row=row,
                col=1,
            )
    fig.update_yaxes(title_text="open cases", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="officers · per officer", rangemode="tozero", row=2, col=1)
    fig.update_xaxes(**month_ticks(months.min().strftime("%Y-%m"), months.max().strftime("%Y-%m")))
    fig.update_layout(**_titled(title, legend=True))
    return fig


DRIFT_BANDS = (
    ("never reviewed", "Never reviewed", OKABE_ITO[5]),
    ("28-56 days", "Last review 28–56 days ago", OKABE_ITO[4]),
    ("57-90 days", "57–90 days ago", OKABE_ITO[0]),
    ("over 90 days", "Over 90 days ago", OKABE_ITO[3]),
)
TEAM_WORDS = {
    "impact": "IMPACT",
    "polit": "POLIT",
    "cait": "CAIT",
    "cid": "CID",
    "neighbourhood": "Neighbourhood",
}


def drift_by_team(drift: pd.DataFrame, *, title: str) -> go.Figure:
    """Drifting investigations at the period end per team, sorted, stacked by time since the last review.

    Args:
        drift: rows of ``investigation/drift_by_team``: team, review_band, n_drifting.
        title: what, where, when.
    """
    if drift.empty:
        return empty_figure(title)
    totals = drift.groupby("team")["n_drifting"].sum().sort_values(kind="stable")
    teams = list(totals.index)
    labels = [TEAM_WORDS.get(t, t) for t in teams]
    title = with_notes(title, f"{_plural(int(totals.sum()), 'investigation')} drifting")
    fig = go.Figure(layout={**_titled(title, legend=True), "barmode": "stack"})
    for band, name, colour in DRIFT_BANDS:
        rows = drift[drift["review_band"] == band].set_index("team")["n_drifting"]
        fig.add_trace(
            go.Bar(
                x=[int(rows.get(t, 0)) for t in teams],
                y=labels,
                orientation="h",
                name=name,
                marker_color=colour,
                hovertemplate=f"%{{y}}: %{{x}} drifting, {name[0].lower() + name[1:]}<extra></extra>",
            )
        )
    for label, total in zip(labels, totals, strict=True):
        fig.add_annotation(
            x=int(total), y=label, text=f"{int(total):,}", showarrow=False, xanchor="left", xshift=4
        )
    ticks = count_ticks(totals.max())
    fig.update_xaxes(title_text="investigations drifting (no review in 28 days)", rangemode="tozero", **ticks)
    fig.update_yaxes(title_text=None, automargin=True)
    return fig


# --- Managing risk: caseload per offender manager.

MANY_MANAGERS = 40


def manager_caseload(caseload: pd.DataFrame, *, title: str, threshold: float | None) -> go.Figure:
    """RSOs in the community per offender manager as horizontal bars, largest at the top, with the threshold.

    Args:
        caseload: rows of ``managing_risk/rso_caseload``: force, offender_manager_id, n_rso.
        title: what, where, when.
        threshold: the caseload above which a manager is over (drawn dashed; None = none).
    """
    if caseload.empty:
        return empty_figure(title)
    # Ascending: a horizontal bar chart draws its first row at the foot.
    rows = caseload.sort_values(["n_rso", "offender_manager_id"], ascending=[True, False], kind="stable")
    several_forces = rows["force"].nunique() > 1
    labels = [
        f"{force} {manager}" if several_forces else str(manager)
        for force, manager in zip(rows["force"], rows["offender_manager_id"], strict=True)
    ]
    counts = rows["n_rso"].astype(int).tolist()
    above = [threshold is not None and n > threshold for n in counts]
    if threshold is not None:
        title = with_notes(
            title, f"{sum(above):,} of {_plural(len(counts), 'offender manager')} above {threshold:g}"
        )
    fig = go.Figure(layout={**_titled(title, legend=threshold is not None), "barmode": "overlay"})
    groups = (
        ((True, f"Above {threshold:g}", FOCUS_COLOUR), (False, f"{threshold:g} or fewer", ACCENT))
        if threshold is not None
        else ((False, "RSOs in the community", ACCENT),)
    )
    for is_above, name, colour in groups:
        chosen = [i for i, a in enumerate(above) if a == is_above]
        fig.add_trace(
            go.Bar(
                x=[counts[i] for i in chosen],
                y=[labels[i] for i in chosen],
                orientation="h",
                name=name,
                marker_color=colour,
                hovertemplate="%{y}: %{x} RSOs in the community<extra></extra>",
            )
        )
    if threshold is not None:
        fig.add_vline(
            x=threshold,
            line=TARGET_LINE,
            annotation_text=f"Threshold {threshold:g}",
            annotation_position="bottom right",
        )
    fig.update_yaxes(
        categoryorder="array",
        categoryarray=labels,
        showticklabels=len(labels) <= MANY_MANAGERS,
        title_text=None if len(labels) <= MANY_MANAGERS else "offender managers (ids in the hover)",
        automargin=True,
        tickfont={"size": 11},
        dtick=1,
    )
    fig.update_xaxes(title_text="RSOs in the community per offender manager", rangemode="tozero")
    fig.update_layout(bargap=0.2)
    return fig


# --- Detention: appropriate-adult delay by custody suite.


def _hours_words(minutes: float) -> str:
    hours = minutes / 60
    return f"{hours:g} hour{'' if hours == 1 else 's'}" if minutes % 60 == 0 else format_minutes(minutes)


MAX_POINTS = 20_000


def aa_delay_box(
    delays: pd.DataFrame, *, title: str, line_min: float = 120, max_points: int = MAX_POINTS
) -> go.Figure:
    """Box plots of minutes from AA request to AA arrival per custody suite, every delay a point.

    Beyond ``max_points`` delays the boxes are drawn from their quartiles
    (computed here) without points, so the browser never gets a long list.

    Args:
        delays: rows of ``detention/aa_delay_by_suite``: custody_suite,
            status, aa_delay_min, n_detentions.
        title: what, where, when.
        line_min: a reference line (the 2 hours of aa_within_2h_pct).
    """
    if delays.empty:
        return empty_figure(title)
    usable = delays[delays["status"] == "usable"]
    suites = sorted(delays["custody_suite"].unique())

    def n_of(status: str, suite: str | None = None) -> int:
        rows = delays[delays["status"] == status]
        return _count(rows if suite is None else rows[rows["custody_suite"] == suite], "n_detentions")

    notes = [
        "No AA arrival recorded: " + ", ".join(f"{s} {n_of('not_recorded', s):,}" for s in suites)
        if n_of("not_recorded")
        else None
    ]
    if n_of("request_not_recorded"):
        notes.append(f"{n_of('request_not_recorded'):,} with no request time")
    if n_of("negative"):
        notes.append(f"{_plural(n_of('negative'), 'arrival')} before the request left out (data quality)")
    title = with_notes(title, *notes)
    if usable.empty:
        return empty_figure(title)
    n_values = _count(usable, "n_detentions")
    aggregate = n_values > max_points
    if aggregate:
        title = with_notes(title, f"points not drawn: more than {max_points:,} delays")
    fig = go.Figure(layout=_titled(title))
    for i, suite in enumerate(suites):
        rows = usable[usable["custody_suite"] == suite]
        values = np.repeat(rows["aa_delay_min"].to_numpy(float), rows["n_detentions"].to_numpy(int))
        if values.size == 0:
            continue
        label = f"{suite}<br>{values.size:,} timed · {n_of('not_recorded', suite):,} no AA arrival"
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        common = {"name": suite, "x0": label, "line": {"color": colour}, "showlegend": False}
        if aggregate:
            q1, median, q3 = np.quantile(values, [0.25, 0.5, 0.75])
            iqr = q3 - q1
            low = values[values >= q1 - 1.5 * iqr].min()
            high = values[values <= q3 + 1.5 * iqr].max()
            fig.add_trace(
                go.Box(
                    q1=[q1],
                    median=[median],
                    q3=[q3],
                    lowerfence=[low],
                    upperfence=[high],
                    marker={"color": colour},
                    **common,
                )
            )
        else:
            fig.add_trace(
                go.Box(
                    y=values.round(1),
                    boxpoints="all",
                    jitter=0.4,
                    pointpos=0,
                    marker={"color": colour, "size": 4, "opacity": 0.5},
                    hoveron="boxes+points",
                    **common,
                )
            )
    fig.add_hline(
        y=line_min,
        line=TARGET_LINE,
        annotation_text=_hours_words(line_min),
        annotation_position="top left",
    )
    fig.update_yaxes(title_text="minutes from request to AA arrival", rangemode="tozero")
    fig.update_xaxes(title_text=None)
    return fig
