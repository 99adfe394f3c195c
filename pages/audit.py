"""The Audit log page (administrators): search the log, check its hash chain, export a search as CSV.

The log itself is ``auth.audit``; this page only reads it (``search``, ``verify``,
``to_csv``). Inputs are checked here, on the server: a date that is not an ISO date,
or an outcome the log does not know, gives a message on the page, never an exception.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import NamedTuple

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html, no_update

from auth import audit
from ui.callbacks import audit_detail, dashboard_callback, user_may

dash.register_page(__name__, path="/audit", name="Audit log", order=8, role="admin")

ID_USER = "audit-user"
ID_ACTION = "audit-action"
ID_OUTCOME = "audit-outcome"
ID_SINCE = "audit-since"
ID_UNTIL = "audit-until"
ID_SEARCH = "audit-search"
ID_RESULTS = "audit-results"
ID_CHAIN = "audit-chain"
ID_EXPORT = "audit-export"
ID_EXPORT_NOTE = "audit-export-note"
ID_DOWNLOAD = "audit-download"

ROLE = "admin"
# Rows on screen: each cell is a Dash component, and 500 rows (6,000 of them) kept the
# browser busy for a minute; the CSV export holds the rest.
MAX_SHOWN = 100
MAX_EXPORTED = 100_000
MAX_TEXT = 100
ANY = "any"
OUTCOME_WORDS = {"done": "Done", "refused": "Refused", "failed": "Failed"}
# Words first; the colour only sits beside them (DESIGN.md). Dark text on amber for contrast.
OUTCOME_BADGES = {
    "done": {"color": "success"},
    "refused": {"color": "warning", "text_color": "dark"},
    "failed": {"color": "danger"},
}
COLUMNS = (
    ("at", "Time (UTC)"),
    ("user", "User"),
    ("role", "Role"),
    ("force", "Force"),
    ("client", "Client"),
    ("action", "Action"),
    ("page", "Page"),
    ("filters", "Filters"),
    ("drilldown", "Drill-down"),
    ("kpi", "KPI"),
    ("rows", "Rows"),
    ("purpose", "Purpose"),
    ("outcome", "Outcome"),
    ("duration_ms", "Duration (ms)"),
)
LONG_CELL = 160  # characters of a filters or drill-down cell shown; the whole value is its tooltip

ABOUT = (
    "Every sign-in, page view, records view, export, ingest and user change is logged here — refused "
    "and failed actions too — with who, when, from where and what was shown, as the Data Protection "
    "Act 2018, Part 3, s.62 asks. Each row carries the hash of the one before, so a changed or missing "
    "row breaks the chain."
)


# --- layout (no data is read here) --------------------------------------------------


def _field(label: str, control, control_id: str, **width) -> dbc.Col:
    return dbc.Col([dbc.Label(label, html_for=control_id), control], xs=12, **width)


def search_form() -> html.Div:
    """The search controls: user, action, outcome, from and to, and the Search and Export buttons."""
    outcomes = [{"label": "Any", "value": ANY}] + [
        {"label": word, "value": value} for value, word in OUTCOME_WORDS.items()
    ]
    fields = dbc.Row(
        [
            _field(
                "User (exact name)",
                dbc.Input(id=ID_USER, type="text", maxLength=MAX_TEXT, debounce=True, autocomplete="off"),
                ID_USER,
                md=6,
                lg=3,
            ),
            _field(
                "Action contains",
                dbc.Input(id=ID_ACTION, type="text", maxLength=MAX_TEXT, debounce=True, autocomplete="off"),
                ID_ACTION,
                md=6,
                lg=3,
            ),
            _field("Outcome", dbc.Select(id=ID_OUTCOME, options=outcomes, value=ANY), ID_OUTCOME, md=4, lg=2),
            _field("From", dbc.Input(id=ID_SINCE, type="date", debounce=True), ID_SINCE, md=4, lg=2),
            _field("To", dbc.Input(id=ID_UNTIL, type="date", debounce=True), ID_UNTIL, md=4, lg=2),
        ],
        className="g-2 mb-2",
    )
    buttons = html.Div(
        [
            dbc.Button("Search", id=ID_SEARCH, color="primary", n_clicks=0, className="me-2"),
            dbc.Button("Export CSV", id=ID_EXPORT, color="secondary", outline=True, n_clicks=0),
            html.Span(id=ID_EXPORT_NOTE, className="small ms-2", **{"aria-live": "polite"}),
            dcc.Download(id=ID_DOWNLOAD),
        ],
        className="mb-3",
    )
    # A search landmark, not a <form>: Enter in a box applies its value, never reloads the page.
    return html.Div([fields, buttons], role="search", **{"aria-label": "Search the audit log"})


def layout(**_query):
    """The heading, what the log is, the search form and empty containers the callbacks fill."""
    if not user_may(ROLE):
        return [html.H1("Audit log", className="h3"), html.P("This page is for administrators.")]
    return [
        html.H1("Audit log", className="h3"),
        html.P(ABOUT, className="text-body-secondary"),
        dcc.Loading(html.Div(id=ID_CHAIN, className="mb-2"), type="circle"),
        search_form(),
        dcc.Loading(html.Div(id=ID_RESULTS, **{"aria-live": "polite"}), type="circle"),
    ]


# --- inputs, checked on the server ---------------------------------------------------


# A NamedTuple, not a dataclass: Dash imports page modules without putting them in sys.modules,
# where a dataclass looks its annotations up.
class Search(NamedTuple):
    """A checked search (``query``), or the problems that stopped it (``problems``)."""

    query: audit.Query | None
    problems: tuple[str, ...] = ()


def _text(value, label: str, problems: list[str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"{label} must be text.")
        return None
    return value.strip()[:MAX_TEXT] or None


def _date(value, label: str, problems: list[str]) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    shown = str(value)[:40]
    problems.append(f"{label} “{shown}” is not a date: give it as YYYY-MM-DD, e.g. 2022-03-31.")
    return None


def parse_search(user, action, outcome, since, until, *, limit: int) -> Search:
    """Trim and cap the texts, read the dates as ISO dates, and check the outcome."""
    problems: list[str] = []
    user_text = _text(user, "User", problems)
    action_text = _text(action, "Action", problems)
    if outcome in (None, "", ANY):
        outcome_value = None
    elif isinstance(outcome, str) and outcome in OUTCOME_WORDS:
        outcome_value = outcome
    else:
        outcome_value = None
        problems.append("Outcome must be any, done, refused or failed.")
    since_date = _date(since, "From", problems)
    until_date = _date(until, "To", problems)
    if since_date and until_date and since_date > until_date:
        problems.append(f"From ({_day(since_date)}) is after To ({_day(until_date)}).")
    if problems:
        return Search(None, tuple(problems))
    query = audit.Query(
        user=user_text,
        action=action_text,
        outcome=outcome_value,
        since=since_date.isoformat() if since_date else None,
        # The last day there is has no day after it to search up to: it bounds nothing.
        until=until_date.isoformat() if until_date and until_date < date.max else None,
        limit=limit,
    )
    return Search(query)


def query_words(query: audit.Query) -> str:
    """The search in words, for captions and the audit row's filters."""
    parts = []
    if query.user:
        parts.append(f"user {query.user}")
    if query.action:
        parts.append(f"action containing “{query.action}”")
    if query.outcome:
        parts.append(f"outcome {query.outcome}")
    if query.since:
        parts.append(f"from {_day(date.fromisoformat(query.since))}")
    if query.until:
        parts.append(f"to {_day(date.fromisoformat(query.until))}")
    return ", ".join(parts) or "all rows"


def _query_filters(query: audit.Query) -> str:
    fields = {k: getattr(query, k) for k in ("user", "action", "outcome", "since", "until")}
    return json.dumps({k: v for k, v in fields.items() if v}, ensure_ascii=False)


# --- pure builders: rows in, components out -------------------------------------------


def _day(value: date) -> str:
    return f"{value.day} {value:%b %Y}"


def time_text(at: str | None) -> str:
    """``2022-03-31T14:05:09.123+00:00`` → "31 Mar 2022 14:05" (UTC, as stored)."""
    if not at:
        return "—"
    try:
        moment = datetime.fromisoformat(at).astimezone(UTC)
    except (TypeError, ValueError):
        return str(at)
    return f"{moment.day} {moment:%b %Y %H:%M}"


def _cell(value) -> str:
    if value is None or value == "":
        return "—"
    return str(value)


def _long_cell(value) -> html.Td:
    text = _cell(value)
    if len(text) <= LONG_CELL:
        return html.Td(text, className="small text-break")
    return html.Td(text[: LONG_CELL - 1] + "…", title=text, className="small text-break")


def outcome_badge(outcome: str | None) -> dbc.Badge:
    word = OUTCOME_WORDS.get(outcome or "", _cell(outcome))
    return dbc.Badge(word, **OUTCOME_BADGES.get(outcome or "", {"color": "secondary"}))


def _row(row: dict) -> html.Tr:
    cells = []
    for key, _label in COLUMNS:
        value = row.get(key)
        if key == "at":
            cells.append(html.Td(time_text(value), className="text-nowrap"))
        elif key == "outcome":
            cells.append(html.Td(outcome_badge(value)))
        elif key == "rows":
            cells.append(html.Td("—" if value is None else f"{int(value):,}", className="text-end"))
        elif key == "duration_ms":
            cells.append(html.Td("—" if value is None else f"{float(value):,.1f}", className="text-end"))
        elif key in ("filters", "drilldown"):
            cells.append(_long_cell(value))
        else:
            cells.append(html.Td(_cell(value), className="small"))
    return html.Tr(cells)


def results_caption(shown: int, more: bool, query: audit.Query) -> str:
    """How many rows matched and how many are shown."""
    where = query_words(query)
    if more:
        return (
            f"More than {MAX_SHOWN:,} rows match ({where}); the newest {shown:,} are shown, newest "
            f"first. Narrow the search, or export it as CSV (up to {MAX_EXPORTED:,} rows)."
        )
    noun = "row matches" if shown == 1 else "rows match"
    return f"{shown:,} {noun} ({where}), all shown, newest first."


def results_view(rows: list[dict], query: audit.Query) -> html.Div:
    """The matching rows as a table (the first ``MAX_SHOWN``), with a caption saying how many."""
    more = len(rows) > MAX_SHOWN
    rows = rows[:MAX_SHOWN]
    if not rows:
        return html.P(f"No rows match ({query_words(query)}).", className="audit-empty")
    header = html.Thead(
        html.Tr(
            [
                html.Th(label, scope="col", className="text-end" if key in ("rows", "duration_ms") else None)
                for key, label in COLUMNS
            ]
        )
    )
    table = dbc.Table(
        [
            html.Caption(results_caption(len(rows), more, query), className="small caption-top"),
            header,
            html.Tbody([_row(row) for row in rows]),
        ],
        size="sm",
        striped=True,
        className="audit-table mb-0",
    )
    # A scrolling box must take keyboard focus (axe: scrollable-region-focusable).
    return html.Div(
        table, className="table-responsive", tabIndex="0", role="region", **{"aria-label": "Audit log rows"}
    )


def problems_view(problems) -> dbc.Alert:
    return dbc.Alert(
        [html.P("The search could not run:", className="mb-1"), html.Ul([html.Li(p) for p in problems])],
        color="warning",
        className="audit-problems",
    )


def chain_view(result: audit.Verification):
    """ "The chain holds: N rows verified", or the first broken row as a danger alert."""
    if result.ok:
        noun = "row" if result.rows == 1 else "rows"
        return html.P(
            [
                dbc.Badge("Holds", color="success", className="me-2"),
                f"The chain holds: {result.rows:,} {noun} verified.",
            ],
            className="audit-chain-ok mb-0",
        )
    return dbc.Alert(
        f"Broken at row {result.first_broken_id}: {result.reason}.",
        color="danger",
        className="audit-chain-broken",
    )


def export_file_name(today: date | None = None) -> str:
    return f"audit-log-{(today or datetime.now(UTC).date()).isoformat()}.csv"


# --- callbacks ------------------------------------------------------------------------

SEARCH_INPUTS = (ID_USER, ID_ACTION, ID_OUTCOME, ID_SINCE, ID_UNTIL)


@dashboard_callback(
    Output(ID_RESULTS, "children"),
    *(Input(component, "value") for component in SEARCH_INPUTS),
    Input(ID_SEARCH, "n_clicks"),
    action="view audit log",
    role=ROLE,
)
def update_audit_results(user, action, outcome, since, until, _clicks):
    search = parse_search(user, action, outcome, since, until, limit=MAX_SHOWN + 1)
    if search.query is None:
        audit_detail(reason="; ".join(search.problems))
        return problems_view(search.problems)
    rows = audit.search(search.query)
    audit_detail(filters=_query_filters(search.query), rows=min(len(rows), MAX_SHOWN))
    return results_view(rows, search.query)


@dashboard_callback(
    Output(ID_CHAIN, "children"),
    Input(ID_SEARCH, "n_clicks"),
    action="view audit log chain",
    role=ROLE,
)
def update_audit_chain(_clicks):
    result = audit.verify()
    audit_detail(rows=result.rows)
    return chain_view(result)


@dashboard_callback(
    Output(ID_DOWNLOAD, "data"),
    Output(ID_EXPORT_NOTE, "children"),
    Input(ID_EXPORT, "n_clicks"),
    *(State(component, "value") for component in SEARCH_INPUTS),
    action="export audit log",
    role=ROLE,
    prevent_initial_call=True,
)
def update_audit_download(_clicks, user, action, outcome, since, until):
    search = parse_search(user, action, outcome, since, until, limit=MAX_EXPORTED)
    if search.query is None:
        audit_detail(reason="; ".join(search.problems))
        return no_update, "Not exported: " + " ".join(search.problems)
    rows = audit.search(search.query)
    audit_detail(filters=_query_filters(search.query), rows=len(rows))
    note = f"Exported {len(rows):,} row{'' if len(rows) == 1 else 's'} ({query_words(search.query)})."
    return dcc.send_string(audit.to_csv(rows), export_file_name(), type="text/csv"), note
