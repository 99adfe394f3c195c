"""Load a force's own extract (CSV, XLSX or parquet) into the data directory, all or nothing.

Validation uses pandera: its lazy validation reports every failing row and column at once, and
its schemas are built in code from ``data.contract``, so the contract is stated in one place.

Usage::

    python -m data.ingest --data DIR --table NAME FILE...                 a monthly refresh
    python -m data.ingest --data DIR --table NAME --replace-all FILE...   swap the whole table
    python -m data.ingest --data DIR --table NAME --dry-run FILE...       say what would change
    python -m data.ingest --data DIR --table NAME --rollback              the previous version

A load is a monthly refresh by default: the (force, month) slices its files cover (the month
of the table's coverage column) replace those slices and every other row is kept; it says, per
force and month, how many rows it adds, replaces and removes. A refresh is refused when a key
of the files is held by a row it keeps, or when it would remove more than ``MAX_REMOVED_SHARE``
of the table (``--max-removed-share``); ``--replace-all`` swaps the whole table and names the
months that go. ``--dry-run`` prints the same and writes nothing in DIR (no version, no log
line); a refused file still gets its ``.rejected.csv``, as that is what a dry run is for.

Files are read strictly: text is UTF-8 (a BOM is fine) unless ``--encoding`` names another, and
one that mixes encodings is refused; dates and times are ISO 8601 unless ``--date-format``
names the order of the others (day and month are never guessed); a column name twice, a column
the contract does not know (unless ``--ignore-extra-columns``), a control or invisible character
in text, a workbook with several sheets and no ``--sheet``, and a symlink, device, FIFO or folder
given as the file are refused. Values are then normalised as the contract's "What ingest
accepts" says (trimmed text, any-case enumerations and booleans, Excel serials, integers of any
width); a value that cannot be parsed is an error for its row and column, never a silent null.
A refused load writes each bad file's rows and reasons to ``<input stem>.rejected.csv`` beside
it (formulas neutralised, owner and group only) and leaves the table byte-identical; an
accepted one becomes a new version (see ``data.storage``), ``--keep`` old ones kept.

One load or rollback at a time changes a data folder (``--wait`` for another to finish); one
killed on the way leaves the previous version current and is cleaned up and logged as
"interrupted" by the next. Every attempt is logged, with the operating-system account as its
user unless the caller (the app) names the signed-in user.

The app's Load data page calls :func:`ingest` as the command line does, adding what a page
needs: the name the user uploaded (``labels``: messages and the log never show the private
path it was saved at), their role for the audit row, a ``progress`` callback for each stage, and
``expect_version`` (the version its dry run compared with: a confirmed load refuses if the table
changed in between).
"""

from __future__ import annotations

import argparse
import codecs
import csv
import errno
import functools
import io
import math
import os
import pwd
import re
import shutil
import sqlite3
import stat
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as time_of_day
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pandera.errors import SchemaErrors

from data import storage
from data.contract import TABLES, Column, Table, to_arrow

LONDON = "Europe/London"
MAX_PRINTED_ERRORS = 20
MAX_PRINTED_CHANGES = 40  # force-months printed by the command line
MAX_LOGGED_CHANGES = 400  # force-months in a log line's summary
MAX_REMOVED_SHARE = 0.5  # a refresh that would remove more of the table's rows is refused
LOCK_WAIT_SECONDS = 30.0  # how long a load waits for another load or rollback of its data folder
KEEP_VERSIONS = 12  # versions kept besides the current one (a year of monthly refreshes)
PAUSE_ENV = "CPD_INGEST_TEST_PAUSE"  # "stage[:seconds]": the crash tests' hook, never set otherwise
MAX_LOGGED_REASONS = 50
ROW_NOTE = "rows are data rows: row 1 is the first row after the header"
DRY_RUN_STEPS = 3  # reading, checking, comparing: what a progress callback is told
LOAD_STEPS = 5  # waiting for the lock, the three of a dry run, writing
ANY_VERSION = "*"  # expect_version's default: no version is named so (versions are time stamps)
ProgressCallback = Callable[[int, int, str], None]


def _no_progress(done: int, total: int, message: str) -> None:
    """What a load reports to when nobody is watching (the command line prints its summary)."""


def _files_text(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{len(names)} files"


_BOOL_WORDS = {
    "true": True,
    "false": False,
    "1": True,
    "0": False,
    "y": True,
    "n": False,
    "yes": True,
    "no": False,
}
_INT_BOUNDS = {"tinyint": (-(2**7), 2**7 - 1), "integer": (-(2**31), 2**31 - 1)}
_KINDS = {
    ".csv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".parquet": "parquet",
    ".pq": "parquet",
}
FILE_SUFFIXES = tuple(_KINDS)  # what an extract's name may end with (the app's upload offers these)

_TIME = r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
_ISO_DATE = r"\d{4}-\d{2}-\d{2}"
_TZ = r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)"
_ISO_FORMATS = (  # (pattern, to_datetime keywords, has a time of day, has a zone)
    (rf"{_ISO_DATE}[T ]{_TIME}", {"format": "ISO8601"}, True, False),
    (rf"{_ISO_DATE}[T ]{_TIME}\s?{_TZ}", {"format": "ISO8601", "utc": True}, True, True),
    (_ISO_DATE, {"format": "%Y-%m-%d"}, False, False),
)
# --date-format NAME -> (pattern of the date, its strptime format); a time may follow as hh:mm[:ss]
DATE_FORMATS = {
    "dd/mm/yyyy": (r"\d{1,2}/\d{1,2}/\d{4}", "%d/%m/%Y"),
    "mm/dd/yyyy": (r"\d{1,2}/\d{1,2}/\d{4}", "%m/%d/%Y"),
    "dd-mm-yyyy": (r"\d{1,2}-\d{1,2}-\d{4}", "%d-%m-%Y"),
    "dd.mm.yyyy": (r"\d{1,2}\.\d{1,2}\.\d{4}", "%d.%m.%Y"),
    "yyyy/mm/dd": (r"\d{4}/\d{1,2}/\d{1,2}", "%Y/%m/%d"),
}
_OTHER_ORDER = r"\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}(?:[ T].*)?"  # a date not in ISO order


def _text_formats(date_format: str | None) -> tuple:
    """ISO 8601 always; the named non-ISO date order (with an optional hh:mm[:ss]) when given."""
    if date_format is None:
        return _ISO_FORMATS
    pattern, fmt = DATE_FORMATS[date_format]
    return (
        *_ISO_FORMATS,
        (rf"{pattern} \d{{1,2}}:\d{{2}}", {"format": f"{fmt} %H:%M"}, True, False),
        (rf"{pattern} \d{{1,2}}:\d{{2}}:\d{{2}}", {"format": f"{fmt} %H:%M:%S"}, True, False),
        (pattern, {"format": fmt}, False, False),
    )


def _check_date_format(name: str) -> str:
    key = name.strip().lower()
    if key not in DATE_FORMATS:
        raise IngestError(f"unknown --date-format {name!r}: give one of {', '.join(DATE_FORMATS)}")
    return key


class IngestError(Exception):
    """A load or rollback that was refused; the table is unchanged.

    Attributes:
        errors: every problem found, one readable line each.
        rejected_paths: the ``.rejected.csv`` files written beside the inputs.
        rows: data rows read (0 when a file could not be read).
        rejected_rows: rows with at least one problem.
    """

    def __init__(
        self,
        message: str,
        errors: Sequence[str] = (),
        rejected_paths: Sequence[Path] = (),
        *,
        rows: int = 0,
        rejected_rows: int = 0,
    ):
        super().__init__(message)
        self.message = message
        self.errors = list(errors) or [message]
        self.rejected_paths = list(rejected_paths)
        self.rows = rows
        self.rejected_rows = rejected_rows


@dataclass
class IngestResult:
    """What a successful load did (or, for a dry run, would do).

    Attributes:
        table: the table loaded.
        version: the new current version (None for a dry run).
        previous_version: the version current before (None for none).
        rows: rows loaded from the files.
        files: the input files, as given.
        path: the table's folder, ``DIR/<table>``.
        ignored_columns: per input file, its columns that are not in the contract.
        mode: "refresh" (the force-months the files cover are replaced) or "replace all".
        dry_run: nothing was written.
        table_rows: rows the table holds after the load.
        previous_rows: rows the table held before.
        rows_kept: rows of the table outside the files' force-months, kept as they were.
        changes: per (force, month) slice the load touches, what it adds, replaces and removes.
        months_removed: per force, the months no longer in the table (only ``replace all``).
        notes: things worth knowing that do not refuse the load.
        removed_versions: old versions removed to keep ``keep`` of them.
        interrupted: what an earlier, killed load left behind and what was cleaned up.
    """

    table: str
    version: str | None
    previous_version: str | None
    rows: int
    files: list[str]
    path: Path
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)
    mode: str = "refresh"
    dry_run: bool = False
    table_rows: int = 0
    previous_rows: int = 0
    rows_kept: int = 0
    changes: list[SliceChange] = field(default_factory=list)
    months_removed: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    removed_versions: list[str] = field(default_factory=list)
    interrupted: list[str] = field(default_factory=list)

    def total(self, name: str) -> int:
        """The sum of a ``SliceChange`` count (added, replaced, removed) over the slices."""
        return sum(getattr(c, name) for c in self.changes)

    def summary_lines(self, *, limit: int | None = None) -> list[str]:
        """What the load did, in lines for a person: the outcome, the totals, then slice by slice."""
        n_files = len(self.files)
        source = f"from {n_files} file{'s' if n_files != 1 else ''}"
        if self.dry_run:
            lines = [f"Dry run: nothing written. Would load {self.rows:,} rows into {self.table} {source}."]
        else:
            lines = [
                f"Loaded {self.rows:,} rows into {self.table} {source}: version {self.version} "
                f"(previous: {self.previous_version or 'none'})."
            ]
        added, replaced, removed = self.total("added"), self.total("replaced"), self.total("removed")
        slices = {(c.force, c.month) for c in self.changes if c.rows_after}
        forces = {f for f, _ in slices}
        months = {m for _, m in slices}
        counts = f"{added:,} added, {replaced:,} replaced, {removed:,} removed"
        if self.mode == "replace all":
            gone = sum(len(m) for m in self.months_removed.values())
            lines.append(
                f"Replaced the whole table: its {self.previous_rows:,} rows went, {self.table_rows:,} "
                f"rows now ({counts})."
            )
            if gone:
                which = "; ".join(f"{f} {_month_ranges(m)}" for f, m in self.months_removed.items())
                lines.append(f"{gone} force-month{'s' if gone != 1 else ''} no longer in the table: {which}.")
            else:
                lines.append("No force-month is lost: the files cover every month the table held.")
        else:
            lines.append(
                f"Monthly refresh of {len(months)} month{'s' if len(months) != 1 else ''} for "
                f"{len(forces)} force{'s' if len(forces) != 1 else ''} ({counts}); "
                f"{self.rows_kept:,} rows of other months and forces kept; the table holds "
                f"{self.table_rows:,} rows (was {self.previous_rows:,})."
            )
        lines.extend(f"note: {n}" for n in self.notes)
        if self.removed_versions:
            n = len(self.removed_versions)
            lines.append(
                f"Removed {n} old version{'s' if n != 1 else ''} beyond those --keep keeps: "
                f"{', '.join(self.removed_versions)}."
            )
        if self.changes:
            width = max(len("force"), *(len(c.force) for c in self.changes))
            head = ("month", "before", "after", "added", "replaced", "removed")
            lines.append("  " + "force".ljust(width) + "  " + "  ".join(h.rjust(8) for h in head))
            shown = self.changes if limit is None else self.changes[:limit]
            for c in shown:
                cells = (c.month, c.rows_before, c.rows_after, c.added, c.replaced, c.removed)
                text = "  ".join(f"{v:>8,}" if isinstance(v, int) else f"{v:>8}" for v in cells)
                lines.append(f"  {c.force.ljust(width)}  {text}")
            if len(shown) < len(self.changes):
                lines.append(f"  … and {len(self.changes) - len(shown)} more force-months")
        return lines


class _FileProblem(Exception):
    """A whole input file cannot be used (a one-line message naming it)."""


@dataclass
class _Source:
    """One input file as read: its raw values and what each row is called."""

    path: Path
    label: str
    kind: str
    raw: pd.DataFrame  # every column, original headers, original values
    columns: dict[str, str]  # contract column -> header in raw
    row_numbers: np.ndarray  # the 1-based data row of each raw row
    excel_epoch: datetime | None = None
    ignored: list[str] = field(default_factory=list)
    date_format: str | None = None  # a key of DATE_FORMATS: the non-ISO date order the file uses

    def where(self, row: int) -> str:
        sheet = f" (sheet row {row + 1})" if self.kind == "xlsx" else ""
        return f"{self.label} row {row}{sheet}"


@dataclass(frozen=True)
class _Cell:
    """A problem at a position of the combined frame (-1: the whole column)."""

    pos: int
    column: str
    message: str
    others: tuple[int, ...] = ()  # the other rows holding the same duplicate key


@dataclass(frozen=True)
class _Problem:
    """A problem as the user sees it: the file (index into the sources), its row, the column."""

    source: int
    row: int
    column: str
    message: str


# --- row rules the column checks cannot express -------------------------------


@dataclass(frozen=True)
class RowRule:
    """A rule across columns of one row.

    Attributes:
        name: the pandera check name.
        column: the column a failing row is reported against.
        ok: frame -> boolean Series, True where the row satisfies the rule.
        message: a failing row -> why it fails.
    """

    name: str
    column: str
    ok: Callable[[pd.DataFrame], pd.Series]
    message: Callable[[pd.Series], str]


def _kirat_ok(df: pd.DataFrame) -> pd.Series:
    team = df["team"]
    polit = (team == "polit").fillna(False).astype(bool)
    judged = team.isin(TABLES["investigations"].column("team").enum).fillna(False).astype(bool)
    present = df["kirat_completed"].notna()
    return ~judged | (polit & present) | (~polit & ~present)


def _kirat_message(row: pd.Series) -> str:
    if row["team"] == "polit":
        return "a value is required when team is polit"
    return f"must be empty unless team is polit (team is {row['team']})"


def _arms_ok(df: pd.DataFrame) -> pd.Series:
    required = df["arms_required"]
    judged = required.notna().astype(bool)
    required = required.fillna(False).astype(bool)
    due = df["arms_due_date"].notna()
    return ~judged | (required & due) | (~required & ~due)


def _arms_message(row: pd.Series) -> str:
    if row["arms_required"]:
        return "a due date is required when arms_required is true"
    return "must be empty when arms_required is false"


ROW_RULES: dict[str, tuple[RowRule, ...]] = {
    "investigations": (RowRule("kirat_only_for_polit", "kirat_completed", _kirat_ok, _kirat_message),),
    "rso_register": (RowRule("arms_due_date_when_required", "arms_due_date", _arms_ok, _arms_message),),
}

# --- the pandera schema, built from the contract --------------------------------

_PANDAS_DTYPES = {
    "varchar": "str",
    "timestamp": "datetime64[ms]",
    "date": "datetime64[ms]",
    "boolean": "boolean",
    "tinyint": "Int64",
    "integer": "Int64",
    "double": "float64",
}


def _first_of_month(s: pd.Series) -> pd.Series:
    return s.dt.day == 1


@functools.cache
def build_schema(table: str) -> pa.DataFrameSchema:
    """The pandera schema of ``table``'s normalised frame, built from ``data.contract``."""
    spec = TABLES[table]
    columns = {}
    for col in spec.columns:
        checks = []
        if col.enum:
            checks.append(pa.Check.isin(list(col.enum)))
        if col.min_value is not None and col.max_value is not None:
            checks.append(pa.Check.in_range(col.min_value, col.max_value))
        elif col.min_value is not None:
            checks.append(pa.Check.ge(col.min_value))
        elif col.max_value is not None:
            checks.append(pa.Check.le(col.max_value))
        if col.positive:
            checks.append(pa.Check.gt(0))
        if col.first_of_month:
            checks.append(pa.Check(_first_of_month, name="first_of_month"))
        if col.name == "force":
            checks.append(pa.Check.str_length(min_value=1))
        columns[col.name] = pa.Column(_PANDAS_DTYPES[col.type], checks=checks, nullable=col.nullable)
    rules = [pa.Check(r.ok, name=r.name, ignore_na=False) for r in ROW_RULES.get(table, ())]
    return pa.DataFrameSchema(
        columns,
        checks=rules,
        unique=list(spec.key) or None,
        report_duplicates="all",
        strict=False,
    )


# --- reading files ---------------------------------------------------------------


def _show(value: object) -> str:
    """A raw cell value as a message shows it (text quoted so spaces are visible)."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, pd.Timestamp)):
        return value.isoformat(sep=" ")
    return str(value)


def _is_null(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _open_file(path: Path, label: str) -> bytes:
    """The bytes of a regular file; never through a symlink, never a device, FIFO or folder."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise _FileProblem(f"{label}: file not found ({path})") from None
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        raise _FileProblem(
            f"{label} is a symbolic link (to {os.readlink(path)}): ingest never follows links — "
            "give the file itself"
        )
    if stat.S_ISDIR(mode):
        raise _FileProblem(f"{label} is a folder, not a file: give the extract's files themselves")
    if not stat.S_ISREG(mode):
        what = (
            "a named pipe (FIFO)"
            if stat.S_ISFIFO(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "not a regular file"
        )
        raise _FileProblem(f"{label} is {what}, not a file: give a CSV, XLSX or parquet file")
    kind = _KINDS.get(path.suffix.lower())
    if kind is None:
        hint = " (save it as .xlsx)" if path.suffix.lower() == ".xls" else ""
        raise _FileProblem(f"{label}: unsupported file type '{path.suffix}'{hint}: give CSV, XLSX or parquet")
    # O_NOFOLLOW and the fstat below: the name cannot be swapped for a link or a pipe meanwhile
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _FileProblem(f"{label} is a symbolic link: ingest never follows links") from None
        raise
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise _FileProblem(f"{label} is not a regular file")
        return fh.read()


_UTF8_ALIASES = {"utf-8", "utf_8", "utf8", "utf-8-sig", "utf_8_sig"}
# a multi-byte UTF-8 sequence: in a file read as a single-byte encoding, text saved as UTF-8
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)


def _check_encoding(name: str) -> str:
    """A Python codec name for ``--encoding``, or IngestError."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise IngestError(f"unknown encoding {name!r} for --encoding (e.g. utf-8, cp1252, latin-1)") from None


def _bad_cell(data: bytes, label: str, bad: Callable[[bytes], bool]) -> tuple[str, str, bytes] | None:
    """The first CSV cell whose bytes ``bad`` flags: (row as the user counts it, column, its bytes)."""
    text = data.decode("latin-1")  # one character per byte: the CSV structure is ASCII
    if text.startswith("\xef\xbb\xbf"):
        text = text[3:]
    header: list[str] = []
    try:
        for number, record in enumerate(csv.reader(io.StringIO(text, newline=""))):
            if number == 0:
                header = [h.encode("latin-1").decode("utf-8", errors="replace").strip() for h in record]
            for i, cell in enumerate(record):
                raw = cell.encode("latin-1")
                if bad(raw):
                    where = "header row" if number == 0 else f"row {number}"
                    column = header[i] if number and i < len(header) and header[i] else f"{i + 1}"
                    return where, column, raw
    except csv.Error:  # not CSV at all: the caller names the file without a row
        return None
    return None


def _decode_csv(data: bytes, label: str, encoding: str | None) -> str:
    """The text of a CSV: UTF-8 (a BOM is fine) unless ``encoding`` names another, never guessed."""
    if encoding is None or encoding in _UTF8_ALIASES:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass

        def invalid(raw: bytes) -> bool:
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return True
            return False

        where, column, raw = _bad_cell(data, label, invalid) or ("a row", "?", b"")
        shown = raw.decode("utf-8", errors="backslashreplace")
        raise _FileProblem(
            f"{label} {where}, column {column}: {shown!r} is not valid UTF-8 text — save the file as "
            "UTF-8 (Excel: CSV UTF-8), or name the encoding it is saved in with --encoding "
            "(e.g. --encoding cp1252); a file is never read in a guessed encoding"
        )
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        detail = f"{exc.reason} at byte {exc.start}"
        raise _FileProblem(f"{label} cannot be read as {encoding}: {detail}") from None
    single_byte = len("é€".encode(encoding, errors="replace")) <= 2
    if single_byte and _UTF8_SEQUENCE.search(data):
        found = _bad_cell(data, label, lambda raw: _UTF8_SEQUENCE.search(raw) is not None)
        where, column, raw = found or ("a row", "?", b"")
        raise _FileProblem(
            f"{label} {where}, column {column}: {raw.decode('utf-8', errors='replace')!r} is UTF-8 text "
            f"(read as {encoding} it would be {raw.decode(encoding, errors='replace')!r}): the file mixes "
            "encodings — save it in one encoding (UTF-8 is best)"
        )
    return text


def _read_csv(data: bytes, label: str, encoding: str | None) -> pd.DataFrame:
    text = _decode_csv(data, label, encoding)
    header = text.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r")
    if "," not in header:
        for sep, name in ((";", "';'"), ("\t", "tabs"), ("|", "'|'")):
            if sep in header:
                raise _FileProblem(f"{label} looks delimited by {name} — save it comma-separated")
    # header=None: a row with more values than the header is an error, not a shifted row
    options = {
        "header": None,
        "dtype": str,
        "keep_default_na": False,
        "na_filter": False,
        "skip_blank_lines": False,
    }
    try:
        cells = pd.read_csv(io.StringIO(text.lstrip("\ufeff")), **options)
    except pd.errors.EmptyDataError:
        raise _FileProblem(f"{label} has no data rows") from None
    except (pd.errors.ParserError, ValueError) as exc:
        text = str(exc).strip()
        ragged = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
        if ragged:
            width, line, seen = (int(g) for g in ragged.groups())
            raise _FileProblem(
                f"{label} row {line - 1} has {seen} values but the header has {width} columns "
                "(a value containing a comma must be in double quotes)"
            ) from None
        detail = text.splitlines()[-1] if text else type(exc).__name__
        raise _FileProblem(f"{label} cannot be read as CSV: {detail}") from None
    return _with_header(cells, label)


def _with_header(cells: pd.DataFrame, label: str) -> pd.DataFrame:
    """The first row of ``cells`` as column names, the rest as data.

    A column with no header and no values is dropped; one with values but no header is named
    by its position. A name given twice (ignoring case and spaces) refuses the file.
    """
    header = ["" if _is_null(v) else str(v) for v in cells.iloc[0]]
    body = cells.iloc[1:, : len(header)].reset_index(drop=True)
    keep = []
    for i, name in enumerate(header):
        if name.strip() or _trimmed(body.iloc[:, i]).notna().any():
            keep.append(i)
    header = [header[i] if header[i].strip() else f"column {i + 1}" for i in keep]
    body = body.iloc[:, keep]
    _refuse_duplicate_names(header, label)
    body.columns = header
    return body


def _refuse_duplicate_names(names: Sequence[str], label: str) -> None:
    """Refuse a header holding a name more than once (ignoring case and surrounding spaces)."""
    places: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        places.setdefault(str(name).strip().casefold(), []).append(i)
    twice = [p for p in places.values() if len(p) > 1]
    if not twice:
        return
    parts = []
    for p in twice:
        spellings = list(dict.fromkeys(str(names[i]).strip() for i in p))
        columns = f"(columns {', '.join(str(i + 1) for i in p)})"
        if len(spellings) == 1:
            times = "twice" if len(p) == 2 else f"{len(p)} times"
            parts.append(f"{spellings[0]!r} {times} {columns}")
        else:
            parts.append(f"{' and '.join(repr(n) for n in spellings)} {columns}")
    raise _FileProblem(
        f"{label} header row, column {str(names[twice[0][0]]).strip()}: a column name appears more than "
        f"once: {'; '.join(parts)} — keep one column of each name"
    )


def _read_xlsx(data: bytes, label: str, sheet_name: str | None) -> tuple[pd.DataFrame, datetime]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # zip, XML and openpyxl errors alike
        raise _FileProblem(
            f"{label} cannot be read as an XLSX workbook ({type(exc).__name__}): "
            "save it from Excel as .xlsx or as CSV"
        ) from None
    try:
        sheets = book.worksheets
        titles = ", ".join(repr(s.title) for s in sheets)
        if not sheets:
            raise _FileProblem(f"{label} has no worksheets")
        if sheet_name is not None:
            matches = [s for s in sheets if s.title == sheet_name] or [
                s for s in sheets if s.title.strip().casefold() == sheet_name.strip().casefold()
            ]
            if len(matches) != 1:
                raise _FileProblem(f"{label} has no sheet named {sheet_name!r} (its sheets: {titles})")
            sheet = matches[0]
        elif len(sheets) > 1:
            raise _FileProblem(
                f"{label} has {len(sheets)} sheets ({titles}): name the one to load with --sheet NAME"
            )
        else:
            sheet = sheets[0]
        if hasattr(sheet, "reset_dimensions"):  # some writers record a wrong sheet size
            sheet.reset_dimensions()
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        epoch = book.epoch
    except _FileProblem:
        raise
    except Exception as exc:
        raise _FileProblem(f"{label} cannot be read as an XLSX workbook ({type(exc).__name__})") from None
    finally:
        book.close()
    if not rows:
        raise _FileProblem(f"{label} has no data rows")
    width = max(len(r) for r in rows)
    cells = pd.DataFrame([r + [None] * (width - len(r)) for r in rows], dtype=object)
    return _with_header(cells, label), epoch


def _read_parquet(data: bytes, label: str) -> pd.DataFrame:
    try:
        table = pq.ParquetFile(pyarrow.BufferReader(data)).read()  # not a dataset: duplicate names read
    except Exception:  # arrow raises several types for a damaged file
        raise _FileProblem(f"{label} cannot be read as parquet: the file is truncated or corrupt") from None
    _refuse_duplicate_names(table.column_names, label)
    try:
        frame = table.to_pandas()
    except Exception as exc:
        raise _FileProblem(f"{label} cannot be read as parquet: {type(exc).__name__}: {exc}") from None
    for name in frame.columns:
        if isinstance(frame[name].dtype, pd.CategoricalDtype):
            frame[name] = frame[name].astype(object)
    return frame


def _match_columns(spec: Table, headers: list[str]) -> tuple[dict[str, str], list[str], list[str]]:
    """Contract column -> header (exact, else a unique case-insensitive match), missing, unknown."""
    stripped = {h: str(h).strip() for h in headers}
    found: dict[str, str] = {}
    for col in spec.column_names:
        exact = [h for h in headers if stripped[h] == col]
        loose = [h for h in headers if stripped[h].lower() == col]
        if exact:
            found[col] = exact[0]
        elif len(loose) == 1:
            found[col] = loose[0]
    missing = [c for c in spec.column_names if c not in found]
    used = set(found.values())
    unknown = [str(h) for h in headers if h not in used and stripped[h]]
    return found, missing, unknown


@dataclass(frozen=True)
class ReadOptions:
    """How the input files are read.

    Attributes:
        encoding: the text encoding of CSV files (default UTF-8, a BOM allowed; never guessed).
        date_format: a non-ISO date order the files use (a key of ``DATE_FORMATS``); ISO 8601
            is always accepted and no other order is ever guessed.
        sheet: the XLSX sheet to load (required when a workbook has several).
        ignore_extra_columns: load without the columns the contract does not know
            (by default they refuse the file).
    """

    encoding: str | None = None
    date_format: str | None = None
    sheet: str | None = None
    ignore_extra_columns: bool = False


def _read_source(path: Path, label: str, spec: Table, options: ReadOptions) -> _Source:
    if path.name.endswith(".rejected.csv"):
        raise _FileProblem(f"{label} is a rejected-rows report from an earlier ingest, not an extract")
    data = _open_file(path, label)
    kind = _KINDS[path.suffix.lower()]
    if not data:
        raise _FileProblem(f"{label} has no data rows (the file is empty)")
    epoch = None
    if kind == "csv":
        raw = _read_csv(data, label, options.encoding)
    elif kind == "xlsx":
        raw, epoch = _read_xlsx(data, label, options.sheet)
    else:
        raw = _read_parquet(data, label)
    row_numbers = np.arange(1, len(raw) + 1)
    if len(raw):  # drop blank lines but keep every other row's number as the user sees it
        empty = [_trimmed(raw.iloc[:, i]).isna().to_numpy() for i in range(raw.shape[1])]
        blank = np.logical_and.reduce(empty)
        raw = raw.loc[~blank].reset_index(drop=True)
        row_numbers = row_numbers[~blank]
    if raw.empty:
        raise _FileProblem(f"{label} has no data rows")
    columns, missing, unknown = _match_columns(spec, list(raw.columns))
    if missing:
        extra = f" (it has other columns: {', '.join(unknown)})" if unknown else ""
        raise _FileProblem(f"{label} is missing required columns: {', '.join(missing)}{extra}")
    if unknown and not options.ignore_extra_columns:
        raise _FileProblem(
            f"{label} header row: {'a column' if len(unknown) == 1 else 'columns'} the {spec.name} contract "
            f"does not know: {', '.join(unknown)} — remove or rename "
            f"{'it' if len(unknown) == 1 else 'them'}, or load without them with --ignore-extra-columns"
        )
    return _Source(path, label, kind, raw, columns, row_numbers, epoch, unknown, options.date_format)


def _labels(paths: list[Path]) -> list[str]:
    """File names for messages; the path as given where two inputs share a name."""
    names = [p.name for p in paths]
    return [p.name if names.count(p.name) == 1 else str(p) for p in paths]


# --- normalising values ------------------------------------------------------------


def _is_text_dtype(s: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(s.dtype) and s.dtype != object


def _trimmed(s: pd.Series) -> pd.Series:
    """Text trimmed, empty text and NaN as null; other values unchanged."""
    if _is_text_dtype(s):
        t = s.str.strip()
        return t.mask(t == "")
    if s.dtype == object:
        out = []
        for v in s:
            if isinstance(v, str):
                v = v.strip()
                out.append(v or None)
            else:
                out.append(None if _is_null(v) else v)
        return pd.Series(out, index=s.index, dtype=object)
    return s


def _reasons(index: pd.Index) -> pd.Series:
    return pd.Series(None, index=index, dtype=object)


def _text_of(v: object) -> str | None:
    if _is_null(v):
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, (datetime, pd.Timestamp)):
        return v.isoformat(sep=" ")
    return str(v)


def _to_varchar(col: Column, c: pd.Series, raw: pd.Series, source: _Source) -> tuple[pd.Series, pd.Series]:
    out = c if _is_text_dtype(c) else pd.Series([_text_of(v) for v in c], index=c.index, dtype="str")
    if col.enum:
        out = out.str.lower().str.replace(r"\s+", " ", regex=True)
    return out.astype("str"), _reasons(c.index)


def _bool_of(v: object) -> object:
    if _is_null(v):
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, str):
        return _BOOL_WORDS.get(v.lower(), ValueError)
    if isinstance(v, (int, float, np.integer, np.floating)) and v in (0, 1):
        return bool(v)
    return ValueError


def _to_boolean(col: Column, c: pd.Series, raw: pd.Series, source: _Source) -> tuple[pd.Series, pd.Series]:
    reasons = _reasons(c.index)
    if pd.api.types.is_bool_dtype(c.dtype):
        return c.astype("boolean"), reasons
    if _is_text_dtype(c):
        values = c.str.lower().map(_BOOL_WORDS)
        bad = c.notna() & values.isna()
    else:
        mapped = [_bool_of(v) for v in c]
        bad = pd.Series([v is ValueError for v in mapped], index=c.index)
        values = pd.Series([None if v is ValueError else v for v in mapped], index=c.index, dtype=object)
    bad = bad.to_numpy(dtype=bool)
    reasons[bad] = [f"{_show(v)} is not a yes/no value (true/false, 1/0, y/n or yes/no)" for v in raw[bad]]
    return values.mask(bad).astype("boolean"), reasons


def _numbers(c: pd.Series) -> pd.Series:
    """Numbers as float64 (NaN where null or not a number); booleans are not numbers."""
    if pd.api.types.is_bool_dtype(c.dtype):
        return pd.Series(np.nan, index=c.index)
    if c.dtype == object:
        c = c.mask([isinstance(v, (bool, np.bool_)) for v in c])
    return pd.to_numeric(c, errors="coerce").astype("float64")


def _to_integer(col: Column, c: pd.Series, raw: pd.Series, source: _Source) -> tuple[pd.Series, pd.Series]:
    reasons = _reasons(c.index)
    num = _numbers(c)
    present = c.notna().to_numpy()
    values = num.to_numpy()
    with np.errstate(invalid="ignore"):
        not_whole = present & (np.isnan(values) | ~np.isfinite(values) | (values != np.floor(values)))
        low, high = _INT_BOUNDS[col.type]
        # Out of the storage type's range: an error here unless the contract's own range reports it.
        over = (
            ~not_whole
            & present
            & (((values > high) & (col.max_value is None)) | ((values < low) & (col.min_value is None)))
        )
        huge = ~not_whole & present & (np.abs(values) > 2**53)
    reasons[not_whole] = [f"{_show(v)} is not a whole number" for v in raw[not_whole]]
    too_big = (over | huge) & ~not_whole
    kind = "a tinyint (−128 to 127)" if col.type == "tinyint" else "an integer column (32-bit)"
    reasons[too_big] = [f"{_show(v)} is out of range for {kind}" for v in raw[too_big]]
    bad = not_whole | too_big
    return num.mask(bad).round().astype("Int64"), reasons


def _to_double(col: Column, c: pd.Series, raw: pd.Series, source: _Source) -> tuple[pd.Series, pd.Series]:
    reasons = _reasons(c.index)
    num = _numbers(c)
    bad = c.notna().to_numpy() & ~np.isfinite(num.to_numpy())
    reasons[bad] = [f"{_show(v)} is not a number" for v in raw[bad]]
    return num.mask(bad).astype("float64"), reasons


def _parse_texts(
    t: pd.Series, raw: pd.Series, *, want_time: bool, date_format: str | None
) -> tuple[pd.Series, pd.Series]:
    """Parse trimmed timestamp or date text ``t``; (datetime64[ms] naive London time, reasons).

    ISO 8601 is always read; another order only as ``date_format`` names it, never guessed
    (01/10/2022 is 1 October to some and 10 January to others).
    """
    parsed = pd.Series(pd.NaT, index=t.index, dtype="datetime64[ms]")
    reasons = _reasons(t.index)
    unmatched = t.notna().to_numpy(dtype=bool).copy()
    for pattern, options, has_time, has_zone in _text_formats(date_format):
        if not unmatched.any():
            break
        hit = unmatched & t.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)
        if not hit.any():
            continue
        unmatched &= ~hit
        if want_time and not has_time:
            reasons[hit] = [f"{_show(v)} has no time of day: a timestamp is expected" for v in raw[hit]]
            continue
        values = pd.to_datetime(t[hit], errors="coerce", **options)
        if has_zone:
            values = values.dt.tz_convert(LONDON).dt.tz_localize(None)
        parsed[hit] = values.astype("datetime64[ms]").to_numpy()
    what = "timestamp" if want_time else "date"
    example = "2022-10-01 13:05" if want_time else "2022-10-01"
    if date_format is None:
        other = unmatched & t.str.fullmatch(_OTHER_ORDER).fillna(False).to_numpy(dtype=bool)
        reasons[other] = [
            f"{_show(v)} is not an ISO 8601 {what} (such as {example}): the order of day and month is "
            "never guessed — name the file's date format with --date-format dd/mm/yyyy (or mm/dd/yyyy)"
            for v in raw[other]
        ]
    invalid = t.notna().to_numpy(dtype=bool) & parsed.isna().to_numpy() & reasons.isna().to_numpy()
    named = f", or {date_format} as --date-format says" if date_format else ""
    reasons[invalid] = [
        f"{_show(v)} is not a valid {what} (use ISO 8601 such as {example}{named})" for v in raw[invalid]
    ]
    return parsed, reasons


def _to_datetime(col: Column, c: pd.Series, raw: pd.Series, source: _Source) -> tuple[pd.Series, pd.Series]:
    want_time = col.type == "timestamp"
    what = "timestamp" if want_time else "date"
    out = pd.Series(pd.NaT, index=c.index, dtype="datetime64[ms]")
    reasons = _reasons(c.index)
    rounded = pd.Series(False, index=c.index)  # values from Excel: rounded, not truncated
    if pd.api.types.is_datetime64_any_dtype(c.dtype):
        values = c
        if getattr(c.dt, "tz", None) is not None:
            values = c.dt.tz_convert(LONDON).dt.tz_localize(None)
        out = values.astype("datetime64[ms]")
        rounded[:] = source.kind == "xlsx"
    elif _is_text_dtype(c):
        out, reasons = _parse_texts(c, raw, want_time=want_time, date_format=source.date_format)
    elif pd.api.types.is_numeric_dtype(c.dtype) or c.dtype == object:
        kinds = np.array([_value_kind(v) for v in c], dtype=object)
        text = kinds == "text"
        if text.any():
            parsed, why = _parse_texts(
                c[text].astype("str"), raw[text], want_time=want_time, date_format=source.date_format
            )
            out[text] = parsed.to_numpy()
            reasons[text] = why.to_numpy()
        stamp = kinds == "datetime"
        if stamp.any():
            out[stamp] = pd.to_datetime([_naive_london(v) for v in c[stamp]]).astype("datetime64[ms]")
            rounded[stamp] = source.kind == "xlsx"
        day = kinds == "date"
        if day.any():
            if want_time:
                reasons[day] = [f"{_show(v)} has no time of day: a timestamp is expected" for v in raw[day]]
            else:
                out[day] = pd.to_datetime(list(c[day])).astype("datetime64[ms]")
        number = kinds == "number"
        if number.any():
            if source.kind == "xlsx":
                serial = pd.to_numeric(c[number]).astype("float64")
                ok = ((serial >= 1) & (serial < 2958466)).to_numpy()
                seconds = (serial[ok] * 86400).round()
                base = pd.Timestamp(source.excel_epoch or datetime(1899, 12, 30))
                where = np.flatnonzero(number)
                stamps = base + pd.to_timedelta(seconds, unit="s")
                out.iloc[where[ok]] = stamps.astype("datetime64[ms]").to_numpy()
                bad_serial = where[~ok]
                reasons.iloc[bad_serial] = [
                    f"{_show(v)} is not an Excel {what} serial number" for v in raw.iloc[bad_serial]
                ]
            else:
                reasons[number] = [f"{_show(v)} is a number, not a {what}" for v in raw[number]]
        other = kinds == "other"
        reasons[other] = [f"{_show(v)} is not a {what}" for v in raw[other]]
    else:
        bad = c.notna().to_numpy()
        reasons[bad] = [f"{_show(v)} is not a {what}" for v in raw[bad]]
    out = out.dt.round("s").where(rounded.to_numpy(), out.dt.floor("s"))
    if not want_time:
        has_time = (out.notna() & (out != out.dt.normalize())).to_numpy()
        reasons[has_time] = [f"{_show(v)} has a time of day: a date is expected" for v in raw[has_time]]
        out = out.mask(has_time)
    return out.astype("datetime64[ms]"), reasons


def _value_kind(v: object) -> str:
    if _is_null(v):
        return "null"
    if isinstance(v, str):
        return "text"
    if isinstance(v, (bool, np.bool_)):
        return "other"
    if isinstance(v, (datetime, pd.Timestamp)):
        return "datetime"
    if isinstance(v, date):
        return "date"
    if isinstance(v, time_of_day):
        return "other"
    if isinstance(v, (int, float, np.integer, np.floating)):
        return "number"
    return "other"


def _naive_london(v: datetime) -> pd.Timestamp:
    ts = pd.Timestamp(v)
    if ts.tzinfo is not None:
        ts = ts.tz_convert(LONDON).tz_localize(None)
    return ts


_CONVERTERS = {
    "varchar": _to_varchar,
    "boolean": _to_boolean,
    "tinyint": _to_integer,
    "integer": _to_integer,
    "double": _to_double,
    "timestamp": _to_datetime,
    "date": _to_datetime,
}


# Characters no extract cell holds: C0 and C1 controls (NUL, ESC...), DEL, and the invisible
# format characters that make one name look like another or reorder text on screen (zero-width
# spaces and joiners, bidirectional overrides, a BOM inside text). A tab or a line break is kept
# only in free text; elsewhere (ids, forces, areas, enumerations) it would make a new value.
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
_BREAKS = re.compile(r"[\t\n\r]")


def _is_free_text(col: Column) -> bool:
    return col.type == "varchar" and col.nullable and not col.enum


def _control_reasons(col: Column, raw: pd.Series) -> pd.Series:
    """Why each text cell holding a control or invisible character is refused (None where fine)."""
    reasons = _reasons(raw.index)
    breaks = not _is_free_text(col)
    if _is_text_dtype(raw):  # vectorised first: a control character is rare
        flagged = raw.str.contains(_CONTROL.pattern, regex=True)
        if breaks:
            flagged |= raw.str.strip().str.contains(_BREAKS.pattern, regex=True)
        candidates = raw[flagged.fillna(False).to_numpy(dtype=bool)]
    else:
        candidates = raw[[isinstance(v, str) for v in raw]]
    for pos, value in candidates.items():
        if not isinstance(value, str):
            continue
        found = _CONTROL.search(value)
        if found is None and breaks:
            found = _BREAKS.search(value.strip())
            if found is not None:  # a position in the trimmed value: report it in the raw one
                found = _BREAKS.search(value, len(value) - len(value.lstrip()))
        if found is not None:
            char = found.group()
            reasons[pos] = (
                f"{_show(value)} contains the control character U+{ord(char):04X} at position "
                f"{found.start() + 1}: remove it (it would make a different value that looks the same)"
            )
    return reasons


def _normalise(spec: Table, source: _Source) -> tuple[pd.DataFrame, list[_Cell]]:
    """The source's contract columns typed for pandera, and its cells that cannot be parsed."""
    columns = {}
    problems = []
    for col in spec.columns:
        raw = source.raw[source.columns[col.name]].reset_index(drop=True)
        values, reasons = _CONVERTERS[col.type](col, _trimmed(raw), raw, source)
        control = _control_reasons(col, raw)
        reasons = control.where(control.notna(), reasons)
        values = values.mask(control.notna().to_numpy())
        columns[col.name] = values.reset_index(drop=True)
        problems.extend(_Cell(int(pos), col.name, why) for pos, why in reasons.dropna().items())
    return pd.DataFrame(columns), problems


# --- validating -----------------------------------------------------------------


def _fmt_number(value: object) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    return str(value)


def _check_message(col: Column, check: str, value: object, raw: object = None) -> str:
    """Why ``value`` (normalised; ``raw``: as the file has it) fails a pandera check, in plain words."""
    if check == "not_nullable":
        return "a value is required (the cell is empty)"
    if check.startswith("isin"):
        shown = raw.strip() if isinstance(raw, str) else value
        return f"{_show(shown)} is not one of: {', '.join(col.enum or ())}"
    if check.startswith("in_range"):
        return f"{_fmt_number(value)} is outside {_fmt_number(col.min_value)}–{_fmt_number(col.max_value)}"
    if check.startswith("greater_than_or_equal_to"):
        return f"{_fmt_number(value)} is below the minimum {_fmt_number(col.min_value)}"
    if check.startswith("less_than_or_equal_to"):
        return f"{_fmt_number(value)} is above the maximum {_fmt_number(col.max_value)}"
    if check.startswith("greater_than"):
        return f"{_fmt_number(value)} must be greater than 0"
    if check == "first_of_month":
        return f"{pd.Timestamp(value).date()} is not the first day of a month"
    if check.startswith("str_length"):
        return "must not be empty"
    if check.startswith("dtype"):
        return f"has the wrong type ({value}; expected {_PANDAS_DTYPES[col.type]})"
    return f"fails {check} ({_show(value)})"


def _schema_problems(
    spec: Table,
    frame: pd.DataFrame,
    parsed_badly: set[tuple[int, str]],
    raw_at: Callable[[int, str], object],
) -> list[_Cell]:
    """Run the pandera schema lazily: every failing cell, except those that could not be parsed."""
    try:
        build_schema(spec.name).validate(frame, lazy=True)
        return []
    except SchemaErrors as exc:
        cases = exc.failure_cases
    rules = {r.name: r for r in ROW_RULES.get(spec.name, ())}
    rows_parsed_badly = {pos for pos, _ in parsed_badly}
    out: list[_Cell] = []
    seen: set[tuple[int, str]] = set()
    duplicates: set[int] = set()
    for case in cases.itertuples(index=False):
        check, index = str(case.check), case.index
        if index is None or (isinstance(index, float) and math.isnan(index)):
            message = _check_message(spec.column(case.column), check, case.failure_case)
            out.append(_Cell(-1, str(case.column), message))
            continue
        pos = int(index)
        if check in ("multiple_fields_uniqueness", "field_uniqueness"):
            duplicates.add(pos)
            continue
        rule = rules.get(check)
        column = rule.column if rule else str(case.column)
        if (pos, column) in seen or (pos, column) in parsed_badly:
            continue
        if rule and pos in rows_parsed_badly:  # a cell the rule reads could not be parsed
            continue
        seen.add((pos, column))
        if rule:
            message = rule.message(frame.loc[pos])
        else:
            message = _check_message(spec.column(column), check, case.failure_case, raw_at(pos, column))
        out.append(_Cell(pos, column, message))
    return out + _duplicate_cells(spec, frame, sorted(duplicates))


def _key_text(spec: Table, frame: pd.DataFrame, pos: int) -> str:
    parts = []
    for name in spec.key:
        value = frame.at[pos, name]
        if isinstance(value, pd.Timestamp) and spec.column(name).type == "date":
            value = value.date()
        parts.append(f"{name} {value}" if len(spec.key) > 1 else repr(str(value)))
    return ", ".join(parts)


def _duplicate_cells(spec: Table, frame: pd.DataFrame, positions: list[int]) -> list[_Cell]:
    """One problem per row whose key another row also has, naming the others."""
    if not positions:
        return []
    keys = frame.loc[positions, list(spec.key)]
    keys = keys[keys.notna().all(axis=1)]  # a null key is reported as a null already
    groups: dict[tuple, list[int]] = {}
    for pos, values in zip(keys.index, keys.itertuples(index=False), strict=True):
        groups.setdefault(tuple(values), []).append(int(pos))
    column = spec.key[-1]
    cells = []
    for group in groups.values():
        for pos in group:
            others = tuple(o for o in group if o != pos)
            cells.append(_Cell(pos, column, f"duplicate key {_key_text(spec, frame, pos)}", others))
    return cells


def _validate(spec: Table, sources: list[_Source]) -> tuple[pd.DataFrame, list[_Problem]]:
    """Normalise and validate every source as one table; the frame and every problem, in file order."""
    frames, cells = [], []
    offset = 0
    for source in sources:
        frame, parse_cells = _normalise(spec, source)
        frames.append(frame)
        cells.extend(_Cell(c.pos + offset, c.column, c.message) for c in parse_cells)
        offset += len(frame)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    owner = np.repeat(np.arange(len(sources)), [len(f) for f in frames])
    starts = np.cumsum([0] + [len(f) for f in frames])

    def raw_at(pos: int, column: str) -> object:
        source = sources[owner[pos]]
        return source.raw[source.columns[column]].iloc[pos - starts[owner[pos]]]

    cells.extend(_schema_problems(spec, frame, {(c.pos, c.column) for c in cells}, raw_at))
    return frame, _to_problems(spec, sources, cells)


def _to_problems(spec: Table, sources: list[_Source], cells: list[_Cell]) -> list[_Problem]:
    """Cells at positions of the combined frame as problems at a file's row, in file order."""
    owner = np.repeat(np.arange(len(sources)), [len(s.raw) for s in sources])
    rows = np.concatenate([s.row_numbers for s in sources])
    order = {name: i for i, name in enumerate(spec.column_names)}
    problems = []
    for cell in cells:
        message = cell.message
        if cell.others:
            places = [sources[owner[p]].where(int(rows[p])) for p in cell.others[:3]]
            message += f" (also at {', '.join(places)})"
        if cell.pos < 0:
            problems.append(_Problem(-1, 0, cell.column, message))
        else:
            problems.append(_Problem(int(owner[cell.pos]), int(rows[cell.pos]), cell.column, message))
    problems.sort(key=lambda p: (p.source, p.row, order.get(p.column, len(order))))
    return problems


def _describe(problem: _Problem, sources: list[_Source]) -> str:
    if problem.source < 0:
        return f"column {problem.column}: {problem.message}"
    return f"{sources[problem.source].where(problem.row)}, column {problem.column}: {problem.message}"


def _rejected_path(path: Path, taken: set[Path]) -> Path:
    candidate = path.with_name(f"{path.stem}.rejected.csv")
    if candidate in taken:
        candidate = path.with_name(f"{path.name}.rejected.csv")
    taken.add(candidate)
    return candidate


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """A cell as the rejected-rows file holds it: never a formula, never an invisible character.

    Text a spreadsheet would run (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return, as OWASP's CSV injection guidance lists) gets a leading single quote; control and
    invisible characters are written as visible escapes such as ``\\x00``.
    """
    if not isinstance(value, str):
        return value
    value = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), value)
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8 with a BOM, which Excel reads) as an owner-and-group file, never via a link."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, storage.FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as fh:
        os.fchmod(fh.fileno(), storage.FILE_MODE)
        fh.write(text)


def _write_rejected(sources: list[_Source], problems: list[_Problem]) -> tuple[list[Path], list[str]]:
    """Write each bad file's rejected rows beside it; returns (paths written, notes on failures)."""
    written, notes, taken = [], [], set()
    for index, source in enumerate(sources):
        reasons: dict[int, list[str]] = {}
        for p in problems:
            if p.source == index:
                reasons.setdefault(p.row, []).append(f"{p.column}: {p.message}")
        if not reasons:
            continue
        positions = np.flatnonzero(np.isin(source.row_numbers, list(reasons)))
        rejected = source.raw.iloc[positions].copy()
        numbers = source.row_numbers[positions]
        row_name = "row" if "row" not in rejected.columns else "rejected_row"
        reason_name = "reason" if "reason" not in rejected.columns else "rejected_reason"
        rejected.insert(0, row_name, numbers)
        rejected[reason_name] = ["; ".join(reasons[int(n)]) for n in numbers]
        rejected = rejected.astype(object).map(neutralise)
        rejected.columns = [neutralise(str(c)) for c in rejected.columns]
        target = _rejected_path(source.path, taken)
        try:
            # every cell quoted: a lone carriage return in a cell cannot start a row
            _write_private(target, rejected.to_csv(index=False, quoting=csv.QUOTE_ALL))
            written.append(target)
        except OSError as exc:
            notes.append(f"could not write rejected rows to {target}: {exc.strerror or exc}")
    return written, notes


# --- a monthly refresh: what the load changes ---------------------------------------


@dataclass(frozen=True)
class SliceChange:
    """What a load does to one (force, month) slice of the table.

    Attributes:
        force, month: the slice (``month`` as ``YYYY-MM`` of the coverage column).
        rows_before, rows_after: the slice's rows in the current and the new version.
        added: rows of the file whose key the slice did not hold.
        replaced: rows of the slice whose key the file holds again (their values are the file's).
        removed: rows of the slice whose key the file does not hold (they go).
    """

    force: str
    month: str
    rows_before: int
    rows_after: int
    added: int
    replaced: int
    removed: int


@dataclass
class _Plan:
    """The new version of a table: the current rows kept, the file's rows, and what changes."""

    kept: pyarrow.Table | None
    new: pyarrow.Table
    changes: list[SliceChange]
    rows_before: int
    conflicts: list[_Cell]
    months_removed: dict[str, list[str]]
    notes: list[str]

    @property
    def rows_after(self) -> int:
        return (self.kept.num_rows if self.kept is not None else 0) + self.new.num_rows

    @property
    def rows_kept(self) -> int:
        return self.kept.num_rows if self.kept is not None else 0

    def total(self, name: str) -> int:
        return sum(getattr(c, name) for c in self.changes)


def _read_current(data_dir: Path, spec: Table) -> pyarrow.Table | None:
    """The table's current rows typed to the contract, or None when it has none."""
    files = storage.list_data_files(data_dir, spec.name)
    if not files:
        return None
    schema = spec.arrow_schema()
    parts = []
    for path in files:
        try:
            part = pq.read_table(path)
            parts.append(part.select(spec.column_names).cast(schema).replace_schema_metadata(None))
        except Exception as exc:  # arrow raises several types for a damaged or foreign file
            raise IngestError(
                f"{spec.name} not loaded: its current data cannot be read to merge a monthly refresh "
                f"({path.name}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                "the table is unchanged — load with --replace-all to swap the whole table"
            ) from None
    return pyarrow.concat_tables(parts)


def _slice_frame(spec: Table, table: pyarrow.Table) -> pd.DataFrame:
    """Each row's slice ("force\\x1fYYYY-MM"), force, month and an identity (its key, hashed)."""
    coverage = table[spec.coverage_column]
    if pyarrow.types.is_date(coverage.type):
        coverage = coverage.cast(pyarrow.timestamp("ms"))
    month = pc.strftime(coverage, format="%Y-%m").to_pandas()
    force = table["force"].to_pandas()
    names = list(spec.key) or spec.column_names  # a table without a key: a row is its values
    as_text = pd.DataFrame({n: table[n].cast(pyarrow.string()).to_pandas() for n in names})
    identity = pd.util.hash_pandas_object(as_text, index=False).to_numpy()
    if not spec.key:  # identical rows are told apart by their order of appearance
        nth = pd.Series(identity).groupby(identity).cumcount().to_numpy()
        identity = pd.util.hash_pandas_object(pd.DataFrame({"h": identity, "n": nth}), index=False).to_numpy()
    frame = pd.DataFrame({"force": force.astype(object), "month": month.astype(object)})
    frame["slice"] = frame["force"] + "\x1f" + frame["month"]
    frame["key"] = identity
    frame["slice_key"] = frame["slice"] + "\x1f" + frame["key"].astype(str)
    return frame


def _month_ranges(months: Sequence[str]) -> str:
    """Sorted ``YYYY-MM`` months as runs: "2020-04 – 2021-12, 2022-04"."""
    periods = sorted(pd.Period(m, "M") for m in set(months))
    runs: list[list[pd.Period]] = []
    for p in periods:
        if runs and p == runs[-1][-1] + 1:
            runs[-1].append(p)
        else:
            runs.append([p])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]} – {r[-1]}" for r in runs)


def _plan(spec: Table, frame: pd.DataFrame, current: pyarrow.Table | None, *, replace_all: bool) -> _Plan:
    """What the load of ``frame`` does to the ``current`` rows: a monthly refresh or a whole swap."""
    new = to_arrow(spec.name, frame)
    if current is None:
        current = spec.arrow_schema().empty_table()
    old_s, new_s = _slice_frame(spec, current), _slice_frame(spec, new)
    coverage = set(new_s["slice"])
    in_coverage = old_s["slice"].isin(coverage).to_numpy()
    keep = np.zeros(len(old_s), dtype=bool) if replace_all else ~in_coverage
    affected = old_s.loc[~keep]

    conflicts: list[_Cell] = []
    notes: list[str] = []
    if spec.key and keep.any():
        kept = old_s.loc[keep].drop_duplicates("key").set_index("key")
        clash = new_s["key"].isin(kept.index).to_numpy()
        for pos in np.flatnonzero(clash):
            where = kept.loc[new_s.at[pos, "key"]]
            conflicts.append(
                _Cell(
                    int(pos),
                    spec.key[-1],
                    f"key {_key_text(spec, frame, int(pos))} is already in the table in {where['force']} "
                    f"{where['month']}, outside the months and forces this file covers: a monthly refresh "
                    "replaces only those, so the key would be held twice — fix the row, or load with "
                    "--replace-all to swap the whole table",
                )
            )
    if not replace_all and keep.any():
        known = {f.casefold().strip(): f for f in old_s.loc[keep, "force"].unique()}
        for force in new_s["force"].unique():
            twin = known.get(force.casefold().strip())
            if twin is not None and twin != force and force not in set(old_s["force"]):
                pos = int(np.flatnonzero((new_s["force"] == force).to_numpy())[0])
                conflicts.append(
                    _Cell(
                        pos,
                        "force",
                        f"{force!r} differs from the table's force {twin!r} only in case or spacing: "
                        "it would be loaded as another force — spell it as the table does",
                    )
                )

    new_known = set(new_s["slice_key"])
    old_known = set(affected["slice_key"])
    added = (~new_s["slice_key"].isin(old_known)).groupby(new_s["slice"]).sum()
    replaced = affected["slice_key"].isin(new_known).groupby(affected["slice"]).sum()
    before = affected.groupby("slice").size()
    after = new_s.groupby("slice").size()
    changes = []
    for name in sorted(set(before.index) | set(after.index)):
        force, month = name.split("\x1f")
        n_before, n_after = int(before.get(name, 0)), int(after.get(name, 0))
        n_replaced = int(replaced.get(name, 0))
        changes.append(
            SliceChange(
                force, month, n_before, n_after, int(added.get(name, 0)), n_replaced, n_before - n_replaced
            )
        )
    months_removed: dict[str, list[str]] = {}
    for force, month in sorted({(c.force, c.month) for c in changes if c.rows_after == 0}):
        months_removed.setdefault(force, []).append(month)
    if not replace_all and keep.any():
        span = new_s.groupby("force")["month"].agg(["min", "max"])
        kept_slices = old_s.loc[keep, ["force", "month"]].drop_duplicates()
        for force, row in span.iterrows():
            inside = kept_slices[
                (kept_slices["force"] == force)
                & (kept_slices["month"] > row["min"])
                & (kept_slices["month"] < row["max"])
            ]
            if len(inside):
                notes.append(
                    f"{force}: {_month_ranges(inside['month'])} lie between this file's first and last "
                    "months but have no rows in it; the table's rows for them are kept"
                )
    kept_table = current.filter(pyarrow.array(keep)) if keep.any() else None
    return _Plan(kept_table, new, changes, current.num_rows, conflicts, months_removed, notes)


def _guard(plan: _Plan, spec: Table, max_removed_share: float) -> None:
    """Refuse a refresh that would lose data outside the file's coverage or too much of the table."""
    if not plan.rows_before:
        return
    covered = {(c.force, c.month) for c in plan.changes if c.rows_after}
    lost = {(c.force, c.month) for c in plan.changes if not c.rows_after} - covered
    if lost:  # a refresh keeps every slice it does not cover; this is a guard against a bug
        months = ", ".join(f"{f} {m}" for f, m in sorted(lost)[:10])
        raise IngestError(
            f"{spec.name} not loaded: it would remove whole months or forces the file does not cover "
            f"({months}); the table is unchanged — load with --replace-all to swap the whole table"
        )
    removed = plan.total("removed")
    share = removed / plan.rows_before
    if share > max_removed_share:
        worst = sorted(plan.changes, key=lambda c: -c.removed)[:5]
        detail = "; ".join(f"{c.force} {c.month}: {c.rows_before:,} → {c.rows_after:,} rows" for c in worst)
        raise IngestError(
            f"{spec.name} not loaded: this refresh would remove {removed:,} of the table's "
            f"{plan.rows_before:,} rows ({share:.0%}, more than the {max_removed_share:.0%} allowed: "
            f"{detail}); the table is unchanged — check the file is complete, or load with "
            "--replace-all (or raise --max-removed-share)",
            rows=plan.new.num_rows,
        )


# --- storing ------------------------------------------------------------------------


def _part_names(sources: list[_Source], taken: Sequence[str] = ()) -> list[str]:
    names, used = [], set(taken)
    for source in sources:
        stem = re.sub(r"[^A-Za-z0-9_-]+", "-", source.path.stem).lstrip("._-") or "part"
        name, n = f"{stem}.parquet", 1
        while name in used:
            n += 1
            name = f"{stem}-{n}.parquet"
        used.add(name)
        names.append(name)
    return names


KEPT_PART = "kept.parquet"


def _store(
    data_dir: Path, spec: Table, plan: _Plan, sources: list[_Source], lock: storage.DataLock
) -> tuple[str, str | None]:
    """Write the new version (one part per input file, plus the kept rows) and make it current."""
    staging = storage.new_staging_dir(data_dir, spec.name)
    lock.update(stage="staging", staging=staging.name)
    try:
        start = 0
        for source, name in zip(sources, _part_names(sources, taken=[KEPT_PART]), strict=True):
            pq.write_table(plan.new.slice(start, len(source.raw)), staging / name)
            storage.private_file(staging / name)
            start += len(source.raw)
        if plan.kept is not None and plan.kept.num_rows:
            pq.write_table(plan.kept, staging / KEPT_PART)
            storage.private_file(staging / KEPT_PART)
        storage.fsync_tree(staging)
        lock.update(stage="staged")
        _pause("staged")

        def progress(stage: str, version: str) -> None:
            lock.update(stage=stage, version=version)
            _pause(stage)

        with storage.table_lock(data_dir, spec.name):
            return storage.commit_version(data_dir, spec.name, staging, progress)
    except BaseException:
        if staging.exists():  # only our own unfinished folder, never a version
            shutil.rmtree(staging, ignore_errors=True)
        raise


def _pause(stage: str) -> None:
    """For the crash tests only: sleep at ``stage`` when ``CPD_INGEST_TEST_PAUSE`` is "stage[:seconds]"."""
    wanted = os.environ.get(PAUSE_ENV)
    if not wanted:
        return
    name, _, seconds = wanted.partition(":")
    if name == stage:
        print(f"ingest: paused at {stage} (pid {os.getpid()})", file=sys.stderr, flush=True)
        time.sleep(float(seconds or 60))


# --- the API --------------------------------------------------------------------------


def _user(user: str | None) -> str:
    """The caller's name for the log, else the operating-system account (never $LOGNAME or $USER)."""
    if user:
        return user
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid with no passwd entry, as in some containers
        return f"uid {uid}"


def _log(data_dir: Path, **entry: object) -> None:
    record = {
        "at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "user": entry.pop("user"),
        "table": entry.pop("table"),
        "files": entry.pop("files", []),
        "status": entry.pop("status"),
        "rows": int(entry.pop("rows", 0)),
        "rejected_rows": int(entry.pop("rejected_rows", 0)),
        "reasons": list(entry.pop("reasons", []))[:MAX_LOGGED_REASONS],
        "version": entry.pop("version", None),
        "previous_version": entry.pop("previous_version", None),
        **entry,
    }
    try:
        storage.append_ingest_log(data_dir, record)
    except OSError as exc:
        reason = exc.strerror or exc
        print(f"warning: could not write the ingest log in {data_dir}: {reason}", file=sys.stderr)
    _audit(data_dir, record)


def _audit(data_dir: Path, record: dict) -> None:
    """Every load, refusal and rollback is also a row of the app's audit log (auth.audit), in the
    instance folder of the app that serves ``data_dir``."""
    from auth import audit, instance_dir, private_dir

    outcome = {"loaded": "done", "rolled back": "done", "refused": "refused"}.get(record["status"], "failed")
    try:
        audit.record(
            f"ingest {record['table']}",
            outcome=outcome,
            user=record["user"],
            role=record.get("role") or "cli",
            rows=record.get("rows"),
            detail={
                k: record.get(k) for k in ("status", "files", "version", "previous_version", "rejected_rows")
            },
            path=private_dir(instance_dir(data_dir)) / "audit.sqlite",
        )
    except (OSError, sqlite3.Error) as exc:
        print(f"warning: could not write the audit log for this load: {exc}", file=sys.stderr)


def _table_spec(table: str) -> Table:
    if table not in TABLES:
        raise IngestError(f"unknown table {table!r}: the tables are {', '.join(TABLES)}")
    return TABLES[table]


def _current(data_dir: Path, table: str) -> str | None:
    return storage.current_version(data_dir, table) if table in TABLES else None


def _busy_message(what: str, data_dir: Path, busy: storage.Busy) -> str:
    holder = busy.holder or {}
    who = ""
    if holder.get("user") or holder.get("pid"):
        action = "a rollback" if holder.get("action") == "rollback" else "a load"
        of = f" of {holder['table']}" if holder.get("table") else ""
        by = f" by {holder['user']}" if holder.get("user") else ""
        pid = f" (pid {holder['pid']})" if holder.get("pid") else ""
        since = f" since {holder['started']}" if holder.get("started") else ""
        who = f": {action}{of}{by}{pid}{since}"
    return (
        f"{what}: another load or rollback is running in {data_dir}{who}; waited "
        f"{busy.waited_seconds:g} s for it — the table is unchanged: try again when it has finished "
        "(or wait longer with --wait SECONDS)"
    )


def _start(data_dir: Path, lock: storage.DataLock) -> list[str]:
    """At the start of a load or rollback: clean up after one that was killed, and log it."""
    left = lock.left_behind
    notes = storage.recover(data_dir, left)
    if left is None and not notes:
        return []
    left = left or {}
    what = (
        f"{'a rollback' if left.get('action') == 'rollback' else 'a load'}"
        f"{' of ' + str(left['table']) if left.get('table') else ''}"
        f"{' by ' + str(left['user']) if left.get('user') else ''}"
        f"{' (pid ' + str(left['pid']) + ')' if left.get('pid') else ''}"
        f"{' started ' + str(left['started']) if left.get('started') else ''}"
    )
    stage = f" at stage {left['stage']}" if left.get("stage") else ""
    head = (
        f"{what} was interrupted{stage} before it finished"
        if left
        else "an earlier load was interrupted before it finished"
    )
    table = left.get("table")
    current = _current(data_dir, table) if isinstance(table, str) else None
    tail = f"; {table} is at version {current}" if current else ""
    reasons = [f"{head}{tail}", *notes]
    _log(
        data_dir,
        user=left.get("user") or "unknown",
        table=table or "",
        files=left.get("files") or [],
        status="interrupted",
        reasons=reasons,
        version=None,
        previous_version=current,
        found_by=lock.record.get("user"),
        started=left.get("started"),
    )
    return reasons


def _read_all(
    spec: Table, paths: list[Path], options: ReadOptions, labels: Sequence[str] | None = None
) -> list[_Source]:
    """Every input file read (or IngestError naming each that cannot be used)."""
    labels = list(labels) if labels else _labels(paths)
    sources, file_errors = [], []
    seen: set[Path] = set()
    for path, label in zip(paths, labels, strict=True):
        try:
            resolved = path.resolve()
            if resolved in seen:
                raise _FileProblem(f"{label} is given twice")
            seen.add(resolved)
            sources.append(_read_source(path, label, spec, options))
        except _FileProblem as exc:
            file_errors.append(str(exc))
        except OSError as exc:
            file_errors.append(f"{label} cannot be read: {exc.strerror or exc}")
    if file_errors:
        raise IngestError(
            file_errors[0]
            if len(file_errors) == 1
            else f"{spec.name} not loaded: {len(file_errors)} files cannot be used",
            file_errors,
            rows=sum(len(s.raw) for s in sources),
        )
    return sources


def _refuse_rows(spec: Table, sources: list[_Source], problems: list[_Problem]) -> IngestError:
    errors = [_describe(p, sources) for p in problems]
    rejected_paths, notes = _write_rejected(sources, problems)
    bad_rows = len({(p.source, p.row) for p in problems if p.source >= 0})
    return IngestError(
        f"{spec.name} not loaded: {len(errors)} problem{'s' if len(errors) != 1 else ''} in "
        f"{bad_rows} row{'s' if bad_rows != 1 else ''} ({ROW_NOTE}); the table is unchanged",
        errors + notes,
        rejected_paths,
        rows=sum(len(s.raw) for s in sources),
        rejected_rows=bad_rows,
    )


def ingest(
    data_dir: str | Path,
    table: str,
    files: Sequence[str | Path],
    *,
    user: str | None = None,
    replace_all: bool = False,
    dry_run: bool = False,
    max_removed_share: float = MAX_REMOVED_SHARE,
    encoding: str | None = None,
    date_format: str | None = None,
    sheet: str | None = None,
    ignore_extra_columns: bool = False,
    wait_seconds: float = LOCK_WAIT_SECONDS,
    keep: int | None = KEEP_VERSIONS,
    labels: Sequence[str] | None = None,
    role: str | None = None,
    progress: ProgressCallback | None = None,
    expect_version: str | None = ANY_VERSION,
) -> IngestResult:
    """Load ``files`` (CSV, XLSX or parquet; together one table) into ``table``, all or nothing.

    By default a load is a monthly refresh: the (force, month) slices the files cover (the
    month of the table's coverage column) replace those slices of the current table and every
    other row is kept. ``replace_all`` swaps the whole table instead. One load or rollback at a
    time changes a data folder; a load killed on the way leaves the previous version current,
    and the next one cleans up after it and logs it as "interrupted".

    Args:
        data_dir: the data directory (created if missing).
        table: a contract table name.
        files: the extract's files; a key must be unique across all of them and the rows kept.
        user: who loads, for the log (default: the operating-system account).
        replace_all: swap the whole table for the files' rows.
        dry_run: validate and work out the changes, but write nothing in ``data_dir`` (no
            version, no log line, no lock taken); a refused file still gets its ``.rejected.csv``.
        max_removed_share: a refresh removing more than this share of the table's rows is
            refused (``replace_all`` is never refused for it).
        encoding: the encoding CSV files are saved in (default UTF-8; never guessed). A file
            read in a single-byte encoding that holds UTF-8 text is refused as mixed.
        date_format: the order of non-ISO dates in the files (a key of ``DATE_FORMATS``,
            e.g. ``dd/mm/yyyy``); without it only ISO 8601 dates and times are accepted.
        sheet: the XLSX sheet to load (a workbook with several sheets needs it).
        ignore_extra_columns: load without the columns the contract does not know (by
            default a file with such columns is refused, naming them).
        wait_seconds: how long to wait for another load or rollback of the folder to finish
            before refusing.
        keep: versions kept besides the current one; older ones are removed (None: keep all).
        labels: what to call each file in messages and in the log (default: its name). The app
            passes the name the user uploaded, not the private file it was saved as.
        role: the signed-in user's role, for the audit row (default "cli").
        progress: called as ``progress(done, total, message)`` at each stage (reading,
            validating, planning, writing), so a page can show how far a large file has got.
        expect_version: refuse the load unless the table's current version is this one when
            the lock is held (None: the table has no version yet). The app passes the version
            its dry run compared with, so that a load confirmed after another one landed does
            not do something other than the summary the user saw. Default: not checked.

    Returns:
        What was loaded (or, for a dry run, what would be) and what it changed.

    Raises:
        IngestError: the load was refused and the table is unchanged; ``errors``
            lists every problem, ``rejected_paths`` the ``.rejected.csv`` written.
    """
    data_dir = Path(data_dir)
    paths = [Path(f) for f in files]
    who = _user(user)
    if labels is not None and len(labels) != len(paths):
        raise ValueError("give one label per file")
    names = list(labels) if labels is not None else [str(p.absolute()) for p in paths]
    base = {"user": who, "table": table, "files": names}
    if role:
        base["role"] = role
    mode = "replace all" if replace_all else "refresh"
    settings = {
        "replace_all": replace_all,
        "max_removed_share": max_removed_share,
        "encoding": encoding,
        "date_format": date_format,
        "sheet": sheet,
        "ignore_extra_columns": ignore_extra_columns,
        "keep": keep,
        "labels": list(labels) if labels is not None else None,
        "progress": progress or _no_progress,
        "expect_version": expect_version,
    }
    if dry_run:
        return _load(data_dir, table, paths, base, mode, settings, None)
    holder = {
        "action": "load",
        "pid": os.getpid(),
        "user": who,
        "table": table,
        "files": base["files"],
        "started": datetime.now().astimezone().isoformat(timespec="seconds"),
        "stage": "started",
    }
    settings["progress"](0, LOAD_STEPS, "Waiting for any other load of this data to finish")
    try:
        with storage.data_lock(data_dir, holder, wait_seconds=wait_seconds) as lock:
            interrupted = _start(data_dir, lock)
            lock.update(stage="locked")
            _pause("locked")
            result = _load(data_dir, table, paths, base, mode, settings, lock)
            result.interrupted = interrupted
            return result
    except storage.Busy as busy:
        message = _busy_message(f"{table} not loaded", data_dir, busy)
        _log(
            data_dir, **base, status="refused", reasons=[message], previous_version=_current(data_dir, table)
        )
        raise IngestError(message) from None
    except OSError as exc:  # the folder or its lock cannot be made: the log may not be writable either
        message = f"{table} not loaded: {exc.strerror or exc} ({exc.filename or data_dir})"
        _log(
            data_dir, **base, status="refused", reasons=[message], previous_version=_current(data_dir, table)
        )
        raise IngestError(message) from exc


def _load(
    data_dir: Path,
    table: str,
    paths: list[Path],
    base: dict,
    mode: str,
    settings: dict,
    lock: storage.DataLock | None,
) -> IngestResult:
    """Read, validate, plan and (unless ``lock`` is None: a dry run) store and log one load."""
    dry_run = lock is None
    rows = 0
    steps = DRY_RUN_STEPS if dry_run else LOAD_STEPS
    done = 0 if dry_run else 1  # a load's first step was waiting for the lock

    def step(message: str) -> None:
        nonlocal done
        settings["progress"](done, steps, message)
        done += 1

    try:
        spec = _table_spec(table)
        if not paths:
            raise IngestError(f"no files given to load into {table}")
        options = ReadOptions(
            encoding=_check_encoding(settings["encoding"]) if settings["encoding"] else None,
            date_format=_check_date_format(settings["date_format"]) if settings["date_format"] else None,
            sheet=settings["sheet"],
            ignore_extra_columns=settings["ignore_extra_columns"],
        )
        step(f"Reading {_files_text(settings['labels'] or [p.name for p in paths])}")
        sources = _read_all(spec, paths, options, settings["labels"])
        rows = sum(len(s.raw) for s in sources)
        step(f"Checking {rows:,} rows against the {table} contract")
        frame, problems = _validate(spec, sources)
        if problems:
            raise _refuse_rows(spec, sources, problems)
        step(f"Comparing with the {table} table's current rows")
        plan = _plan(spec, frame, _read_current(data_dir, spec), replace_all=settings["replace_all"])
        if plan.conflicts:
            raise _refuse_rows(spec, sources, _to_problems(spec, sources, plan.conflicts))
        if not settings["replace_all"]:
            _guard(plan, spec, settings["max_removed_share"])
        previous = _current(data_dir, table)
        expected = settings["expect_version"]
        if lock is not None and expected != ANY_VERSION and previous != expected:
            raise IngestError(
                f"{table} not loaded: the table changed after these files were checked (version "
                f"{expected or 'none'} then, {previous or 'none'} now: another load or rollback "
                "landed in between); the table is unchanged — check the files again",
                rows=rows,
            )
        version, removed_versions = None, []
        if lock is not None:
            step(f"Writing the new version of {table}")
            version, previous = _store(data_dir, spec, plan, sources, lock)
            if settings["keep"] is not None:
                removed_versions = storage.prune_versions(data_dir, table, settings["keep"])
    except IngestError as exc:
        if not dry_run:
            _log(
                data_dir,
                **base,
                status="refused",
                rows=exc.rows,
                rejected_rows=exc.rejected_rows,
                reasons=exc.errors,
                previous_version=_current(data_dir, table),
                mode=mode,
            )
        raise
    except OSError as exc:
        message = f"{table} not loaded: {exc.strerror or exc} ({exc.filename or data_dir})"
        if not dry_run:
            _log(
                data_dir,
                **base,
                status="refused",
                rows=rows,
                reasons=[message],
                previous_version=_current(data_dir, table),
                mode=mode,
            )
        raise IngestError(message, rows=rows) from exc
    except Exception as exc:  # a bug, not bad input: logged, then raised as it is
        if not dry_run:
            _log(
                data_dir,
                **base,
                status="refused",
                rows=rows,
                reasons=[f"unexpected {type(exc).__name__}: {exc}"],
                previous_version=_current(data_dir, table),
                mode=mode,
            )
        raise
    result = IngestResult(
        table=table,
        version=version,
        previous_version=previous,
        rows=plan.new.num_rows,
        files=settings["labels"] or [str(p) for p in paths],
        path=storage.table_dir(data_dir, table),
        ignored_columns={s.label: s.ignored for s in sources if s.ignored},
        mode=mode,
        dry_run=dry_run,
        table_rows=plan.rows_after,
        previous_rows=plan.rows_before,
        rows_kept=plan.rows_kept,
        changes=plan.changes,
        months_removed=plan.months_removed,
        notes=plan.notes,
        removed_versions=removed_versions,
    )
    if lock is not None:
        _log(  # before the lock is let go: a load killed before this line is logged as interrupted
            data_dir,
            **base,
            status="loaded",
            rows=result.rows,
            version=version,
            previous_version=previous,
            mode=mode,
            table_rows=result.table_rows,
            removed_versions=removed_versions,
            summary=result.summary_lines(limit=MAX_LOGGED_CHANGES),
        )
        lock.update(stage="logged")
    return result


def rollback(
    data_dir: str | Path, table: str, *, user: str | None = None, wait_seconds: float = LOCK_WAIT_SECONDS
) -> str:
    """Point ``table`` at the version before its current one (name order); nothing is deleted.

    Returns:
        The version now current.

    Raises:
        IngestError: unknown table, no earlier version to go back to, or another load or
            rollback still running after ``wait_seconds``.
    """
    data_dir = Path(data_dir)
    who = _user(user)
    base = {"user": who, "table": table, "files": []}
    if not data_dir.is_dir():  # not logged: there is no data directory to hold the log
        raise IngestError(f"data directory {data_dir} does not exist")
    holder = {
        "action": "rollback",
        "pid": os.getpid(),
        "user": who,
        "table": table,
        "started": datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    try:
        _table_spec(table)
        try:
            with storage.data_lock(data_dir, holder, wait_seconds=wait_seconds) as lock:
                _start(data_dir, lock)
                with storage.table_lock(data_dir, table):
                    try:
                        target, was = storage.point_at_previous(data_dir, table)
                    except LookupError as exc:
                        raise IngestError(str(exc)) from None
                rows = next(
                    (v["rows"] for v in storage.list_versions(data_dir, table) if v["version"] == target), 0
                )
                _log(
                    data_dir,
                    **base,
                    status="rolled back",
                    rows=rows or 0,
                    version=target,
                    previous_version=was,
                )
                return target
        except storage.Busy as busy:
            raise IngestError(_busy_message(f"{table} not rolled back", data_dir, busy)) from None
    except IngestError as exc:
        previous = _current(data_dir, table)
        _log(data_dir, **base, status="refused", reasons=exc.errors, previous_version=previous)
        raise


# --- the command line -------------------------------------------------------------------


def _share(text: str) -> float:
    """A share as 0.5 or 50%."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share (give 0.5 or 50%)") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not between 0 and 1 (0% and 100%)")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m data.ingest",
        description="Load a force's extract (CSV, XLSX or parquet) into the data directory as a monthly "
        "refresh (the force-months the files cover replace those of the table; every other row is "
        "kept), swap the whole table with --replace-all, or roll a table back to its previous version.",
    )
    parser.add_argument("--data", required=True, metavar="DIR", help="the data directory")
    parser.add_argument("--table", required=True, metavar="NAME", help=f"one of: {', '.join(TABLES)}")
    parser.add_argument("--rollback", action="store_true", help="point the table at its previous version")
    parser.add_argument(
        "--replace-all",
        action="store_true",
        help="swap the whole table for the files' rows (default: replace only the force-months they cover)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="validate and print what would change; write nothing in DIR (a refused file still gets "
        "its .rejected.csv)",
    )
    parser.add_argument(
        "--max-removed-share",
        type=_share,
        default=MAX_REMOVED_SHARE,
        metavar="SHARE",
        help="refuse a refresh that removes more than this share of the table's rows "
        f"(default {MAX_REMOVED_SHARE * 100:.0f}%%; e.g. 0.8 or 80%%)",
    )
    parser.add_argument(
        "--encoding",
        metavar="NAME",
        help="the encoding the CSV files are saved in, e.g. cp1252 (default UTF-8; never guessed)",
    )
    parser.add_argument(
        "--date-format",
        metavar="FORMAT",
        help=f"the order of non-ISO dates in the files: {', '.join(DATE_FORMATS)} "
        "(default: ISO 8601 only, e.g. 2022-10-01 13:05)",
    )
    parser.add_argument(
        "--sheet", metavar="NAME", help="the XLSX sheet to load (needed when there are several)"
    )
    parser.add_argument(
        "--ignore-extra-columns",
        action="store_true",
        help="load without columns the contract does not know (default: refuse the file, naming them)",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=LOCK_WAIT_SECONDS,
        metavar="SECONDS",
        help="how long to wait for another load or rollback of DIR to finish before refusing "
        f"(default {LOCK_WAIT_SECONDS:g})",
    )
    parser.add_argument(
        "--keep",
        type=int,
        default=KEEP_VERSIONS,
        metavar="N",
        help=f"old versions kept besides the current one; older ones are removed (default {KEEP_VERSIONS})",
    )
    parser.add_argument("--debug", action="store_true", help="show a traceback for unexpected errors")
    parser.add_argument("files", nargs="*", metavar="FILE", help="the extract's files (together one table)")
    args = parser.parse_args(argv)
    if args.keep < 0:
        parser.error("--keep must be 0 or more")
    if args.wait < 0:
        parser.error("--wait must be 0 or more")
    os.umask(0o007)  # whatever this process creates: owner and group only
    if args.rollback and args.files:
        parser.error("give either FILEs to load or --rollback, not both")
    if not args.rollback and not args.files:
        parser.error("give the FILEs to load (or --rollback)")
    if args.rollback and (args.replace_all or args.dry_run):
        parser.error("--replace-all and --dry-run apply to a load, not to --rollback")
    try:
        if args.rollback:
            was = storage.current_version(args.data, args.table) if args.table in TABLES else None
            now = rollback(args.data, args.table, wait_seconds=args.wait)
            print(f"{args.table} rolled back to version {now} (was {was or 'a plain folder'}).")
            return 0
        result = ingest(
            args.data,
            args.table,
            args.files,
            replace_all=args.replace_all,
            dry_run=args.dry_run,
            max_removed_share=args.max_removed_share,
            encoding=args.encoding,
            date_format=args.date_format,
            sheet=args.sheet,
            ignore_extra_columns=args.ignore_extra_columns,
            wait_seconds=args.wait,
            keep=args.keep,
        )
    except IngestError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        shown = exc.errors if len(exc.errors) > 1 or exc.errors[0] != exc.message else []
        for line in shown[:MAX_PRINTED_ERRORS]:
            print(f"  {line}", file=sys.stderr)
        if len(shown) > MAX_PRINTED_ERRORS:
            print(f"  … and {len(shown) - MAX_PRINTED_ERRORS} more", file=sys.stderr)
        for path in exc.rejected_paths:
            print(f"Rejected rows with their reasons: {path}", file=sys.stderr)
        return 1
    except Exception as exc:  # one line, not a traceback, unless asked
        if args.debug:
            raise
        print(
            f"error: unexpected {type(exc).__name__}: {exc} (rerun with --debug for details)", file=sys.stderr
        )
        return 1
    for line in result.interrupted:
        print(f"note: {line}")
    for line in result.summary_lines(limit=MAX_PRINTED_CHANGES):
        print(line)
    for label, names in result.ignored_columns.items():
        print(f"note: {label}: loaded without columns not in the contract: {', '.join(names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
