"""The KPI queries against an independent pandas oracle of metrics.md (tests/oracle.py).

The oracle is itself checked against hand-computed figures on the tiny fixtures
of tests/kpi_fixtures.py; the implementation (queries.kpis, the CLI) is then
compared with the oracle KPI by KPI, scenario by scenario.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # so that `pytest` run from anywhere finds data/, queries/, tests/
    sys.path.insert(0, str(ROOT))

from data.settings import Settings, load_settings  # noqa: E402
from tests import kpi_fixtures as fx  # noqa: E402
from tests.oracle import KPI_IDS as ORACLE_KPI_IDS  # noqa: E402
from tests.oracle import oracle_kpis, oracle_series  # noqa: E402

METRICS_CANDIDATES = (
    Path("/work/shared/spec/metrics.md"),
    ROOT.parent / "shared" / "spec" / "metrics.md",
)
IMPL_PRESENT = (ROOT / "queries" / "kpis.py").exists()
needs_impl = pytest.mark.skipif(not IMPL_PRESENT, reason="queries/kpis.py not written yet")

# (id, from, to, force, lpa, local_authority)
SCENARIOS = [
    ("all-forces-q1", "2022-01", "2022-03", None, None, None),
    ("dorset-q1", "2022-01", "2022-03", "Dorset", None, None),
    ("dorset-one-month", "2022-02", "2022-02", "Dorset", None, None),
    ("all-one-month-march", "2022-03", "2022-03", None, None, None),
    ("dorset-empty-month-in-coverage", "2022-05", "2022-05", "Dorset", None, None),
    ("all-empty-month-in-coverage", "2022-05", "2022-05", None, None, None),
    ("rso-month-with-no-mosovo-row", "2022-04", "2022-04", "Dorset", None, None),
    ("before-coverage", "2021-06", "2021-08", None, None, None),
    ("after-coverage", "2022-07", "2022-09", "Dorset", None, None),
    ("straddles-coverage-start", "2021-10", "2021-12", "Dorset", None, None),
    ("wiltshire-q1", "2022-01", "2022-03", "Wiltshire", None, None),
    ("wiltshire-before-its-coverage", "2022-01", "2022-01", "Wiltshire", None, None),
    ("wiltshire-february", "2022-02", "2022-02", "Wiltshire", None, None),
    ("wiltshire-march", "2022-03", "2022-03", "Wiltshire", None, None),
    ("lpa-east", "2022-01", "2022-03", None, "East", None),
    ("dorset-lpa-west", "2022-01", "2022-03", "Dorset", "West", None),
    ("la-dorset-council", "2022-01", "2022-03", None, None, "Dorset Council"),
    ("dorset-la-bcp", "2022-03", "2022-03", "Dorset", None, "BCP Council"),
    ("lpa-not-in-data", "2022-01", "2022-03", "Dorset", "Nowhere", None),
    ("la-not-in-data", "2022-01", "2022-03", None, None, "Nowhere Council"),
    ("force-not-in-data", "2022-01", "2022-03", "Nowhere", None, None),
    ("empty-filters", "2022-01", "2022-03", "", "  ", " "),
    ("dorset-blank-lpa", "2022-01", "2022-03", "Dorset", "", None),
]

SERIES_KPIS = [
    "incidents",
    "thrive_completion_pct",
    "arrival_median_min",
    "missing_episodes",
    "repeat_missing_children",
    "repeat_missing_max_episodes",
    "inappropriate_language_count",
    "mash_open_at_end",
    "mash_open_oldest_days_high",
    "strategy_minutes_missing",
    "investigations_opened",
    "investigations_open_at_end",
    "investigations_drifting",
    "impact_cases_per_officer",
    "police_protection_count",
    "pp_strategy_within_24h_pct",
    "rso_count",
    "arms_completion_pct",
    "rso_per_offender_manager",
    "rso_max_per_offender_manager",
    "breaches",
    "breach_words_of_advice_pct",
    "child_detentions",
    "aa_delay_p90_min",
    "audits",
    "audit_good",
]

BREAKDOWN_COUNT_KPIS = [
    "incidents",
    "missing_episodes",
    "mash_received",
    "mash_open_at_end",
    "investigations_opened",
    "investigations_open_at_end",
    "police_protection_count",
    "rso_in_community",
    "breaches",
    "child_detentions",
]
BREAKDOWN_RATIO_KPIS = [
    "thrive_completion_pct",
    "missing_deployed_within_target_pct",
    "repeat_missing_children",
    "strategy_held_pct",
    "investigation_plan_pct",
    "arms_completion_pct",
    "aa_delay_median_min",
]


# --------------------------------------------------------------------------
# Shared helpers and fixtures
# --------------------------------------------------------------------------


def same(expected, got) -> bool:
    """None matches only None; numbers match within 1e-9 (NaN never matches)."""
    if expected is None:
        return got is None
    if got is None:
        return False
    try:
        number = float(got)
    except (TypeError, ValueError):
        return False
    if math.isnan(number):
        return False
    return number == pytest.approx(float(expected), rel=1e-9, abs=1e-9)


def mismatches(expected: dict, got: dict, label: str = "") -> list[str]:
    """Readable lines ``kpi: expected X, got Y`` for every disagreement (ids included)."""
    lines = []
    for kpi in sorted(set(expected) | set(got)):
        if kpi not in got:
            lines.append(f"{label}{kpi}: missing from the result (expected {expected[kpi]!r})")
        elif kpi not in expected:
            lines.append(f"{label}{kpi}: unexpected id (got {got[kpi]!r})")
        elif not same(expected[kpi], got[kpi]):
            lines.append(f"{label}{kpi}: expected {expected[kpi]!r}, got {got[kpi]!r}")
    return lines


def metrics_md_path() -> Path:
    for path in METRICS_CANDIDATES:
        if path.exists():
            return path
    pytest.skip("metrics.md not found")


def metrics_md_ids() -> list[str]:
    """KPI ids of metrics.md: the first column of every `| id | definition |` table."""
    ids: list[str] = []
    in_table = False
    for line in metrics_md_path().read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else None
        if cells is None:
            in_table = False
            continue
        if cells[:2] == ["id", "definition"]:
            in_table = True
            continue
        if not in_table or re.fullmatch(r"-+", cells[0].replace(":", "")):
            continue
        ids.extend(part.strip().strip("`") for part in cells[0].split(",") if part.strip())
    return ids


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("kpi-data")
    fx.write_fixtures(path)
    return path


@pytest.fixture(scope="module")
def frames(data_dir):
    """What the files hold, read back: the oracle sees exactly what the implementation reads."""
    return fx.read_frames(data_dir)


@pytest.fixture(scope="module")
def impl():
    if not IMPL_PRESENT:
        pytest.skip("queries/kpis.py not written yet")
    from queries import DataStore
    from queries.kpis import KPI_IDS, Filters, Period, kpi_breakdown, kpi_series, kpi_values

    return SimpleNamespace(
        DataStore=DataStore,
        KPI_IDS=KPI_IDS,
        Filters=Filters,
        Period=Period,
        kpi_values=kpi_values,
        kpi_series=kpi_series,
        kpi_breakdown=kpi_breakdown,
    )


@pytest.fixture(scope="module", params=["direct", "rollup"])
def store(impl, data_dir, request):
    """Every oracle test runs on both paths: the queries read directly, and the monthly roll-ups
    (queries/rollup.py, built before the first read) where they can answer."""
    if request.param == "direct":
        return impl.DataStore(data_dir)
    store = impl.DataStore(data_dir, rollups=True)
    store.rollups.build_all()
    return store


def oracle_for(frames, scenario, **extra):
    _, start, end, force, lpa, la = scenario
    return oracle_kpis(frames, start, end, force=force, lpa=lpa, local_authority=la, **extra)


# --------------------------------------------------------------------------
# The oracle against hand-computed figures (no implementation needed)
# --------------------------------------------------------------------------

# Dorset, 2022-01..2022-03: period_start 2022-01-01 00:00, period_end 2022-04-01 00:00.
DORSET_Q1 = {
    # I02 I03 I04 I05 I06 I07 (I01 is 1 s early, I08 at period_end)
    "incidents": 6,
    "thrive_completion_pct": 100 * 5 / 6,  # all but I03
    "grade1_within_target_pct": 100 * 1 / 3,  # I02 at 15 min; I03 not attended, I04 negative
    "grade2_within_target_pct": 100 * 1 / 2,  # I05 at 20 min; I06 at 21 min
    "vulnerable_graded_1_2_pct": 100 * 4 / 5,  # I02 I03 I05 I06 of vulnerable I02 I03 I05 I06 I07(grade 3)
    "arrival_median_min": 20.5,  # vulnerable: 15, 20, 21, 31 (I03 null) -> (20 + 21) / 2
    "ppn_submission_pct": 100 * 3 / 5,  # I02 I05 I07 of 5 vulnerable
    "ppn_within_24h_pct": 100 * 2 / 5,  # I02 (24 h exactly), I07 (10 h); I05 24 h 1 s
    "voice_of_child_pct": 100 * 3 / 4,  # PPN recorded: I02 I04 I05 I07; voice: I02 I05 I07
    "child_spoken_to_pct": 100 * 3 / 5,  # I02 I05 I06 of 5 vulnerable
    "reassessed_callback_pct": 100 * 1 / 3,  # reassessed I02 I03 I06; callback I02
    # E01 E02 E03 E05 E06 E07 E08 E09 E10
    "missing_episodes": 9,
    "missing_deploy_delay_median_min": 20.0,  # 15 16 20 20 25 60 (E09 -2 out, E03 E05 null)
    "missing_deployed_within_target_pct": 100 * 3 / 7,  # E01 15<=15 (high), E02 20, E10 20 (medium)
    "missing_ratification_delay_median_min": 10.0,  # 3 5 10 10 20 30 60 (E06 -10 out)
    "missing_deployed_after_ratification_pct": 100 * 3 / 7,  # E01 E06 E10 of E01 E02 E06 E07 E08 E09 E10
    "repeat_missing_children": 2,  # C1 (3 in window), C3 (4); C2 has 2 in window
    "repeat_missing_max_episodes": 4,  # C3: E07 E08 E09 E10
    "repeat_missing_referred_pct": 100 * 1 / 2,  # C1 (E02 referred); C3 never
    "rhi_within_72h_pct": 100 * 4 / 7,  # found: E01(72h) E02(72h 1m) E05(null) E06 E07 E08(null) E10
    "missing_ppn_pct": 100 * 7 / 9,  # all but E03 E07
    "inappropriate_language_count": 6,  # E01 E02 E06 E07 E09 E10 (E03 null, E05 none, E08 "")
    "mash_received": 5,  # M02 M03 M04 M05 M06
    "mash_open_at_end": 4,  # M01 M02 (completed at period_end) M04 M06
    "mash_open_oldest_days_high": 101.625,  # M01: 2021-12-20 09:00 -> 2022-04-01: 11.625 + 90
    "strategy_held_pct": 100 * 3 / 4,  # required M02 M04 M05 M06; held M04 M05 M06
    "strategy_minutes_delay_median_days": 1.25,  # held in period M01 2.0, M10 0.5 (M04 null, M05 -1)
    "strategy_minutes_missing": 1,  # M04
    # V02 V03 V04 V05 V06 V07 V10
    "investigations_opened": 7,
    "investigation_plan_pct": 100 * 5 / 7,  # all but V02 V06
    "investigations_open_at_end": 7,  # V01 V02 V04 V05 V06 V07 V09
    "investigations_drifting": 3,  # V02 (review 1 s early), V05 (exactly 28 days), V09
    "video_interview_delay_median_days": 1.5,  # V03 3.0, V04 1.5, V07 1.0 (V05 negative)
    "csc_informed_within_24h_pct": 100 * 3 / 7,  # V02 (24 h exactly), V06, V07
    "polit_kirat_pct": 100 * 1 / 2,  # V03 yes, V04 no
    "high_risk_outside_specialist_pct": 100 * 2 / 6,  # V05 cid, V06 neighbourhood of V01 V02 V05 V06 V07 V09
    "impact_open_cases": 3,  # V01 V02 V07
    "impact_cases_per_officer": 3 / 2.5,  # Dorset impact FTE in 2022-03 is 2.5
    "impact_high_risk_children": 2,  # K1 (V01), K2 (V02, V07)
    # P01 P02 P04 P03
    "police_protection_count": 4,
    "pp_ppn_pct": 100 * 3 / 4,  # not P02
    "pp_end_recorded_pct": 100 * 3 / 4,  # not P02
    "pp_strategy_within_24h_pct": 100 * 2 / 4,  # P01 (24 h exactly), P03; P04 negative, P02 none
    "pp_template_pct": 100 * 2 / 4,  # P01 P03
    # rso_register 2022-03, Dorset: S01..S06
    "rso_count": 6,
    "rso_in_community": 5,  # not S05
    "arms_outstanding": 2,  # S01 (due on 2022-03-31), S03 (never assessed, overdue)
    "arms_in_date": 1,  # S02 (due 2022-04-01)
    "arms_completion_pct": 100 * 1 / 3,
    "rso_per_offender_manager": 5 / 2.0,  # Dorset mosovo FTE in 2022-03 is 2.0
    "rso_max_per_offender_manager": 4,  # (Dorset, OM1): S01 S02 S03 S06
    "home_visits_overdue": 2,  # S01 (due on the last day), S06; S03 reactive
    "rso_whereabouts_unknown": 1,  # S03 (S05 in custody)
    # B01 B02 B04 B03
    "breaches": 4,
    "breach_words_of_advice_pct": 100 * 2 / 3,  # B01 B04 of B01 B03 B04 (B02 ongoing)
    "breach_visor_updated_pct": 100 * 2 / 4,  # B01 B03
    # D01 D06 D02 D03 D05 D04
    "child_detentions": 6,
    "aa_request_delay_median_min": 20.0,  # 10 15 20 30 40 (D03 null)
    "aa_delay_median_min": 105.0,  # 90 (D01) 105 (D06) 120 (D02); D05 negative, D03 D04 null
    "aa_delay_p90_min": 117.0,  # linear: 105 + 0.8 * (120 - 105)
    "aa_within_2h_pct": 100 * 4 / 6,  # D01 100, D03 60, D05 30, D06 120; D02 150, D04 null
    "aa_arrival_not_recorded_pct": 100 * 1 / 6,  # D04
    "rights_delay_median_min": 67.5,  # 5 15 120 300 -> (15 + 120) / 2 (D05 negative, D02 null)
    "rights_not_recorded": 1,  # D02
    "rights_after_interview": 1,  # D03 (D06 at the same minute is not after)
    "overnight_detentions": 2,  # D02 D03
    "alt_accommodation_provided_pct": 100 * 1 / 2,  # requested D02 D03; provided D03
    "custody_ppn_pct": 100 * 3 / 6,  # D01 D03 D04
    # A01 A02 A04 A03 (A05 on 2022-04-01)
    "audits": 4,
    "audit_good": 2,
    "audit_requires_improvement": 1,
    "audit_inadequate": 1,
}

# Hand-computed figures for other scenarios: (from, to, filters, {kpi: value}).
HAND_CASES = [
    (
        "all-forces-march",
        "2022-03",
        "2022-03",
        {},
        {
            "incidents": 2,  # I07, W02
            "impact_cases_per_officer": 4 / 3.5,  # V01 V02 V07 + W12 over FTE 2.5 + 1.0
            "rso_per_offender_manager": 5 / 2.0,  # Wiltshire has no mosovo row: its RSOs are left out
            "rso_max_per_offender_manager": 4,  # (Dorset, OM1) 4; Wiltshire's OM1 is another manager
            "investigations_drifting": 4,  # Dorset 3 + W13 (W12 reviewed on 2022-03-15)
            "rso_count": 8,  # S01..S08
            "audits": 3,  # A04 A03 W08
        },
    ),
    (
        "dorset-empty-may",
        "2022-05",
        "2022-05",
        {"force": "Dorset"},
        {
            "incidents": 0,
            "thrive_completion_pct": None,
            "arrival_median_min": None,
            "missing_episodes": 0,
            "inappropriate_language_count": 0,
            "mash_received": 0,
            "strategy_minutes_missing": 0,
            "investigations_opened": 0,
            "police_protection_count": 0,
            "breaches": 0,
            "child_detentions": 0,
            "audits": 0,
            "audit_good": 0,
            "mash_open_at_end": 4,  # M01 M04 M06 M07 still open on 2022-06-01 (M02 closed 2022-04-01)
            # window [2022-03-03, 2022-06-01): C3 has E09 E10 E11 (E11 referred)
            "repeat_missing_children": 1,
            "repeat_missing_max_episodes": 3,
            "repeat_missing_referred_pct": 100.0,
            "rso_count": None,  # no rso_register rows for 2022-05
            "impact_cases_per_officer": None,  # no staffing rows for 2022-05
        },
    ),
    (
        "dorset-april-rso-without-mosovo",
        "2022-04",
        "2022-04",
        {"force": "Dorset"},
        # S01 in 2022-04: in date (due 2023-04-10); no mosovo staffing row for 2022-04
        {"rso_count": 1, "rso_in_community": 1, "rso_per_offender_manager": None, "arms_completion_pct": 100},
    ),
    (
        "dorset-february-rso-gap",
        "2022-02",
        "2022-02",
        {"force": "Dorset"},
        {
            "rso_count": None,  # rso_register has no rows for 2022-02
            "rso_max_per_offender_manager": None,
            "rso_per_offender_manager": None,
            # impact open on 2022-03-01: V01 V02 V10 (closed 2022-03-31); FTE 2.0 in 2022-02
            "impact_cases_per_officer": 3 / 2.0,
        },
    ),
    (
        "wiltshire-february",
        "2022-02",
        "2022-02",
        {"force": "Wiltshire"},
        {
            "incidents": 1,  # W01
            "grade2_within_target_pct": None,  # no grade 2 call
            "breaches": 1,  # W08
            "breach_words_of_advice_pct": None,  # its only breach is ongoing: denominator 0
            "investigations_open_at_end": 1,  # W12
            "investigations_drifting": None,  # Wiltshire's reviews cover 2022-03 only
            "impact_cases_per_officer": None,  # Wiltshire's staffing covers 2022-03 only
            "audits": None,  # Wiltshire's audits cover 2022-03 only
        },
    ),
    (
        "wiltshire-march",
        "2022-03",
        "2022-03",
        {"force": "Wiltshire"},
        {
            "investigations_drifting": 1,  # W13
            "impact_cases_per_officer": 1 / 1.0,  # W12 over 1.0 FTE
            "rso_count": 2,
            "rso_per_offender_manager": None,  # staffing covers 2022-03 but has no mosovo row
            "rso_max_per_offender_manager": 1,
            "incidents": 1,  # W02
            "vulnerable_graded_1_2_pct": None,  # W02 not vulnerable: denominator 0
        },
    ),
    (
        "wiltshire-january",
        "2022-01",
        "2022-01",
        {"force": "Wiltshire"},
        {"incidents": None, "missing_episodes": None, "audits": None, "investigations_open_at_end": None},
    ),
    (
        "lpa-east-q1",
        "2022-01",
        "2022-03",
        {"lpa": "East"},
        {
            "incidents": 3,  # I02 I05 I06
            "repeat_missing_children": 2,  # C1 (E01 E02 E03), C3 (E08 E09 E10; E07 is West)
            "repeat_missing_max_episodes": 3,
            "repeat_missing_referred_pct": 50.0,  # C1
            "rso_max_per_offender_manager": 3,  # (Dorset, OM1) East: S01 S02 S03
            "impact_cases_per_officer": None,  # per-officer KPIs are null under an lpa filter
            "rso_per_offender_manager": None,
            "audits": 5,  # case_audits has no lpa: unfiltered (A01 A02 A04 A03 W08)
        },
    ),
    (
        "la-dorset-council-q1",
        "2022-01",
        "2022-03",
        {"local_authority": "Dorset Council"},
        {
            "incidents": 4,  # I03 I04 I06 (cross-border) I07
            "missing_episodes": 4,  # E05 E06 E07 E08 (cross-border)
            "investigations_opened": 9,  # no local_authority column: all forces' V02..V07 V10 W12 W13
            "impact_cases_per_officer": None,
        },
    ),
    (
        "lpa-nowhere",
        "2022-01",
        "2022-03",
        {"force": "Dorset", "lpa": "Nowhere"},
        {
            "incidents": 0,
            "thrive_completion_pct": None,
            "repeat_missing_children": 0,
            "repeat_missing_max_episodes": None,
            "mash_open_oldest_days_high": None,
            "rso_count": 0,
            "rso_max_per_offender_manager": None,
            "investigations_drifting": 0,
            "audits": 4,  # unfiltered by lpa
        },
    ),
    ("force-nowhere", "2022-01", "2022-03", {"force": "Nowhere"}, dict.fromkeys(ORACLE_KPI_IDS)),
    ("before-coverage", "2021-06", "2021-08", {}, dict.fromkeys(ORACLE_KPI_IDS)),
]


def test_oracle_covers_metrics_md_ids():
    ids = metrics_md_ids()
    assert len(ids) == len(set(ids)), "metrics.md repeats an id"
    assert sorted(ORACLE_KPI_IDS) == sorted(ids)


def test_oracle_dorset_q1_by_hand(frames):
    got = oracle_kpis(frames, "2022-01", "2022-03", force="Dorset")
    assert mismatches(DORSET_Q1, got) == []


def test_oracle_one_month_equals_series_point(frames):
    # one-month periods, and a series point, agree with a direct call
    series = dict(oracle_series(frames, "incidents", "2022-01", "2022-03", force="Dorset"))
    assert series == {"2022-01": 3.0, "2022-02": 2.0, "2022-03": 1.0}  # I02 I03 I04 | I05 I06 | I07


@pytest.mark.parametrize("case", HAND_CASES, ids=[c[0] for c in HAND_CASES])
def test_oracle_hand_cases(frames, case):
    _, start, end, filters, expected = case
    got = oracle_kpis(frames, start, end, **filters)
    assert mismatches(expected, {k: got[k] for k in expected}) == []


def test_oracle_custom_settings(frames):
    settings = Settings(grade1_target_min=10, grade2_target_min=30, language_phrases=("absent",))
    got = oracle_kpis(frames, "2022-01", "2022-03", force="Dorset", settings=settings)
    expected = {
        "grade1_within_target_pct": 0.0,  # I02 15 > 10; I03 null; I04 negative
        "grade2_within_target_pct": 100.0,  # I05 20, I06 21 <= 30
        "missing_deployed_within_target_pct": 100 * 3 / 7,  # high (10): none; medium (30): E02 E06 E10
        "inappropriate_language_count": 1,  # E02 "voluntarily absented"
    }
    assert mismatches(expected, {k: got[k] for k in expected}) == []


def test_oracle_empty_and_missing_tables():
    got = oracle_kpis({}, "2022-01", "2022-03")
    assert got == dict.fromkeys(ORACLE_KPI_IDS)
    only_incidents = oracle_kpis({"incidents": fx.incidents()}, "2022-01", "2022-03", force="Dorset")
    assert only_incidents["incidents"] == 6
    assert only_incidents["audits"] is None


# --------------------------------------------------------------------------
# The implementation against the oracle
# --------------------------------------------------------------------------


@needs_impl
def test_kpi_ids_match_oracle_and_metrics_md(impl):
    assert sorted(impl.KPI_IDS) == sorted(ORACLE_KPI_IDS)
    assert sorted(impl.KPI_IDS) == sorted(metrics_md_ids())


@needs_impl
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_kpi_values_match_oracle(impl, store, frames, scenario):
    _, start, end, force, lpa, la = scenario
    filters = impl.Filters(force=force, lpa=lpa, local_authority=la)
    got = impl.kpi_values(store, impl.Period(start, end), filters)
    expected = oracle_for(frames, scenario)
    assert mismatches(expected, dict(got)) == []


@needs_impl
def test_kpi_values_custom_settings(impl, data_dir, frames):
    settings = Settings(grade1_target_min=10, grade2_target_min=30, language_phrases=("absent",))
    for rollups in (False, True):  # roll-ups are per settings: new grade minutes, new figures
        store = impl.DataStore(data_dir, settings=settings, rollups=rollups)
        if rollups:
            store.rollups.build_all()
        got = impl.kpi_values(store, impl.Period("2022-01", "2022-03"), impl.Filters(force="Dorset"))
        expected = oracle_kpis(frames, "2022-01", "2022-03", force="Dorset", settings=settings)
        assert mismatches(expected, dict(got)) == []


@needs_impl
def test_files_beginning_with_underscore_or_dot_are_not_data(impl, tmp_path):
    fx.write_fixtures(tmp_path, decoys=True)
    store = impl.DataStore(tmp_path)
    got = impl.kpi_values(store, impl.Period("2022-01", "2022-03"), impl.Filters())
    expected = oracle_kpis(fx.read_frames(tmp_path), "2022-01", "2022-03")
    assert expected["incidents"] == 8  # the decoys would double it
    assert mismatches(expected, dict(got)) == []


@needs_impl
def test_missing_table_folders_give_null_kpis(impl, tmp_path):
    fx.write_fixtures(tmp_path, skip=("police_protection", "case_audits"))
    store = impl.DataStore(tmp_path)
    got = impl.kpi_values(store, impl.Period("2022-01", "2022-03"), impl.Filters(force="Dorset"))
    expected = oracle_kpis(fx.read_frames(tmp_path), "2022-01", "2022-03", force="Dorset")
    assert expected["police_protection_count"] is None and expected["audits"] is None
    assert mismatches(expected, dict(got)) == []


SERIES_FILTERS = [
    ("all", {}),
    ("dorset", {"force": "Dorset"}),
    ("wiltshire", {"force": "Wiltshire"}),
    ("east", {"lpa": "East"}),
]


@needs_impl
@pytest.mark.parametrize("filters", SERIES_FILTERS, ids=[f[0] for f in SERIES_FILTERS])
def test_kpi_series_match_oracle(impl, store, frames, filters):
    _, kw = filters
    # oracle_series(frames, kpi, ...) for every KPI at once: each month as a one-month period
    months = [p.strftime("%Y-%m") for p in pd.period_range("2021-10", "2022-08", freq="M")]
    monthly = [(m, oracle_kpis(frames, m, m, **kw)) for m in months]
    problems = []
    for kpi in SERIES_KPIS:
        # 2021-10..2022-08 runs from before coverage to after it, through the 2022-05 gap
        got = impl.kpi_series(store, kpi, impl.Period("2021-10", "2022-08"), impl.Filters(**kw))
        expected = [(month, values[kpi]) for month, values in monthly]
        got_months = [str(m) for m in got["month"]]
        if got_months != [m for m, _ in expected]:
            problems.append(f"{kpi}: months {got_months}")
            continue
        for (month, want), have in zip(expected, got["value"], strict=True):
            have = None if have is None or (isinstance(have, float) and math.isnan(have)) else have
            if not same(want, have):
                problems.append(f"{kpi} {month}: expected {want!r}, got {have!r}")
    assert problems == []


BREAKDOWN_FILTERS = [("all", {}), ("dorset", {"force": "Dorset"})]


def _plain(value):
    """A DataFrame cell as None or float (NaN / NA read as null)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    return None if math.isnan(number) else number


@needs_impl
@pytest.mark.parametrize("filters", BREAKDOWN_FILTERS, ids=[f[0] for f in BREAKDOWN_FILTERS])
def test_kpi_breakdown_by_lpa(impl, store, frames, filters):
    _, kw = filters
    period = impl.Period("2022-01", "2022-03")
    problems = []
    for kpi in BREAKDOWN_COUNT_KPIS + BREAKDOWN_RATIO_KPIS:
        table = impl.kpi_breakdown(store, kpi, "lpa", period, impl.Filters(**kw))
        groups = {str(g): _plain(v) for g, v in zip(table["group"], table["value"], strict=True)}
        if not groups:
            problems.append(f"{kpi}: no groups")
        for group, value in groups.items():
            want = oracle_kpis(frames, "2022-01", "2022-03", lpa=group, **kw)[kpi]
            if not same(want, value):
                problems.append(f"{kpi} [{group}]: expected {want!r}, got {value!r}")
        if kpi in BREAKDOWN_COUNT_KPIS:
            total = oracle_kpis(frames, "2022-01", "2022-03", **kw)[kpi]
            summed = sum(v for v in groups.values() if v is not None)
            if not same(total, summed):
                problems.append(f"{kpi}: groups sum to {summed!r}, unfiltered value {total!r}")
    assert problems == []


@needs_impl
def test_cli_kpis_matches_kpi_values(impl, store, data_dir, frames):
    command = [sys.executable, "-m", "queries", "kpis", "--data", str(data_dir)]
    command += ["--from", "2022-01", "--to", "2022-03", "--force", "Dorset", "--json"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)["kpis"]
    values = impl.kpi_values(store, impl.Period("2022-01", "2022-03"), impl.Filters(force="Dorset"))
    assert mismatches(dict(values), printed, "cli vs kpi_values: ") == []
    assert mismatches(oracle_kpis(frames, "2022-01", "2022-03", force="Dorset"), printed, "cli: ") == []


@needs_impl
def test_cli_trend_matches_oracle(data_dir, frames):
    command = [sys.executable, "-m", "queries", "trend", "thrive_completion_pct", "--data", str(data_dir)]
    command += ["--from", "2021-10", "--to", "2022-08", "--force", "Dorset"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert rows and list(rows[0]) == ["month", "value", "numerator", "denominator"]
    nulls = ("", "NaN", "nan", "None", "null")
    got = [(r["month"], None if r["value"] in nulls else float(r["value"])) for r in rows]
    expected = oracle_series(frames, "thrive_completion_pct", "2021-10", "2022-08", force="Dorset")
    problems = [
        f"{want_month}: expected {want!r}, got {have!r} ({have_month})"
        for (want_month, want), (have_month, have) in zip(expected, got, strict=False)
        if want_month != have_month or not same(want, have)
    ]
    assert len(got) == len(expected)
    assert problems == []


def test_settings_defaults_are_the_ones_the_hand_figures_assume():
    settings = load_settings()
    assert (settings.grade1_target_min, settings.grade2_target_min) == (15, 20)
    assert "voluntarily absent" in settings.language_phrases


RANDOM_SCENARIOS = [
    ("all-3-months", "2021-12", "2022-02", None, None, None),
    ("dorset-march", "2022-03", "2022-03", "Dorset", None, None),
    ("east-half-year", "2022-01", "2022-06", None, "East", None),
    ("wiltshire-swindon-la", "2022-02", "2022-04", "Wiltshire", None, "Swindon Borough Council"),
    ("dorset-last-month", "2022-07", "2022-07", "Dorset", None, None),
    ("wiltshire-first-month", "2021-11", "2021-11", "Wiltshire", None, None),
    ("all-whole-span", "2021-11", "2022-07", None, None, None),
]


@pytest.fixture(scope="module", params=[1, 2, 3], ids=lambda seed: f"seed{seed}")
def random_data(request, tmp_path_factory):
    path = tmp_path_factory.mktemp(f"random-{request.param}")
    fx.write_fixtures(path, fx.random_frames(request.param))
    return path, fx.read_frames(path)


@needs_impl
def test_random_data_matches_oracle(impl, random_data):
    """Broader data (every interval threshold hit, month-boundary times, gaps in the register)."""
    path, frames = random_data
    store = impl.DataStore(path)
    problems = []
    for scenario in RANDOM_SCENARIOS:
        label, start, end, force, lpa, la = scenario
        filters = impl.Filters(force=force, lpa=lpa, local_authority=la)
        got = impl.kpi_values(store, impl.Period(start, end), filters)
        problems += mismatches(oracle_for(frames, scenario), dict(got), f"{label}: ")
    assert problems == []


WINDOW_FILTERS = [("all", {}), ("dorset", {"force": "Dorset"}), ("east", {"lpa": "East"})]


@needs_impl
@pytest.mark.parametrize("filters", WINDOW_FILTERS, ids=[f[0] for f in WINDOW_FILTERS])
@pytest.mark.parametrize("window_months", [2, 3])
def test_windows_of_several_months_match_the_oracle_period_by_period(
    impl, store, frames, filters, window_months
):
    """One query over a span cut into windows (a period beside the one before it, read together)
    gives each window exactly what the oracle gives that window read as a period on its own:
    every KPI, through the coverage gap of 2022-05 and past the data's end."""
    from queries.kpis import kpi_table

    _, kw = filters
    span = impl.Period("2021-10", "2022-09" if window_months == 3 else "2022-07")
    table = kpi_table(store, span, impl.Filters(**kw), window_months=window_months)
    problems = []
    starts = sorted(pd.to_datetime(table["window_start"]).unique())
    assert len(starts) == span.months // window_months
    for start in starts:
        end = (pd.Timestamp(start) + pd.DateOffset(months=window_months - 1)).strftime("%Y-%m")
        want = oracle_kpis(frames, pd.Timestamp(start).strftime("%Y-%m"), end, **kw)
        rows = table[pd.to_datetime(table["window_start"]) == start]
        got = {k: _plain(v) for k, v in zip(rows["kpi_id"], rows["value"], strict=True)}
        problems += mismatches(want, got, f"{pd.Timestamp(start):%Y-%m}+{window_months}")
    assert problems == []


@needs_impl
def test_current_and_previous_in_one_read_equal_two_reads(impl, store, frames):
    from kpi.summary import current_and_previous
    from queries.kpis import Focus, kpi_table

    period = impl.Period("2022-01", "2022-03")
    for filters, focus in [
        (impl.Filters(force="Dorset"), None),
        (impl.Filters(), Focus("lpa", "East")),
        (impl.Filters(force="Dorset", lpa="East"), None),
    ]:
        current, previous = current_and_previous(store, period, filters, list(impl.KPI_IDS), focus=focus)
        for got, which in ((current, period), (previous, period.previous())):
            alone = kpi_table(store, which, filters, focus=focus)
            merged = got.merge(alone, on=["kpi_id", "group"], suffixes=("", "_alone"))
            assert len(merged) == len(alone) == len(got)
            for column in ("numerator", "denominator", "value", "is_covered"):
                pairs = zip(merged[column], merged[f"{column}_alone"], strict=True)
                assert all(same(_plain(a), _plain(b)) for a, b in pairs), (which, column)
        # And against the independent oracle, the previous period too.
        want = oracle_kpis(frames, "2021-10", "2021-12", **filters.as_params())
        if focus is None:
            got = {k: _plain(v) for k, v in zip(previous["kpi_id"], previous["value"], strict=True)}
            assert mismatches(want, got, "previous") == []


@needs_impl
def test_windows_must_divide_the_period(impl, store):
    from queries import QueryError
    from queries.kpis import kpi_table

    with pytest.raises(QueryError, match="do not divide"):
        kpi_table(store, impl.Period("2022-01", "2022-05"), impl.Filters(), window_months=2)
    with pytest.raises(QueryError, match="do not divide"):
        kpi_table(store, impl.Period("2022-01", "2022-05"), impl.Filters(), window_months=0)
