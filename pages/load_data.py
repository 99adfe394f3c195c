"""The Load data page (analysts): upload a force's extract, see what it would change, then confirm.

A load from the browser is the command line's load (``data.ingest.ingest``) with the signed-in
user as its user, in three steps:

1. The file goes to ``POST /load-data/upload`` (its own size limit: a Dash callback body is
   capped at 1 MB for every request, and a file must not be held in a JSON string). The route
   saves it in a new background job's private folder (``ui.jobs``) and the job checks it: the
   same reading, validation and plan as ``--dry-run``, nothing written.
2. The page polls the job and shows the check: rows added, replaced and removed per force and
   month, or every refusal with its file, row and column. The job keeps the file and waits.
3. Confirm loads that same file, refusing if the table changed since the check (so the load
   does what the summary said); Cancel, a new file or half an hour without an answer ends the
   job. However it ends, the uploaded file and its rejected rows are deleted.

The job's status lives on disk, so under gunicorn any worker answers the poll, and the answer
(confirm or cancel) is a file in the job's folder that the job's own thread picks up.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path
from typing import NamedTuple

import dash
import dash_bootstrap_components as dbc
import flask
from dash import ClientsideFunction, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate
from werkzeug.exceptions import RequestEntityTooLarge, Unauthorized

from auth import AccessDenied, audit
from auth.web import client_address, current_principal
from data import ingest
from data.contract import TABLES
from ui import jobs
from ui.callbacks import (
    InputError,
    audit_detail,
    dashboard_callback,
    record_action,
    require_principal,
    user_may,
)
from ui.formatting import month_label
from ui.progress import progress_bar
from ui.state import get_store

ROLE = "analyst"
PATH = "/load-data"
dash.register_page(__name__, path=PATH, name="Load data", order=9, role=ROLE)

ID_TABLE = "load-data-table"
ID_MODE = "load-data-mode"
ID_UPLOAD = "load-data-upload"
ID_FILE_INPUT = "load-data-file"  # the upload's own <input type=file>, named by assets/load-data.js
ID_SHEET = "load-data-sheet"
ID_SHEET_BOX = "load-data-sheet-box"
ID_ENCODING = "load-data-encoding"
ID_DATE_FORMAT = "load-data-date-format"
ID_EXTRA_COLUMNS = "load-data-extra-columns"
ID_LIMIT = "load-data-limit"
ID_JOB = "load-data-job"  # what the upload route answered: {"job": id} or {"message": why not}
ID_ANSWER = "load-data-answer"  # the user's confirm or cancel, as the callbacks recorded it
ID_SEEN = "load-data-seen"  # the job the page shows and what it last showed of it
ID_POLL = "load-data-poll"
ID_PROGRESS_BOX = "load-data-progress-box"
ID_PROGRESS = "load-data-progress"
PROGRESS_LABEL = "File checked or loaded so far"
ID_MESSAGE = "load-data-message"
ID_SUMMARY = "load-data-summary"
ID_CHANGES = "load-data-changes"
ID_ACTIONS = "load-data-actions"
ID_CONFIRM = "load-data-confirm"
ID_CANCEL = "load-data-cancel"

UPLOAD_PATH = "/load-data/upload"
UPLOAD_HEADER = "X-Load-Data"  # a custom header: a cross-site form cannot send one
MAX_UPLOAD_ENV = "CPD_UPLOAD_MAX_MB"
DEFAULT_MAX_UPLOAD_MB = 50  # Dorset's three years of incidents (54,267 rows) are 7.6 MB of CSV
CHUNK_BYTES = 1 << 20
ANSWER_WAIT_S = 30 * 60  # a check waits this long for Confirm before it ends and deletes the file
ANSWER_POLL_S = 0.2
RECEIVE_WAIT_S = 600.0  # how long a job waits for its file to arrive through the route
REPLACE_WAIT_S = 15.0  # how long a new upload waits for the user's previous check to end
POLL_MS = 500
WAITING_POLL_MS = 5000  # while the check waits for the user: Confirm itself triggers the next poll
DRY_RUN_DONE = ingest.DRY_RUN_STEPS  # the check's steps: all done means it waits for an answer
MAX_SHOWN_PROBLEMS = 30
MAX_SHOWN_CHANGES = 120
UPLOAD_STEM = "upload"  # the file is saved under this name (plus its own suffix), never the user's

CHECK_FILE = "check.json"
RESULT_FILE = "result.json"
ANSWER_FILE = "answer.json"
REFRESH, REPLACE_ALL = "refresh", "replace all"
MODES = {
    REFRESH: "Monthly refresh: replace only the months and forces the file covers (keep every other row)",
    REPLACE_ALL: "Replace the whole table with the file's rows",
}
# dbc.Select shows no label for an option whose value is "": the defaults have a name.
DEFAULT_ENCODING, ISO_DATES = "utf-8", "iso"
ENCODINGS = {
    DEFAULT_ENCODING: "UTF-8 (the default; Excel: CSV UTF-8)",
    "cp1252": "Windows-1252 (Excel's plain CSV)",
    "latin-1": "Latin-1 (ISO 8859-1)",
    "utf-16": "UTF-16",
}
DATE_FORMAT_WORDS = {ISO_DATES: "ISO 8601 only (2022-10-01 13:05)", **{k: k for k in ingest.DATE_FORMATS}}
# The command line's flags, in ingest's messages, as this page's controls (the messages are the
# command line's, so that both say the same; only the way to act on them differs).
FLAG_WORDS = (
    (re.compile(r"load with --replace-all to swap the whole table"), 'choose "Replace the whole table"'),
    (re.compile(r"--replace-all"), '"Replace the whole table"'),
    (re.compile(r"with --encoding \(e\.g\. --encoding ([\w-]+)\)"), r'with the "Encoding" choice (e.g. \1)'),
    (re.compile(r"--encoding( [\w-]+)?"), 'the "Encoding" choice'),
    (re.compile(r"--date-format( [\w/.-]+)?( \(or [\w/.-]+\))?"), 'the "Date format" choice'),
    (re.compile(r"--sheet( NAME)?"), 'the "Sheet" choice'),
    (re.compile(r"--ignore-extra-columns"), 'the "Load without unknown columns" choice'),
    (re.compile(r" \(or raise --max-removed-share\)"), ""),
    (re.compile(r" \(or wait longer with --wait SECONDS\)"), ""),
    (re.compile(r" beyond those --keep keeps"), " beyond those kept"),
)


def max_upload_bytes() -> int:
    """The largest file one upload may be (``CPD_UPLOAD_MAX_MB``, default 50 MB)."""
    try:
        return int(float(os.environ.get(MAX_UPLOAD_ENV, DEFAULT_MAX_UPLOAD_MB)) * 1_000_000)
    except ValueError:
        return DEFAULT_MAX_UPLOAD_MB * 1_000_000


def page_words(text: str) -> str:
    """An ingest message with the command line's flags named as this page's controls."""
    for pattern, words in FLAG_WORDS:
        text = pattern.sub(words, text)
    return text


def _size_text(n_bytes: int) -> str:
    return f"{n_bytes / 1_000_000:,.1f} MB" if n_bytes >= 100_000 else f"{n_bytes:,} bytes"


# --- layout (no data is read here) --------------------------------------------------


DROP_ZONE = "border border-2 rounded p-4 text-center mb-3"


def _field(label: str, control, control_id: str, help_text: str | None = None, **width) -> dbc.Col:
    parts = [dbc.Label(label, html_for=control_id), control]
    if help_text:
        parts.append(dbc.FormText(help_text))
    return dbc.Col(parts, xs=12, **width)


def choices() -> html.Div:
    """What to load and how: the table, the kind of load, how to read the file, and the file."""
    tables = [
        {
            "label": f"{name.replace('_', ' ')} — {spec.description}" if spec.description else name,
            "value": name,
        }
        for name, spec in TABLES.items()
    ]
    suffixes = ", ".join(ingest.FILE_SUFFIXES)
    read_options = dbc.Row(
        [
            _field(
                "Encoding (CSV)",
                dbc.Select(
                    id=ID_ENCODING,
                    options=[{"label": v, "value": k} for k, v in ENCODINGS.items()],
                    value=DEFAULT_ENCODING,
                ),
                ID_ENCODING,
                "Never guessed: a file that is not in this encoding is refused.",
                md=4,
            ),
            _field(
                "Date format",
                dbc.Select(
                    id=ID_DATE_FORMAT,
                    options=[{"label": v, "value": k} for k, v in DATE_FORMAT_WORDS.items()],
                    value=ISO_DATES,
                ),
                ID_DATE_FORMAT,
                "For dates not in ISO 8601; day and month are never guessed.",
                md=4,
            ),
            dbc.Col(
                [
                    dbc.Label("Sheet (XLSX)", html_for=ID_SHEET),
                    dbc.Select(id=ID_SHEET, options=[]),
                    dbc.FormText("Asked for when a workbook has several sheets."),
                ],
                id=ID_SHEET_BOX,
                className="d-none",
                xs=12,
                md=4,
            ),
        ],
        className="g-3 mb-3",
    )
    return html.Div(
        [
            dbc.Row(
                [
                    _field(
                        "Table",
                        dbc.Select(id=ID_TABLE, options=tables, value=next(iter(TABLES))),
                        ID_TABLE,
                        md=6,
                    ),
                    dbc.Col(
                        [
                            dbc.Label("Kind of load", html_for=ID_MODE),
                            dbc.RadioItems(
                                id=ID_MODE,
                                options=[{"label": v, "value": k} for k, v in MODES.items()],
                                value=REFRESH,
                            ),
                        ],
                        xs=12,
                        md=6,
                    ),
                ],
                className="g-3 mb-3",
            ),
            read_options,
            dbc.Checklist(
                id=ID_EXTRA_COLUMNS,
                options=[
                    {"label": "Load without unknown columns (columns the contract does not know)", "value": 1}
                ],
                value=[],
                switch=True,
                className="mb-3",
            ),
            dbc.Label("File", html_for=ID_FILE_INPUT),
            dcc.Upload(
                id=ID_UPLOAD,
                children=html.Div(
                    [
                        html.Span("Drag the extract here or "),
                        html.Span("choose a file", className="text-decoration-underline text-primary"),
                        html.Div(
                            f"CSV, XLSX or parquet ({suffixes}); up to {_size_text(max_upload_bytes())}. "
                            "Nothing is loaded until you confirm.",
                            className="small text-body-secondary",
                        ),
                    ]
                ),
                accept=",".join(ingest.FILE_SUFFIXES),
                multiple=False,
                className=f"{DROP_ZONE} bg-body-tertiary",
                className_active=f"{DROP_ZONE} border-primary bg-primary-subtle",
            ),
        ]
    )


def layout(**_query):
    """The choices, the upload and the empty panels the callbacks fill."""
    title = html.H1("Load data", className="h3")
    if not user_may(ROLE):
        return [title, html.P("This page is for analysts and administrators.")]
    return [
        title,
        html.P(
            "Load a force's extract into the dashboard. The file is checked first, with the same rules "
            "as python -m data.ingest, and nothing changes until you confirm what the check says it will "
            "do. Every load is recorded in the ingest history on the Data quality page.",
            className="text-body-secondary",
        ),
        choices(),
        dcc.Store(id=ID_LIMIT, data=max_upload_bytes()),
        dcc.Store(id=ID_JOB),
        dcc.Store(id=ID_ANSWER),
        dcc.Store(id=ID_SEEN),
        dcc.Interval(id=ID_POLL, interval=POLL_MS, disabled=True),
        html.Div(
            [html.Div(progress_bar(0, label=PROGRESS_LABEL, running=True), id=ID_PROGRESS, className="mb-2")],
            id=ID_PROGRESS_BOX,
            className="d-none",
        ),
        html.P(id=ID_MESSAGE, className="mb-2", role="status", **{"aria-live": "polite"}),
        html.Div(id=ID_SUMMARY, **{"aria-live": "polite"}),
        html.Div(
            [
                dbc.Button("Confirm and load", id=ID_CONFIRM, color="primary", n_clicks=0, className="me-2"),
                dbc.Button("Cancel", id=ID_CANCEL, color="secondary", outline=True, n_clicks=0),
            ],
            id=ID_ACTIONS,
            className="d-none mb-3",
        ),
        html.Div(id=ID_CHANGES),
    ]


# --- the upload route: the file into a job's folder, and the job that checks and loads it ---


class LoadChoice(NamedTuple):
    """What the user asked for with a file (from the upload's query string, checked here)."""

    table: str
    mode: str
    name: str
    suffix: str
    sheet: str | None
    encoding: str | None
    date_format: str | None
    ignore_extra_columns: bool

    @property
    def label(self) -> str:
        return f"{self.name} into {self.table.replace('_', ' ')}"


_SAFE_SUFFIX = re.compile(r"^\.[a-z0-9]{1,10}$")


def read_choice(args) -> LoadChoice:
    """The upload's query string as a :class:`LoadChoice`, or InputError saying what is wrong."""
    table = args.get("table", "")
    if table not in TABLES:
        raise InputError(f"Unknown table {table[:60]!r}: choose one of {', '.join(TABLES)}.")
    mode = args.get("mode", REFRESH)
    if mode not in MODES:
        raise InputError(f"Unknown kind of load {mode[:40]!r}.")
    # The name is the user's, for messages and the log only: it never becomes a path.
    name = Path(args.get("name", "").replace("\\", "/")).name
    name = re.sub(r"[\x00-\x1f\x7f-\x9f]", "", name).strip()[:150]
    if not name:
        raise InputError("The file has no name.")
    suffix = Path(name).suffix.lower()
    if suffix not in ingest.FILE_SUFFIXES or not _SAFE_SUFFIX.match(suffix):
        hint = " (save it as .xlsx)" if suffix == ".xls" else ""
        raise InputError(
            f"{name}: unsupported file type {suffix or '(none)'!r}{hint}: give CSV, XLSX or parquet "
            f"({', '.join(ingest.FILE_SUFFIXES)})."
        )
    sheet = args.get("sheet") or None
    encoding = args.get("encoding") or DEFAULT_ENCODING
    if encoding not in ENCODINGS:
        raise InputError(f"Unknown encoding {encoding[:40]!r}.")
    encoding = None if encoding == DEFAULT_ENCODING else encoding
    date_format = args.get("date_format") or ISO_DATES
    date_format = None if date_format == ISO_DATES else date_format
    if date_format is not None and date_format not in ingest.DATE_FORMATS:
        raise InputError(f"Unknown date format {date_format[:40]!r}.")
    return LoadChoice(
        table,
        mode,
        name,
        suffix,
        sheet[:200] if sheet else None,
        encoding,
        date_format,
        args.get("extra_columns") == "1",
    )


def _write_json(path: Path, data: dict) -> None:
    """Write whole and rename into place: a poll from another worker never reads half a file."""
    temporary = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
    temporary.write_text(json.dumps(data), encoding="utf-8")
    os.replace(temporary, path)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def job_folder(job_id: object, owner: str) -> tuple[dict, Path]:
    """The status and folder of ``owner``'s load job (JobNotFound for any other id)."""
    status = jobs.job_status(job_id, owner)
    if status.get("kind") != "load":
        raise jobs.JobNotFound("no such job")
    return status, jobs.jobs_dir() / status["id"]


class _Cancelled(Exception):
    """The user cancelled, or chose another file, while the file was being checked."""


def _changes(result: ingest.IngestResult) -> list[dict]:
    return [
        {
            "force": c.force,
            "month": c.month,
            "before": c.rows_before,
            "after": c.rows_after,
            "added": c.added,
            "replaced": c.replaced,
            "removed": c.removed,
        }
        for c in result.changes
    ]


def _summary(result: ingest.IngestResult) -> dict:
    """What the page shows of a check or a load: the summary's sentences and the slices."""
    lines = [line for line in result.summary_lines(limit=0) if not line.startswith("  ")]
    lines += [
        f"note: {label}: loaded without columns not in the contract: {', '.join(names)}"
        for label, names in result.ignored_columns.items()
    ]
    return {
        "ok": True,
        "lines": [page_words(line) for line in lines],
        "changes": _changes(result),
        "version": result.version,
        "previous_version": result.previous_version,
        "rows": result.rows,
        "table_rows": result.table_rows,
    }


def _refusal(exc: ingest.IngestError) -> dict:
    return {
        "ok": False,
        "message": page_words(exc.message),
        "errors": [page_words(e) for e in exc.errors if e != exc.message],
        "rows": exc.rows,
        "rejected_rows": exc.rejected_rows,
    }


def _sheet_names(path: Path) -> list[str] | None:
    """A workbook's sheets (None when it cannot be read: the check then says why, as ingest does)."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True)
    except Exception:  # not a workbook: ingest refuses it with its own message
        return None
    try:
        return list(book.sheetnames)
    finally:
        book.close()


def _wait_for_answer(folder: Path) -> str:
    deadline = time.monotonic() + ANSWER_WAIT_S
    while time.monotonic() < deadline:
        answer = _read_json(folder / ANSWER_FILE)
        if answer and answer.get("answer") in ("confirm", "cancel"):
            return answer["answer"]
        time.sleep(ANSWER_POLL_S)
    return "timeout"


def _audit_job(owner: dict, action: str, outcome: str, choice: LoadChoice, **detail) -> None:
    # The job runs after its request: the row names the user the route checked.
    audit.record(
        action,
        outcome=outcome,
        user=owner["name"],
        role=owner["role"],
        force=owner["force"],
        client=owner["client"],
        page=PATH,
        rows=detail.pop("rows", None),
        detail={"table": choice.table, "file": choice.name, "mode": choice.mode, **detail},
    )


def load_work(choice: LoadChoice, owner: dict, data_dir: Path, received: threading.Event, box: dict):
    """The job: wait for the file, check it, wait for Confirm, load it; always delete the file."""

    def work(progress: jobs.Progress) -> list[str]:
        folder = progress.folder
        upload = folder / f"{UPLOAD_STEM}{choice.suffix}"
        options = {
            "replace_all": choice.mode == REPLACE_ALL,
            "encoding": choice.encoding,
            "date_format": choice.date_format,
            "sheet": choice.sheet,
            "ignore_extra_columns": choice.ignore_extra_columns,
            "labels": [choice.name],
            "user": owner["name"],
            "role": owner["role"],
        }
        try:
            if not received.wait(RECEIVE_WAIT_S) or box.get("refused"):
                raise jobs.JobFailed(box.get("refused") or "The file did not arrive.")

            def checking(done: int, total: int, message: str) -> None:
                answer = _read_json(folder / ANSWER_FILE)
                if answer and answer.get("answer") == "cancel":
                    raise _Cancelled()
                progress.report(done, total, message)

            if choice.suffix in (".xlsx", ".xlsm") and not choice.sheet:
                sheets = _sheet_names(upload)
                if sheets and len(sheets) > 1:
                    _write_json(folder / CHECK_FILE, {"ok": False, "sheets": sheets, "message": ""})
                    listed = ", ".join(repr(s) for s in sheets)
                    raise jobs.JobFailed(
                        f"{choice.name} has {len(sheets)} sheets ({listed}): choose the one to load."
                    )
            try:
                checked = ingest.ingest(
                    data_dir, choice.table, [upload], dry_run=True, progress=checking, **options
                )
            except _Cancelled:
                raise jobs.JobFailed("Cancelled: nothing was loaded.") from None
            except ingest.IngestError as exc:
                _write_json(folder / CHECK_FILE, _refusal(exc))
                _audit_job(
                    owner, "load data check", "refused", choice, rows=exc.rows, reason=exc.message[:300]
                )
                raise jobs.JobFailed(page_words(exc.message)) from None
            _write_json(folder / CHECK_FILE, _summary(checked))
            _audit_job(owner, "load data check", "done", choice, rows=checked.rows)
            progress.report(DRY_RUN_DONE, DRY_RUN_DONE, "Checked: confirm to load it, or cancel")
            answer = _wait_for_answer(folder)
            if answer == "cancel":
                raise jobs.JobFailed("Cancelled: nothing was loaded.")
            if answer == "timeout":
                raise jobs.JobFailed("Not loaded: it was not confirmed within 30 minutes. Upload it again.")
            try:
                loaded = ingest.ingest(
                    data_dir,
                    choice.table,
                    [upload],
                    progress=progress.report,
                    expect_version=checked.previous_version,
                    **options,
                )
            except ingest.IngestError as exc:
                _write_json(folder / RESULT_FILE, _refusal(exc))
                raise jobs.JobFailed(page_words(exc.message)) from None
            _write_json(folder / RESULT_FILE, _summary(loaded))
            progress.report(ingest.LOAD_STEPS, ingest.LOAD_STEPS, "Loaded")
            return []
        finally:
            # The file and its rejected rows hold children's records: they go with the job.
            for path in folder.iterdir():
                if path.name.startswith(UPLOAD_STEM):
                    path.unlink(missing_ok=True)

    return work


def _end_waiting_checks(owner: str) -> None:
    """A new file replaces the user's check that waits for an answer (or is still running)."""
    deadline = time.monotonic() + REPLACE_WAIT_S
    for status in jobs.list_jobs(owner):
        if status["kind"] != "load" or status["state"] != jobs.RUNNING:
            continue
        folder = jobs.jobs_dir() / status["id"]
        answer = _read_json(folder / ANSWER_FILE)
        if answer and answer.get("answer") == "confirm":
            continue  # a confirmed load is never cancelled: start_job says it is still running
        _write_json(folder / ANSWER_FILE, {"answer": "cancel", "why": "another file was chosen"})
        try:
            while (
                time.monotonic() < deadline and jobs.job_status(status["id"], owner)["state"] == jobs.RUNNING
            ):
                time.sleep(0.1)
        except jobs.JobNotFound:
            pass


def remove_left_uploads() -> int:
    """Delete the uploaded files of load jobs that ended without deleting them (their process was
    killed): they hold children's records and must not wait a day for the job's folder to go."""
    removed = 0
    folder = jobs.jobs_dir()
    for status_path in folder.glob(f"*/{jobs.STATUS_FILE}") if folder.is_dir() else []:
        status = _read_json(status_path) or {}
        stale = time.time() - float(status.get("beat") or 0) > jobs.STALE_AFTER_S
        if status.get("kind") == "load" and (status.get("state") != jobs.RUNNING or stale):
            for path in status_path.parent.glob(f"{UPLOAD_STEM}*"):
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def _json(status: int, **body):
    response = flask.jsonify(body)
    response.status_code = status
    return response


def receive_upload():
    """``POST /load-data/upload?table=…&name=…``: the file as the body; answers {"job": id}.

    The role check and the audit row of a callback, by hand: this is a route, not a callback.
    """
    started = time.perf_counter()
    principal = current_principal()
    detail: dict = {}

    def answer(status: int, outcome: str, message: str | None = None, **body):
        if message:
            detail["reason"] = message[:300]
        duration = (time.perf_counter() - started) * 1000
        record_action(principal, "load data dry run", outcome, duration, detail, page=PATH)
        return _json(status, **({"message": message} if message else {}), **body)

    try:
        principal = require_principal(ROLE)
    except Unauthorized as exc:
        return answer(401, "refused", exc.description)
    except AccessDenied as exc:
        return answer(403, "refused", str(exc))
    if flask.request.headers.get(UPLOAD_HEADER) != "1":
        return answer(400, "refused", "Upload the file from the Load data page.")
    try:
        choice = read_choice(flask.request.args)
    except InputError as exc:
        return answer(400, "refused", str(exc))
    detail.update(table=choice.table, file=choice.name, mode=choice.mode)
    limit = max_upload_bytes()
    too_big = (
        f"{choice.name} is larger than {_size_text(limit)}, the most one upload may be: split it by months "
        "and load each part (a monthly refresh keeps the months a file does not cover). Nothing was loaded."
    )
    declared = flask.request.content_length
    if declared is not None and declared > limit:
        return answer(413, "refused", too_big)
    _end_waiting_checks(principal.name)
    remove_left_uploads()
    owner = {
        "name": principal.name,
        "role": principal.role,
        "force": principal.force,
        "client": client_address(),
    }
    received, box = threading.Event(), {}
    work = load_work(choice, owner, get_store().data_dir, received, box)
    try:
        job_id = jobs.start_job(
            "load",
            principal.name,
            work,
            label=f"Load of {choice.label}",
            detail={"table": choice.table, "file": choice.name, "mode": choice.mode},
        )
    except jobs.JobBusy:
        received.set()
        return answer(
            409,
            "refused",
            "Your previous file is still being loaded; wait for it to finish, then choose again.",
        )
    detail["job"] = job_id
    # Flask checks the body against the app's 1 MB limit when it is read: this route has its own.
    flask.request.max_content_length = limit + 1
    written = 0
    try:
        target = jobs.jobs_dir() / job_id / f"{UPLOAD_STEM}{choice.suffix}"
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            while chunk := flask.request.stream.read(CHUNK_BYTES):
                written += len(chunk)
                if written > limit:
                    box["refused"] = too_big
                    break
                out.write(chunk)
    except RequestEntityTooLarge:  # a body sent without its length, longer than the limit
        written = limit + 1
        box["refused"] = too_big
    except Exception as exc:  # a dropped connection, a full disk: the job ends and deletes what came
        box["refused"] = f"{choice.name} did not arrive whole ({type(exc).__name__}); send it again."
    finally:
        received.set()
    detail["bytes"] = written
    if "refused" in box:
        return answer(413 if written > limit else 400, "refused", box["refused"], job=job_id)
    return answer(200, "done", job=job_id)  # an empty file too: the check says so, in ingest's words


def _register_upload_route() -> None:
    # A page registers its own route: the upload belongs to this page, as its callbacks do. Dash
    # imports pages while the app is built, before the server answers its first request.
    try:
        server = dash.get_app().server
    except Exception:  # imported outside the app (a test of the helpers)
        return
    if "load_data_upload" not in server.view_functions:
        server.add_url_rule(UPLOAD_PATH, "load_data_upload", receive_upload, methods=["POST"])


_register_upload_route()


# --- what the page shows of a job (pure: status and files in, components out) ---------------


def changes_table(changes: list[dict]) -> html.Div:
    """The slices a load touches: force, month, rows before and after, added, replaced, removed."""
    head = ("Force", "Month", "Rows before", "Rows after", "Added", "Replaced", "Removed")
    header = html.Thead(
        html.Tr(
            [html.Th(h, scope="col", className="text-end" if i > 1 else None) for i, h in enumerate(head)]
        )
    )
    rows = []
    for change in changes[:MAX_SHOWN_CHANGES]:
        numbers = [change[k] for k in ("before", "after", "added", "replaced", "removed")]
        rows.append(
            html.Tr(
                [html.Td(change["force"]), html.Td(month_label(change["month"]))]
                + [html.Td(f"{n:,}", className="text-end") for n in numbers]
            )
        )
    parts = [
        dbc.Table([header, html.Tbody(rows)], size="sm", striped=True, className="load-data-changes mb-1")
    ]
    if len(changes) > MAX_SHOWN_CHANGES:
        parts.append(
            html.P(f"… and {len(changes) - MAX_SHOWN_CHANGES:,} more force-months.", className="small")
        )
    return html.Div(parts, className="table-responsive")


def _lines(lines: list[str]) -> list:
    return [html.P(line, className="mb-1") for line in lines]


def refusal_view(refusal: dict, *, heading: str) -> dbc.Alert:
    """Why a file was refused: the message and every problem (file, row, column), first ones first."""
    errors = refusal.get("errors") or []
    parts = [html.H2(heading, className="h6"), html.P(refusal.get("message"), className="mb-1")]
    if errors:
        parts.append(
            html.Ul(
                [html.Li(e) for e in errors[:MAX_SHOWN_PROBLEMS]], className="small mb-1 load-data-problems"
            )
        )
        if len(errors) > MAX_SHOWN_PROBLEMS:
            parts.append(
                html.P(f"… and {len(errors) - MAX_SHOWN_PROBLEMS:,} more problems.", className="small mb-1")
            )
    if "table is unchanged" not in (refusal.get("message") or ""):
        parts.append(html.P("The table is unchanged.", className="small mb-0"))
    return dbc.Alert(parts, color="danger", className="load-data-refusal")


def _area_link(table: str):
    """A link to the page whose charts read ``table`` (the first area of its KPIs), if there is one."""
    from queries.kpis import catalog

    areas = [c.kpis[k].area for c in [catalog()] for k in c.kpis if c.queries[c.kpis[k].query].table == table]
    paths = {page["path"]: page["name"] for page in dash.page_registry.values()}
    for area in areas:
        path = "/" + area.replace("_", "-")
        if path in paths:
            return dcc.Link(f"the {paths[path]} page", href=path)
    return None


def status_view(status: dict, check: dict | None, result: dict | None, table: str | None):
    """(summary, changes table, whether Confirm is offered) for a load job's status and its files."""
    state = status["state"]
    if result and result.get("ok"):
        where = [dcc.Link("the ingest history on the Data quality page", href="/data-quality")]
        area = _area_link(table) if table else None
        follow = ["The load is in ", *where, "."]
        if area is not None:
            follow += [" The charts show the new rows now, e.g. on ", area, "."]
        summary = dbc.Alert(
            [html.H2("Loaded", className="h6"), *_lines(result["lines"]), html.P(follow, className="mb-0")],
            color="success",
            className="load-data-result",
        )
        return summary, changes_table(result["changes"]), False
    if result:
        return refusal_view(result, heading="Not loaded"), None, False
    if check and check.get("ok"):
        waiting = state == jobs.RUNNING and status.get("done") == status.get("total") == DRY_RUN_DONE
        heading = "What this load would do" if state == jobs.RUNNING else "What the check found"
        summary = dbc.Alert(
            [
                html.H2(heading, className="h6"),
                *_lines(check["lines"]),
                html.P("Nothing has been loaded yet.", className="mb-0 fw-semibold") if waiting else None,
            ],
            color="info",
            className="load-data-check",
        )
        return summary, changes_table(check["changes"]), waiting
    if check and check.get("sheets"):
        return None, None, False
    if check:
        return refusal_view(check, heading="Not loaded: the file was refused"), None, False
    return None, None, False


# --- callbacks ----------------------------------------------------------------------------

dash.clientside_callback(
    ClientsideFunction(namespace="loadData", function_name="upload"),
    Output(ID_JOB, "data"),
    Input(ID_UPLOAD, "contents"),
    Input(ID_TABLE, "value"),
    Input(ID_MODE, "value"),
    Input(ID_SHEET, "value"),
    Input(ID_ENCODING, "value"),
    Input(ID_DATE_FORMAT, "value"),
    Input(ID_EXTRA_COLUMNS, "value"),
    State(ID_UPLOAD, "filename"),
    State(ID_LIMIT, "data"),
    prevent_initial_call=True,
)

HIDDEN, SHOWN, ACTIONS_SHOWN = "d-none", "", "mb-3"


@dashboard_callback(
    Output(ID_PROGRESS, "children"),
    Output(ID_PROGRESS_BOX, "className"),
    Output(ID_MESSAGE, "children"),
    Output(ID_SUMMARY, "children"),
    Output(ID_CHANGES, "children"),
    Output(ID_ACTIONS, "className"),
    Output(ID_SHEET, "options"),
    Output(ID_SHEET_BOX, "className"),
    Output(ID_POLL, "disabled"),
    Output(ID_POLL, "interval"),
    Output(ID_SEEN, "data"),
    Input(ID_JOB, "data"),
    Input(ID_ANSWER, "data"),
    Input(ID_POLL, "n_intervals"),
    State(ID_SEEN, "data"),
    State(ID_SHEET, "options"),
    action="load data progress",
    role=ROLE,
)
def update_load_progress(job_data, _answer, _ticks, seen, sheet_options):
    """The job's progress, its message and what its check or load found; polled while it runs."""
    principal = require_principal(ROLE)
    triggered = {t["prop_id"].split(".")[0] for t in dash.callback_context.triggered}
    seen = seen if isinstance(seen, dict) else {}
    if ID_JOB in triggered and isinstance(job_data, dict):
        if job_data.get("job") is None:  # the route refused the file before any job began
            message = str(job_data.get("message") or "The file could not be sent.")[:2000]
            alert = dbc.Alert(
                [html.H2("Not loaded", className="h6"), html.P(message, className="mb-0")],
                color="danger",
                className="load-data-refusal",
            )
            return (
                progress_bar(0, label=PROGRESS_LABEL, running=False),
                HIDDEN,
                "",
                alert,
                None,
                HIDDEN,
                sheet_options or [],
                HIDDEN if not sheet_options else SHOWN,
                True,
                POLL_MS,
                {},
            )
        job_id = job_data["job"]
    else:
        job_id = seen.get("job")
        if job_id is None:  # the page opened: show the user's load still running, if any
            running = [
                s
                for s in jobs.list_jobs(principal.name)
                if s["kind"] == "load" and s["state"] == jobs.RUNNING
            ]
            if not running:
                raise PreventUpdate
            job_id = running[0]["id"]
    try:
        status, folder = job_folder(job_id, principal.name)
    except jobs.JobNotFound:
        raise InputError("No such load: it ended more than a day ago, or it is not yours.") from None
    check, result = _read_json(folder / CHECK_FILE), _read_json(folder / RESULT_FILE)
    signature = [
        status["state"],
        status.get("done"),
        status.get("total"),
        status.get("message"),
        bool(check),
        bool(result),
    ]
    running = status["state"] == jobs.RUNNING
    if seen.get("job") == job_id and seen.get("signature") == signature and ID_JOB not in triggered:
        raise PreventUpdate  # nothing new: no new audit row for every tick of the poll
    audit_detail(job=job_id)
    table = (status.get("detail") or {}).get("table")
    summary, changes, may_confirm = status_view(status, check, result, table)
    total = status.get("total") or 1
    percent = round(100 * min(status.get("done") or 0, total) / total)
    if not running:
        percent = 100
    message = status.get("message") or ""
    if status["state"] == jobs.DONE:
        message = f"{status['label']}: done."
    elif status["state"] != jobs.RUNNING:
        refused = (result and not result.get("ok")) or (
            check and not check.get("ok") and not check.get("sheets")
        )
        # A refusal's message is in the box below, with its problems: the line says only the outcome.
        message = f"{status['label']}: not loaded." if refused else f"{status['label']}: {message}"
    sheets = (check or {}).get("sheets") or []
    options = [{"label": s, "value": s} for s in sheets] if sheets else (sheet_options or [])
    return (
        progress_bar(percent, label=PROGRESS_LABEL, running=running and not may_confirm),
        SHOWN if running or status["state"] == jobs.DONE else HIDDEN,
        message,
        summary,
        changes,
        ACTIONS_SHOWN if may_confirm else HIDDEN,
        options,
        SHOWN if options else HIDDEN,
        not running,
        WAITING_POLL_MS if may_confirm else POLL_MS,
        {"job": job_id, "signature": signature},
    )


def _answer_job(seen, answer: str) -> dict:
    principal = require_principal(ROLE)
    job_id = seen.get("job") if isinstance(seen, dict) else None
    try:
        status, folder = job_folder(job_id, principal.name)
    except jobs.JobNotFound:
        raise InputError("No such load: it ended more than a day ago, or it is not yours.") from None
    detail = status.get("detail") or {}
    audit_detail(job=status["id"], table=detail.get("table"), file=detail.get("file"))
    check = _read_json(folder / CHECK_FILE)
    if status["state"] != jobs.RUNNING:
        raise InputError("This load has ended: choose the file again.")
    if answer == "confirm" and not (check and check.get("ok")):
        raise InputError("This file has not passed its check: it cannot be loaded.")
    if _read_json(folder / ANSWER_FILE):
        raise PreventUpdate  # answered already (a double click)
    _write_json(folder / ANSWER_FILE, {"answer": answer, "by": principal.name, "at": time.time()})
    return {"job": status["id"], "answer": answer}


@dashboard_callback(
    Output(ID_ANSWER, "data", allow_duplicate=True),
    Input(ID_CONFIRM, "n_clicks"),
    State(ID_SEEN, "data"),
    action="load data",
    role=ROLE,
    prevent_initial_call=True,
)
def update_load_confirmed(clicks, seen):
    """Confirm: the job loads the file it checked (and refuses if the table changed since)."""
    if not clicks:
        raise PreventUpdate
    return _answer_job(seen, "confirm")


@dashboard_callback(
    Output(ID_ANSWER, "data", allow_duplicate=True),
    Input(ID_CANCEL, "n_clicks"),
    State(ID_SEEN, "data"),
    action="load data cancel",
    role=ROLE,
    prevent_initial_call=True,
)
def update_load_cancelled(clicks, seen):
    """Cancel: the job ends and deletes the file; nothing is loaded."""
    if not clicks:
        raise PreventUpdate
    return _answer_job(seen, "cancel")
