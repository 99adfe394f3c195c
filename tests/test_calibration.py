"""The synthetic data, read through the KPI command itself, lands on the review's figures.

Calibration is judged on force Dorset with no other filter: percentages within
±1.5 points, counts within ±10%, the breach and audit figures exactly.
"""

import json
import subprocess
import sys

import pytest
from conftest import REPO_ROOT

from queries import DataStore
from queries.kpis import Filters, Period, kpi_values

DORSET = Filters(force="Dorset")


@pytest.fixture(scope="module")
def march_2022(synthetic_dir):
    return kpi_values(DataStore(synthetic_dir), Period("2022-03", "2022-03"), DORSET)


@pytest.fixture(scope="module")
def april_2022(synthetic_dir):
    return kpi_values(DataStore(synthetic_dir), Period("2022-04", "2022-04"), DORSET)


def test_march_2022_percentages(march_2022):
    assert march_2022["thrive_completion_pct"] == pytest.approx(97, abs=1.5)
    assert march_2022["arms_completion_pct"] == pytest.approx(83, abs=1.5)


def test_march_2022_counts(march_2022):
    assert march_2022["arms_outstanding"] == pytest.approx(63, rel=0.10)
    assert march_2022["rso_per_offender_manager"] == pytest.approx(50, rel=0.10)


def test_march_2022_breaches_exactly(march_2022):
    assert march_2022["breaches"] == 15
    assert march_2022["breach_words_of_advice_pct"] == 100
    assert march_2022["breach_visor_updated_pct"] == pytest.approx(100 * 5 / 15)  # 10 of 15 lack ViSOR


def test_march_2022_repeat_missing(march_2022):
    assert march_2022["repeat_missing_max_episodes"] == 34


def test_april_2022_cohort_and_audits(april_2022):
    assert april_2022["impact_high_risk_children"] == pytest.approx(27, rel=0.10)
    assert (april_2022["audits"], april_2022["audit_good"]) == (31, 10)
    assert (april_2022["audit_requires_improvement"], april_2022["audit_inadequate"]) == (10, 11)


def test_the_command_line_gives_the_same_figures(synthetic_dir, march_2022):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "queries",
            "kpis",
            "--data",
            str(synthetic_dir),
            "--from",
            "2022-03",
            "--to",
            "2022-03",
            "--force",
            "Dorset",
            "--json",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    printed = json.loads(out.stdout)["kpis"]
    assert printed["thrive_completion_pct"] == pytest.approx(march_2022["thrive_completion_pct"])
    assert printed["breaches"] == 15
