"""Every ingest attempt is also a row of the app's hash-chained audit log."""

from __future__ import annotations

import pytest

from auth import audit
from data.ingest import IngestError, ingest


def test_a_refused_load_writes_an_audit_row_naming_the_file(tmp_path):
    data_dir = tmp_path / "extracts"
    data_dir.mkdir()
    bad = tmp_path / "teams.csv"
    bad.write_text("not,the,contract\n1,2,3\n", encoding="utf-8")
    before = len(audit.search(audit.Query(action="ingest team_staffing", limit=100_000)))
    with pytest.raises(IngestError):
        ingest(data_dir, "team_staffing", [bad], user="analyst-in-test")
    rows = audit.search(audit.Query(action="ingest team_staffing", limit=100_000))
    assert len(rows) == before + 1
    newest = rows[0]
    assert (newest["user"], newest["outcome"], newest["role"]) == ("analyst-in-test", "refused", "cli")
    assert "teams.csv" in newest["detail"]
    assert audit.verify().ok
