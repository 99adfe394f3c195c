"""The Data quality page: is the data fit to judge performance by?

Four answers, each from ``queries/quality.py``: how fresh each table is, what goes
unrecorded (recording gaps), which records cannot be true (data errors, with the
records behind them), and what was loaded when (the ingest history and how to roll
back). Layouts never query; callbacks read the filter state, call one query
function and hand its DataFrame to a pure builder below.
"""

from __future__ import annotations

from pathlib import Path

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, dcc, html, no_update

import figures
from data.contract import TABLES, has_column
from figures.data_quality import errors_bar, gaps_heatmap, gaps_trend
from queries import DataError
from queries.quality import (
    CHECKS,
    GAP_COLUMNS,
    GAP_JUDGED_ON,
    KIND_FUTURE,
    KIND_LINK,
    can_roll_back,
    data_errors,
    error_records,
    ingest_history,
    kept_versions,
    recording_gaps,
    rollback_command,
    table_summary,
)
from ui.area_page import chart_graph_id, chart_title, graph_card
from ui.callbacks import audit_detail, dashboard_callback, records_or_note, user_may
from ui.filters import ID_STATE, FilterState, require_state
from ui.formatting import month_label
from ui.lazy_graph import figure_output
from ui.purpose import purpose_needed_alert
from ui.records import MAX_ROWS, records_grid
from ui.state import get_store

dash.register_page(__name__, path="/data-quality", name="Data quality", order=7)

ID_FILTER_NOTE = "data-quality-filter-note"
ID_TABLES = "data-quality-tables"
ID_GAPS_HEATMAP = chart_graph_id("data-quality-gaps-heatmap")
ID_GAPS_TREND = chart_graph_id("data-quality-gaps-trend")
ID_ERRORS_BAR = chart_graph_id("data-quality-errors-bar")
ID_ERRORS_TABLE = "data-quality-errors-table"
ID_CHECK = "data-quality-check"
ID_RECORDS = "data-quality-records"
ID_RECORDS_GRID = "data-quality-records-grid"
ID_HISTORY = "data-quality-history"

STATUS_WORDS = {
    "loaded": "Loaded",
    "refused": "Refused",
    "rolled back": "Rolled back",
    "interrupted": "Interrupted",
}
STATUS_COLOURS = {
    "loaded": "success",
    "refused": "danger",
    "rolled back": "warning",
    "interrupted": "secondary",
}
MAX_REASONS_SHOWN = 5
NO_DATA = figures.EMPTY_MESSAGE


def table_words(table: str | None) -> str:
    """A table name as words: ``custody_detentions`` → "custody detentions"."""
    return "all tables" if table is None else table.replace("_", " ")


def _tables_with(column: str) -> list[str]:
    return [t for t in TABLES if has_column(t, column)]


def _tables_without(column: str) -> list[str]:
    return [t for t in TABLES if not has_column(t, column)]


FILTERS_TEXT = (
    "The months and the force apply to every section but the ingest history. "
    f"LPA applies to every table except {', '.join(table_words(t) for t in _tables_without('lpa'))}; "
    f"local authority only to {', '.join(table_words(t) for t in _tables_with('local_authority'))}. "
    "A table's coverage and freshness describe the force's whole extract, whatever the months or area."
)


# --- layout (no data is read here) --------------------------------------------------


def _gap_rules() -> html.Details:
    items = [
        html.Li([html.Code(f"{table}.{column}"), f": {GAP_JUDGED_ON[(table, column)]}"])
        for table, column in GAP_COLUMNS
    ]
    return html.Details(
        [
            html.Summary("Which records each gap is judged on"),
            html.Ul(items, className="small mb-0"),
            html.P(
                "A null is a gap only once the value was due. Columns whose null means a state "
                "(still missing, open, not attended, still detained) are not gaps.",
                className="small text-body-secondary mb-0",
            ),
        ],
        className="mb-3",
    )


def layout(**_query):
    """Headings, explanations and empty containers; the callbacks below fill them."""
    check_options = [{"label": c.label, "value": c.id} for c in CHECKS.values()]
    return [
        html.H1("Data quality", className="h3"),
        html.P(
            "Is the data fit to judge performance by? How fresh each table is, what goes unrecorded, "
            "which records cannot be true, and what was loaded when.",
            className="text-body-secondary",
        ),
        html.P(FILTERS_TEXT, className="small"),
        html.Div(id=ID_FILTER_NOTE, **{"aria-live": "polite"}),
        html.H2("Tables", className="h5 mt-3"),
        dcc.Loading(html.Div(id=ID_TABLES), type="circle"),
        html.H2("Recording gaps", className="h5 mt-4"),
        html.P(
            "The share of records that leave a time the force should record blank "
            "(the contract's “null = not recorded”), by the month of the record. "
            "A blank cell is a month with no records, not 0%.",
            className="small text-body-secondary",
        ),
        dbc.Row(
            [
                graph_card(
                    ID_GAPS_HEATMAP,
                    "recording gaps by table column and month",
                    "Each cell: the month's share of records with the time not recorded; worst gaps first.",
                    height="420px",
                    xl=12,
                ),
                graph_card(
                    ID_GAPS_TREND,
                    "recording gaps by month",
                    "One line per column the contract marks “null = not recorded”.",
                    height="400px",
                    xl=12,
                ),
            ]
        ),
        _gap_rules(),
        html.H2("Data errors", className="h5 mt-4"),
        html.P(
            "Records no true record could be: times in the wrong order (negative intervals), rights given "
            "after the interview, times after now, and ids that do not link to their register. "
            "KPIs never use a negative interval; they are counted here instead.",
            className="small text-body-secondary",
        ),
        dbc.Row(
            [
                graph_card(
                    ID_ERRORS_BAR,
                    "data errors by check",
                    "Records found by each check in the period; the table below splits them by month.",
                    height="420px",
                    xl=12,
                ),
                dbc.Col(
                    dbc.Card(
                        dbc.CardBody(
                            [
                                html.H3("Errors by check and month", className="h6"),
                                dcc.Loading(html.Div(id=ID_ERRORS_TABLE), type="circle"),
                            ]
                        )
                    ),
                    xs=12,
                    className="mb-3",
                ),
            ]
        ),
        dbc.Row(
            dbc.Col(
                [
                    dbc.Label("Show the records of a check", html_for=ID_CHECK, className="form-label"),
                    dbc.Select(id=ID_CHECK, options=check_options, placeholder="Choose a check"),
                ],
                xs=12,
                md=8,
                lg=6,
            ),
            className="mb-2",
        ),
        records_or_note(dcc.Loading(html.Div(id=ID_RECORDS), type="circle")),
        html.H2("Ingest history", className="h5 mt-4"),
        html.P(
            "Every load and rollback, from the Load data page or `python -m data.ingest`, newest first, "
            "and the versions kept per table. Not filtered by months, force or area.",
            className="small text-body-secondary",
        ),
        dcc.Loading(html.Div(id=ID_HISTORY), type="circle"),
    ]


# --- pure builders: frames in, figures and components out ----------------------------


def filter_note(state: FilterState) -> dbc.Alert | None:
    """Which set filters some tables cannot apply (metrics.md: the page says so)."""
    notes = []
    if state.lpa:
        skipped = ", ".join(table_words(t) for t in _tables_without("lpa"))
        notes.append(f"LPA {state.lpa} is not applied to {skipped}: they have no LPA.")
    if state.local_authority:
        applied = ", ".join(table_words(t) for t in _tables_with("local_authority"))
        notes.append(f"Local authority {state.local_authority} is applied only to {applied}.")
    if not notes:
        return None
    return dbc.Alert([html.Div(n) for n in notes], color="info", className="small py-2")


def _plural(n, noun: str) -> str:
    return f"{int(n):,} {noun}{'' if n == 1 else 's'}"


def _scroll_region(content, label: str) -> html.Div:
    # A scrolling box must take keyboard focus (axe: scrollable-region-focusable).
    return html.Div(
        content,
        className="table-scroll table-responsive",
        tabIndex="0",
        role="region",
        **{"aria-label": label},
    )


def _date(value, with_time: bool = False) -> str:
    if value is None or pd.isna(value):
        return "—"
    return pd.Timestamp(value).strftime("%d %b %Y %H:%M" if with_time else "%d %b %Y")


def freshness_text(row, stale_after_days: int) -> tuple[str, bool | None]:
    """Staleness in words and whether it is stale (None when the table has no records).

    "Stale: latest record 63 days before today" when older than ``stale_after_days``.
    """
    if row["latest_at"] is None or pd.isna(row["latest_at"]):
        return "No records", None
    days = int(row["days_since_latest"])
    when = "today" if days == 0 else f"{days:,} day{'s' if days != 1 else ''} before today"
    if days > stale_after_days:
        return f"Stale: latest record {when}", True
    return f"Fresh: latest record {when}", False


def loaded_text(row) -> str:
    """When and how the table's current data arrived."""
    status = row.get("load_status")
    if status in ("loaded", "rolled back"):
        verb = "Loaded" if status == "loaded" else "Rolled back"
        who = f" by {row['loaded_by']}" if row.get("loaded_by") else ""
        return f"{verb} {_date(row['loaded_at'], with_time=True)}{who}"
    written = row.get("files_written_at")
    if written is None or pd.isna(written):
        return "No files"
    return f"Generated, not ingested (files written {_date(written, with_time=True)})"


def tables_view(summary: pd.DataFrame, *, stale_after_days: int) -> html.Div:
    """The per-table summary: rows, months covered, latest record and freshness, when loaded."""
    if summary.empty:
        return html.P(NO_DATA)
    header = html.Thead(
        html.Tr(
            [
                html.Th("Table", scope="col"),
                html.Th("Rows in period", scope="col", className="text-end"),
                html.Th("Rows, all months", scope="col", className="text-end"),
                html.Th("Months covered", scope="col"),
                html.Th("Latest record", scope="col"),
                html.Th("Freshness", scope="col"),
                html.Th("Loaded", scope="col"),
                html.Th("Filters applied", scope="col"),
            ]
        )
    )
    body = []
    for _, row in summary.iterrows():
        words, stale = freshness_text(row, stale_after_days)
        badge_colour = {True: "danger", False: "success", None: "secondary"}[stale]
        freshness = [
            dbc.Badge("Stale" if stale else "Fresh" if stale is False else "Empty", color=badge_colour)
        ]
        freshness.append(html.Span(f" {words}", className="small"))
        if row["rows_future"]:
            freshness.append(
                html.Div(
                    f"{_plural(row['rows_future'], 'record')} dated after today",
                    className="small fw-semibold",
                )
            )
        first, last = row["first_month"], row["last_month"]
        covered = "—" if first is None or pd.isna(first) else f"{month_label(first)} – {month_label(last)}"
        body.append(
            html.Tr(
                [
                    html.Th(table_words(row["table_name"]), scope="row"),
                    html.Td(f"{row['rows_in_period']:,}", className="text-end"),
                    html.Td(f"{row['rows_all']:,}", className="text-end"),
                    html.Td(covered),
                    html.Td(_date(row["latest_at"])),
                    html.Td(freshness, className="table-danger" if stale else None),
                    html.Td(loaded_text(row), className="small"),
                    html.Td(row.get("filters_applied") or "force", className="small"),
                ]
            )
        )
    caption = html.Caption(
        f"Stale means the latest record is more than {stale_after_days} days before today "
        "(quality.stale_after_days in the settings).",
        className="small",
    )
    table = dbc.Table(
        [caption, header, html.Tbody(body)], size="sm", responsive=True, className="quality-tables"
    )
    return html.Div(table)


def errors_table(errors: pd.DataFrame, *, months=None) -> html.Div:
    """Counts by check (rows) and month (columns); "–" where the check's table had no records that month."""
    if errors.empty:
        return html.P(NO_DATA)
    frame = errors.assign(month=pd.to_datetime(errors["month"]))
    axis = [pd.Timestamp(m) for m in months] if months is not None else sorted(frame["month"].unique())
    header = html.Thead(
        html.Tr(
            [html.Th("Check", scope="col"), html.Th("Table", scope="col")]
            + [html.Th(month_label(m), scope="col", className="text-end") for m in axis]
            + [html.Th("Total", scope="col", className="text-end")]
        )
    )
    body = []
    for check_id in dict.fromkeys(frame["check_id"]):
        rows = frame[frame["check_id"] == check_id].set_index("month")
        cells = []
        for m in axis:
            if m in rows.index:
                n = int(rows.at[m, "errors"])
                cells.append(html.Td(f"{n:,}", className="text-end" + (" fw-bold" if n else "")))
            else:
                cells.append(
                    html.Td("–", className="text-end text-body-secondary", title="No records this month")
                )
        total = int(rows["errors"].sum())
        body.append(
            html.Tr(
                [
                    html.Th(CHECKS[check_id].label, scope="row", className="fw-normal"),
                    html.Td(table_words(CHECKS[check_id].table), className="small"),
                    *cells,
                    html.Td(f"{total:,}", className="text-end" + (" fw-bold" if total else "")),
                ]
            )
        )
    table = dbc.Table([header, html.Tbody(body)], size="sm", striped=True, className="quality-errors mb-0")
    note = html.P(
        "“–”: the check's table holds no records that month (no data, not 0).",
        className="small text-body-secondary mb-0 mt-1",
    )
    return html.Div([_scroll_region(table, "Errors by check and month"), note])


def check_options(errors: pd.DataFrame) -> list[dict]:
    """The check choices with their findings in the period: "… (8)"."""
    totals = errors.groupby("check_id")["errors"].sum() if not errors.empty else pd.Series(dtype=int)
    return [{"label": f"{c.label} ({int(totals.get(c.id, 0)):,})", "value": c.id} for c in CHECKS.values()]


def worst_check(errors: pd.DataFrame) -> str:
    """The check with the most findings (the first check when none has any)."""
    if errors.empty or errors["errors"].sum() == 0:
        return next(iter(CHECKS))
    totals = errors.groupby("check_id")["errors"].sum()
    return max(CHECKS, key=lambda c: (totals.get(c, 0), -list(CHECKS).index(c)))


def records_frame(records: pd.DataFrame, check_id: str) -> pd.DataFrame:
    """The columns a reader needs for one check's records, named for the grid."""
    check = CHECKS[check_id]
    base = ["record_id", "force", "lpa", "local_authority", "event_at"]
    if check.kind == KIND_FUTURE:
        out = records[["record_id", "table_name", *base[1:], "first_column", "first_at"]].rename(
            columns={"first_column": "field", "first_at": "recorded_time"}
        )
    elif check.kind == KIND_LINK:
        linked = "rso_id" if check.table == "rso_breaches" else "crime_id"
        out = records[[*base, "linked_id"]].rename(columns={"linked_id": f"unlinked_{linked}"})
    else:
        out = records[[*base, "first_column", "first_at", "second_column", "second_at"]].rename(
            columns={
                "first_column": "should_come_first",
                "first_at": "first_time",
                "second_column": "should_come_second",
                "second_at": "second_time",
            }
        )
        out["minutes_out_of_order"] = -records["difference_min"].round(1)
    out = out.rename(columns={"event_at": "record_time"})
    return out[[c for c in out.columns if out[c].notna().any()]] if not out.empty else out


def records_view(records: pd.DataFrame, check_id: str, *, where: str) -> html.Div:
    """The records behind a check in the shared records grid (capped at MAX_ROWS)."""
    frame = records_frame(records, check_id)
    audit_detail(rows=min(len(frame), MAX_ROWS))
    return records_grid(
        frame.head(MAX_ROWS), ID_RECORDS_GRID, what=f"{CHECKS[check_id].label}, {where}", total=len(frame)
    )


def _reasons(reasons: list[str]) -> html.Ul | None:
    if not reasons:
        return None
    items = [html.Li(r) for r in reasons[:MAX_REASONS_SHOWN]]
    if len(reasons) > MAX_REASONS_SHOWN:
        items.append(html.Li(f"… and {len(reasons) - MAX_REASONS_SHOWN} more in the log"))
    return html.Ul(items, className="small mb-0 ps-3")


def outcome_text(entry) -> str:
    """One ingest attempt's outcome in words."""
    rows = entry.get("rows") or 0
    status = entry.get("status")
    if status == "loaded":
        return f"Loaded {rows:,} rows as version {entry.get('version')}"
    if status == "rolled back":
        return f"Rolled back to version {entry.get('version')} ({rows:,} rows)"
    if status == "interrupted":
        kept = entry.get("previous_version") or entry.get("version")
        return "Interrupted (cleaned up by the next load); the table stayed" + (
            f" at version {kept}" if kept else ""
        )
    rejected = entry.get("rejected_rows") or 0
    if rejected:
        return f"Refused: {rejected:,} of {rows:,} rows rejected; the table is unchanged"
    return "Refused; the table is unchanged"


def history_view(
    history: pd.DataFrame,
    versions: pd.DataFrame,
    commands: dict[str, str | None],
    *,
    data_dir: str,
    detail: bool = True,
) -> html.Div:
    """The ingest log (newest first), the versions kept per table and the rollback command.

    Args:
        history: :func:`queries.quality.ingest_history`.
        versions: :func:`queries.quality.kept_versions`.
        commands: table → the rollback command, or None when there is no earlier version.
        data_dir: the data folder, for the empty state.
        detail: show who loaded, the rejected values, file paths and the server's folder
            (administrators only: a rejected cell can hold a child's details, a path tells an
            attacker where the data lives).
    """
    if history.empty and versions.empty:
        return dbc.Alert(
            [
                html.Strong("No ingest log: this data was generated, not ingested. "),
                f"The folder {data_dir if detail else 'of extracts'} has no _ingest_log.jsonl, so its tables "
                "were written by the "
                "synthetic generator (or copied in by hand). Loads from the Load data page or "
                "python -m data.ingest, and rollbacks, are listed here.",
            ],
            color="secondary",
        )
    parts = []
    if history.empty:
        parts.append(html.P("The ingest log is empty.", className="small"))
    else:
        header = html.Thead(
            html.Tr(
                [
                    html.Th("When", scope="col"),
                    *([html.Th("By", scope="col")] if detail else []),
                    html.Th("Table", scope="col"),
                    html.Th("Outcome", scope="col"),
                    html.Th("Files", scope="col"),
                ]
            )
        )
        body = []
        for entry in history.to_dict("records"):
            status = entry.get("status")
            badge = dbc.Badge(
                STATUS_WORDS.get(status, str(status)),
                color=STATUS_COLOURS.get(status, "secondary"),
                className="me-1" + (" text-dark" if status == "rolled back" else ""),
            )
            outcome = [badge, html.Span(outcome_text(entry))]
            reasons = _reasons(entry.get("reasons") or [])
            if reasons is not None and status == "refused" and detail:
                outcome.append(reasons)
            body.append(
                html.Tr(
                    [
                        html.Td(_date(entry.get("at"), with_time=True)),
                        *([html.Td(entry.get("user") or "unknown")] if detail else []),
                        html.Td(table_words(entry.get("table"))),
                        html.Td(outcome),
                        html.Td(
                            ", ".join(f if detail else Path(f).name for f in entry.get("files") or []) or "—",
                            className="small",
                        ),
                    ]
                )
            )
        parts.append(html.H3("Loads and rollbacks", className="h6"))
        parts.append(
            _scroll_region(
                dbc.Table([header, html.Tbody(body)], size="sm", striped=True, className="ingest-history"),
                "Loads and rollbacks",
            )
        )
    parts.append(html.H3("Versions kept", className="h6 mt-3"))
    if versions.empty:
        parts.append(html.P("No table has a kept version yet.", className="small"))
    else:
        rows = []
        for table, kept in versions.groupby("table_name", sort=False):
            current = kept[kept["is_current"]]
            current_text = (
                f"{current.iloc[0]['version']} ({_rows_text(current.iloc[0]['rows'])})"
                if not current.empty
                else "a plain folder (not a kept version)"
            )
            command = commands.get(table)
            rows.append(
                html.Tr(
                    [
                        html.Th(table_words(table), scope="row"),
                        html.Td(f"{len(kept):,}", className="text-end"),
                        html.Td(current_text, className="small"),
                        html.Td(
                            (html.Code(command) if detail else "An administrator can roll back")
                            if command
                            else "No earlier version",
                            className="small",
                        ),
                    ]
                )
            )
        header = html.Thead(
            html.Tr(
                [
                    html.Th("Table", scope="col"),
                    html.Th("Versions kept", scope="col", className="text-end"),
                    html.Th("Current version", scope="col"),
                    html.Th("Roll back to the previous version (run in the dashboard's folder)", scope="col"),
                ]
            )
        )
        parts.append(
            dbc.Table([header, html.Tbody(rows)], size="sm", responsive=True, className="kept-versions")
        )
    return html.Div(parts)


def _rows_text(rows) -> str:
    return "rows unknown" if rows is None or pd.isna(rows) else f"{int(rows):,} rows"


# --- callbacks: read the state, query, build ------------------------------------------


def _where(state: FilterState) -> str:
    # chart_title's second line without its markup, for captions.
    return state.describe()


@dashboard_callback(
    Output(ID_FILTER_NOTE, "children"),
    Output(ID_TABLES, "children"),
    figure_output(ID_GAPS_HEATMAP),
    figure_output(ID_GAPS_TREND),
    figure_output(ID_ERRORS_BAR),
    Output(ID_ERRORS_TABLE, "children"),
    Output(ID_CHECK, "options"),
    Output(ID_CHECK, "value"),
    Input(ID_STATE, "data"),
    State(ID_CHECK, "value"),
    action="view data quality",
)
def update_data_quality(state_data, chosen_check):
    state = require_state(state_data)
    store = get_store()
    titles = (
        chart_title("Recording gaps: % of records with the time not recorded", state),
        chart_title("Recording gaps by month: % not recorded", state),
        chart_title("Data errors by check: records found", state),
    )
    try:
        summary = table_summary(store, state.period, state.filters)
        gaps = recording_gaps(store, state.period, state.filters)
        errors = data_errors(store, state.period, state.filters)
    except DataError as exc:
        alert = dbc.Alert(str(exc), color="danger")
        empty = [figures.empty_figure(t, str(exc)) for t in titles]
        return None, alert, *empty, None, no_update, no_update
    months = [pd.Timestamp(m) for m in state.period.month_labels()]
    # Until the reader picks a check, show the records of the one with the most findings.
    check = no_update if chosen_check in CHECKS else worst_check(errors)
    return (
        filter_note(state),
        tables_view(summary, stale_after_days=store.settings.stale_after_days),
        gaps_heatmap(gaps, title=titles[0], months=months),
        gaps_trend(gaps, title=titles[1], months=months),
        errors_bar(errors, title=titles[2]),
        errors_table(errors, months=months),
        check_options(errors),
        check,
    )


@dashboard_callback(
    Output(ID_RECORDS, "children"),
    Input(ID_CHECK, "value"),
    Input(ID_STATE, "data"),
    action="view data-quality records",
    records=True,
    without_purpose=purpose_needed_alert,
)
def update_error_records(check_id, state_data):
    state = require_state(state_data)
    audit_detail(check=check_id, filters=state.to_search())
    if check_id not in CHECKS:
        return html.P("Choose a check to see its records.")
    try:
        records = error_records(get_store(), check_id, state.period, state.filters)
    except DataError as exc:
        return dbc.Alert(str(exc), color="danger")
    return records_view(records, check_id, where=_where(state))


@dashboard_callback(
    Output(ID_HISTORY, "children"),
    Input(ID_STATE, "data"),
    action="view ingest history",
    # The ingest log records refused loads too, which leave the data version (the cache's key) as it was.
    cache=False,
)
def update_ingest_history(state_data):
    require_state(state_data)
    data_dir = get_store().data_dir
    versions = kept_versions(data_dir)
    commands = {
        table: rollback_command(data_dir, table) if can_roll_back(data_dir, table) else None
        for table in dict.fromkeys(versions["table_name"])
    }
    return history_view(
        ingest_history(data_dir), versions, commands, data_dir=str(data_dir), detail=user_may("admin")
    )
