"""Tests of the synthetic data generator: contract conformance, consistency, calibration."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from data import generate as gen
from data.contract import TABLES
from data.settings import DEFAULT_SETTINGS_PATH, load_settings

REAL_FORCES = {
    "avon and somerset",
    "bedfordshire",
    "cambridgeshire",
    "cheshire",
    "city of london",
    "cleveland",
    "cumbria",
    "derbyshire",
    "devon and cornwall",
    "durham",
    "dyfed-powys",
    "essex",
    "gloucestershire",
    "greater manchester",
    "gwent",
    "hampshire",
    "hertfordshire",
    "humberside",
    "kent",
    "lancashire",
    "leicestershire",
    "lincolnshire",
    "merseyside",
    "metropolitan",
    "norfolk",
    "north wales",
    "north yorkshire",
    "northamptonshire",
    "northumbria",
    "nottinghamshire",
    "south wales",
    "south yorkshire",
    "staffordshire",
    "suffolk",
    "surrey",
    "sussex",
    "thames valley",
    "warwickshire",
    "west mercia",
    "west midlands",
    "west yorkshire",
    "wiltshire",
}
SHORT = {"start": "2022-01", "end": "2022-02"}  # a quick range for the folder-handling tests


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("gen") / "extracts"
    return out, gen.generate(out)


@pytest.fixture(scope="module")
def tables(generated) -> dict[str, pd.DataFrame]:
    out, _ = generated
    return {name: read(out, name) for name in TABLES}


def read(out: Path, table: str) -> pd.DataFrame:
    frame = pq.read_table(out / table).to_pandas()
    for col in TABLES[table].columns:
        if col.type == "date":
            frame[col.name] = pd.to_datetime(frame[col.name])
    return frame


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def period(month_from: str, month_to: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """metrics.md: [first instant of from, first instant of the month after to)."""
    return ts(month_from + "-01"), ts(month_to + "-01") + pd.offsets.MonthBegin(1)


def in_period(frame: pd.DataFrame, column: str, month_from: str, month_to: str) -> pd.DataFrame:
    start, end = period(month_from, month_to)
    return frame[(frame[column] >= start) & (frame[column] < end)]


def dorset(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["force"] == "Dorset"]


def pct(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else 100 * numerator / denominator


def within(start: pd.Series, end: pd.Series, limit: pd.Timedelta) -> pd.Series:
    """Recorded, not negative, at most ``limit`` (metrics.md "within T of")."""
    delta = end - start
    return delta.notna() & (delta >= pd.Timedelta(0)) & (delta <= limit)


def open_at(frame: pd.DataFrame, start_col: str, end_col: str, at: pd.Timestamp) -> pd.DataFrame:
    return frame[(frame[start_col] < at) & (frame[end_col].isna() | (frame[end_col] >= at))]


def thrive_completion_pct(incidents: pd.DataFrame, month_from: str, month_to: str) -> float | None:
    rows = in_period(incidents, "received_at", month_from, month_to)
    return pct(int(rows["thrive_completed"].sum()), len(rows))


def grade_within_target_pct(
    incidents: pd.DataFrame, grade: int, minutes: int, month_from: str, month_to: str
) -> float | None:
    rows = in_period(incidents, "received_at", month_from, month_to)
    rows = rows[rows["grade"] == grade]
    ok = within(rows["received_at"], rows["arrived_at"], pd.Timedelta(minutes=minutes))
    return pct(int(ok.sum()), len(rows))


def rso_snapshot(register: pd.DataFrame, month_to: str) -> tuple[pd.DataFrame, pd.Timestamp]:
    month = ts(month_to + "-01")
    last_day = month + pd.offsets.MonthEnd(0)
    return register[register["snapshot_month"] == month], last_day


def arms_figures(register: pd.DataFrame, month_to: str) -> dict[str, float | None]:
    snap, last_day = rso_snapshot(register, month_to)
    community = snap[~snap["in_custody"]]
    required = community[community["arms_required"]]
    outstanding = int((required["arms_due_date"] <= last_day).sum())
    in_date = int((required["arms_completed_date"].notna() & (required["arms_due_date"] > last_day)).sum())
    return {
        "arms_outstanding": outstanding,
        "arms_in_date": in_date,
        "arms_completion_pct": pct(in_date, in_date + outstanding),
        "rso_in_community": len(community),
        "home_visits_overdue": int(
            ((community["management"] == "active") & (community["next_visit_due"] <= last_day)).sum()
        ),
        "rso_whereabouts_unknown": int(community["whereabouts_unknown"].sum()),
    }


def rso_per_offender_manager(register: pd.DataFrame, staffing: pd.DataFrame, month_to: str) -> float | None:
    community = arms_figures(register, month_to)["rso_in_community"]
    rows = staffing[(staffing["month"] == ts(month_to + "-01")) & (staffing["team"] == "mosovo")]
    return None if rows.empty else community / rows["officers_fte"].sum()


def breach_figures(breaches: pd.DataFrame, month_from: str, month_to: str) -> dict[str, float | None]:
    rows = in_period(breaches, "recorded_at", month_from, month_to)
    decided = rows[rows["outcome"] != "ongoing"]
    return {
        "breaches": len(rows),
        "breach_words_of_advice_pct": pct(int((decided["outcome"] == "words of advice").sum()), len(decided)),
        "breach_visor_updated_pct": pct(int(rows["visor_updated"].sum()), len(rows)),
        "visor_not_updated": int((~rows["visor_updated"]).sum()),
    }


def impact_high_risk_children(investigations: pd.DataFrame, month_to: str) -> int:
    _, end = period(month_to, month_to)
    rows = open_at(investigations, "opened_at", "closed_at", end)
    rows = rows[(rows["team"] == "impact") & (rows["risk_level"] == "high")]
    return rows["victim_child_id"].nunique()


def repeat_missing(episodes: pd.DataFrame, month_to: str) -> pd.Series:
    """Episodes per child in [period_end - 90 days, period_end), most first."""
    _, end = period(month_to, month_to)
    reported = episodes["reported_at"]
    rows = episodes[(reported >= end - pd.Timedelta(days=90)) & (reported < end)]
    return rows["child_id"].value_counts()


def drifting(investigations: pd.DataFrame, reviews: pd.DataFrame, month_to: str) -> tuple[int, int]:
    """(investigations drifting, open investigations opened at least 28 days before period end)."""
    _, end = period(month_to, month_to)
    window = pd.Timedelta(days=28)
    rows = open_at(investigations, "opened_at", "closed_at", end)
    rows = rows[rows["opened_at"] <= end - window]
    recent = reviews[(reviews["reviewed_at"] >= end - window) & (reviews["reviewed_at"] < end)]
    return int((~rows["crime_id"].isin(recent["crime_id"])).sum()), len(rows)


def language_matches(texts: pd.Series) -> pd.Series:
    phrases = load_settings(DEFAULT_SETTINGS_PATH).language_phrases
    lowered = texts.str.lower()
    hit = pd.Series(False, index=texts.index)
    for phrase in phrases:
        hit |= lowered.str.contains(phrase, regex=False).fillna(False).astype(bool)
    return hit


def monthly(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame.groupby(frame[column].dt.to_period("M")).size()


# --------------------------------------------------------------------------- contract conformance


def test_every_table_is_written_one_file_per_year(generated):
    out, rows = generated
    assert set(rows) == set(TABLES)
    for name in TABLES:
        files = sorted(p.name for p in (out / name).iterdir())
        assert files, name
        assert all(f.endswith(".parquet") and f[:4].isdigit() for f in files), (name, files)
        if name not in ("case_audits",):
            assert files == ["2020.parquet", "2021.parquet", "2022.parquet", "2023.parquet"], (name, files)
        assert rows[name] == sum(pq.ParquetFile(out / name / f).metadata.num_rows for f in files)
    # The tables, and the marker that lets the app offer its demo sign-in on generated data only.
    assert sorted(p.name for p in out.iterdir()) == sorted([*TABLES, gen.GENERATED_MARKER])
    assert json.loads((out / gen.GENERATED_MARKER).read_text())["generator"] == "data.generate"
    assert not [p for p in out.parent.iterdir() if ".generating" in p.name]


def test_files_match_contract_schema(generated):
    out, _ = generated
    for name, table in TABLES.items():
        expected = table.arrow_schema()
        for path in (out / name).iterdir():
            schema = pq.read_schema(path)
            assert schema.names == expected.names, path
            assert [f.type for f in schema] == [f.type for f in expected], path


def test_keys_are_unique(tables):
    for name, table in TABLES.items():
        if table.key:
            assert not tables[name].duplicated(list(table.key)).any(), name


def test_enumerations_and_ranges(tables):
    for name, table in TABLES.items():
        frame = tables[name]
        for col in table.columns:
            values = frame[col.name].dropna()
            if col.enum:
                assert set(values.unique()) <= set(col.enum), (name, col.name)
            if col.min_value is not None:
                assert values.min() >= col.min_value, (name, col.name)
            if col.max_value is not None:
                assert values.max() <= col.max_value, (name, col.name)
            if col.positive:
                assert (values > 0).all(), (name, col.name)
            if col.first_of_month:
                assert (values.dt.day == 1).all(), (name, col.name)


def test_nulls_only_where_the_contract_allows(tables):
    for name, table in TABLES.items():
        frame = tables[name]
        for col in table.columns:
            if not col.nullable:
                assert frame[col.name].notna().all(), (name, col.name)
    reg = tables["rso_register"]
    assert (reg["arms_due_date"].isna() == ~reg["arms_required"]).all()
    assert reg.loc[~reg["arms_required"], "arms_completed_date"].isna().all()
    inv = tables["investigations"]
    assert (inv["kirat_completed"].isna() == (inv["team"] != "polit")).all()
    # "not recorded" gaps occur at plausible rates, never everywhere
    gaps = [
        ("custody_detentions", "aa_arrived_at"),
        ("police_protection", "ended_at"),
        ("missing_episodes", "risk_ratified_at"),
        ("investigations", "csc_informed_at"),
        ("custody_detentions", "rights_given_at"),
        ("missing_episodes", "risk_assessment_text"),
    ]
    for name, column in gaps:
        share = tables[name][column].isna().mean()
        assert 0.005 < share < 0.8, (name, column, share)


def test_pseudonymous_ids(tables):
    assert tables["incidents"]["incident_id"].str.fullmatch(r"INC-D-\d{6}").all()
    assert tables["missing_episodes"]["child_id"].str.fullmatch(r"C-D-\d{5}").all()
    assert tables["investigations"]["victim_child_id"].str.fullmatch(r"C-D-\d{5}").all()
    assert tables["rso_register"]["rso_id"].str.fullmatch(r"RSO-D-\d{5}").all()


def test_only_dorset_by_default(tables):
    for name, frame in tables.items():
        assert set(frame["force"].unique()) == {"Dorset"}, name
    inc = tables["incidents"]
    assert dict(inc.groupby("lpa")["local_authority"].unique().map(tuple)) == {
        "East": ("BCP Council",),
        "West": ("Dorset Council",),
    }
    cus = tables["custody_detentions"]
    assert set(cus["custody_suite"]) == {"Bournemouth", "Weymouth"}
    assert (
        cus.groupby("lpa")["custody_suite"].agg(lambda s: s.mode()[0])
        == pd.Series({"East": "Bournemouth", "West": "Weymouth"})
    ).all()
    for name in ("incidents", "missing_episodes", "mash_referrals", "investigations", "custody_detentions"):
        column = TABLES[name].coverage_column
        assert tables[name][column].min() >= ts("2020-04-01"), name
        assert tables[name][column].max() < ts("2023-04-01"), name


# --------------------------------------------------------------------------- cross-table consistency


def test_reviews_reference_real_investigations(tables):
    inv, rev = tables["investigations"], tables["investigation_reviews"]
    assert rev["crime_id"].isin(inv["crime_id"]).all()
    columns = ["crime_id", "force", "opened_at", "closed_at"]
    joined = rev.merge(inv[columns], on="crime_id", suffixes=("", "_inv"))
    assert (joined["force"] == joined["force_inv"]).all()
    assert (joined["reviewed_at"] >= joined["opened_at"]).all()
    closed = joined["closed_at"].notna() & (joined["closed_at"] >= joined["opened_at"])
    assert (joined.loc[closed, "reviewed_at"] <= joined.loc[closed, "closed_at"]).all()
    for month in ("2021-03", "2022-04", "2023-03"):
        drift, old = drifting(inv, rev, month)
        assert 0 < drift < 0.25 * old, (month, drift, old)


def test_staffing_grid(tables):
    staff = tables["team_staffing"]
    assert len(staff) == 36 * 6
    assert set(staff["team"]) == {"impact", "polit", "cait", "cid", "neighbourhood", "mosovo"}
    impact = staff[staff["team"] == "impact"].set_index("month")["officers_fte"]
    assert impact.between(7, 12).all()
    mosovo = staff[staff["team"] == "mosovo"].set_index("month")["officers_fte"]
    assert mosovo[ts("2020-04-01")] < mosovo[ts("2022-03-01")]  # more offender managers after 2021


def test_rso_register_is_a_slowly_changing_population(tables):
    reg = tables["rso_register"]
    sizes = reg.groupby("snapshot_month").size()
    assert len(sizes) == 36 and sizes.between(740, 900).all()
    ids = reg.groupby("snapshot_month")["rso_id"].apply(set)
    for before, after in zip(ids.iloc[:-1], ids.iloc[1:], strict=True):
        assert len(before & after) >= 0.97 * len(before)
    per_month = reg.groupby("snapshot_month").agg(
        custody=("in_custody", "sum"), unknown=("whereabouts_unknown", "sum")
    )
    assert per_month["custody"].between(10, 90).all()
    assert per_month["unknown"].max() <= 8 and per_month["unknown"].sum() > 0
    assert not (reg["in_custody"] & reg["whereabouts_unknown"]).any()
    # assessments are completed and fall due through the year
    assert reg["arms_due_date"].dt.month.nunique() == 12
    snap, _ = rso_snapshot(reg, "2022-03")
    assert snap["arms_completed_date"].dt.to_period("M").nunique() >= 12
    assert snap["next_visit_due"].dt.to_period("M").nunique() >= 6


def test_breaches_mostly_name_registered_offenders(tables):
    breaches, reg = tables["rso_breaches"], tables["rso_register"]
    unknown = ~breaches["rso_id"].isin(reg["rso_id"])
    assert 0 < unknown.sum() <= 0.05 * len(breaches)


# --------------------------------------------------------------------------- calibration (review figures)


def test_thrive_march_2022(tables):
    assert thrive_completion_pct(tables["incidents"], "2022-03", "2022-03") == pytest.approx(97, abs=1.5)


def test_arms_march_2022(tables):
    figures = arms_figures(tables["rso_register"], "2022-03")
    assert figures["arms_completion_pct"] == pytest.approx(83, abs=1.5)
    assert figures["arms_outstanding"] == pytest.approx(63, rel=0.10)
    ratio = rso_per_offender_manager(tables["rso_register"], tables["team_staffing"], "2022-03")
    assert ratio == pytest.approx(50, rel=0.10)


def test_breaches_march_2022(tables):
    figures = breach_figures(tables["rso_breaches"], "2022-03", "2022-03")
    assert figures["breaches"] == 15
    assert figures["breach_words_of_advice_pct"] == 100
    assert figures["visor_not_updated"] == 10
    assert figures["breach_visor_updated_pct"] == pytest.approx(100 / 3)


def test_impact_cohort_and_audits_april_2022(tables):
    assert impact_high_risk_children(tables["investigations"], "2022-04") == pytest.approx(27, rel=0.10)
    audits = in_period(tables["case_audits"], "audited_at", "2022-04", "2022-04")
    assert len(audits) == 31
    assert audits["grade"].value_counts().to_dict() == {
        "good": 10,
        "requires improvement": 10,
        "inadequate": 11,
    }
    months = monthly(tables["case_audits"], "audited_at")
    assert len(months) >= 4 and months.between(20, 40).all()


def test_repeat_missing_children(tables):
    counts = repeat_missing(tables["missing_episodes"], "2022-03")
    assert counts.iloc[:3].tolist() == [34, 28, 16]
    assert counts.iloc[3] <= 6
    assert (counts >= 3).sum() >= 10


def test_review_children_are_in_the_impact_cohort(tables):
    top = repeat_missing(tables["missing_episodes"], "2022-03").index[:3]
    inv = tables["investigations"]
    cohort = open_at(inv, "opened_at", "closed_at", ts("2022-05-01"))
    cohort = cohort[(cohort["team"] == "impact") & (cohort["risk_level"] == "high")]
    assert set(top) <= set(cohort["victim_child_id"])


# --------------------------------------------------------------------------- plausibility against the review


def test_volumes_per_month(tables):
    expected = {  # Dorset-sized: table -> (low, high) monthly mean
        "incidents": (1350, 1650),
        "missing_episodes": (130, 170),
        "mash_referrals": (820, 980),
        "investigations": (320, 380),
        "police_protection": (5, 11),
        "custody_detentions": (50, 70),
        "rso_breaches": (12, 18),
    }
    for name, (low, high) in expected.items():
        counts = monthly(tables[name], TABLES[name].coverage_column)
        assert len(counts) == 36, name
        assert low <= counts.mean() <= high, (name, counts.mean())
    missing = tables["missing_episodes"]
    kids = missing.groupby(missing["reported_at"].dt.to_period("M"))["child_id"].nunique()
    assert 45 <= kids.mean() <= 75


def test_seasonality(tables):
    missing = monthly(tables["missing_episodes"], "reported_at")
    months = missing.index.month
    assert missing[np.isin(months, [6, 7, 8])].mean() > 1.1 * missing[np.isin(months, [11, 12, 1, 2])].mean()
    mash = monthly(tables["mash_referrals"], "received_at")
    assert mash[mash.index.month == 8].mean() < mash[mash.index.month == 10].mean()


def test_gradual_improvement_after_inspection(tables):
    inc = tables["incidents"]
    by_month = inc.groupby(inc["received_at"].dt.to_period("M"))["thrive_completed"].mean()
    before = by_month[:"2021-03"].mean()
    assert before < by_month["2021-05"] < by_month["2022-03":].mean()
    assert by_month["2021-04":"2021-09"].diff().dropna().mean() > 0  # a ramp, not a step
    before_g1 = grade_within_target_pct(inc, 1, 15, "2020-04", "2021-03")
    assert before_g1 < grade_within_target_pct(inc, 1, 15, "2022-04", "2023-03")


def test_response_targets_not_consistently_met(tables):
    inc = tables["incidents"]
    for grade, minutes in ((1, 15), (2, 20)):
        value = grade_within_target_pct(inc, grade, minutes, "2022-03", "2022-03")
        assert 70 <= value <= 90, (grade, value)


def test_language_in_risk_assessments(tables):
    missing = tables["missing_episodes"]
    hits = language_matches(missing["risk_assessment_text"])
    year = missing["reported_at"].dt.to_period("M")
    first = hits[(year >= "2020-04") & (year <= "2021-03")].mean()
    last = hits[(year >= "2022-04") & (year <= "2023-03")].mean()
    assert 0.03 < first < 0.12 and last < first / 2 and last > 0
    negated = missing["risk_assessment_text"].str.contains("Not missing through choice", regex=False)
    assert negated.fillna(False).sum() > 0
    assert (~hits & missing["risk_assessment_text"].notna()).mean() > 0.8


def test_text_banks_against_the_language_list():
    banks = gen.risk_text_templates()
    for name in ("blaming", "negated"):
        filled = pd.Series(gen._fill(banks[name]))
        assert language_matches(filled).all(), name
    for name in ("context", "risk", "closing"):
        filled = pd.Series(gen._fill(banks[name]))
        assert not language_matches(filled).any(), name


def test_other_review_findings(tables):
    end = ts("2022-04-01")
    mash = tables["mash_referrals"]
    open_ = open_at(mash, "received_at", "completed_at", end)
    assert len(open_) < 250  # a low backlog
    high = open_[open_["risk_level"] == "high"]
    assert high.empty or (end - high["received_at"]).max() < pd.Timedelta(days=3)
    assert open_.sort_values("received_at").iloc[0]["risk_level"] == "low"  # the oldest is low risk
    held = in_period(mash, "strategy_held_at", "2021-04", "2022-03")
    assert (held["minutes_received_at"] - held["strategy_held_at"]).median() > pd.Timedelta(days=5)

    inv = in_period(tables["investigations"], "opened_at", "2021-10", "2022-03")
    assert inv.loc[inv["team"] == "polit", "kirat_completed"].astype(bool).mean() > 0.85

    pp = tables["police_protection"]
    assert pp["template_used"].mean() < 0.1
    assert 0.3 < pp["ended_at"].notna().mean() < 0.75

    cus = in_period(tables["custody_detentions"], "arrived_at", "2021-04", "2022-03")
    assert cus["aa_arrived_at"].isna().mean() > 0.4
    rights = cus["rights_given_at"] - cus["arrived_at"]
    assert pd.Timedelta(hours=12) < rights.max() <= pd.Timedelta(hours=23)
    assert cus["held_overnight"].mean() < 0.12
    assert cus["bail_denied"].mean() < 0.06


def test_data_quality_findings_exist_but_are_few(tables):
    cus = tables["custody_detentions"]
    negative_aa = (cus["aa_arrived_at"] < cus["aa_requested_at"]).sum()
    rights_after = (cus["rights_given_at"] > cus["interview_at"]).sum()
    assert 0 < negative_aa <= 0.03 * len(cus)
    assert 0 < rights_after <= 0.02 * len(cus)
    assert cus["rights_given_at"].isna().sum() > 0


# --------------------------------------------------------------------------- reproducibility, forces, folders


def test_same_seed_same_bytes(generated, tmp_path):
    out, rows = generated
    again = tmp_path / "again"
    assert gen.generate(again) == rows
    for name in TABLES:
        files = sorted(p.name for p in (out / name).iterdir())
        assert files == sorted(p.name for p in (again / name).iterdir())
        _, mismatch, errors = filecmp.cmpfiles(out / name, again / name, files, shallow=False)
        assert not mismatch and not errors, (name, mismatch, errors)


def test_other_seed_other_data(tables, tmp_path):
    other = tmp_path / "other"
    gen.generate(other, seed=7)
    inc = read(other, "incidents")
    assert not inc["received_at"].equals(tables["incidents"]["received_at"])
    assert thrive_completion_pct(inc, "2022-03", "2022-03") == pytest.approx(97, abs=1.5)
    assert repeat_missing(read(other, "missing_episodes"), "2022-03").iloc[:3].tolist() == [34, 28, 16]


def test_dorset_is_the_same_whatever_the_number_of_forces(tables, tmp_path):
    out = tmp_path / "three"
    gen.generate(out, forces=3)
    incidents = read(out, "incidents")
    names = list(dict.fromkeys(incidents["force"]))
    assert names[0] == "Dorset" and len(names) == 3
    assert not {n.lower() for n in names[1:]} & REAL_FORCES
    for name in TABLES:
        frame = read(out, name)
        assert frame["force"].nunique() == 3, name
        mine = dorset(frame).reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, tables[name].reset_index(drop=True), obj=name)
    sizes = incidents.groupby("force").size() / len(dorset(incidents))
    assert sizes.between(0.25, 3.2).all()
    lpas = incidents.groupby("force")["lpa"].nunique()
    assert lpas.between(1, 4).all()
    staff = read(out, "team_staffing")
    assert not staff.duplicated(["month", "force", "team"]).any() and len(staff) == 3 * 36 * 6


def test_fictional_profiles_are_plausible():
    profiles = gen.force_profiles(gen.DEFAULT_SEED, 43)
    assert len({p.name for p in profiles}) == 43 and len({p.code for p in profiles}) == 43
    assert not {p.name.lower() for p in profiles[1:]} & REAL_FORCES
    assert all(0.3 <= p.scale <= 3 for p in profiles[1:])
    assert all(1 <= len(p.lpas) <= 4 for p in profiles)
    assert len({p.lpas[0].custody_suite for p in profiles}) > 30
    assert gen.force_profiles(gen.DEFAULT_SEED, 5) == profiles[:5]


def test_refuses_to_overwrite(generated, capsys):
    out, _ = generated
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.parquet")}
    with pytest.raises(gen.OutputExistsError, match="--overwrite"):
        gen.generate(out)
    assert gen.main(["--out", str(out)]) == 2
    assert "already holds table folders" in capsys.readouterr().err
    assert before == {p: p.stat().st_mtime_ns for p in out.rglob("*.parquet")}


def test_overwrite_replaces_tables_and_keeps_other_files(tmp_path, capsys):
    out = tmp_path / "data"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert gen.main(["--out", str(out), "--from", SHORT["start"], "--to", SHORT["end"]]) == 0
    first = read(out, "incidents")
    assert first["received_at"].min() >= ts("2022-01-01") and first["received_at"].max() < ts("2022-03-01")
    assert gen.main(["--out", str(out), "--from", "2022-06", "--to", "2022-06", "--overwrite"]) == 0
    second = read(out, "incidents")
    assert second["received_at"].dt.to_period("M").unique().tolist() == [pd.Period("2022-06", "M")]
    assert (out / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in out.iterdir()) == sorted([*TABLES, "notes.txt", gen.GENERATED_MARKER])
    assert not [p for p in tmp_path.iterdir() if ".generating" in p.name]
    assert "incidents" in capsys.readouterr().out


def test_a_failed_run_leaves_nothing(tmp_path, monkeypatch):
    def broken(_force):
        raise RuntimeError("disk full")

    monkeypatch.setattr(gen, "GROUPS", (*gen.GROUPS[:3], ("broken", broken)))
    out = tmp_path / "data"
    with pytest.raises(RuntimeError, match="disk full"):
        gen.generate(out, **SHORT)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments(tmp_path, capsys):
    assert gen.main(["--out", str(tmp_path / "x"), "--from", "2022-13"]) == 2
    assert gen.main(["--out", str(tmp_path / "x"), "--from", "2022-05", "--to", "2022-04"]) == 2
    assert gen.main(["--out", str(tmp_path / "x"), "--forces", "0"]) == 2
    assert not (tmp_path / "x").exists()
    assert "error:" in capsys.readouterr().err
