"""Background jobs a page starts and any worker answers for: the monthly pack, a data load.

A job is a function run on a thread of the process that started it, so the request that
started it returns at once and the page stays usable. Its status lives on disk, in
``<instance>/jobs/<id>/status.json`` (written whole and renamed into place), not in memory:
under gunicorn the page's next poll may land on another worker, which reads the same file.
The files a job writes sit beside its status, in a folder only the server's user can read.

A job belongs to the user who started it. Asking for another user's job, or for one that
does not exist, gets the same answer (:class:`JobNotFound`), so job ids cannot be probed.
A job whose process died (a restart, ``kill -9``) stops beating and reads as interrupted.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from auth import instance_dir, private_dir

log = logging.getLogger(__name__)

STATUS_FILE = "status.json"
HEARTBEAT_S = 2.0  # how often a running job says it is alive
STALE_AFTER_S = 30.0  # silent this long while "running": its process is gone
KEEP_FOR_S = 24 * 3600  # finished jobs (and the files they wrote) are removed after a day
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{16,32}$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,150}$")

RUNNING, DONE, FAILED, INTERRUPTED = "running", "done", "failed", "interrupted"


class JobNotFound(LookupError):
    """No such job for this user (it never existed, has been removed, or is someone else's)."""


class JobBusy(RuntimeError):
    """The user already has a job of this kind running; the message says which."""


class JobFailed(RuntimeError):
    """Raised by a job's work with a message fit to show the user (others show a generic one)."""


def jobs_dir() -> Path:
    """Where job folders live: ``<instance>/jobs`` (private to the server's user)."""
    return instance_dir() / "jobs"


@dataclass
class Progress:
    """What a job's work is given: where to write its files, and how to say how far it has got."""

    folder: Path
    _status: dict = field(repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def report(self, done: int, total: int | None = None, message: str | None = None) -> None:
        """Record ``done`` of ``total`` steps, and what is being done now (shown under the bar)."""
        with self._lock:
            self._status["done"] = int(done)
            if total is not None:
                self._status["total"] = int(total)
            if message is not None:
                self._status["message"] = str(message)[:300]
            _write_status(self.folder, self._status)

    def beat(self) -> None:
        with self._lock:
            _write_status(self.folder, self._status)

    def finish(self, state: str, message: str, **extra) -> None:
        with self._lock:
            self._status.update(state=state, message=message[:2000], finished=time.time(), **extra)
            if state == DONE and self._status.get("total"):
                self._status["done"] = self._status["total"]
            _write_status(self.folder, self._status)


def _write_status(folder: Path, status: dict) -> None:
    status["beat"] = time.time()
    temporary = folder / f".{STATUS_FILE}.{threading.get_ident()}.tmp"
    temporary.write_text(json.dumps(status), encoding="utf-8")
    os.replace(temporary, folder / STATUS_FILE)


def _read_status(folder: Path) -> dict | None:
    try:
        return json.loads((folder / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _job_folder(job_id: object) -> Path:
    if not isinstance(job_id, str) or not _JOB_ID.match(job_id):
        raise JobNotFound("no such job")
    return jobs_dir() / job_id


def start_job(
    kind: str,
    owner: str,
    work: Callable[[Progress], list[str] | None],
    *,
    label: str,
    detail: dict | None = None,
) -> str:
    """Start ``work`` on a thread as ``owner``'s job of ``kind``; return its id at once.

    Args:
        kind: what the job is ("pack", "load"); one of each kind may run per user.
        owner: the signed-in user's name; only they may see the job.
        work: called with a :class:`Progress`; writes its files into ``progress.folder`` and
            returns their names (in the order to offer them) or None for every file written.
            A :class:`JobFailed` ends the job with its message; any other error with a
            generic one (the traceback goes to the server's log only).
        label: what the job is, in words ("Pack for Dorset, Mar 2022").
        detail: extra JSON-able fields kept in the status (what was asked for).

    Raises:
        JobBusy: ``owner`` already has a running job of this ``kind``.
    """
    remove_old_jobs()
    # The check and the new job's folder under one lock on the jobs folder: two clicks on two
    # workers at once must not both find nothing running and both start.
    with _jobs_lock():
        for status in list_jobs(owner):
            if status["kind"] == kind and status["state"] == RUNNING:
                raise JobBusy(f"{status['label']} is still being built; wait for it to finish.")
        job_id = secrets.token_urlsafe(18)
        folder = jobs_dir() / job_id
        folder.mkdir(mode=0o700)
        _write_status(folder, _new_status(job_id, kind, owner, label, detail))
    progress = Progress(folder, _read_status(folder))
    threading.Thread(target=_run, args=(work, progress), name=f"job-{kind}", daemon=True).start()
    return job_id


def _new_status(job_id: str, kind: str, owner: str, label: str, detail: dict | None) -> dict:
    return {
        "id": job_id,
        "kind": kind,
        "owner": owner,
        "label": label,
        "state": RUNNING,
        "done": 0,
        "total": None,
        "message": "Starting",
        "started": time.time(),
        "files": [],
        "detail": detail or {},
    }


@contextlib.contextmanager
def _jobs_lock():
    """An exclusive lock on the jobs folder, held across processes (flock on a lock file)."""
    folder = private_dir(jobs_dir())
    with open(folder / ".lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(work: Callable[[Progress], list[str] | None], progress: Progress) -> None:
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(HEARTBEAT_S):
            progress.beat()

    threading.Thread(target=heartbeat, name="job-heartbeat", daemon=True).start()
    started = time.perf_counter()
    try:
        names = work(progress)
        if names is None:
            names = sorted(p.name for p in progress.folder.iterdir() if p.is_file() and p.name[0] != ".")
            names = [n for n in names if n != STATUS_FILE]
        files = [n for n in names if _FILE_NAME.match(n) and (progress.folder / n).is_file()]
        progress.finish(DONE, "Done", files=files, seconds=round(time.perf_counter() - started, 1))
    except JobFailed as exc:
        progress.finish(FAILED, str(exc), seconds=round(time.perf_counter() - started, 1))
    except Exception as exc:  # the user sees that it failed; the server's log says why
        log.exception("job %s failed", progress.folder.name)
        progress.finish(
            FAILED, f"It could not be finished ({type(exc).__name__}); the server's log has the detail."
        )
    finally:
        stop.set()


def _as_seen(status: dict) -> dict:
    if status.get("state") == RUNNING and time.time() - float(status.get("beat") or 0) > STALE_AFTER_S:
        message = "It stopped when the server restarted; start it again."
        return {**status, "state": INTERRUPTED, "message": message}
    return status


def job_status(job_id: object, owner: str) -> dict:
    """The status of ``owner``'s job ``job_id``: state, done, total, message, files, label.

    Raises:
        JobNotFound: no such job of ``owner``'s (ids of other users' jobs are not told apart).
    """
    status = _read_status(_job_folder(job_id))
    if status is None or not secrets.compare_digest(str(status.get("owner")), str(owner)):
        raise JobNotFound("no such job")
    return _as_seen(status)


def job_file(job_id: object, owner: str, name: object) -> Path:
    """The path of a file ``owner``'s finished job wrote (only a name its status lists).

    Raises:
        JobNotFound: no such job of ``owner``'s, or no such file of it.
    """
    status = job_status(job_id, owner)
    if status["state"] != DONE or not isinstance(name, str) or name not in status.get("files", []):
        raise JobNotFound("no such file")
    return _job_folder(job_id) / name


def list_jobs(owner: str) -> list[dict]:
    """``owner``'s jobs still kept, newest first."""
    folder = jobs_dir()
    if not folder.is_dir():
        return []
    statuses = []
    for path in folder.iterdir():
        status = _read_status(path) if _JOB_ID.match(path.name) else None
        if status is not None and status.get("owner") == owner:
            statuses.append(_as_seen(status))
    return sorted(statuses, key=lambda s: -float(s.get("started") or 0))


def remove_old_jobs(keep_for_s: float = KEEP_FOR_S) -> int:
    """Remove jobs that ended (or were interrupted) more than ``keep_for_s`` ago; return how many."""
    folder = jobs_dir()
    if not folder.is_dir():
        return 0
    removed = 0
    now = time.time()
    for path in folder.iterdir():
        if not _JOB_ID.match(path.name) or not path.is_dir():
            continue
        status = _read_status(path)
        last = float((status or {}).get("finished") or (status or {}).get("beat") or path.stat().st_mtime)
        ended = status is None or _as_seen(status)["state"] != RUNNING
        if ended and now - last > keep_for_s:
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed
