"""Ingest as a monthly refresh: the files' force-months replace those of the table, every other row is kept.

Real synthetic extracts (``data.generate``), real parquet and DuckDB; nothing is mocked.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from data import storage
from data.contract import TABLES
from data.generate import generate
from data.ingest import IngestError, ingest

ROOT = Path(__file__).resolve().parents[1]


def table_frame(data_dir: Path, table: str) -> pd.DataFrame:
    """Every row of ``table``'s current version through DuckDB, in a stable order."""
    files = storage.list_data_files(data_dir, table)
    listing = ", ".join(f"'{f}'" for f in files)
    frame = duckdb.connect().sql(f"select * from read_parquet([{listing}])").df()
    order = list(TABLES[table].key) or TABLES[table].column_names
    return frame.sort_values(order, kind="stable").reset_index(drop=True)


def month_of(frame: pd.DataFrame, table: str) -> pd.Series:
    return pd.to_datetime(frame[TABLES[table].coverage_column]).dt.strftime("%Y-%m")


def parquet_hashes(data_dir: Path, table: str) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in storage.list_data_files(data_dir, table)
    }


def as_extract(frame: pd.DataFrame, path: Path) -> Path:
    """Write typed rows as a force's CSV extract would hold them (ISO times, true/false)."""
    frame.to_csv(path, index=False, date_format="%Y-%m-%d %H:%M:%S")
    return path


@pytest.fixture
def three_years(synthetic_dir, tmp_path) -> Path:
    """A private copy of the default synthetic extracts (Dorset, Apr 2020 – Mar 2023)."""
    data_dir = tmp_path / "data"
    shutil.copytree(synthetic_dir, data_dir, symlinks=True)
    return data_dir


@pytest.fixture(scope="module")
def three_forces_source(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("forces") / "extracts"
    generate(out, forces=3, start="2021-04", end="2022-03")
    return out


@pytest.fixture
def three_forces(three_forces_source, tmp_path) -> Path:
    data_dir = tmp_path / "data"
    shutil.copytree(three_forces_source, data_dir, symlinks=True)
    return data_dir


def test_a_refresh_of_three_months_changes_exactly_those_months(three_years, tmp_path):
    before = table_frame(three_years, "incidents")
    months = month_of(before, "incidents")
    quarter = ["2022-01", "2022-02", "2022-03"]
    assert months.nunique() == 36
    extract = before[months.isin(quarter)].copy().reset_index(drop=True)
    # the force's new extract: January re-stated (some grades corrected), February lost 5 records,
    # March gained 7 new ones
    jan = month_of(extract, "incidents") == "2022-01"
    extract.loc[jan[jan].index[:10], "grade"] = 5
    feb_rows = extract.index[month_of(extract, "incidents") == "2022-02"][:5]
    extract = extract.drop(feb_rows).reset_index(drop=True)
    extra = extract[month_of(extract, "incidents") == "2022-03"].head(7).copy()
    extra["incident_id"] = [f"NEW-{i}" for i in range(7)]
    extract = pd.concat([extract, extra], ignore_index=True)
    path = as_extract(extract, tmp_path / "q1_2022.csv")

    result = ingest(three_years, "incidents", [path], user="analyst")

    after = table_frame(three_years, "incidents")
    after_months = month_of(after, "incidents")
    # every row of the other 33 months is exactly as it was
    outside_before = before[~months.isin(quarter)].reset_index(drop=True)
    outside_after = after[~after_months.isin(quarter)].reset_index(drop=True)
    pd.testing.assert_frame_equal(outside_after, outside_before)
    # the three months are exactly the file's rows
    inside = after[after_months.isin(quarter)].reset_index(drop=True)
    expected = extract.sort_values("incident_id").reset_index(drop=True)
    assert list(inside["incident_id"]) == list(expected["incident_id"])
    assert (inside.set_index("incident_id")["grade"] == expected.set_index("incident_id")["grade"]).all()
    assert len(after) == len(before) - 5 + 7

    by_month = {c.month: c for c in result.changes}
    assert set(by_month) == set(quarter) and {c.force for c in result.changes} == {"Dorset"}
    n = {m: int((months == m).sum()) for m in quarter}
    assert (by_month["2022-01"].replaced, by_month["2022-01"].added, by_month["2022-01"].removed) == (
        n["2022-01"],
        0,
        0,
    )
    assert (by_month["2022-02"].removed, by_month["2022-02"].rows_after) == (5, n["2022-02"] - 5)
    assert (by_month["2022-03"].added, by_month["2022-03"].rows_after) == (7, n["2022-03"] + 7)
    assert result.mode == "refresh" and result.rows == len(extract)
    assert result.table_rows == len(after) and result.previous_rows == len(before)
    assert result.rows_kept == len(outside_before)
    assert result.months_removed == {}
    lines = result.summary_lines()
    assert lines[0].startswith(f"Loaded {len(extract):,} rows into incidents from 1 file: version ")
    assert lines[1].startswith("Monthly refresh of 3 months for 1 force (7 added, ")
    assert (
        "5 removed" in lines[1]
        and f"{len(outside_before):,} rows of other months and forces kept" in lines[1]
    )

    entry = storage.read_ingest_log(three_years)[-1]
    assert entry["status"] == "loaded" and entry["mode"] == "refresh"
    assert entry["rows"] == len(extract) and entry["table_rows"] == len(after)
    assert entry["summary"][:2] == lines[:2]
    # the generator's folder is kept as the original version, untouched
    versions = storage.list_versions(three_years, "incidents")
    assert versions[0]["version"].endswith("-original") and versions[0]["rows"] == len(before)


def test_one_forces_file_keeps_every_other_force(three_forces, tmp_path):
    before = table_frame(three_forces, "incidents")
    forces = sorted(before["force"].unique())
    assert len(forces) == 3 and "Dorset" in forces
    dorset = before[before["force"] == "Dorset"].copy().reset_index(drop=True)
    dorset["victim_callback"] = ~dorset["victim_callback"]  # every Dorset row re-stated
    path = as_extract(dorset, tmp_path / "dorset.csv")

    result = ingest(three_forces, "incidents", [path])

    after = table_frame(three_forces, "incidents")
    others_before = before[before["force"] != "Dorset"].reset_index(drop=True)
    others_after = after[after["force"] != "Dorset"].reset_index(drop=True)
    pd.testing.assert_frame_equal(others_after, others_before)
    dorset_after = after[after["force"] == "Dorset"].reset_index(drop=True)
    assert len(dorset_after) == len(dorset)
    assert (
        dorset_after["victim_callback"].to_numpy() == dorset.sort_values("incident_id")["victim_callback"]
    ).all()
    assert {c.force for c in result.changes} == {"Dorset"} and len(result.changes) == 12
    assert result.total("replaced") == len(dorset) and result.total("removed") == 0
    assert result.rows_kept == len(others_before)


def test_replace_all_swaps_the_table_and_names_the_months_that_go(three_years, tmp_path):
    before = table_frame(three_years, "incidents")
    months = month_of(before, "incidents")
    quarter = before[months.isin(["2022-01", "2022-02", "2022-03"])]
    path = as_extract(quarter, tmp_path / "q1_2022.csv")
    done = subprocess.run(
        [sys.executable, "-m", "data.ingest", "--data", str(three_years), "--table", "incidents",
         "--replace-all", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert out[0].startswith(f"Loaded {len(quarter):,} rows into incidents from 1 file: version ")
    assert out[1] == (
        f"Replaced the whole table: its {len(before):,} rows went, {len(quarter):,} rows now "
        f"(0 added, {len(quarter):,} replaced, {len(before) - len(quarter):,} removed)."
    )
    assert out[2] == "33 force-months no longer in the table: Dorset 2020-04 – 2021-12, 2022-04 – 2023-03."
    assert len(table_frame(three_years, "incidents")) == len(quarter)
    assert storage.read_ingest_log(three_years)[-1]["mode"] == "replace all"


def test_the_issues_quarter_file_is_a_refresh_by_default_on_the_command_line(three_years, tmp_path):
    before = table_frame(three_years, "incidents")
    quarter = before[month_of(before, "incidents").isin(["2022-01", "2022-02", "2022-03"])]
    path = as_extract(quarter, tmp_path / "q1_2022.csv")
    done = subprocess.run(
        [sys.executable, "-m", "data.ingest", "--data", str(three_years), "--table", "incidents", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert out[1] == (
        f"Monthly refresh of 3 months for 1 force (0 added, {len(quarter):,} replaced, 0 removed); "
        f"{len(before) - len(quarter):,} rows of other months and forces kept; the table holds "
        f"{len(before):,} rows (was {len(before):,})."
    )
    assert out[2].split() == ["force", "month", "before", "after", "added", "replaced", "removed"]
    assert out[3].split()[:2] == ["Dorset", "2022-01"]
    assert len(table_frame(three_years, "incidents")) == len(before)


def test_a_dry_run_prints_the_summary_and_writes_nothing(three_years, tmp_path):
    before = table_frame(three_years, "incidents")
    quarter = before[month_of(before, "incidents").isin(["2022-02"])]
    path = as_extract(quarter, tmp_path / "feb.csv")
    listing = sorted(str(p.relative_to(three_years)) for p in three_years.rglob("*"))
    hashes = parquet_hashes(three_years, "incidents")

    result = ingest(three_years, "incidents", [path], dry_run=True)
    assert result.dry_run and result.version is None
    assert result.summary_lines()[0] == (
        f"Dry run: nothing written. Would load {len(quarter):,} rows into incidents from 1 file."
    )
    assert result.total("replaced") == len(quarter)
    done = subprocess.run(
        [sys.executable, "-m", "data.ingest", "--data", str(three_years), "--table", "incidents",
         "--dry-run", "--replace-all", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Dry run: nothing written.")
    assert "35 force-months no longer in the table" in done.stdout
    assert sorted(str(p.relative_to(three_years)) for p in three_years.rglob("*")) == listing
    assert parquet_hashes(three_years, "incidents") == hashes
    assert storage.read_ingest_log(three_years) == []


# --- refusals of a refresh --------------------------------------------------------------


def incident(i: int, day: str, **over: str) -> dict:
    row = {
        "incident_id": f"INC-{i}",
        "force": "Dorset",
        "lpa": "East",
        "local_authority": "BCP Council",
        "received_at": f"{day} 10:00:00",
        "incident_type": "other",
        "grade": "2",
        "vulnerability_identified": "true",
        "thrive_completed": "true",
        "thrive_reassessments": "0",
        "victim_callback": "false",
        "arrived_at": "",
        "ppn_submitted_at": "",
        "voice_of_child_recorded": "true",
        "child_spoken_to": "false",
        "bwv_used": "true",
    }
    row.update(over)
    return row


def write(path: Path, records: list[dict]) -> Path:
    pd.DataFrame(records, dtype=str).to_csv(path, index=False)
    return path


@pytest.fixture
def four_months(tmp_path) -> Path:
    """incidents with 10 rows in each of Jan–Apr 2022."""
    data_dir = tmp_path / "data"
    records = [incident(m * 100 + d, f"2022-{m:02d}-{d:02d}") for m in range(1, 5) for d in range(1, 11)]
    ingest(data_dir, "incidents", [write(tmp_path / "all.csv", records)])
    return data_dir


def refused(data_dir: Path, files: list[Path], **options) -> IngestError:
    hashes = parquet_hashes(data_dir, "incidents")
    current = storage.current_version(data_dir, "incidents")
    with pytest.raises(IngestError) as info:
        ingest(data_dir, "incidents", files, **options)
    assert parquet_hashes(data_dir, "incidents") == hashes
    assert storage.current_version(data_dir, "incidents") == current
    assert storage.read_ingest_log(data_dir)[-1]["status"] == "refused"
    return info.value


def test_a_refresh_removing_more_than_half_the_table_is_refused(four_months, tmp_path):
    thin = [incident(m * 100 + 1, f"2022-{m:02d}-01") for m in (2, 3, 4)]  # 1 row a month, 10 before
    path = write(tmp_path / "thin.csv", thin)
    error = refused(four_months, [path])
    assert error.message.startswith(
        "incidents not loaded: this refresh would remove 27 of the table's 40 rows (68%, more than the 50% "
        "allowed: Dorset 2022-02: 10 → 1 rows;"
    )
    assert "--replace-all (or raise --max-removed-share)" in error.message
    result = ingest(four_months, "incidents", [path], max_removed_share=0.8)
    assert result.table_rows == 13 and result.total("removed") == 27 and result.rows_kept == 10


def test_a_key_held_outside_the_files_months_is_refused_naming_the_row(four_months, tmp_path):
    records = [incident(400 + d, f"2022-04-{d:02d}") for d in range(1, 11)]
    records[3] = incident(105, "2022-04-04")  # INC-105 is a January incident in the table
    path = write(tmp_path / "apr.csv", records)
    error = refused(four_months, [path])
    assert error.errors[0].startswith(
        "apr.csv row 4, column incident_id: key 'INC-105' is already in the table in Dorset 2022-01, outside "
        "the months and forces this file covers"
    )
    assert error.rejected_rows == 1
    rejected = pd.read_csv(tmp_path / "apr.rejected.csv", dtype=str, keep_default_na=False)
    assert list(rejected["incident_id"]) == ["INC-105"] and list(rejected["row"]) == ["4"]
    assert ingest(four_months, "incidents", [path], replace_all=True).table_rows == 10


def test_a_force_spelled_differently_is_refused_not_added(four_months, tmp_path):
    path = write(tmp_path / "may.csv", [incident(501, "2022-05-01", force="DORSET")])
    error = refused(four_months, [path])
    assert error.errors == [
        "may.csv row 1, column force: 'DORSET' differs from the table's force 'Dorset' only in case or "
        "spacing: it would be loaded as another force — spell it as the table does"
    ]


def test_a_months_gap_inside_the_file_is_kept_and_noted(four_months, tmp_path):
    records = [incident(100 + d, f"2022-01-{d:02d}") for d in range(1, 11)]
    records += [incident(300 + d, f"2022-03-{d:02d}") for d in range(1, 11)]
    result = ingest(four_months, "incidents", [write(tmp_path / "jan-mar.csv", records)])
    assert result.table_rows == 40 and [c.month for c in result.changes] == ["2022-01", "2022-03"]
    assert result.notes == [
        "Dorset: 2022-02 lie between this file's first and last months but have no rows in it; "
        "the table's rows for them are kept"
    ]


def test_a_table_without_a_key_counts_identical_rows_as_replaced(tmp_path):
    data_dir = tmp_path / "data"

    def review(crime: str, day: str) -> dict:
        return {"crime_id": crime, "force": "Dorset", "reviewed_at": f"2022-{day} 09:00:00"}

    first = [review("CR-1", "01-05"), review("CR-1", "01-05"), review("CR-2", "02-01")]
    ingest(data_dir, "investigation_reviews", [write(tmp_path / "a.csv", first)])
    again = [review("CR-1", "01-05"), review("CR-3", "01-06")]  # one duplicate review went, one came
    result = ingest(data_dir, "investigation_reviews", [write(tmp_path / "b.csv", again)])
    jan = next(c for c in result.changes if c.month == "2022-01")
    assert (jan.rows_before, jan.rows_after, jan.added, jan.replaced, jan.removed) == (2, 2, 1, 1, 1)
    assert result.rows_kept == 1 and result.table_rows == 3
