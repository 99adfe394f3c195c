"""A corpus of malformed and hostile extracts for ingest, each built on demand under a test's folder.

Every case writes its file(s) into the folder it is given and says which words the refusal must
hold: the file's name, the row (or the header row) and the column, where the problem has them.
Nothing here is committed as a data file.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

COLUMNS = [
    "incident_id",
    "force",
    "lpa",
    "local_authority",
    "received_at",
    "incident_type",
    "grade",
    "vulnerability_identified",
    "thrive_completed",
    "thrive_reassessments",
    "victim_callback",
    "arrived_at",
    "ppn_submitted_at",
    "voice_of_child_recorded",
    "child_spoken_to",
    "bwv_used",
]


def incident(i: int, **over: str) -> dict[str, str]:
    """A valid incidents row, all text, in March 2022."""
    row = {
        "incident_id": f"INC-{i}",
        "force": "Dorset",
        "lpa": "East",
        "local_authority": "BCP Council",
        "received_at": f"2022-03-{i:02d} 10:00:00",
        "incident_type": "domestic abuse",
        "grade": "1",
        "vulnerability_identified": "true",
        "thrive_completed": "true",
        "thrive_reassessments": "0",
        "victim_callback": "false",
        "arrived_at": f"2022-03-{i:02d} 10:12:00",
        "ppn_submitted_at": "",
        "voice_of_child_recorded": "true",
        "child_spoken_to": "false",
        "bwv_used": "true",
    }
    row.update(over)
    return row


def good_rows(n: int = 4) -> list[dict[str, str]]:
    return [incident(i) for i in range(1, n + 1)]


def csv_text(records: list[dict[str, str]], *, quote_all: bool = False) -> str:
    """Rows as CSV text; ``quote_all`` for cells a minimal quoting leaves bare (a lone carriage return)."""
    buffer = io.StringIO()
    pd.DataFrame(records, dtype=str).to_csv(buffer, index=False, quoting=csv.QUOTE_ALL if quote_all else None)
    return buffer.getvalue()


def with_cell(row: int, column: str, value: str) -> list[dict[str, str]]:
    """Good rows with one cell changed (``row`` is 1-based, as messages count)."""
    records = good_rows()
    records[row - 1][column] = value
    return records


@dataclass(frozen=True)
class Case:
    """One hostile input: how to build it and what its refusal must say.

    Attributes:
        name: the test id.
        build: folder -> the files to give ingest (built inside the folder).
        words: all of these in one error line (file, row, column, why).
        options: keyword arguments for ``ingest``.
        absent: words no error line may hold (e.g. pandas' ``grade.1``).
    """

    name: str
    build: Callable[[Path], list[Path]]
    words: tuple[str, ...]
    options: dict = field(default_factory=dict)
    absent: tuple[str, ...] = ()


def _bytes(name: str, content: bytes) -> Callable[[Path], list[Path]]:
    def build(folder: Path) -> list[Path]:
        path = folder / name
        path.write_bytes(content)
        return [path]

    return build


def _csv(name: str, records: list[dict[str, str]], encoding: str = "utf-8") -> Callable[[Path], list[Path]]:
    return _bytes(name, csv_text(records).encode(encoding))


def _header(name: str, header: list[str], extra_values: list[str]) -> Callable[[Path], list[Path]]:
    """Good rows under ``header`` (the contract's columns plus others), each extra column filled."""
    lines = [",".join(header)]
    for record in good_rows():
        lines.append(",".join([record[c] for c in COLUMNS] + extra_values))
    return _bytes(name, ("\n".join(lines) + "\n").encode())


def _mixed(folder: Path) -> list[Path]:
    """ "Ynys Môn" saved as UTF-8 in row 1, a cp1252 byte in row 3: two encodings in one file."""
    records = good_rows()
    records[0]["lpa"] = "Ynys Môn"
    text = csv_text(records).encode("utf-8")
    text = text.replace(b"INC-3,Dorset", b"INC-3,Dorset \xe9")  # é in cp1252
    path = folder / "mixed.csv"
    path.write_bytes(text)
    return [path]


def _mixed_utf8_only_elsewhere(folder: Path) -> list[Path]:
    """cp1252 text in row 2 but "Ynys Môn" in UTF-8 in row 4: refused even with --encoding cp1252."""
    records = good_rows()
    records[1]["lpa"] = "Caf\xe9"  # é: cp1252 once encoded below
    body = csv_text(records).encode("cp1252")
    body = body.replace(b"INC-4,Dorset,East", "INC-4,Dorset,Ynys Môn".encode())
    path = folder / "mixed1252.csv"
    path.write_bytes(body)
    return [path]


def _xlsx(name: str, sheets: list[str]) -> Callable[[Path], list[Path]]:
    def build(folder: Path) -> list[Path]:
        book = openpyxl.Workbook()
        for i, title in enumerate(sheets):
            sheet = book.active if i == 0 else book.create_sheet()
            sheet.title = title
            sheet.append(COLUMNS)
            for record in good_rows():
                sheet.append([record[c] for c in COLUMNS])
        path = folder / name
        book.save(path)
        return [path]

    return build


def _parquet(name: str, table: pa.Table) -> Callable[[Path], list[Path]]:
    def build(folder: Path) -> list[Path]:
        path = folder / name
        pq.write_table(table, path)
        return [path]

    return build


def _parquet_rows(records: list[dict[str, str]]) -> pa.Table:
    return pa.Table.from_pandas(pd.DataFrame(records, dtype=str), preserve_index=False)


def _duplicate_parquet() -> pa.Table:
    good = _parquet_rows(good_rows())
    return good.append_column("grade", pa.array(["2"] * good.num_rows))


def _symlink(name: str, target: str | None) -> Callable[[Path], list[Path]]:
    def build(folder: Path) -> list[Path]:
        real = target
        if real is None:  # a link to a good extract beside it
            good = folder / "good-target.csv"
            good.write_text(csv_text(good_rows()))
            real = str(good)
        path = folder / name
        path.symlink_to(real)
        return [path]

    return build


def _fifo(folder: Path) -> list[Path]:
    path = folder / "pipe.csv"
    os.mkfifo(path)
    return [path]


def _folder(folder: Path) -> list[Path]:
    path = folder / "extract.csv"
    path.mkdir()
    (path / "incidents.csv").write_text(csv_text(good_rows()))
    return [path]


def _device(folder: Path) -> list[Path]:
    return [Path("/dev/null")]


def _truncated_parquet(folder: Path) -> list[Path]:
    whole = folder / "whole.parquet"
    pq.write_table(_parquet_rows(good_rows()), whole)
    cut = folder / "cut.parquet"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    whole.unlink()
    return [cut]


UTF8_HINT = "is not valid UTF-8 text"
NOT_GUESSED = "the order of day and month is never guessed"
CONTROL = "contains the control character"

CASES = [
    # --- encodings: UTF-8 (a BOM is fine), or the one named; never guessed, never mixed
    Case("cp1252 byte", _csv("cp1252.csv", with_cell(2, "lpa", "Ynys M\xf4n"), "cp1252"),
         ("cp1252.csv row 2, column lpa:", "'Ynys M\\\\xf4n'", UTF8_HINT, "--encoding")),
    Case("mixed encodings", _mixed, ("mixed.csv row 3, column force:", UTF8_HINT)),
    Case("mixed, read as cp1252", _mixed, ("mixed.csv row 1, column lpa:", "'Ynys Môn' is UTF-8 text",
         "'Ynys MÃ´n'", "mixes encodings"), {"encoding": "cp1252"}),
    Case("utf-8 inside a cp1252 file", _mixed_utf8_only_elsewhere,
         ("mixed1252.csv row 4, column lpa:", "mixes encodings"), {"encoding": "cp1252"}),
    Case("utf-16 without --encoding", _bytes("wide.csv", csv_text(good_rows()).encode("utf-16")),
         ("wide.csv header row, column 1:", UTF8_HINT)),
    Case("a binary file named csv", _bytes("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xd8"),
         ("image.csv header row", UTF8_HINT)),
    Case("utf-8 text that no single byte encoding reads", _csv("thai.csv", with_cell(1, "lpa", "ภาค")),
         ("thai.csv row 1, column lpa:", "mixes encodings"), {"encoding": "latin-1"}),
    # --- dates and times: ISO 8601 unless a format is named; day and month never guessed
    Case("day-first timestamp", _csv("uk.csv", with_cell(2, "received_at", "01/10/2022 10:00")),
         ("uk.csv row 2, column received_at:", "'01/10/2022 10:00' is not an ISO 8601 timestamp",
          NOT_GUESSED)),
    Case("month-first timestamp", _csv("us.csv", with_cell(1, "arrived_at", "10/31/2022 10:00")),
         ("us.csv row 1, column arrived_at:", NOT_GUESSED)),
    Case("US order under dd/mm/yyyy", _csv("us2.csv", with_cell(3, "received_at", "10/31/2022 10:00")),
         ("us2.csv row 3, column received_at:", "is not a valid timestamp",
          "dd/mm/yyyy as --date-format says"),
         {"date_format": "dd/mm/yyyy"}),
    Case("slashed year first", _csv("ymd.csv", with_cell(4, "received_at", "2022/03/04 10:00")),
         ("ymd.csv row 4, column received_at:", NOT_GUESSED)),
    Case("dotted date", _csv("dots.csv", with_cell(1, "ppn_submitted_at", "01.03.2022 10:00")),
         ("dots.csv row 1, column ppn_submitted_at:", NOT_GUESSED)),
    Case("words for a date", _csv("words.csv", with_cell(2, "received_at", "1 March 2022 10:00")),
         ("words.csv row 2, column received_at:", "is not a valid timestamp")),
    Case("hour 25", _csv("hour.csv", with_cell(3, "arrived_at", "2022-03-03 25:00:00")),
         ("hour.csv row 3, column arrived_at:", "is not a valid timestamp")),
    # --- headers: each name once, every column known to the contract
    Case("duplicated grade header", _header("dup.csv", [*COLUMNS, "grade"], ["5"]),
         ("dup.csv header row, column grade:", "'grade' twice (columns 7, 17)"), absent=("grade.1",)),
    Case("duplicate differing in case", _header("case.csv", [*COLUMNS, "Force"], ["Wessex"]),
         ("case.csv header row, column force:", "'force' and 'Force' (columns 2, 17)")),
    Case("unknown columns", _header("extra.csv", [*COLUMNS, "notes", "officer_name"], ["x", "PC Smith"]),
         ("extra.csv header row:", "does not know: notes, officer_name", "--ignore-extra-columns")),
    Case("values under no header", _header("nameless.csv", [*COLUMNS, ""], ["secret"]),
         ("nameless.csv header row:", "does not know: column 17")),
    Case("parquet with a name twice", _parquet("dup.parquet", _duplicate_parquet()),
         ("dup.parquet header row, column grade:", "(columns 7, 17)")),
    # --- control and invisible characters in text cells
    Case("NUL in a force", _csv("nul.csv", with_cell(2, "force", "Dor\x00set")),
         ("nul.csv row 2, column force:", "'Dor\\x00set'", CONTROL, "U+0000")),
    Case("escape in an LPA", _csv("esc.csv", with_cell(1, "lpa", "East\x1b[2J")),
         ("esc.csv row 1, column lpa:", CONTROL, "U+001B")),
    Case("DEL in an id", _csv("del.csv", with_cell(3, "incident_id", "INC-\x7f3")),
         ("del.csv row 3, column incident_id:", "U+007F")),
    Case("zero-width space in an id", _csv("zw.csv", with_cell(4, "incident_id", "INC\u200b-4")),
         ("zw.csv row 4, column incident_id:", "U+200B")),
    Case("right-to-left override", _csv("bidi.csv", with_cell(1, "local_authority", "BCP \u202eCouncil")),
         ("bidi.csv row 1, column local_authority:", "U+202E")),
    Case("line break in a force", _csv("lf.csv", with_cell(2, "force", "Dor\nset")),
         ("lf.csv row 2, column force:", "U+000A")),
    Case("tab in an enumeration", _csv("tab.csv", with_cell(3, "incident_type", "domestic\tabuse")),
         ("tab.csv row 3, column incident_type:", "U+0009")),
    Case("NUL in parquet text", _parquet("nul.parquet", _parquet_rows(with_cell(2, "force", "Dorset\x00"))),
         ("nul.parquet row 2, column force:", CONTROL)),
    # --- workbooks: one sheet, or the one named
    Case("several sheets", _xlsx("book.xlsx", ["Calls", "Notes", "Old calls"]),
         ("book.xlsx has 3 sheets ('Calls', 'Notes', 'Old calls')", "--sheet NAME")),
    Case("a sheet that is not there", _xlsx("named.xlsx", ["Calls", "Notes"]),
         ("named.xlsx has no sheet named 'incidents'", "'Calls', 'Notes'"), {"sheet": "incidents"}),
    # --- what is given as the file
    Case("symlink to /etc/passwd", _symlink("incidents.csv", "/etc/passwd"),
         ("incidents.csv is a symbolic link (to /etc/passwd)", "never follows links")),
    Case("symlink to a good file", _symlink("link.csv", None), ("link.csv is a symbolic link",)),
    Case("a FIFO", _fifo, ("pipe.csv is a named pipe (FIFO), not a file",)),
    Case("a folder", _folder, ("extract.csv is a folder, not a file",)),
    Case("a device", _device, ("null is a device, not a file",)),
    # --- what the contract already refused
    Case("empty file", _bytes("empty.csv", b""), ("empty.csv has no data rows",)),
    Case("ragged row", _bytes("ragged.csv", b"incident_id,force\nI1,Dorset\nI2,Dorset,Dorset\n"),
         ("ragged.csv row 2 has 3 values but the header has 2 columns",)),
    Case("semicolons", _bytes("semi.csv", b"incident_id;force\nI1;Dorset\n"),
         ("semi.csv looks delimited by ';'",)),
    Case("truncated parquet", _truncated_parquet, ("cut.parquet cannot be read as parquet",)),
    Case("grade out of range", _csv("grade.csv", with_cell(2, "grade", "9")),
         ("grade.csv row 2, column grade:", "9 is outside 1–5")),
    Case("formula in a bad row", _csv("formula.csv", with_cell(1, "incident_type", '=HYPERLINK("http://x","y")')),
         ("formula.csv row 1, column incident_type:", "is not one of")),
    Case("duplicate key", _csv("dupkey.csv", with_cell(4, "incident_id", "INC-1")),
         ("dupkey.csv row 1, column incident_id: duplicate key 'INC-1' (also at dupkey.csv row 4)",)),
]  # fmt: skip
