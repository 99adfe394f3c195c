"""Background jobs: status on disk that any worker can read, owned by one user, never probed."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from ui import jobs

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def instance(tmp_path, monkeypatch):
    monkeypatch.setenv("CPD_INSTANCE_DIR", str(tmp_path / "instance"))
    return tmp_path / "instance"


def wait_for(job_id, owner="ana", timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = jobs.job_status(job_id, owner)
        if status["state"] != jobs.RUNNING:
            return status
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} still running")


def test_a_job_reports_progress_and_offers_only_the_files_it_names():
    release = threading.Event()

    def work(progress):
        progress.report(1, 3, "Drawing the charts")
        release.wait(5)
        (progress.folder / "pack.pdf").write_bytes(b"%PDF")
        (progress.folder / "scratch.txt").write_text("not offered")
        return ["pack.pdf"]

    job_id = jobs.start_job("pack", "ana", work, label="Pack for Dorset, Mar 2022")
    deadline = time.monotonic() + 5
    while jobs.job_status(job_id, "ana")["done"] != 1:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    running = jobs.job_status(job_id, "ana")
    assert (running["state"], running["total"], running["message"]) == (jobs.RUNNING, 3, "Drawing the charts")
    release.set()
    status = wait_for(job_id)
    assert status["state"] == jobs.DONE and status["files"] == ["pack.pdf"] and status["done"] == 3
    assert jobs.job_file(job_id, "ana", "pack.pdf").read_bytes() == b"%PDF"
    for name in ("scratch.txt", "status.json", "../status.json", None, 3):
        with pytest.raises(jobs.JobNotFound):
            jobs.job_file(job_id, "ana", name)


def test_another_users_job_and_a_made_up_id_get_the_same_answer():
    job_id = jobs.start_job("pack", "ana", lambda progress: [], label="x")
    wait_for(job_id)
    asked = [("bob", job_id), ("ana", "A" * 24), ("ana", "../../etc"), ("ana", None), ("ana", {})]
    for owner, candidate in asked:
        with pytest.raises(jobs.JobNotFound, match="no such job"):
            jobs.job_status(candidate, owner)
    assert [s["id"] for s in jobs.list_jobs("ana")] == [job_id]
    assert jobs.list_jobs("bob") == []


def test_a_job_folder_is_private(instance):
    job_id = jobs.start_job("pack", "ana", lambda progress: [], label="x")
    wait_for(job_id)
    assert (instance / "jobs" / job_id).stat().st_mode & 0o077 == 0


def test_failures_show_their_own_message_or_a_generic_one():
    def refused(progress):
        raise jobs.JobFailed("The data holds no records for March 2031.")

    def broken(progress):
        raise KeyError("secret internal detail")

    assert wait_for(jobs.start_job("pack", "ana", refused, label="x"))["message"] == (
        "The data holds no records for March 2031."
    )
    failed = wait_for(jobs.start_job("pack", "ana", broken, label="x"))
    assert failed["state"] == jobs.FAILED and "secret" not in failed["message"]
    assert "KeyError" in failed["message"]


def test_one_running_job_of_a_kind_per_user():
    release = threading.Event()
    job_id = jobs.start_job("pack", "ana", lambda progress: release.wait(5) and [], label="Pack for Dorset")
    with pytest.raises(jobs.JobBusy, match="Pack for Dorset"):
        jobs.start_job("pack", "ana", lambda progress: [], label="again")
    other = jobs.start_job("load", "ana", lambda progress: [], label="a load")  # another kind may run
    bob = jobs.start_job("pack", "bob", lambda progress: [], label="bob's")  # so may another user
    release.set()
    for owner, jid in (("ana", job_id), ("ana", other), ("bob", bob)):
        assert wait_for(jid, owner)["state"] == jobs.DONE


def test_a_job_whose_process_died_reads_as_interrupted_and_is_removed_later(instance):
    folder = instance / "jobs" / ("Z" * 24)
    folder.mkdir(parents=True)
    stale = time.time() - 2 * jobs.STALE_AFTER_S
    status = {"id": folder.name, "kind": "pack", "owner": "ana", "label": "x", "state": "running"}
    status["beat"] = stale
    (folder / jobs.STATUS_FILE).write_text(json.dumps(status))
    assert jobs.job_status(folder.name, "ana")["state"] == jobs.INTERRUPTED
    # A new job frees the user (the dead one no longer counts as running).
    wait_for(jobs.start_job("pack", "ana", lambda progress: [], label="x"))
    assert jobs.remove_old_jobs(keep_for_s=jobs.STALE_AFTER_S) == 1
    assert not folder.exists()
    assert len(jobs.list_jobs("ana")) == 1  # the finished one is kept for its day


def test_two_starts_at_once_in_two_processes_make_one_job(instance):
    """The busy check and the new job are one step under a lock, across processes."""
    import subprocess
    import sys

    code = """
import sys, time
from ui import jobs
time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
try:
    jobs.start_job("pack", "ana", lambda progress: time.sleep(3) or [], label="the pack")
    print("started")
    time.sleep(0.5)
except jobs.JobBusy:
    print("busy")
"""
    at = str(time.time() + 1.5)
    env = {**__import__("os").environ, "CPD_INSTANCE_DIR": str(instance)}
    runs = [
        subprocess.Popen([sys.executable, "-c", code, at], stdout=subprocess.PIPE, env=env, cwd=ROOT)
        for _ in range(4)
    ]
    said = sorted(run.communicate(timeout=30)[0].decode().strip() for run in runs)
    assert said == ["busy", "busy", "busy", "started"]
