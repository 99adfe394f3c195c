"""Storage layout of a data directory: versioned table folders, the lock and the ingest log.

Layout (``DIR`` is the data directory)::

    DIR/<table>                      the folder readers read: either a real folder
                                     (as the synthetic generator writes it, or a
                                     force's files copied by hand) or a relative
                                     symlink to DIR/_versions/<table>/<version>
    DIR/_versions/<table>/<version>/ one folder per load; <version> is a sortable
                                     UTC stamp such as 20261128T112233Z-3fa2b1; a
                                     real folder found at DIR/<table> on the first
                                     ingest is kept as <stamp>-original. Ingest
                                     keeps the current one and ``--keep`` others.
    DIR/_versions/<table>/.tmp-*     a load being written (not yet a version), or a
                                     version being removed
    DIR/_ingest.lock                 held (fcntl) by the one load or rollback that may
                                     change DIR; while held it records who and how far
    DIR/_ingest_log.jsonl            one JSON line per ingest or rollback attempt

Readers list ``DIR/<table>/*.parquet`` themselves and skip names beginning with
``_`` or ``.`` (the Hive/Spark convention: DuckDB's own globs do not skip
them). A new version becomes current by an atomic symlink swap, so a reader
sees either the old files or the new ones, never a mixture; a version's name
sorts after every earlier version's, so "the version before" is name order.
Folders are created 0750 and files 0640: owner and group only.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import stat
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq

from data.contract import TABLES

VERSIONS_DIR = "_versions"
LOG_NAME = "_ingest_log.jsonl"
LOCK_NAME = "_ingest.lock"  # one load or rollback at a time per data folder; who holds it, while held
ORIGINAL_SUFFIX = "original"
_STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_STAMP_LENGTH = len("20261128T112233Z")
DIR_MODE = 0o750  # data folders: owner and group only
FILE_MODE = 0o640  # data files, the log, rejected rows: owner and group only


def is_hidden(name: str) -> bool:
    """True for names readers skip: those beginning with ``_`` or ``.``."""
    return name.startswith(("_", "."))


def table_dir(data_dir: str | Path, table: str) -> Path:
    """The path readers read for ``table``: ``DIR/<table>`` (a folder or a symlink)."""
    return Path(data_dir) / table


def versions_dir(data_dir: str | Path, table: str) -> Path:
    """Where ``table``'s versions live: ``DIR/_versions/<table>``."""
    return Path(data_dir) / VERSIONS_DIR / table


def list_data_files(data_dir: str | Path, table: str) -> list[Path]:
    """The sorted parquet files of ``table``'s current data.

    The symlink is resolved once, so the files returned all belong to one
    version even if an ingest swaps the table meanwhile (a version's files
    are removed only once ``--keep`` newer loads have followed it). Names
    beginning with ``_`` or ``.`` are skipped.

    Returns:
        Paths inside the resolved folder; empty when the table has no folder.
    """
    folder = table_dir(data_dir, table)
    if not folder.is_dir():
        return []
    resolved = folder.resolve()
    return sorted(
        p for p in resolved.iterdir() if p.suffix == ".parquet" and not is_hidden(p.name) and p.is_file()
    )


def current_version(data_dir: str | Path, table: str) -> str | None:
    """The version ``DIR/<table>`` points at.

    Returns:
        The version name, or None when the table is a real folder (not yet
        versioned), is missing, or is a symlink to somewhere else.
    """
    link = table_dir(data_dir, table)
    if not link.is_symlink():
        return None
    target = Path(os.readlink(link))
    if not target.is_absolute():
        target = link.parent / target
    target = Path(os.path.normpath(target))
    home = Path(os.path.normpath(versions_dir(data_dir, table).absolute()))
    if Path(os.path.normpath(target.absolute())).parent != home:
        return None
    return target.name


def _version_names(data_dir: str | Path, table: str) -> list[str]:
    folder = versions_dir(data_dir, table)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith(".") and p.is_dir())


def _stamp_time(name: str) -> datetime | None:
    try:
        return datetime.strptime(name[:_STAMP_LENGTH], _STAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def _rows(folder: Path) -> int | None:
    try:
        return sum(
            pq.read_metadata(p).num_rows
            for p in folder.iterdir()
            if p.suffix == ".parquet" and not is_hidden(p.name)
        )
    except Exception:  # a damaged file only costs the row count
        return None


def list_versions(data_dir: str | Path, table: str, *, with_rows: bool = True) -> list[dict]:
    """Every kept version of ``table``, oldest first.

    Returns:
        One dict per version: ``version`` (folder name), ``path``, ``rows``
        (from the parquet footers; None if unreadable or not asked for),
        ``created`` (an aware UTC datetime, from the name's stamp, else the
        folder's mtime) and ``is_current``.
    """
    current = current_version(data_dir, table)
    out = []
    for name in _version_names(data_dir, table):
        path = versions_dir(data_dir, table) / name
        created = _stamp_time(name) or datetime.fromtimestamp(path.stat().st_mtime, UTC)
        out.append(
            {
                "version": name,
                "path": path,
                "rows": _rows(path) if with_rows else None,
                "created": created,
                "is_current": name == current,
            }
        )
    return out


def data_version(data_dir: str | Path) -> str:
    """A short hash that changes whenever any contract table's data changes.

    It covers each table's resolved folder and its data files' names, sizes
    and mtime_ns, so caches and DuckDB views can key on it.
    """
    digest = hashlib.sha256()
    for table in sorted(TABLES):
        folder = table_dir(data_dir, table)
        resolved = str(folder.resolve()) if folder.exists() else "-"
        digest.update(f"{table}\0{resolved}\n".encode())
        for path in list_data_files(data_dir, table):
            try:
                st = path.stat()
            except FileNotFoundError:  # a hand-managed folder changed under us
                continue
            digest.update(f"{path.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


# --- writing ---------------------------------------------------------------


def make_dir(path: str | Path) -> Path:
    """Create ``path`` and any missing parents as owner-and-group folders (``DIR_MODE``).

    Folders that already exist are left as they are.
    """
    path = Path(path)
    if path.is_dir():
        return path
    if path.parent != path:
        make_dir(path.parent)
    try:
        path.mkdir(mode=DIR_MODE)
    except FileExistsError:
        if not path.is_dir():
            raise
        return path
    os.chmod(path, DIR_MODE)  # exactly: mkdir's mode is narrowed by the umask, never by this
    return path


def private_file(path: str | Path) -> None:
    """Make a file we wrote owner-and-group readable only (``FILE_MODE``)."""
    os.chmod(path, FILE_MODE)


def _next_stamp(existing: list[str]) -> str:
    """A UTC stamp later than every stamp in ``existing`` (even within a second)."""
    now = datetime.now(UTC).replace(microsecond=0)
    stamps = [t for t in (_stamp_time(n) for n in existing) if t is not None]
    if stamps and now <= max(stamps):
        now = max(stamps) + timedelta(seconds=1)
    return now.strftime(_STAMP_FORMAT)


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (renames, new files) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(folder: Path) -> None:
    """Flush every file in ``folder`` and the folder itself to disk."""
    for path in folder.iterdir():
        if path.is_file():
            with path.open("rb") as fh:
                os.fsync(fh.fileno())
    fsync_dir(folder)


@contextlib.contextmanager
def table_lock(data_dir: str | Path, table: str) -> Iterator[None]:
    """Hold an exclusive lock on ``table``'s versions while one process changes them."""
    folder = make_dir(versions_dir(data_dir, table))
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class Busy(Exception):
    """Another process holds the data folder's lock (``holder``: what it wrote there, if readable)."""

    def __init__(self, holder: dict | None, waited_seconds: float):
        super().__init__("another load is running")
        self.holder = holder
        self.waited_seconds = waited_seconds


class DataLock:
    """The data folder's lock, held: it records who holds it and how far they got.

    The record stays in ``DIR/_ingest.lock`` while the lock is held and is emptied at a clean
    end; a process killed meanwhile (kill -9, a power cut) leaves it behind, and the next holder
    finds it in ``left_behind``.
    """

    def __init__(self, fd: int, left_behind: dict | None):
        self._fd = fd
        self.left_behind = left_behind
        self.record: dict = {}

    def update(self, **fields: object) -> None:
        """Add ``fields`` to the holder's record and flush it to disk."""
        self.record.update(fields)
        data = json.dumps(self.record, ensure_ascii=False, default=str).encode("utf-8")
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)
        os.fsync(self._fd)


def _read_record(fd: int) -> dict | None:
    try:
        data = os.pread(fd, 1 << 16, 0)
    except OSError:
        return None
    if not data.strip():
        return None
    try:
        record = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {"damaged": True}
    return record if isinstance(record, dict) else {"damaged": True}


@contextlib.contextmanager
def data_lock(data_dir: str | Path, holder: dict, *, wait_seconds: float) -> Iterator[DataLock]:
    """Hold ``DIR/_ingest.lock`` (fcntl) so that one load or rollback at a time changes the folder.

    Waits up to ``wait_seconds`` for another holder to finish, then raises ``Busy``. The lock
    dies with its process, so a crashed holder never blocks the next one.
    """
    folder = make_dir(data_dir)
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, FILE_MODE)
    try:
        deadline = time.monotonic() + max(0.0, wait_seconds)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise Busy(_read_record(fd), wait_seconds) from None
                time.sleep(0.05)
        lock = DataLock(fd, _read_record(fd))
        lock.update(**holder)
        try:
            yield lock
        finally:
            os.ftruncate(fd, 0)  # a clean end: nothing left behind for the next holder
            os.fsync(fd)
    finally:
        os.close(fd)  # releases the lock


def recover(data_dir: str | Path, left_behind: dict | None) -> list[str]:
    """Clean up after a load that was killed; call it holding ``data_lock``.

    Removes unfinished folders (``_versions/<table>/.tmp-*``: nobody else can be writing one
    while we hold the lock), stray link files, and a version folder that was complete but never
    made current. Versions that were current are never touched.

    Returns:
        What was found and done, one line each ([] when there was nothing).
    """
    data_dir = Path(data_dir)
    notes = []
    table = (left_behind or {}).get("table")
    version = (left_behind or {}).get("version")
    if table in TABLES and version and not str(version).startswith("."):
        folder = versions_dir(data_dir, table) / str(version)
        if current_version(data_dir, table) == version:
            notes.append(f"version {version} of {table} had been made current before the load stopped")
        elif folder.is_dir() and (left_behind or {}).get("stage") in ("renaming", "renamed"):
            doomed = folder.with_name(f".tmp-uncommitted-{version}")
            os.rename(folder, doomed)
            shutil.rmtree(doomed, ignore_errors=True)
            notes.append(f"removed version {version} of {table}: written in full but never made current")
    for table_name in sorted(TABLES):
        home = versions_dir(data_dir, table_name)
        if not home.is_dir():
            continue
        for path in sorted(home.iterdir()):
            if path.name.startswith(".tmp-") and path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
                notes.append(f"removed the unfinished folder {path.relative_to(data_dir)}")
    for path in sorted(data_dir.glob(".*.link-*")):
        if path.is_symlink():
            path.unlink()
            notes.append(f"removed the stray link {path.name}")
    return notes


def prune_versions(data_dir: str | Path, table: str, keep: int) -> list[str]:
    """Remove all but the ``keep`` newest versions other than the current one; call it under the lock.

    Each is renamed to a hidden ``.tmp-`` name first, so a prune cut short never leaves a half
    version that a rollback could point at (``recover`` removes the rest).

    Returns:
        The versions removed, oldest first.
    """
    current = current_version(data_dir, table)
    others = [n for n in _version_names(data_dir, table) if n != current]
    doomed = others[: max(0, len(others) - max(0, keep))]
    home = versions_dir(data_dir, table)
    for name in doomed:
        hidden = home / f".tmp-pruned-{name}"
        os.rename(home / name, hidden)
        shutil.rmtree(hidden, ignore_errors=True)
    if doomed:
        fsync_dir(home)
    return doomed


def new_staging_dir(data_dir: str | Path, table: str) -> Path:
    """A fresh hidden folder under the table's versions to write a load into."""
    folder = make_dir(versions_dir(data_dir, table))
    staging = folder / f".tmp-{datetime.now(UTC).strftime(_STAMP_FORMAT)}-{secrets.token_hex(4)}"
    staging.mkdir(mode=DIR_MODE)
    os.chmod(staging, DIR_MODE)
    return staging


def _point_at(data_dir: Path, table: str, version: str) -> None:
    """Swap ``DIR/<table>`` to a relative symlink to ``version`` in one rename."""
    link = table_dir(data_dir, table)
    target = os.path.join(VERSIONS_DIR, table, version)
    temp = data_dir / f".{table}.link-{secrets.token_hex(4)}"
    os.symlink(target, temp)
    os.replace(temp, link)
    fsync_dir(data_dir)


def commit_version(
    data_dir: str | Path,
    table: str,
    staging: Path,
    progress: Callable[[str, str], None] | None = None,
) -> tuple[str, str | None]:
    """Make a fully written ``staging`` folder the table's current version.

    ``staging`` (flushed by the caller) is renamed to a new version folder; a
    real folder still at ``DIR/<table>`` is kept as ``<stamp>-original``; then
    the symlink is swapped atomically. Call it under ``table_lock``. ``progress(stage, version)``
    is called before the rename ("renaming"), after it ("renamed") and after the swap ("swapped"),
    so a lock record can say how far a load got.

    Returns:
        (new version, previous version or None).
    """
    data_dir = Path(data_dir)
    link = table_dir(data_dir, table)
    home = versions_dir(data_dir, table)
    previous = current_version(data_dir, table)
    existing = _version_names(data_dir, table)
    original = None
    if link.is_dir() and not link.is_symlink():
        original = f"{_next_stamp(existing)}-{ORIGINAL_SUFFIX}"
        existing.append(original)
    elif link.exists() and not link.is_symlink():
        raise OSError(f"{link} is a file, not a folder: move it away before loading {table}")
    version = f"{_next_stamp(existing)}-{secrets.token_hex(3)}"
    report = progress or (lambda stage, name: None)
    report("renaming", version)
    os.rename(staging, home / version)
    fsync_dir(home)
    report("renamed", version)
    if original is not None:
        os.rename(link, home / original)
        fsync_dir(home)
        previous = original
    try:
        _point_at(data_dir, table, version)
    except BaseException:
        if original is not None and not os.path.lexists(link):  # put the folder back as it was
            os.rename(home / original, link)
        raise
    report("swapped", version)
    return version, previous


def point_at_previous(data_dir: str | Path, table: str) -> tuple[str, str]:
    """Point ``DIR/<table>`` at the version before the current one (name order).

    A real folder at ``DIR/<table>`` is first kept as ``<stamp>-original``
    (it then counts as the current version). Call it under ``table_lock``.

    Returns:
        (version now current, version that was current).

    Raises:
        LookupError: there is no current version or no earlier one.
    """
    data_dir = Path(data_dir)
    link = table_dir(data_dir, table)
    names = _version_names(data_dir, table)
    current = current_version(data_dir, table)
    if link.is_dir() and not link.is_symlink():
        if not names:
            raise LookupError(f"{table} has no earlier version to roll back to")
        current = f"{_next_stamp(names)}-{ORIGINAL_SUFFIX}"
        os.rename(link, versions_dir(data_dir, table) / current)
        fsync_dir(versions_dir(data_dir, table))
    elif current is None:
        raise LookupError(f"{table} is not a versioned table ({link} is not a link into {VERSIONS_DIR})")
    earlier = [n for n in names if n < current]
    if not earlier:
        raise LookupError(f"{table} has no earlier version than {current} to roll back to")
    _point_at(data_dir, table, earlier[-1])
    return earlier[-1], current


# --- the ingest log ---------------------------------------------------------


def log_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / LOG_NAME


def append_ingest_log(data_dir: str | Path, entry: dict) -> None:
    """Append one JSON line to ``DIR/_ingest_log.jsonl`` (one write, flushed)."""
    line = json.dumps(entry, ensure_ascii=False, default=str) + "\n"
    make_dir(data_dir)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
    fd = os.open(log_path(data_dir), flags, FILE_MODE)
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if mode & 0o007:  # a log from before: no longer readable by others
            os.fchmod(fd, mode & ~0o007)
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def read_ingest_log(data_dir: str | Path) -> list[dict]:
    """Every entry of the ingest log, oldest first; [] when there is none.

    A damaged line (e.g. a write cut short) is skipped, not fatal.
    """
    path = log_path(data_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    entries = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return entries
