"""The one thin query runner: extract folders become DuckDB views, SQL files run with named parameters.

Every figure of the dashboard, the command line and the exports comes from a
``queries/**/*.sql`` file run through :class:`DataStore`. The data folder is
registered as views once per data version (what caches key on), each call
gets its own cursor (Dash callbacks run on threads), and user input reaches
SQL only as a named parameter.
"""

from __future__ import annotations

import atexit
import functools
import os
import re
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import duckdb
import pandas as pd

from data import storage
from data.contract import TABLES
from data.settings import Settings, load_settings

QUERIES_DIR = Path(__file__).parent
REPO_ROOT = QUERIES_DIR.parent
DEFAULT_DATA_DIR = REPO_ROOT / "data" / "extracts"
DATA_DIR_ENV = "CPD_DATA_DIR"
QUERY_THREADS_ENV = "CPD_QUERY_THREADS"
MEMORY_LIMIT_ENV = "CPD_DUCKDB_MEMORY_LIMIT"
# DuckDB takes 80% of the machine by default: one national query (60 months, every force) grew a
# process to 4.1 GB. Held to 1 GB it spills to disk and the process peaks at 1.3 GB (issue 13).
DEFAULT_MEMORY_LIMIT = "1GB"

T = TypeVar("T")
_PARAMETER = re.compile(r"(?<![\w$])\$([a-z_][a-z0-9_]*)", re.IGNORECASE)
_sql_cache: dict[str, tuple[str, frozenset[str]]] = {}
_sql_lock = threading.Lock()


class DataError(RuntimeError):
    """The data folder or a table in it cannot be read; the message says which and why."""


class QueryError(ValueError):
    """A query was asked for wrongly (unknown file, missing parameter)."""


def _duckdb_config() -> dict:
    """DuckDB's memory limit (``CPD_DUCKDB_MEMORY_LIMIT``, default 1 GB) and where it may spill.

    The spill folder is private to this process's user (``mkdtemp`` makes it 0700): what DuckDB
    writes there is children's records. Left to itself, an in-memory database spills to ``.tmp``
    under the working directory, which may be the checkout.
    """
    global _spill_dir
    if _spill_dir is None:
        _spill_dir = tempfile.mkdtemp(prefix="cpd-duckdb-spill-")
        atexit.register(shutil.rmtree, _spill_dir, ignore_errors=True)
    return {
        "memory_limit": os.environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT,
        "temp_directory": _spill_dir,
    }


_spill_dir: str | None = None


def default_data_dir() -> Path:
    """The data folder: $CPD_DATA_DIR, else ``data/extracts/`` in the repository."""
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)


def load_sql(name: str) -> tuple[str, frozenset[str]]:
    """Read ``queries/<name>.sql`` once; return its text and its ``$parameters``.

    Raises:
        QueryError: no such query file.
    """
    with _sql_lock:
        if name not in _sql_cache:
            path = (QUERIES_DIR / f"{name}.sql").resolve()
            if QUERIES_DIR.resolve() not in path.parents or not path.is_file():
                raise QueryError(f"no query named {name!r} (looked for {path})")
            text = path.read_text(encoding="utf-8")
            code = "\n".join(line.split("--", 1)[0] for line in text.splitlines())
            _sql_cache[name] = (text, frozenset(_PARAMETER.findall(code)))
        return _sql_cache[name]


def _view_sql(table: str, files: list[Path]) -> str:
    spec = TABLES[table]
    if not files:
        # An absent or empty table still has its columns, so every query runs
        # and simply finds no coverage (all its KPIs null).
        cols = ", ".join(f"null::{c.duckdb_type} as {c.name}" for c in spec.columns)
        return f"create or replace view {table} as select {cols} where false"
    file_list = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
    cols = ", ".join(f"{c.name}::{c.duckdb_type} as {c.name}" for c in spec.columns)
    return (
        f"create or replace view {table} as select {cols} "
        f"from read_parquet([{file_list}], union_by_name = true)"
    )


class DataStore:
    """A data folder seen through DuckDB, re-registered whenever its data changes.

    Args:
        data_dir: the folder holding ``<table>/*.parquet``; defaults to
            :func:`default_data_dir`.
        settings: targets, grade minutes and language list; defaults to
            :func:`data.settings.load_settings`.
        cache_size: how many query results to keep (keyed on data version,
            query and parameters).
        recheck_seconds: how often to look for changed data at most.
        rollups: answer what it can from monthly roll-ups per data version
            (``queries/rollup.py``), built in the background when first needed.
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        settings: Settings | None = None,
        *,
        cache_size: int = 512,
        recheck_seconds: float = 1.0,
        rollups: bool = False,
    ) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.settings = settings or load_settings()
        self._lock = threading.Lock()
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._version: str | None = None
        self._checked_at = 0.0
        self._recheck_seconds = recheck_seconds
        self._cache: OrderedDict[tuple, pd.DataFrame] = OrderedDict()
        self._cache_size = cache_size
        from queries.rollup import Rollups  # here: the roll-ups read the KPI catalogue, which imports this

        self.rollups = Rollups(self) if rollups else None

    def check_data_dir(self) -> None:
        """Raise :class:`DataError` naming the folder if it is missing or holds no table."""
        if not self.data_dir.is_dir():
            raise DataError(
                f"data folder {self.data_dir} does not exist: generate synthetic data with "
                f"`python -m data.generate --out {self.data_dir}` or load a force's extract with "
                f"`python -m data.ingest --data {self.data_dir} --table NAME FILE`"
            )
        if not any(storage.list_data_files(self.data_dir, t) for t in TABLES):
            raise DataError(f"data folder {self.data_dir} holds no extract tables ({', '.join(TABLES)})")

    @property
    def version(self) -> str:
        """The data version the next query will see (a short hash of the files)."""
        self._connect()
        assert self._version is not None
        return self._version

    def _connect(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            now = time.monotonic()
            if self._connection is not None and now - self._checked_at < self._recheck_seconds:
                return self._connection
            self.check_data_dir()
            version = storage.data_version(self.data_dir)
            self._checked_at = now
            if self._connection is None or version != self._version:
                # A new connection per data version: threads still reading the
                # old one finish on it undisturbed.
                try:
                    connection = duckdb.connect(":memory:", config=_duckdb_config())
                except duckdb.Error as exc:
                    raise DataError(
                        f"{MEMORY_LIMIT_ENV}={os.environ.get(MEMORY_LIMIT_ENV)!r} is not a memory size "
                        f"DuckDB can use (write e.g. 1GB or 800MB): {exc}"
                    ) from exc
                macros, _ = load_sql("_macros")
                connection.execute(macros)
                for table in TABLES:
                    files = storage.list_data_files(self.data_dir, table)
                    try:
                        connection.execute(_view_sql(table, files))
                    except duckdb.Error as exc:
                        connection.close()
                        raise DataError(
                            f"cannot read table {table} from {self.data_dir / table}: {exc}. "
                            "Reload it with `python -m data.ingest` or roll it back with --rollback."
                        ) from exc
                # Table macros over the views (queries/_scopes.sql) need the views first.
                scopes, _ = load_sql("_scopes")
                connection.execute(scopes)
                self._connection, self._version = connection, version
                self._cache.clear()
            return self._connection

    def run(self, name: str, params: dict | None = None, *, use_cache: bool = True) -> pd.DataFrame:
        """Run ``queries/<name>.sql`` with named parameters and return a DataFrame.

        The settings' parameters (grade targets, language list) are added;
        only the parameters the SQL names are passed, so one call site can
        serve queries that use different subsets.

        Args:
            name: the query's path under ``queries/`` without ``.sql``.
            params: values for the query's ``$named`` parameters.
            use_cache: reuse an earlier result for the same data version,
                query and parameters.

        Raises:
            QueryError: the query names a parameter that was not given.
            DataError: the data cannot be read.
        """
        sql, wanted = load_sql(name)
        given = {**self.settings.query_parameters(), **(params or {})}
        missing = sorted(wanted - given.keys())
        if missing:
            raise QueryError(f"query {name} needs parameters {missing}")
        bound = {k: given[k] for k in wanted}
        connection = self._connect()
        key = (self._version, name, _freeze(bound))
        if use_cache:
            with self._lock:
                if key in self._cache:
                    self._cache.move_to_end(key)
                    return self._cache[key].copy()
        cursor = connection.cursor()
        try:
            frame = cursor.execute(sql, bound).df()
        except duckdb.IOException as exc:
            raise DataError(f"cannot read the data in {self.data_dir}: {exc}") from exc
        except duckdb.InvalidInputException as exc:
            raise DataError(f"a data file in {self.data_dir} is not valid parquet: {exc}") from exc
        except duckdb.OutOfMemoryException as exc:
            limit = os.environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT
            raise DataError(
                f"this selection needs more memory than the server allows its queries ({limit}); "
                f"choose a shorter period or one force, or raise {MEMORY_LIMIT_ENV}"
            ) from exc
        finally:
            cursor.close()
        if use_cache:
            with self._lock:
                self._cache[key] = frame
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
            return frame.copy()
        return frame

    def run_many(self, calls: list[tuple[str, dict | None]]) -> list[pd.DataFrame]:
        """Run several queries side by side (each as :meth:`run`); their results in the order asked.

        A page update asks for one query per SQL file (a dozen for the overview). Most are
        small, and DuckDB runs a small query on one thread, so run one after another they
        left the second core idle: six monthly KPI queries for one force took 162–188 ms in
        turn and 116–135 ms two at a time (2 cores, shared).
        """
        return concurrently([functools.partial(self.run, name, params) for name, params in calls])


def concurrently(calls: list[Callable[[], T]]) -> list[T]:
    """Call each of ``calls`` on the query threads; their results in order (the first error raised).

    For independent reads of one page update (its history, its summary, its breakdowns).
    Called from a query thread it calls them in turn, so a nested call never waits on its
    own pool.
    """
    if len(calls) < 2 or getattr(_in_query_thread, "value", False):
        return [call() for call in calls]
    futures = [_query_pool().submit(_in_pool, call) for call in calls]
    return [future.result() for future in futures]


def _in_pool(call: Callable[[], T]) -> T:
    _in_query_thread.value = True
    return call()


_in_query_thread = threading.local()
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def query_threads() -> int:
    """How many queries one process runs at once (``CPD_QUERY_THREADS``, default: the cores, at most 4)."""
    try:
        return max(1, int(os.environ.get(QUERY_THREADS_ENV, "")))
    except ValueError:
        return max(1, min(4, os.cpu_count() or 1))


def _query_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=query_threads(), thread_name_prefix="query")
        return _pool


def _freeze(value):
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value
