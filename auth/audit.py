"""The audit log: one row per action, append-only, hash-chained, shared by every process.

The Data Protection Act 2018, Part 3, s.62 asks that consultation and
disclosure of law-enforcement data be logged with who, when and why. Every
sign-in, page view, records view, download, export, ingest and user change
writes a row here — refused and failed actions too.

Tamper evidence: each row stores the SHA-256 of the previous row's hash and
its own fields (:func:`row_hash`); ``flask --app app audit verify`` recomputes
the chain and names the first row that no longer fits. SQLite triggers refuse
UPDATE and DELETE, so the application itself cannot rewrite history;
retention (:func:`prune`) removes the oldest rows and records the hash it
cut at, so the chain still verifies from there.

Retention applies itself (:func:`apply_retention`): each process asks at
start-up and then when a day has passed, and the first to ask prunes the rows
older than ``$CPD_AUDIT_RETENTION_DAYS`` (default six years) and writes an
"audit retention" row saying how many it removed. The time of the last run is
a row in the audit file itself, read and written in the prune's transaction,
so gunicorn workers sharing the file prune once a day between them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from auth import instance_dir, private_dir
from auth.db import connect, immediate
from exports.cells import inert_cell

FIELDS = (
    "at",
    "user",
    "role",
    "force",
    "client",
    "action",
    "page",
    "filters",
    "drilldown",
    "kpi",
    "rows",
    "purpose",
    "outcome",
    "duration_ms",
    "detail",
)
OUTCOMES = ("done", "refused", "failed")
GENESIS = "0" * 64
RETENTION_ENV = "CPD_AUDIT_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 2190  # six years; a force sets its own period, or "off" to keep every row
MIN_RETENTION_DAYS = 30  # the same floor as `audit prune`: a typo must not empty the log
RETENTION_INTERVAL = timedelta(days=1)
RETENTION_ACTION = "audit retention"

SCHEMA = f"""
create table if not exists audit (
    id integer primary key autoincrement,
    {
    ", ".join(
        f"{name} {'integer' if name == 'rows' else 'real' if name == 'duration_ms' else 'text'}"
        for name in FIELDS
    )
},
    prev_hash text not null,
    hash text not null
);
create index if not exists audit_at on audit (at);
create index if not exists audit_user_action on audit (user, action, at);
create index if not exists audit_client_action on audit (client, action, at);
create table if not exists audit_anchor (
    id integer primary key check (id = 1),
    first_id integer not null,
    prev_hash text not null
);
create table if not exists audit_retention (
    id integer primary key check (id = 1),
    last_run_at text not null
);
create trigger if not exists audit_no_update before update on audit
begin select raise(abort, 'the audit log is append-only'); end;
"""
# Deletion is refused except by prune(), which drops and re-creates this trigger in its transaction.
NO_DELETE = """
create trigger if not exists audit_no_delete before delete on audit
begin select raise(abort, 'the audit log is append-only'); end;
"""


def audit_path() -> Path:
    return private_dir(instance_dir()) / "audit.sqlite"


def _connect(path: Path | None):
    return connect(path or audit_path(), SCHEMA + NO_DELETE)


def row_hash(prev_hash: str, fields: Mapping[str, object]) -> str:
    """SHA-256 over the previous hash and the row's fields in a canonical JSON form."""
    body = json.dumps([prev_hash, [fields.get(name) for name in FIELDS]], ensure_ascii=False, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _clean(value: object, limit: int = 2000) -> object:
    if value is None or isinstance(value, int | float):
        return value
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def record(
    action: str,
    *,
    outcome: str = "done",
    user: str | None = None,
    role: str | None = None,
    force: str | None = None,
    client: str | None = None,
    page: str | None = None,
    filters: str | None = None,
    drilldown: str | None = None,
    kpi: str | None = None,
    rows: int | None = None,
    purpose: str | None = None,
    duration_ms: float | None = None,
    detail: Mapping | str | None = None,
    path: Path | None = None,
) -> int:
    """Append one row and return its id. Safe to call from several threads and processes at once."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome {outcome!r} is not one of {OUTCOMES}")
    fields = {
        "at": _timestamp(datetime.now(UTC)),
        "user": user,
        "role": role,
        "force": force,
        "client": client,
        "action": action,
        "page": page,
        "filters": filters,
        "drilldown": drilldown,
        "kpi": kpi,
        "rows": None if rows is None else int(rows),
        "purpose": purpose,
        "outcome": outcome,
        "duration_ms": None if duration_ms is None else round(float(duration_ms), 1),
        "detail": json.dumps(detail, ensure_ascii=False, default=str)
        if isinstance(detail, Mapping)
        else detail,
    }
    with _connect(path) as db, immediate(db):
        return _append(db, fields)


def _append(db, fields: Mapping[str, object]) -> int:
    """Insert one row chained to the last one; the caller holds the write transaction."""
    fields = {name: _clean(fields.get(name)) for name in FIELDS}
    last = db.execute("select hash from audit order by id desc limit 1").fetchone()
    if last:
        prev = last["hash"]
    else:
        anchor = db.execute("select prev_hash from audit_anchor").fetchone()
        prev = anchor["prev_hash"] if anchor else GENESIS
    cursor = db.execute(
        f"insert into audit ({', '.join(FIELDS)}, prev_hash, hash) values "
        f"({', '.join('?' for _ in FIELDS)}, ?, ?)",
        (*[fields[name] for name in FIELDS], prev, row_hash(prev, fields)),
    )
    return cursor.lastrowid


@dataclass(frozen=True)
class Verification:
    rows: int
    first_broken_id: int | None
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.first_broken_id is None


def verify(*, path: Path | None = None) -> Verification:
    """Recompute the chain; name the first row whose link or hash does not fit."""
    with _connect(path) as db:
        anchor = db.execute("select prev_hash from audit_anchor").fetchone()
        expected_prev = anchor["prev_hash"] if anchor else GENESIS
        count = 0
        previous_id = None
        for row in db.execute("select * from audit order by id"):
            count += 1
            if previous_id is not None and row["id"] != previous_id + 1:
                return Verification(count, row["id"], f"rows {previous_id + 1}–{row['id'] - 1} are missing")
            if row["prev_hash"] != expected_prev:
                return Verification(count, row["id"], "its link to the previous row does not match")
            if row_hash(row["prev_hash"], {name: row[name] for name in FIELDS}) != row["hash"]:
                return Verification(count, row["id"], "its contents were changed after it was written")
            expected_prev = row["hash"]
            previous_id = row["id"]
    return Verification(count, None, None)


@dataclass(frozen=True)
class Query:
    """A search of the log (all fields optional)."""

    user: str | None = None
    action: str | None = None
    outcome: str | None = None
    since: str | None = None  # ISO date, inclusive
    until: str | None = None  # ISO date, inclusive
    limit: int = 500


def search(query: Query, *, path: Path | None = None) -> list[dict]:
    """Rows matching ``query``, newest first (``action`` matches any action containing it)."""
    where, params = [], []
    if query.user:
        where.append("user = ?")
        params.append(query.user)
    if query.action:
        where.append("instr(action, ?) > 0")
        params.append(query.action)
    if query.outcome:
        where.append("outcome = ?")
        params.append(query.outcome)
    if query.since:
        where.append("at >= ?")
        params.append(query.since)
    if query.until:
        where.append("at < ?")
        params.append((datetime.fromisoformat(query.until) + timedelta(days=1)).date().isoformat())
    sql = "select * from audit" + (" where " + " and ".join(where) if where else "")
    sql += " order by id desc limit ?"
    params.append(max(1, min(int(query.limit), 100_000)))
    with _connect(path) as db:
        return [dict(row) for row in db.execute(sql, params)]


def count_recent(user: str, action_contains: str, seconds: int, *, path: Path | None = None) -> int:
    """How many done actions containing ``action_contains`` ``user`` took in the last ``seconds``."""
    since = (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat(timespec="milliseconds")
    with _connect(path) as db:
        row = db.execute(
            "select count(*) as n from audit where user = ? and at >= ? and instr(action, ?) > 0"
            " and outcome = 'done'",
            (user, since, action_contains),
        ).fetchone()
    return row["n"]


def failed_sign_ins_from(
    client: str, seconds: int, *, not_reason: str | None = None, limit: int = 1000, path: Path | None = None
) -> list[datetime]:
    """When ``client`` last failed a local sign-in, newest first, within the last ``seconds``.

    Every refused password sign-in counts, whatever account it named (a sprayer tries
    one password on many names); a refusal whose reason is ``not_reason`` does not.
    """
    since = _timestamp(datetime.now(UTC) - timedelta(seconds=seconds))
    with _connect(path) as db:
        rows = db.execute(
            # The detail is JSON for sign-ins; the CASE keeps another row's plain text from raising.
            "select at from (select at, case when json_valid(detail) then detail end as detail"
            " from audit where client = ? and action = 'sign in' and at >= ? and outcome = 'refused')"
            " where json_extract(detail, '$.source') = 'local'"
            " and coalesce(json_extract(detail, '$.reason'), '') != ?"
            " order by at desc limit ?",
            (client, since, not_reason or "", max(1, int(limit))),
        ).fetchall()
    return [datetime.fromisoformat(row["at"]) for row in rows]


def to_csv(rows: Iterable[Mapping]) -> str:
    """The rows as CSV; cells a spreadsheet would run as a formula are made inert."""
    out = io.StringIO()
    writer = csv.writer(out)
    columns = ("id", *FIELDS, "hash")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([inert_cell(row.get(name)) for name in columns])
    return out.getvalue()


def prune(older_than_days: int, *, path: Path | None = None) -> int:
    """Remove rows older than the retention period; the chain then verifies from the first kept row."""
    cutoff = _timestamp(datetime.now(UTC) - timedelta(days=older_than_days))
    with _connect(path) as db, immediate(db):
        return _prune(db, cutoff)


def _prune(db, cutoff: str) -> int:
    """Delete the rows written before ``cutoff`` and anchor the chain at the first kept row.

    The caller holds the write transaction: the trigger that refuses deletion is
    absent only inside it.
    """
    first_kept = db.execute("select id, prev_hash from audit where at >= ? order by id limit 1", (cutoff,))
    first_kept = first_kept.fetchone()
    if first_kept is None:
        last = db.execute("select id, hash from audit order by id desc limit 1").fetchone()
        if last is None:
            return 0
        first_id, prev = last["id"] + 1, last["hash"]
    else:
        first_id, prev = first_kept["id"], first_kept["prev_hash"]
    db.execute("drop trigger audit_no_delete")
    removed = db.execute("delete from audit where id < ?", (first_id,)).rowcount
    db.execute(NO_DELETE)
    if removed:
        db.execute(
            "insert or replace into audit_anchor (id, first_id, prev_hash) values (1, ?, ?)", (first_id, prev)
        )
    return removed


def retention_days() -> int | None:
    """The retention period from ``$CPD_AUDIT_RETENTION_DAYS``: days, or None for "off" (keep every row).

    Raises ValueError on anything else, or on fewer than ``MIN_RETENTION_DAYS``: a
    legal record's retention is not guessed at.
    """
    raw = os.environ.get(RETENTION_ENV, "").strip().lower()
    if not raw:
        return DEFAULT_RETENTION_DAYS
    if raw in ("off", "0", "none", "never"):
        return None
    try:
        days = int(raw)
    except ValueError:
        raise ValueError(f"{RETENTION_ENV}={raw!r}: give a number of days, or 'off'") from None
    if days < MIN_RETENTION_DAYS:
        raise ValueError(f"{RETENTION_ENV}={days}: at least {MIN_RETENTION_DAYS} days, or 'off'")
    return days


@dataclass(frozen=True)
class Retention:
    """What one call of :func:`apply_retention` did."""

    ran: bool  # False: another process (or this one) ran it less than a day ago
    removed: int
    next_due: datetime


def apply_retention(
    older_than_days: int,
    *,
    user: str | None = None,
    now: datetime | None = None,
    path: Path | None = None,
) -> Retention:
    """Prune rows older than ``older_than_days`` unless retention ran less than a day ago.

    One write transaction reads when retention last ran, prunes, writes the
    "audit retention" row (``rows`` = rows removed) and the new time, so of
    several processes asking at once exactly one prunes and the others see it done.
    """
    # At the log's own precision, so that the time returned is the time stored.
    now = datetime.fromisoformat(_timestamp(now or datetime.now(UTC)))
    with _connect(path) as db, immediate(db):
        last = db.execute("select last_run_at from audit_retention").fetchone()
        if last is not None:
            next_due = datetime.fromisoformat(last["last_run_at"]) + RETENTION_INTERVAL
            if now < next_due:
                return Retention(False, 0, next_due)
        cutoff = _timestamp(now - timedelta(days=older_than_days))
        removed = _prune(db, cutoff)
        _append(
            db,
            {
                "at": _timestamp(now),
                "user": user,
                "role": "server",
                "action": RETENTION_ACTION,
                "rows": removed,
                "outcome": "done",
                "detail": json.dumps(
                    {"older_than_days": older_than_days, "cutoff": cutoff, "pid": os.getpid()}
                ),
            },
        )
        db.execute(
            "insert or replace into audit_retention (id, last_run_at) values (1, ?)", (_timestamp(now),)
        )
    return Retention(True, removed, now + RETENTION_INTERVAL)
