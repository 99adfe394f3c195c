"""The records view: the pseudonymised rows behind a chart, in a sortable, filterable grid.

Records never show more than the contract holds: the grid shows the columns a
records query returns, and those queries select contract columns (plus
derived intervals) only. A grid is capped at ``MAX_ROWS`` rows so that a
browser never receives a whole year of incidents; the caption says so and
how to narrow it.
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
}


def column_label(name: str) -> str:
    if name in COLUMN_WORDS:
        return COLUMN_WORDS[name]
    words = name.replace("_", " ")
    return words[:1].upper() + words[1:]


def _column_def(name: str, dtype) -> dict:
    definition = {"field": name, "headerName": column_label(name), "tooltipField": name}
    if pd.api.types.is_bool_dtype(dtype):
        definition["filter"] = "agTextColumnFilter"
    elif pd.api.types.is_numeric_dtype(dtype):
        definition["filter"] = "agNumberColumnFilter"
        definition["type"] = "rightAligned"
    elif pd.api.types.is_datetime64_any_dtype(dtype):
        definition["filter"] = "agDateColumnFilter"
    else:
        definition["filter"] = "agTextColumnFilter"
    return definition


def grid_rows(records: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready dicts: timestamps as 'YYYY-MM-DD HH:MM', booleans as Yes/No, nulls as None."""
    out = records.copy()
    for name, dtype in out.dtypes.items():
        if pd.api.types.is_datetime64_any_dtype(dtype):
            out[name] = out[name].dt.strftime("%Y-%m-%d %H:%M")
        elif pd.api.types.is_bool_dtype(dtype) or str(dtype) == "boolean":
            out[name] = out[name].map({True: "Yes", False: "No"})
        elif pd.api.types.is_float_dtype(dtype):
            out[name] = out[name].round(1)
    out = out.astype(object).where(out.notna(), None)
    return out.to_dict("records")


def records_caption(shown: int, total: int, what: str) -> str:
    if total == 0:
        return f"No records: {what}."
    if total > shown:
        return (
            f"The first {shown:,} of {total:,} records: {what}. "
            "Narrow the months or filters, or click a month on the chart, to see the rest."
        )
    return f"{total:,} record{'s' if total != 1 else ''}: {what}."


def records_grid(records: pd.DataFrame, grid_id, *, what: str, total: int | None = None) -> html.Div:
    """A caption and an AG Grid of ``records`` (sortable, filterable, pinned first column).

    Args:
        records: the rows to show, already limited to what the contract holds.
        grid_id: the component id of the grid.
        what: which records these are, for the caption ("THRIVE completion, Dorset, Jan 2022").
        total: how many rows matched before the cap (default: the rows given).
    """
    total = len(records) if total is None else total
    caption = html.P(records_caption(len(records), total, what), className="small text-body-secondary mb-2")
    if records.empty:
        return html.Div([caption])
    column_defs = [_column_def(name, dtype) for name, dtype in records.dtypes.items()]
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
