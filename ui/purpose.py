"""Why a user opens records: chosen once per session, logged with every records view.

The Data Protection Act 2018, Part 3, s.62 asks that a consultation of
law-enforcement data be logged with who, when *and why*. Before any
pseudonymised rows are shown, an officer picks a purpose from the force's list
(``[records] purposes`` in the settings) or gives one in words ("Other"). The
purpose is kept in the server-signed session (never taken from a request's
body) and written into the audit row of every records view.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
import flask
from dash import Input, Output, html

from ui.callbacks import RECORDS_ROLE, InputError, dashboard_callback, user_may
from ui.state import get_store

ID_PURPOSE = "records-purpose"
ID_PURPOSE_TEXT = "records-purpose-text"
ID_PURPOSE_STATUS = "records-purpose-status"
OTHER = "Other"
MAX_PURPOSE_CHARS = 200
NEEDED = "Choose why you are opening records (“Purpose for records”, under the filters) to see them."


# Kept on the server, by sign-in: a purpose written into the cookie session would be lost when a
# callback that started before it was chosen answers after it (every response re-sends the cookie).
SCHEMA = """
create table if not exists record_purposes (
    session_key text primary key,
    user text not null,
    purpose text not null,
    at text not null
);
"""


def _purposes_path():
    from auth import instance_dir, private_dir

    return private_dir(instance_dir()) / "purposes.sqlite"


def _session_key() -> str | None:
    if not flask.has_request_context():
        return None
    key = flask.session.get("sid")
    return key if isinstance(key, str) and key else None


def records_purpose() -> str | None:
    """The purpose this sign-in gave for viewing records, or None."""
    from auth.db import connect

    key = _session_key()
    if key is None:
        return None
    with connect(_purposes_path(), SCHEMA) as db:
        row = db.execute("select purpose from record_purposes where session_key = ?", (key,)).fetchone()
    return row["purpose"] if row else None


def set_records_purpose(purpose: str | None) -> None:
    """Keep (or with None, forget) this sign-in's purpose."""
    from datetime import UTC, datetime

    from auth.db import connect, immediate
    from auth.web import current_principal

    key = _session_key()
    if key is None:
        raise InputError("sign in again to give a purpose")
    principal = current_principal()
    with connect(_purposes_path(), SCHEMA) as db, immediate(db):
        if purpose is None:
            db.execute("delete from record_purposes where session_key = ?", (key,))
        else:
            db.execute(
                "insert or replace into record_purposes (session_key, user, purpose, at) values (?, ?, ?, ?)",
                (key, principal.name if principal else "", purpose, datetime.now(UTC).isoformat()),
            )


def purpose_needed_alert() -> dbc.Alert:
    return dbc.Alert(NEEDED, color="info", className="records-purpose-needed mb-0")


def layout() -> html.Div:
    """The purpose control, for users who may see records (nothing for the others)."""
    if not user_may(RECORDS_ROLE):
        return html.Div()
    choices = list(get_store().settings.records_purposes)
    current = records_purpose()
    chosen = current if current in choices else (OTHER if current else None)
    return html.Div(
        [
            dbc.Label("Purpose for records", html_for=ID_PURPOSE, className="small mb-0 me-2"),
            dbc.Select(
                id=ID_PURPOSE,
                options=[{"label": p, "value": p} for p in [*choices, OTHER]],
                value=chosen,
                placeholder="Choose why you open records",
                size="sm",
                style={"maxWidth": "18rem"},
            ),
            dbc.Label("Purpose in words", html_for=ID_PURPOSE_TEXT, className="visually-hidden"),
            dbc.Input(
                id=ID_PURPOSE_TEXT,
                placeholder="Say why (for Other)",
                value=current if chosen == OTHER else None,
                size="sm",
                maxLength=MAX_PURPOSE_CHARS,
                debounce=True,
                style={"maxWidth": "18rem"},
            ),
            html.Span(id=ID_PURPOSE_STATUS, className="small text-body-secondary", role="status"),
        ],
        className="d-flex flex-wrap align-items-center gap-2 mt-2 records-purpose",
    )


def resolve_purpose(choice: object, text: object, choices: tuple[str, ...]) -> str:
    """The purpose to record, from the select and the words; InputError when it is not usable."""
    if choice not in (*choices, OTHER):
        raise InputError("choose a purpose from the list")
    if choice != OTHER:
        return choice
    words = " ".join(str(text or "").split()) if isinstance(text, str | None) else ""
    if len(words) < 5:
        raise InputError("say in a few words why you are opening records")
    return f"Other: {words[:MAX_PURPOSE_CHARS]}"


@dashboard_callback(
    Output(ID_PURPOSE_STATUS, "children"),
    Input(ID_PURPOSE, "value"),
    Input(ID_PURPOSE_TEXT, "value"),
    action="set viewing purpose",
    role=RECORDS_ROLE,
)
def update_records_purpose(choice, text):
    """Keep the chosen purpose in the session (the audit row of this call names it too)."""
    if choice is None:
        current = records_purpose()
        return f"Records views are logged as: {current}." if current else ""
    try:
        purpose = resolve_purpose(choice, text, get_store().settings.records_purposes)
    except InputError as exc:
        set_records_purpose(None)
        return f"No records are shown until you {exc}."
    set_records_purpose(purpose)
    from ui.callbacks import audit_detail

    audit_detail(purpose=purpose)
    return f"Records views are logged as: {purpose}."
