"""Disclosure control for figures leaving the force: small counts and the rates built on them.

One rule, used by every download and by the monthly pack: a count from 1 to 4
is shown as "<5" (0 is safe: it reveals no one), and a percentage or rate
whose denominator is under 5 is withheld, because with it a reader could work
a small count back out. The export says on its first page that it applied this.
"""

from __future__ import annotations

import math

SMALL_COUNT_MAX = 4
SUPPRESSED_COUNT = "<5"
WITHHELD = "withheld (n < 5)"
NOTE = (
    "Disclosure control applied: counts from 1 to 4 are shown as “<5” and percentages on fewer "
    "than 5 records are withheld, so that no child can be identified from this document."
)


def _is_small(value: object) -> bool:
    return isinstance(value, int | float) and not math.isnan(value) and 0 < value <= SMALL_COUNT_MAX


def control_count(value: object) -> object:
    """A count as it may leave the force: 1–4 becomes "<5"; anything else is unchanged."""
    return SUPPRESSED_COUNT if _is_small(value) else value


def control_value(value: object, denominator: object) -> object:
    """A percentage, rate or median as it may leave: withheld when it rests on fewer than 5 records."""
    if isinstance(denominator, int | float) and not math.isnan(denominator) and denominator < 5:
        return WITHHELD if denominator > 0 else value
    return value


def control_row(
    row: dict, *, counts: tuple[str, ...], value: str | None = None, denominator: str | None = None
) -> dict:
    """One table row with the rule applied: the named count columns, and the value by its denominator."""
    out = dict(row)
    if value and denominator:
        out[value] = control_value(row.get(value), row.get(denominator))
    for column in counts:
        out[column] = control_count(row.get(column))
    return out
