"""Ingest: refusal with named file/row/column, accepted input forms, versions, rollback and the log."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data import storage
from data.contract import TABLES, write_parquet
from data.ingest import IngestError, ingest, neutralise, rollback
from tests.ingest_corpus import incident  # a valid incidents row, one definition for both suites

ROOT = Path(__file__).resolve().parents[1]


# --- hand-built valid rows (as a force's extract would give them, all text) ---------


def episode(i: int, **over: str) -> dict:
    row = {
        "episode_id": f"EP-{i}",
        "child_id": f"C-{i % 2}",
        "force": "Dorset",
        "lpa": "West",
        "local_authority": "Dorset Council",
        "age": "14",
        "reported_at": f"2022-03-{i:02d} 22:00:00",
        "risk_level": "medium",
        "risk_assessment_text": "",
        "risk_ratified_at": "",
        "first_deployed_at": "",
        "found_at": f"2022-03-{i + 1:02d} 08:00:00",
        "prevention_interview": "true",
        "return_home_interview_at": "",
        "ppn_submitted": "false",
        "strategy_meeting_held": "false",
        "csc_referral": "true",
    }
    row.update(over)
    return row


def investigation(i: int, **over: str) -> dict:
    polit = i % 2 == 0
    row = {
        "crime_id": f"CR-{i}",
        "victim_child_id": f"C-{i}",
        "force": "Dorset",
        "lpa": "East",
        "team": "polit" if polit else "cid",
        "category": "online abuse" if polit else "physical abuse",
        "risk_level": "high",
        "opened_at": f"2022-02-{i:02d} 09:00:00",
        "closed_at": "",
        "plan_recorded": "true",
        "video_interview_at": "",
        "kirat_completed": "true" if polit else "",
        "csc_informed_at": "",
    }
    row.update(over)
    return row


def rso(i: int, **over: str) -> dict:
    required = i % 2 == 1
    row = {
        "snapshot_month": "2022-03-01",
        "rso_id": f"RSO-{i}",
        "force": "Dorset",
        "lpa": "West",
        "offender_manager_id": "OM-1",
        "management": "active",
        "in_custody": "false",
        "whereabouts_unknown": "false",
        "arms_required": "true" if required else "false",
        "arms_completed_date": "2021-09-01" if required else "",
        "arms_due_date": "2022-09-01" if required else "",
        "next_visit_due": "",
    }
    row.update(over)
    return row


def staffing(i: int, **over: str) -> dict:
    row = {"month": f"2022-{i:02d}-01", "force": "Dorset", "team": "MOSOVO", "officers_fte": "15.5"}
    row.update(over)
    return row


ROWS = {
    "incidents": incident,
    "missing_episodes": episode,
    "investigations": investigation,
    "rso_register": rso,
    "team_staffing": staffing,
}


def rows(table: str, n: int = 4, start: int = 1) -> list[dict]:
    return [ROWS[table](i) for i in range(start, start + n)]


def write_csv(path: Path, records: list[dict]) -> Path:
    pd.DataFrame(records, dtype=str).to_csv(path, index=False)
    return path


def tree_hashes(data_dir: Path, table: str) -> dict[str, str]:
    """sha256 of every file under DIR/<table> (through the symlink), plus where it points."""
    folder = data_dir / table
    out = {"<resolved>": str(folder.resolve())}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            out[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture
def loaded(tmp_path: Path):
    """A data dir whose incidents, investigations, rso_register and missing_episodes are loaded."""
    data_dir = tmp_path / "data"
    inputs = tmp_path / "in"
    inputs.mkdir()
    for table in ROWS:
        ingest(data_dir, table, [write_csv(inputs / f"{table}-good.csv", rows(table))])
    return data_dir, inputs


def refuse(data_dir: Path, table: str, files: list[Path]) -> IngestError:
    """Ingest ``files``, expect a refusal, and check the table did not change."""
    before = tree_hashes(data_dir, table)
    log_before = len(storage.read_ingest_log(data_dir))
    with pytest.raises(IngestError) as info:
        ingest(data_dir, table, files)
    assert tree_hashes(data_dir, table) == before
    log = storage.read_ingest_log(data_dir)
    assert len(log) == log_before + 1
    assert log[-1]["status"] == "refused" and log[-1]["table"] == table
    assert log[-1]["version"] is None
    assert log[-1]["previous_version"] == storage.current_version(data_dir, table)
    assert log[-1]["reasons"] == info.value.errors[:50]
    return info.value


def rejected(path: Path) -> pd.DataFrame:
    out = path.with_name(f"{path.stem}.rejected.csv")
    assert out.exists(), f"{out} was not written"
    return pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")


# --- refusals of bad rows -------------------------------------------------------------


def case(name: str, table: str, index: int, column: str, value: str, words: str):
    """A bad-row case: put ``value`` in ``column`` of row ``index``; expect ``words`` in the message."""
    return pytest.param(table, index, column, value, words, id=name)


ROW_CASES = [
    case("wrong type", "incidents", 1, "grade", "high", "'high' is not a whole number"),
    case("unparseable nullable timestamp", "incidents", 2, "arrived_at", "soon", "'soon'"),
    case("impossible date", "incidents", 0, "received_at", "31/02/2022 10:00", "31/02/2022"),
    case("bad boolean", "incidents", 3, "bwv_used", "maybe", "'maybe' is not a yes/no value"),
    case("bad enumeration", "incidents", 2, "incident_type", " Burglary", "'Burglary' is not one of"),
    case("null in required column", "incidents", 1, "force", "  ", "a value is required"),
    case("grade out of range", "incidents", 3, "grade", "9", "9 is outside 1–5"),
    case("negative count", "incidents", 0, "thrive_reassessments", "-1", "-1 is below the minimum 0"),
    case("age out of range", "missing_episodes", 1, "age", "18", "18 is outside 0–17"),
    case("kirat without polit", "investigations", 0, "kirat_completed", "false", "unless team is polit"),
    case("polit without kirat", "investigations", 1, "kirat_completed", "", "required when team is polit"),
    case(
        "arms due, not required", "rso_register", 1, "arms_due_date", "2022-05-01", "arms_required is false"
    ),
    case("arms required, no due date", "rso_register", 0, "arms_due_date", "", "required when arms_required"),
    case("not first of month", "rso_register", 2, "snapshot_month", "2022-03-15", "not the first day"),
    case("date with a time", "rso_register", 0, "next_visit_due", "2022-04-01 10:30", "has a time of day"),
    case("fte not positive", "team_staffing", 2, "officers_fte", "0", "0 must be greater than 0"),
    case("fte not a number", "team_staffing", 1, "officers_fte", "15,5", "'15,5' is not a number"),
]


@pytest.mark.parametrize(("table", "index", "column", "value", "words"), ROW_CASES)
def test_a_bad_value_refuses_the_load_naming_file_row_and_column(loaded, table, index, column, value, words):
    data_dir, inputs = loaded
    records = rows(table)
    records[index][column] = value
    path = write_csv(inputs / f"{table}.csv", records)
    error = refuse(data_dir, table, [path])
    line = f"{table}.csv row {index + 1}, column {column}: "
    assert any(e.startswith(line) and words in e for e in error.errors), error.errors
    assert "row 1 is the first row after the header" in error.message
    assert error.rejected_rows == 1
    out = rejected(path)
    assert error.rejected_paths == [path.with_name(f"{table}.rejected.csv")]
    assert list(out["row"]) == [str(index + 1)]
    assert words in out["reason"][0] and column in out["reason"][0]
    for name, value in records[index].items():  # the original values, as the user wrote them
        assert out[name][0] == neutralise(value)  # "-1" is written '-1 (no formula)


def test_a_duplicate_key_names_both_rows(loaded):
    data_dir, inputs = loaded
    records = rows("incidents")
    records[3]["incident_id"] = "INC-2"
    path = write_csv(inputs / "incidents.csv", records)
    error = refuse(data_dir, "incidents", [path])
    assert "incidents.csv row 2, column incident_id: duplicate key 'INC-2' (also at incidents.csv row 4)" in (
        error.errors
    )
    assert list(rejected(path)["row"]) == ["2", "4"]


def test_a_key_must_be_unique_across_files(loaded):
    data_dir, inputs = loaded
    jan = write_csv(inputs / "jan.csv", rows("incidents", 3, start=1))
    feb = write_csv(inputs / "feb.csv", rows("incidents", 3, start=3))  # INC-3 again
    error = refuse(data_dir, "incidents", [jan, feb])
    assert error.errors == [
        "jan.csv row 3, column incident_id: duplicate key 'INC-3' (also at feb.csv row 1)",
        "feb.csv row 1, column incident_id: duplicate key 'INC-3' (also at jan.csv row 3)",
    ]
    assert list(rejected(jan)["row"]) == ["3"] and list(rejected(feb)["row"]) == ["1"]


def test_a_composite_key_duplicate_is_refused(loaded):
    data_dir, inputs = loaded
    records = rows("rso_register")
    records[2]["rso_id"] = "RSO-1"
    path = write_csv(inputs / "rso.csv", records)
    error = refuse(data_dir, "rso_register", [path])
    assert any(
        "row 3, column rso_id: duplicate key snapshot_month 2022-03-01, rso_id RSO-1" in e
        for e in error.errors
    )


def test_every_problem_is_reported_at_once(loaded):
    data_dir, inputs = loaded
    records = rows("incidents", 30)
    for r in records:
        r["grade"] = "7"
    records[4]["incident_type"] = "???"
    path = write_csv(inputs / "incidents.csv", records)
    error = refuse(data_dir, "incidents", [path])
    assert len(error.errors) == 31 and error.rejected_rows == 30
    assert len(rejected(path)) == 30


# --- refusals of whole files -------------------------------------------------------------


def test_a_missing_column_is_named(loaded):
    data_dir, inputs = loaded
    frame = (
        pd.DataFrame(rows("incidents"))
        .drop(columns=["grade", "bwv_used"])
        .rename(columns={"arrived_at": "arrival_time"})
    )
    path = inputs / "incidents.csv"
    frame.to_csv(path, index=False)
    error = refuse(data_dir, "incidents", [path])
    assert error.message == (
        "incidents.csv is missing required columns: grade, arrived_at, bwv_used "
        "(it has other columns: arrival_time)"
    )
    assert not path.with_name("incidents.rejected.csv").exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "empty.csv has no data rows (the file is empty)"),
        ("header.csv", b"incident_id,force,grade\n", "header.csv has no data rows"),
        ("blank.csv", b"incident_id,force,grade\n\n,,\n", "blank.csv has no data rows"),
        (
            "semi.csv",
            b"incident_id;force;grade\nI1;Dorset;1\n",
            "semi.csv looks delimited by ';' \u2014 save it comma-separated",
        ),
        ("tabs.csv", b"incident_id\tforce\nI1\tDorset\n", "tabs.csv looks delimited by tabs"),
        ("book.xlsx", b"this is not a zip file", "book.xlsx cannot be read as an XLSX workbook"),
        ("old.xls", b"\xd0\xcf\x11\xe0", "old.xls: unsupported file type '.xls' (save it as .xlsx)"),
        (
            "ragged.csv",
            b"incident_id,force\nI1,Dorset\nI2,Dorset, Dorset\n",
            "ragged.csv row 2 has 3 values but the header has 2 columns",
        ),
        ("x.rejected.csv", b"row,reason\n1,x\n", "x.rejected.csv is a rejected-rows report"),
    ],
)
def test_a_file_that_cannot_be_used_gets_one_clear_line(loaded, name, content, message):
    data_dir, inputs = loaded
    path = inputs / name
    path.write_bytes(content)
    error = refuse(data_dir, "incidents", [path])
    assert error.message.startswith(message), error.message
    assert error.errors == [error.message]
    assert error.rejected_paths == []


def test_a_truncated_parquet_is_refused(loaded):
    data_dir, inputs = loaded
    whole = inputs / "whole.parquet"
    pq.write_table(pa.Table.from_pandas(pd.DataFrame(rows("incidents"))), whole)
    cut = inputs / "cut.parquet"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    error = refuse(data_dir, "incidents", [cut])
    assert error.message == "cut.parquet cannot be read as parquet: the file is truncated or corrupt"


def test_a_missing_file_and_an_unknown_table(loaded):
    data_dir, inputs = loaded
    error = refuse(data_dir, "incidents", [inputs / "nowhere.csv"])
    assert error.message.startswith("nowhere.csv: file not found")
    with pytest.raises(IngestError, match=r"unknown table 'incident': the tables are incidents, missing_ep"):
        ingest(data_dir, "incident", [inputs / "incidents-good.csv"])
    assert storage.read_ingest_log(data_dir)[-1]["table"] == "incident"


def test_all_files_are_checked_before_any_is_refused(loaded):
    data_dir, inputs = loaded
    empty = inputs / "a.csv"
    empty.write_bytes(b"")
    error = refuse(data_dir, "incidents", [empty, inputs / "b.csv"])
    assert error.errors[0] == "a.csv has no data rows (the file is empty)"
    assert error.errors[1].startswith("b.csv: file not found")


# --- accepted input forms --------------------------------------------------------------


def read_back(data_dir: Path, table: str) -> pd.DataFrame:
    files = storage.list_data_files(data_dir, table)
    assert files
    for f in files:  # typed exactly to the contract
        assert pq.read_schema(f).remove_metadata() == TABLES[table].arrow_schema()
    con = duckdb.connect()
    listing = ", ".join(f"'{f}'" for f in files)
    described = con.sql(f"describe select * from read_parquet([{listing}])").fetchall()
    assert [(c[0], c[1]) for c in described] == [(c.name, c.duckdb_type) for c in TABLES[table].columns]
    return con.sql(f"select * from read_parquet([{listing}])").df()


def test_csv_forms_are_normalised(tmp_path):
    records = rows("incidents", 3)
    records[0].update(
        received_at="2022-07-01T12:00:00+00:00",  # BST: 13:00 local
        arrived_at=" 01/07/2022 13:20 ",
        incident_type="  CONCERN FOR WELFARE ",
        vulnerability_identified="y",
        thrive_completed="YES",
        victim_callback="0",
        child_spoken_to="1",
        bwv_used="No",
        grade=" 2 ",
        extra_column="kept out",
    )
    records[1].update(received_at="2022-01-10 09:00:00Z", arrived_at="10/01/2022 09:05:30")
    records[2].update(received_at="2022-03-27T01:30:00+00:00")  # the hour the clocks go forward
    path = write_csv(tmp_path / "incidents.csv", records)
    # day-first text only as --date-format names it; an unknown column only with --ignore-extra-columns
    result = ingest(
        tmp_path / "data",
        "incidents",
        [path],
        user="analyst",
        date_format="dd/mm/yyyy",
        ignore_extra_columns=True,
    )
    assert result.rows == 3 and result.ignored_columns == {"incidents.csv": ["extra_column"]}
    got = read_back(tmp_path / "data", "incidents").set_index("incident_id")
    one = got.loc["INC-1"]
    assert one["received_at"] == pd.Timestamp("2022-07-01 13:00:00")
    assert one["arrived_at"] == pd.Timestamp("2022-07-01 13:20:00")
    assert one["incident_type"] == "concern for welfare"
    assert one["grade"] == 2
    booleans = [
        "vulnerability_identified",
        "thrive_completed",
        "victim_callback",
        "child_spoken_to",
        "bwv_used",
    ]
    assert list(one[booleans]) == [True, True, False, True, False]
    assert got.loc["INC-2", "received_at"] == pd.Timestamp("2022-01-10 09:00:00")  # GMT: unchanged
    assert got.loc["INC-2", "arrived_at"] == pd.Timestamp("2022-01-10 09:05:30")  # day first
    assert got.loc["INC-3", "received_at"] == pd.Timestamp("2022-03-27 02:30:00")
    assert pd.isna(got.loc["INC-1", "ppn_submitted_at"])
    assert "extra_column" not in got.columns


def test_xlsx_with_serial_numbers_datetime_cells_and_typed_cells(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    names = list(incident(1))
    sheet.append([f" {n} " if n == "grade" else n for n in names])  # a padded header still matches
    first = incident(1)
    first.update(
        received_at=44743.5,  # Excel serial number: 2022-07-01 12:00
        arrived_at=dt.datetime(2022, 7, 1, 12, 9, 59, 999600),  # Excel float noise: rounds to 12:10
        grade=2,
        vulnerability_identified=True,
        thrive_completed="Y",
        thrive_reassessments=3.0,
        victim_callback=0,
        ppn_submitted_at=None,
    )
    second = incident(2)
    second.update(received_at="02/03/2022 10:00", arrived_at="", incident_type="Online Abuse")
    sheet.append([first[n] for n in names])
    sheet.append([None] * len(names))  # a blank row, as Excel often leaves
    sheet.append([second[n] for n in names])
    path = tmp_path / "incidents.xlsx"
    book.save(path)
    result = ingest(tmp_path / "data", "incidents", [path], date_format="dd/mm/yyyy")
    assert result.rows == 2
    got = read_back(tmp_path / "data", "incidents").set_index("incident_id")
    assert got.loc["INC-1", "received_at"] == pd.Timestamp("2022-07-01 12:00:00")
    assert got.loc["INC-1", "arrived_at"] == pd.Timestamp("2022-07-01 12:10:00")
    assert got.loc["INC-1", "thrive_reassessments"] == 3
    assert got.loc["INC-2", "received_at"] == pd.Timestamp("2022-03-02 10:00:00")
    assert pd.isna(got.loc["INC-2", "arrived_at"])
    assert got.loc["INC-2", "incident_type"] == "online abuse"


def test_xlsx_errors_give_the_sheet_row_too(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    names = list(incident(1))
    sheet.append(names)
    for i in (1, 2):
        record = incident(i)
        if i == 2:
            record["grade"] = 6
        sheet.append([record[n] for n in names])
    path = tmp_path / "calls.xlsx"
    book.save(path)
    with pytest.raises(IngestError) as info:
        ingest(tmp_path / "data", "incidents", [path])
    assert info.value.errors == ["calls.xlsx row 2 (sheet row 3), column grade: 6 is outside 1–5"]
    assert (tmp_path / "calls.rejected.csv").exists()


def test_parquet_of_other_widths_units_and_zones(tmp_path):
    frame = pd.DataFrame(rows("incidents", 2))
    frame["grade"] = pd.Series([1, 5], dtype="int64")
    frame["thrive_reassessments"] = pd.Series([0, 2], dtype="uint8")
    frame["received_at"] = pd.to_datetime(["2022-07-01 12:00:00", "2022-12-01 12:00:00"]).tz_localize("UTC")
    arrived = pd.to_datetime(["2022-07-01 13:10:00.700", None])
    frame["arrived_at"] = pd.Series(arrived).astype("datetime64[ns]")
    for name in ("vulnerability_identified", "thrive_completed", "victim_callback"):
        frame[name] = [True, False]
    path = tmp_path / "incidents.parquet"
    frame.to_parquet(path)
    ingest(tmp_path / "data", "incidents", [path])
    got = read_back(tmp_path / "data", "incidents").set_index("incident_id")
    assert list(got["received_at"]) == [pd.Timestamp("2022-07-01 13:00"), pd.Timestamp("2022-12-01 12:00")]
    assert got.loc["INC-1", "arrived_at"] == pd.Timestamp("2022-07-01 13:10:00")  # second precision
    assert list(got["grade"]) == [1, 5]


def test_dates_accept_midnight_timestamps_and_day_first_text(tmp_path):
    records = rows("rso_register", 3)
    records[0].update(snapshot_month="01/03/2022", arms_completed_date="2021-09-01 00:00:00")
    records[1].update(snapshot_month="2022-03-01T00:00:00", next_visit_due="05/04/2022")
    path = write_csv(tmp_path / "rso.csv", records)
    ingest(tmp_path / "data", "rso_register", [path], date_format="dd/mm/yyyy")
    got = read_back(tmp_path / "data", "rso_register").set_index("rso_id")
    # (read_back's schema check proved these are DATE columns; duckdb's .df() shows them as Timestamps)
    assert set(got["snapshot_month"]) == {pd.Timestamp("2022-03-01")}
    assert got.loc["RSO-1", "arms_completed_date"] == pd.Timestamp("2021-09-01")
    assert got.loc["RSO-2", "next_visit_due"] == pd.Timestamp("2022-04-05")
    assert pd.isna(got.loc["RSO-2", "arms_due_date"])


# --- versions, rollback, the original folder, the log ------------------------------------


def test_versions_are_kept_and_rollback_restores_the_previous_files(tmp_path):
    data_dir = tmp_path / "data"
    first = ingest(data_dir, "incidents", [write_csv(tmp_path / "a.csv", rows("incidents", 2))])
    v1 = tree_hashes(data_dir, "incidents")
    data_v1 = storage.data_version(data_dir)
    second = ingest(data_dir, "incidents", [write_csv(tmp_path / "b.csv", rows("incidents", 5))])
    assert second.previous_version == first.version
    assert storage.data_version(data_dir) != data_v1
    versions = storage.list_versions(data_dir, "incidents")
    assert [v["version"] for v in versions] == [first.version, second.version]
    assert [v["rows"] for v in versions] == [2, 5]
    assert [v["is_current"] for v in versions] == [False, True]
    assert (data_dir / "incidents").is_symlink()
    assert not os.path.isabs(os.readlink(data_dir / "incidents"))

    assert rollback(data_dir, "incidents") == first.version
    assert tree_hashes(data_dir, "incidents") == v1
    assert storage.current_version(data_dir, "incidents") == first.version
    assert storage.data_version(data_dir) == data_v1
    assert (data_dir / "_versions" / "incidents" / second.version / "b.parquet").exists()  # kept

    with pytest.raises(IngestError, match="no earlier version"):
        rollback(data_dir, "incidents")
    assert tree_hashes(data_dir, "incidents") == v1

    log = storage.read_ingest_log(data_dir)
    assert [e["status"] for e in log] == ["loaded", "loaded", "rolled back", "refused"]
    assert log[2]["version"] == first.version and log[2]["previous_version"] == second.version
    assert log[2]["rows"] == 2
    fields = {"at", "user", "table", "files", "status", "rows", "rejected_rows", "reasons", "version"}
    assert all({*fields, "previous_version"} <= set(e) for e in log)  # later keys: mode, summary...
    assert dt.datetime.fromisoformat(log[0]["at"]).tzinfo is not None
    assert log[0]["files"] == [str(tmp_path / "a.csv")] and log[0]["rows"] == 2


def test_a_generator_folder_is_kept_as_the_original_version(tmp_path):
    data_dir = tmp_path / "data"
    frame = pd.DataFrame(rows("incidents", 3))
    frame["received_at"] = pd.to_datetime(frame["received_at"])
    frame["arrived_at"] = pd.to_datetime(frame["arrived_at"])
    frame["ppn_submitted_at"] = pd.NaT
    for col in TABLES["incidents"].columns:
        if col.type == "boolean":
            frame[col.name] = frame[col.name] == "true"
        elif col.type in ("tinyint", "integer"):
            frame[col.name] = frame[col.name].astype(int)
    write_parquet("incidents", frame, data_dir / "incidents" / "2022-03.parquet")
    (data_dir / "incidents" / "_notes.txt").write_text("hand-made")
    original = tree_hashes(data_dir, "incidents")
    assert storage.current_version(data_dir, "incidents") is None
    assert len(storage.list_data_files(data_dir, "incidents")) == 1

    result = ingest(data_dir, "incidents", [write_csv(tmp_path / "new.csv", rows("incidents", 4))])
    assert result.previous_version.endswith("-original")
    kept = data_dir / "_versions" / "incidents" / result.previous_version
    assert (kept / "2022-03.parquet").exists() and (kept / "_notes.txt").exists()
    assert result.previous_version < result.version
    assert rollback(data_dir, "incidents") == result.previous_version
    after = tree_hashes(data_dir, "incidents")
    assert {k: v for k, v in after.items() if k != "<resolved>"} == {
        k: v for k, v in original.items() if k != "<resolved>"
    }


def test_storage_helpers(tmp_path):
    data_dir = tmp_path / "data"
    assert storage.read_ingest_log(data_dir) == []
    assert storage.list_data_files(data_dir, "incidents") == []
    assert storage.list_versions(data_dir, "incidents") == []
    empty_version = storage.data_version(data_dir)
    ingest(data_dir, "incidents", [write_csv(tmp_path / "incidents.csv", rows("incidents", 2))])
    folder = (data_dir / "incidents").resolve()
    (folder / "_partial.parquet").write_bytes(b"x")
    (folder / ".hidden.parquet").write_bytes(b"x")
    (folder / "notes.txt").write_text("x")
    assert [p.name for p in storage.list_data_files(data_dir, "incidents")] == ["incidents.parquet"]
    assert storage.table_dir(data_dir, "incidents") == data_dir / "incidents"
    assert storage.data_version(data_dir) != empty_version
    before = storage.data_version(data_dir)
    ingest(data_dir, "incidents", [write_csv(tmp_path / "incidents.csv", rows("incidents", 3))])
    assert storage.data_version(data_dir) != before
    (data_dir / "_ingest_log.jsonl").open("a").write("{not json\n")
    assert len(storage.read_ingest_log(data_dir)) == 2
    created = storage.list_versions(data_dir, "incidents")[0]["created"]
    assert created.tzinfo is not None


def test_same_second_loads_still_sort_in_load_order(tmp_path):
    data_dir = tmp_path / "data"
    names = [
        ingest(data_dir, "incidents", [write_csv(tmp_path / "x.csv", rows("incidents", n))]).version
        for n in (1, 2, 3, 4)
    ]
    assert names == sorted(names)
    assert [v["rows"] for v in storage.list_versions(data_dir, "incidents")] == [1, 2, 3, 4]


# --- the command line ----------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "data.ingest", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_cli_end_to_end(tmp_path):
    data = str(tmp_path / "data")
    good = write_csv(tmp_path / "incidents.csv", rows("incidents", 3))
    done = run_cli("--data", data, "--table", "incidents", str(good))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Loaded 3 rows into incidents from 1 file: version ")

    records = rows("incidents", 25)
    for r in records:
        r["grade"] = "0"
    bad = write_csv(tmp_path / "bad.csv", records)
    refused = run_cli("--data", data, "--table", "incidents", str(bad))
    assert refused.returncode == 1
    assert "Traceback" not in refused.stderr
    assert "bad.csv row 7, column grade: 0 is outside 1–5" in refused.stderr
    assert "… and 5 more" in refused.stderr
    assert f"Rejected rows with their reasons: {tmp_path / 'bad.rejected.csv'}" in refused.stderr

    unknown = run_cli("--data", data, "--table", "calls", str(good))
    assert unknown.returncode == 1 and "unknown table 'calls': the tables are incidents" in unknown.stderr

    semi = tmp_path / "semi.csv"
    semi.write_text("incident_id;force\nI1;Dorset\n")
    refused = run_cli("--data", data, "--table", "incidents", str(semi))
    assert refused.returncode == 1
    assert refused.stderr.strip() == "error: semi.csv looks delimited by ';' — save it comma-separated"

    back = run_cli("--data", data, "--table", "incidents", "--rollback")
    assert back.returncode == 1 and "no earlier version" in back.stderr and "Traceback" not in back.stderr
    statuses = [e["status"] for e in storage.read_ingest_log(data)]
    assert statuses == ["loaded"] + ["refused"] * 4


def test_team_staffing_doubles_and_composite_key(tmp_path):
    records = rows("team_staffing", 3)
    records[1]["officers_fte"] = " 9 "
    path = write_csv(tmp_path / "staffing.csv", records)
    ingest(tmp_path / "data", "team_staffing", [path])
    got = read_back(tmp_path / "data", "team_staffing")
    assert list(got["officers_fte"]) == [15.5, 9.0, 15.5]
    assert set(got["team"]) == {"mosovo"}
    records[2]["month"] = "01/01/2022"  # the same (month, force, team) as the first row
    with pytest.raises(IngestError) as info:
        staffing = write_csv(tmp_path / "staffing.csv", records)
        ingest(tmp_path / "data", "team_staffing", [staffing], date_format="dd/mm/yyyy")
    assert info.value.errors[0] == (
        "staffing.csv row 1, column team: duplicate key month 2022-01-01, force Dorset, team mosovo "
        "(also at staffing.csv row 3)"
    )


def test_rollback_from_a_folder_put_back_by_hand(tmp_path):
    data_dir = tmp_path / "data"
    first = ingest(data_dir, "incidents", [write_csv(tmp_path / "a.csv", rows("incidents", 2))])
    link = data_dir / "incidents"
    link.unlink()
    link.mkdir()
    (link / "hand.parquet").write_bytes(b"made by hand")
    assert storage.current_version(data_dir, "incidents") is None
    assert rollback(data_dir, "incidents") == first.version
    kept = [v["version"] for v in storage.list_versions(data_dir, "incidents")]
    assert kept[0] == first.version and kept[1].endswith("-original")
    assert (data_dir / "_versions" / "incidents" / kept[1] / "hand.parquet").read_bytes() == b"made by hand"
    with pytest.raises(IngestError, match="unknown table 'calls'"):
        rollback(data_dir, "calls")
