"""Cells that a spreadsheet cannot run: the one rule for every CSV and XLSX the project writes."""

from __future__ import annotations

# A cell starting with one of these is a formula to Excel, LibreOffice or Sheets (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert_cell(value: object) -> object:
    """``value``, or for text that a spreadsheet would read as a formula, the text behind a quote.

    Numbers stay numbers (a negative interval is data, not a formula); only text is prefixed,
    as OWASP advises, so ``=HYPERLINK(...)`` opens as the literal text ``'=HYPERLINK(...)``.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
