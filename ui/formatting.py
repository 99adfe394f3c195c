"""Words and numbers as DESIGN.md writes them: "96.8%", "1,234", "2 h 15 min", "3.5 days", "Mar 2022"."""

from __future__ import annotations

import math
from datetime import datetime

NO_DATA = "no data"


def is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_minutes(minutes: float) -> str:
    """Minutes in the unit a reader thinks in: "45 min", "2 h 15 min", "1 day 3 h"."""
    minutes = round(minutes)
    if minutes < 60:
        return f"{minutes} min"
    hours, mins = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    days, hours = divmod(hours, 24)
    day_word = "day" if days == 1 else "days"
    return f"{days} {day_word} {hours} h" if hours else f"{days} {day_word}"


def format_value(value, unit: str) -> str:
    """A KPI value for display; "no data" when null."""
    if is_missing(value):
        return NO_DATA
    if unit == "pct":
        return f"{value:.1f}%"
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "min":
        return format_minutes(value)
    if unit == "days":
        return f"{value:,.1f} days"
    return f"{value:,.1f}"


def format_change(current, previous, unit: str) -> str:
    """The change since the previous period: "+2.3 pts", "−12", "no data"."""
    if is_missing(current) or is_missing(previous):
        return NO_DATA
    delta = current - previous
    if delta == 0:
        return "no change"
    sign = "+" if delta > 0 else "−"
    size = abs(delta)
    if unit == "pct":
        return f"{sign}{size:.1f} pts"
    if unit == "count":
        return f"{sign}{size:,.0f}"
    if unit == "min":
        return f"{sign}{format_minutes(size)}"
    if unit == "days":
        return f"{sign}{size:,.1f} days"
    return f"{sign}{size:,.1f}"


def format_target(target, comparison: str, unit: str) -> str:
    """A target in words: "≥ 95.0%", "≤ 50.0", "0"."""
    if target is None:
        return "No target"
    shown = format_value(target, unit)
    return f"{'≥' if comparison == '>=' else '≤'} {shown}"


def month_label(month: str | datetime) -> str:
    """'2022-03' (or a datetime) as 'Mar 2022'."""
    if isinstance(month, str):
        month = datetime.strptime(month[:7], "%Y-%m")
    return month.strftime("%b %Y")


def period_label(start_month: str, end_month: str) -> str:
    """'Apr 2021 – Mar 2022', or 'Mar 2022' for one month."""
    if start_month == end_month:
        return month_label(start_month)
    return f"{month_label(start_month)} – {month_label(end_month)}"
