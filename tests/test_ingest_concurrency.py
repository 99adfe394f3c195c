"""One load at a time per data folder, loads killed with kill -9, kept versions, the log's user, file modes.

Real processes (``python -m data.ingest``), real signals, real files; the only hook is the
``CPD_INGEST_TEST_PAUSE`` variable, which makes a load sleep at a named stage.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import signal
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from data import storage
from data.ingest import PAUSE_ENV, IngestError, ingest, rollback
from tests.ingest_corpus import csv_text, incident

ROOT = Path(__file__).resolve().parents[1]
ME = pwd.getpwuid(os.geteuid()).pw_name


def month_file(path: Path, month: int, n: int = 5) -> Path:
    """incidents of one month of 2022, ids unique to the month."""
    rows = [
        incident(
            i, incident_id=f"INC-{month}-{i}", received_at=f"2022-{month:02d}-{i:02d} 10:00:00", arrived_at=""
        )
        for i in range(1, n + 1)
    ]
    path.write_text(csv_text(rows))
    return path


def start_cli(*args: str, pause: str | None = None, env: dict | None = None) -> subprocess.Popen:
    environment = {**os.environ, **(env or {})}
    environment.pop(PAUSE_ENV, None)
    if pause:
        environment[PAUSE_ENV] = pause
    return subprocess.Popen(
        [sys.executable, "-m", "data.ingest", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )


def wait_paused(process: subprocess.Popen, stage: str) -> None:
    """Read the process's stderr until it says it is paused at ``stage``."""
    line = process.stderr.readline()
    assert line.startswith(f"ingest: paused at {stage}"), line + process.stderr.read()


def rows_readable(data_dir: Path, table: str = "incidents") -> int:
    files = storage.list_data_files(data_dir, table)
    listing = ", ".join(f"'{f}'" for f in files)
    return duckdb.connect().sql(f"select count(*) from read_parquet([{listing}])").fetchall()[0][0]


def hashes(data_dir: Path, table: str = "incidents") -> dict[str, str]:
    out = {"<resolved>": str((data_dir / table).resolve())}
    for path in storage.list_data_files(data_dir, table):
        out[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def leftovers(data_dir: Path) -> list[str]:
    found = [p.name for p in (data_dir / "_versions").glob("*/.tmp-*")]
    return found + [p.name for p in data_dir.glob(".*.link-*")]


@pytest.fixture
def data_dir(tmp_path) -> Path:
    """incidents holding March 2022 (5 rows), loaded once."""
    data = tmp_path / "data"
    ingest(data, "incidents", [month_file(tmp_path / "march.csv", 3)])
    return data


# --- one load at a time ------------------------------------------------------------------


def test_a_second_load_is_refused_while_the_first_holds_the_folder(data_dir, tmp_path):
    april = month_file(tmp_path / "april.csv", 4)
    may = month_file(tmp_path / "may.csv", 5)
    first = start_cli("--data", str(data_dir), "--table", "incidents", str(april), pause="locked:3")
    try:
        wait_paused(first, "locked")
        second = start_cli("--data", str(data_dir), "--table", "incidents", "--wait", "0.5", str(may))
        out, err = second.communicate(timeout=60)
        assert second.returncode == 1, out + err
        assert "Loaded" not in out
        assert err.startswith(
            f"error: incidents not loaded: another load or rollback is running in {data_dir}: a load of "
            f"incidents by {ME} (pid {first.pid}) since "
        )
        assert "waited 0.5 s for it — the table is unchanged" in err and "--wait SECONDS" in err
    finally:
        out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert out.startswith("Loaded 5 rows into incidents from 1 file: version ")
    log = storage.read_ingest_log(data_dir)
    assert [e["status"] for e in log] == ["loaded", "refused", "loaded"]
    assert log[1]["files"] == [str(may)] and f"(pid {first.pid})" in log[1]["reasons"][0]
    assert log[2]["files"] == [str(april)] and log[2]["user"] == ME
    assert rows_readable(data_dir) == 10  # March and April; May was never loaded


def test_a_load_that_waits_builds_on_the_one_before(data_dir, tmp_path):
    april = month_file(tmp_path / "april.csv", 4)
    may = month_file(tmp_path / "may.csv", 5)
    first = start_cli("--data", str(data_dir), "--table", "incidents", str(april), pause="staged:2")
    wait_paused(first, "staged")
    second = start_cli("--data", str(data_dir), "--table", "incidents", "--wait", "60", str(may))
    _, err2 = second.communicate(timeout=120)
    _, err1 = first.communicate(timeout=120)
    assert first.returncode == 0 and second.returncode == 0, err1 + err2
    log = storage.read_ingest_log(data_dir)
    assert [e["status"] for e in log] == ["loaded", "loaded", "loaded"]
    assert log[2]["previous_version"] == log[1]["version"]  # the second merged onto the first
    assert rows_readable(data_dir) == 15  # March, April and May: nothing lost


def test_a_rollback_waits_for_the_folder_too(data_dir, tmp_path):
    april = month_file(tmp_path / "april.csv", 4)
    first = start_cli("--data", str(data_dir), "--table", "incidents", str(april), pause="locked:3")
    try:
        wait_paused(first, "locked")
        with pytest.raises(
            IngestError, match="incidents not rolled back: another load or rollback is running"
        ):
            rollback(data_dir, "incidents", wait_seconds=0.2)
    finally:
        first.communicate(timeout=60)
    assert [e["status"] for e in storage.read_ingest_log(data_dir)] == ["loaded", "refused", "loaded"]


# --- kill -9 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["locked", "staging", "staged", "renaming", "renamed", "swapped"])
def test_a_load_killed_at_any_stage_leaves_a_readable_table_and_is_cleaned_up_and_logged(
    data_dir, tmp_path, stage
):
    before = hashes(data_dir)
    version = storage.current_version(data_dir, "incidents")
    april = month_file(tmp_path / "april.csv", 4)
    pause = stage if stage != "staging" else "staged"  # "staging": killed while the folder is written
    victim = start_cli("--data", str(data_dir), "--table", "incidents", str(april), pause=f"{pause}:60")
    wait_paused(victim, pause)
    if stage == "staging":  # a half-written part file, as a crash mid-write leaves it
        staging = next((data_dir / "_versions" / "incidents").glob(".tmp-*"))
        (staging / "half.parquet").write_bytes(b"PAR1\x00")
    os.kill(victim.pid, signal.SIGKILL)
    victim.communicate(timeout=30)
    assert victim.returncode == -signal.SIGKILL

    if stage == "swapped":  # the new version was current already: March and April
        assert storage.current_version(data_dir, "incidents") != version
        assert rows_readable(data_dir) == 10
    else:  # the previous version, byte for byte
        assert hashes(data_dir) == before and storage.current_version(data_dir, "incidents") == version
        assert rows_readable(data_dir) == 5
    assert storage.read_ingest_log(data_dir)[-1]["status"] == "loaded"  # nothing logged by the victim
    if stage in ("staging", "staged", "renaming"):
        assert leftovers(data_dir)

    # the next load cleans up and says so
    may = month_file(tmp_path / "may.csv", 5)
    result = ingest(data_dir, "incidents", [may], user="next-analyst")
    assert leftovers(data_dir) == []
    log = storage.read_ingest_log(data_dir)
    assert [e["status"] for e in log][-2:] == ["interrupted", "loaded"]
    interrupted = log[-2]
    assert interrupted["user"] == ME and interrupted["table"] == "incidents"
    assert interrupted["files"] == [str(april)] and interrupted["found_by"] == "next-analyst"
    assert interrupted["reasons"][0].startswith(f"a load of incidents by {ME} (pid {victim.pid}) started ")
    assert (
        f"was interrupted at stage {stage if stage != 'staging' else 'staged'}" in interrupted["reasons"][0]
    )
    assert result.interrupted == interrupted["reasons"]
    names = [v["version"] for v in storage.list_versions(data_dir, "incidents")]
    if stage == "renamed":  # complete but never current: removed, not left as a stray newer version
        assert any("written in full but never made current" in r for r in interrupted["reasons"])
    if stage == "swapped":
        assert any("had been made current before the load stopped" in r for r in interrupted["reasons"])
        assert rows_readable(data_dir) == 15
    else:
        assert rows_readable(data_dir) == 10  # March kept, May added; April never loaded
        assert len(names) == 2
    # a rollback goes back to a version that really was current
    assert rollback(data_dir, "incidents") == names[-2]


def test_a_killed_rollback_is_cleaned_up_by_the_next_load(data_dir, tmp_path):
    lock = data_dir / storage.LOCK_NAME
    lock.write_text('{"action": "rollback", "pid": 999999, "user": "someone", "table": "incidents"}')
    result = ingest(data_dir, "incidents", [month_file(tmp_path / "april.csv", 4)])
    assert result.interrupted[0].startswith("a rollback of incidents by someone (pid 999999) was interrupted")
    assert lock.read_text() == ""


# --- kept versions -------------------------------------------------------------------------------


def test_old_versions_beyond_keep_are_removed(tmp_path):
    data = tmp_path / "data"
    made = [
        ingest(data, "incidents", [month_file(tmp_path / "m.csv", 3, n)], keep=2).version for n in range(1, 6)
    ]
    names = [v["version"] for v in storage.list_versions(data, "incidents")]
    assert names == made[-3:]  # the current one and two before it
    entry = storage.read_ingest_log(data)[-1]
    assert entry["removed_versions"] == [made[1]]
    assert rollback(data, "incidents") == made[-2]
    assert rows_readable(data) == 4
    done = subprocess.run(
        [sys.executable, "-m", "data.ingest", "--data", str(data), "--table", "incidents", "--keep", "0",
         "--replace-all", str(month_file(tmp_path / "m.csv", 3, 2))],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Removed 3 old versions beyond those --keep keeps: " in done.stdout
    assert len(storage.list_versions(data, "incidents")) == 1


def test_the_default_keeps_twelve_old_versions(tmp_path):
    data = tmp_path / "data"
    for n in range(1, 16):
        ingest(data, "incidents", [month_file(tmp_path / "m.csv", 3, n)])
    assert len(storage.list_versions(data, "incidents", with_rows=False)) == 13


# --- who, and who may read ---------------------------------------------------------------------


def test_the_logs_user_is_the_os_account_not_logname(tmp_path):
    data = tmp_path / "data"
    path = month_file(tmp_path / "march.csv", 3)
    process = start_cli(
        "--data", str(data), "--table", "incidents", str(path), env={"LOGNAME": "mallory", "USER": "mallory"}
    )
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert storage.read_ingest_log(data)[-1]["user"] == ME != "mallory"
    assert ingest(data, "incidents", [path], user="signed-in-user").rows == 5
    assert storage.read_ingest_log(data)[-1]["user"] == "signed-in-user"


def test_data_files_the_log_and_rejected_rows_are_owner_and_group_only(tmp_path):
    old = os.umask(0o022)  # a usual umask: the files must not rely on it
    try:
        data = tmp_path / "new" / "data"
        ingest(data, "incidents", [month_file(tmp_path / "march.csv", 3)])
        bad = tmp_path / "bad.csv"
        frame = pd.read_csv(tmp_path / "march.csv", dtype=str, keep_default_na=False)
        frame.loc[0, "grade"] = "9"
        frame.to_csv(bad, index=False)
        with pytest.raises(IngestError):
            ingest(data, "incidents", [bad])
    finally:
        os.umask(old)

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.lstat().st_mode)

    version = (data / "incidents").resolve()
    assert mode(tmp_path / "new") == 0o750 and mode(data) == 0o750
    assert mode(data / "_versions") == 0o750 and mode(data / "_versions" / "incidents") == 0o750
    assert mode(version) == 0o750
    assert all(mode(p) == 0o640 for p in version.iterdir())
    assert mode(data / storage.LOG_NAME) == 0o640 and mode(data / storage.LOCK_NAME) == 0o640
    assert mode(tmp_path / "bad.rejected.csv") == 0o640


def test_a_world_readable_log_from_before_is_tightened(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    log = data / storage.LOG_NAME
    log.write_text("")
    log.chmod(0o644)
    ingest(data, "incidents", [month_file(tmp_path / "march.csv", 3)])
    assert stat.S_IMODE(log.stat().st_mode) == 0o640
