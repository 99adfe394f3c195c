"""SQLite connections for the instance's accounts and audit log, safe for several processes at once.

WAL lets gunicorn workers read while one writes; ``busy_timeout`` makes a
writer wait for another instead of failing; ``synchronous=FULL`` makes a
committed audit row survive a power cut (the log is a legal record).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

BUSY_TIMEOUT_MS = 10_000


@contextlib.contextmanager
def connect(path: Path, schema: str) -> Iterator[sqlite3.Connection]:
    """A connection to ``path`` with ``schema`` applied (idempotent DDL), closed on exit."""
    new = not path.exists()
    if new:
        # Created owner-only before SQLite opens it, so it is never world-readable.
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        connection.row_factory = sqlite3.Row
        connection.execute(f"pragma busy_timeout = {BUSY_TIMEOUT_MS}")
        connection.execute("pragma journal_mode = wal")
        connection.execute("pragma synchronous = full")
        connection.executescript(schema)
        yield connection
    finally:
        connection.close()


@contextlib.contextmanager
def immediate(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction taken at once (so two writers queue instead of deadlocking)."""
    connection.execute("begin immediate")
    try:
        yield connection
    except BaseException:
        connection.execute("rollback")
        raise
    connection.execute("commit")
