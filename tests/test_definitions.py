"""KPI definitions: one source for the app and the docs, and every KPI of the catalogue covered."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from data.settings import load_settings
from queries.definitions import define, markdown
from queries.kpis import catalog

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_the_committed_document_is_the_generated_one():
    committed = (REPO_ROOT / "docs" / "kpi-definitions.md").read_text()
    assert committed == markdown(load_settings()), (
        "docs/kpi-definitions.md is stale: run `python -m queries definitions > docs/kpi-definitions.md`"
    )


def test_the_command_prints_the_document():
    result = subprocess.run(
        [sys.executable, "-m", "queries", "definitions"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == markdown(load_settings())


def test_every_kpi_has_a_definition_source_period_and_target_words():
    settings = load_settings()
    document = markdown(settings)
    for kpi_id in catalog().kpis:
        item = define(kpi_id, settings)
        assert item.definition and item.source and item.period_rule and item.target
        assert f"`{kpi_id}`" in document


def test_percentages_name_their_numerator_and_denominator():
    settings = load_settings()
    item = define("thrive_completion_pct", settings)
    assert item.denominator == "Incidents received"
    assert item.numerator == "Those with a THRIVE risk assessment on the log"
    assert item.target == "≥ 100% (a setting)"
    # The clause after ';' is a rule, not part of the numerator.
    assert define("grade1_within_target_pct", settings).numerator.endswith("of the call")
    assert define("incidents", settings).numerator is None
    assert "end of the period" in define("mash_open_at_end", settings).period_rule
