"""The records view: the pseudonymised rows behind a chart, in a sortable, filterable grid.

Records never show more than the contract holds: the grid shows the columns a
records query returns, and those queries select contract columns (plus
derived intervals) only. A grid is capped at ``MAX_ROWS`` rows so that a
browser never receives a whole year of incidents; the caption says so and
how to narrow it.

Dates read as the design guide writes them ("31 Mar 2022", "31 Mar 2022 14:05"),
not mm/dd/yyyy: a cell keeps its value as ISO text (``2022-03-31T14:05:00``),
so the column sorts by time as plain text does, and an AG Grid valueFormatter
shows it in words (with d3's UTC formatters: the value is wall-clock time, so
no browser time zone or clock change may shift it). A column shows its times
only when one of them is not midnight. The column's filter and tooltip read
the same words, so typing "Mar 2022" keeps the rows of that month.
"""

from __future__ import annotations

import dash_ag_grid as dag
import pandas as pd
from dash import html

MAX_ROWS = 5000
# Words for the columns a reader meets most; anything else is de-snaked.
COLUMN_WORDS = {
    "lpa": "LPA",
    "rso_id": "RSO id",
    "pp_id": "PP id",
    "visor_updated": "ViSOR updated",
    "ppn_submitted": "PPN submitted",
    "ppn_submitted_at": "PPN submitted at",
    "csc_referral": "CSC referral",
    "csc_informed_at": "CSC informed at",
    "thrive_completed": "THRIVE completed",
    "thrive_reassessments": "THRIVE reassessments",
    "bwv_used": "BWV used",
    "kirat_completed": "KIRAT completed",
    "arms_required": "ARMS required",
    "arms_completed_date": "ARMS completed",
    "arms_due_date": "ARMS due",
    "aa_requested_at": "AA requested at",
    "aa_arrived_at": "AA arrived at",
    "aa_delay_min": "AA delay (min)",
    "officers_fte": "Officers (FTE)",
    # The columns queries.kpis.kpi_records(rows="kpi") adds; it gives the KPI's own words
    # for kpi_value ("Value measured: minutes from call to arrival") in .attrs["column_words"].
    "in_numerator": "Counts in numerator",
    "kpi_value": "Value measured",
}
# Columns a KPI's records add; a column of them that is empty for this KPI is left out.
KPI_COLUMNS = ("in_numerator", "kpi_value")
ISO_TEXT = "%Y-%m-%dT%H:%M:%S"
DATE_WORDS = "%-d %b %Y"  # 31 Mar 2022 (d3 and glibc strftime alike)
DATE_TIME_WORDS = "%-d %b %Y %H:%M"  # 31 Mar 2022 14:05


def column_label(name: str, overrides: dict[str, str] | None = None) -> str:
    """A column's header: the given words for it, else COLUMN_WORDS, else its name de-snaked."""
    if overrides and name in overrides:
        return overrides[name]
    if name in COLUMN_WORDS:
        return COLUMN_WORDS[name]
    words = name.replace("_", " ")
    return words[:1].upper() + words[1:]


def is_date_column(values: pd.Series) -> bool:
    return pd.api.types.is_datetime64_any_dtype(values.dtype)


def shows_time(values: pd.Series) -> bool:
    """Does a date column need its times: is any value not at midnight?"""
    moments = values.dropna()
    return bool((moments != moments.dt.normalize()).any())


def date_words_function(specifier: str, value: str = "params.value") -> dict:
    """An AG Grid function (valueFormatter and the like) writing ISO text ``value`` in words."""
    words = f"d3.utcFormat('{specifier}')(d3.utcParse('{ISO_TEXT}')({value}))"
    return {"function": f"{value} ? {words} : ''"}


def _column_def(name: str, values: pd.Series, words: dict[str, str] | None = None) -> dict:
    dtype = values.dtype
    definition = {"field": name, "headerName": column_label(name, words), "tooltipField": name}
    if pd.api.types.is_bool_dtype(dtype):
        definition["filter"] = "agTextColumnFilter"
    elif is_date_column(values):
        specifier = DATE_TIME_WORDS if shows_time(values) else DATE_WORDS
        # The value stays ISO text (sorted as text = by time); the reader sees words.
        definition.pop("tooltipField")
        definition.update(
            cellDataType="text",
            valueFormatter=date_words_function(specifier),
            tooltipValueGetter=date_words_function(specifier),
            filter="agTextColumnFilter",
            filterValueGetter=date_words_function(specifier, f"params.data['{name}']"),
        )
    elif pd.api.types.is_numeric_dtype(dtype):
        definition["filter"] = "agNumberColumnFilter"
        definition["type"] = "rightAligned"
    else:
        definition["filter"] = "agTextColumnFilter"
    return definition


def grid_rows(records: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready dicts: timestamps as ISO text, booleans as Yes/No, nulls as None."""
    out = records.copy()
    for name, dtype in out.dtypes.items():
        if pd.api.types.is_datetime64_any_dtype(dtype):
            out[name] = out[name].dt.strftime(ISO_TEXT)
        elif pd.api.types.is_bool_dtype(dtype) or str(dtype) == "boolean":
            out[name] = out[name].map({True: "Yes", False: "No"})
        elif pd.api.types.is_float_dtype(dtype):
            out[name] = out[name].round(1)
    out = out.astype(object).where(out.notna(), None)
    return out.to_dict("records")


def shown_columns(records: pd.DataFrame) -> pd.DataFrame:
    """The records without the KPI columns that say nothing for this KPI (all empty)."""
    empty = [c for c in KPI_COLUMNS if c in records.columns and records[c].isna().all()]
    return records.drop(columns=empty)


def records_scope(kpi_id: str, *, every_row: bool) -> str:
    """Which rows a records view (or download) holds: the KPI's own, or every row of its table."""
    from queries.kpis import catalog

    if not every_row:
        return "the rows the KPI counts"
    kpi = catalog().kpis[kpi_id]
    scope = "open at the end of the period" if kpi.kind == "snapshot" else "in the period"
    return f"every {catalog().queries[kpi.query].table} row {scope}"


def records_caption(shown: int, total: int, what: str) -> str:
    if total == 0:
        return f"No records: {what}."
    if total > shown:
        return (
            f"The first {shown:,} of {total:,} records: {what}. "
            "Narrow the months or filters, or click a month on the chart, to see the rest."
        )
    return f"{total:,} record{'s' if total != 1 else ''}: {what}."


def records_grid(
    records: pd.DataFrame,
    grid_id,
    *,
    what: str,
    total: int | None = None,
    column_words: dict[str, str] | None = None,
) -> html.Div:
    """A caption and an AG Grid of ``records`` (sortable, filterable, pinned first column).

    Args:
        records: the rows to show, already limited to what the contract holds.
        grid_id: the component id of the grid.
        what: which records these are, for the caption ("THRIVE completion, Dorset, Jan 2022").
        total: how many rows matched before the cap (default: the rows given).
        column_words: header words by column name, over COLUMN_WORDS (default: the
            records' own ``.attrs["column_words"]``, which kpi_records sets).
    """
    total = len(records) if total is None else total
    words = column_words if column_words is not None else records.attrs.get("column_words")
    caption = html.P(records_caption(len(records), total, what), className="small text-body-secondary mb-2")
    if records.empty:
        return html.Div([caption])
    records = shown_columns(records)
    column_defs = [_column_def(name, records[name], words) for name in records.columns]
    column_defs[0]["pinned"] = "left"
    grid = dag.AgGrid(
        id=grid_id,
        rowData=grid_rows(records),
        columnDefs=column_defs,
        defaultColDef={"sortable": True, "resizable": True, "floatingFilter": True, "minWidth": 110},
        dashGridOptions={
            "pagination": True,
            "paginationPageSize": 50,
            "animateRows": False,
            "enableCellTextSelection": True,
            "tooltipShowDelay": 400,
        },
        columnSize="autoSize",
        className="records-grid",
        style={"height": "480px"},
    )
    return html.Div([caption, grid])
