"""Tests of the generator's national volume (--incidents-per-year): linear rows, force sizes, contract."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from data import generate as gen
from data.contract import TABLES, write_parquet

QUARTER = {"start": "2022-01", "end": "2022-03"}
SMALL, LARGE = 100_000, 200_000  # incidents a year over England and Wales: a few seconds each
VOLUME_TABLES = (  # tables whose rows grow with a force's size (case audits are fixed samples)
    "incidents",
    "missing_episodes",
    "mash_referrals",
    "investigations",
    "investigation_reviews",
    "custody_detentions",
    "rso_register",
)


def _run(out: Path, incidents_per_year: float | None, **kw) -> dict[str, int]:
    return gen.generate(
        out, forces=gen.NATIONAL_FORCES, incidents_per_year=incidents_per_year, **{**QUARTER, **kw}
    )


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("scale") / "small"
    return out, _run(out, SMALL)


@pytest.fixture(scope="module")
def large(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("scale") / "large"
    return out, _run(out, LARGE)


def read(out: Path, table: str) -> pd.DataFrame:
    return pq.read_table(out / table).to_pandas()


def test_rows_grow_linearly_with_the_volume(small, large):
    (_, few), (_, many) = small, large
    for table in VOLUME_TABLES:
        assert many[table] / few[table] == pytest.approx(LARGE / SMALL, rel=0.1), table
    assert many["case_audits"] / few["case_audits"] == pytest.approx(1, rel=0.2)
    assert many["team_staffing"] == few["team_staffing"] == gen.NATIONAL_FORCES * 3 * 6
    # N incidents a year: a quarter of it in a quarter (seasons and noise aside)
    assert few["incidents"] == pytest.approx(SMALL / 4, rel=0.05)


def test_forces_take_their_population_share(large):
    out, rows = large
    incidents = read(out, "incidents")
    sizes = incidents.groupby("force", observed=True).size()
    assert len(sizes) == gen.NATIONAL_FORCES
    total_m = gen.DORSET_POPULATION_M + sum(gen.NATIONAL_POPULATION_M)
    assert sizes["Dorset"] / rows["incidents"] == pytest.approx(gen.DORSET_POPULATION_M / total_m, rel=0.1)
    metropolitan = sizes["Thames Gateway"] / sizes["Dorset"]  # the Metropolitan Police's population
    assert metropolitan == pytest.approx(8.80 / 0.77, rel=0.1)
    assert sizes.idxmax() == "Thames Gateway" and sizes.idxmin() == "Wye Valley"
    # sizes follow the populations they were given, and differ widely
    profiles = {p.name: p.scale for p in gen.force_profiles(gen.DEFAULT_SEED, gen.NATIONAL_FORCES, LARGE)}
    scale = pd.Series(profiles).reindex(sizes.index)
    assert np.corrcoef(np.log(scale), np.log(sizes))[0, 1] > 0.97
    assert sizes.max() / sizes.min() > 100
    # bigger forces have more LPAs
    lpas = incidents.groupby("force", observed=True)["lpa"].nunique()
    assert lpas["Thames Gateway"] == 4 and lpas["Wye Valley"] == 1
    # the other volume tables keep each force's size too
    for table in VOLUME_TABLES[1:]:
        per_force = read(out, table).groupby("force", observed=True).size().reindex(sizes.index, fill_value=0)
        ratio = per_force["Thames Gateway"] / per_force["Dorset"]
        assert ratio == pytest.approx(metropolitan, rel=0.35), table


def test_the_same_seed_gives_the_same_files(small, tmp_path):
    out, rows = small
    again = tmp_path / "again"
    assert _run(again, SMALL) == rows
    for table in TABLES:
        files = sorted(p.name for p in (out / table).iterdir())
        assert files == sorted(p.name for p in (again / table).iterdir()), table
        _, mismatch, errors = filecmp.cmpfiles(out / table, again / table, files, shallow=False)
        assert not mismatch and not errors, (table, mismatch, errors)
    other = tmp_path / "other"
    _run(other, SMALL, seed=7)
    assert not read(other, "incidents")["received_at"].equals(read(out, "incidents")["received_at"])
    marker = json.loads((out / gen.GENERATED_MARKER).read_text())
    assert marker["incidents_per_year"] == SMALL and marker["forces"] == gen.NATIONAL_FORCES


def test_the_output_keeps_the_contract(large):
    out, rows = large
    for name, spec in TABLES.items():
        files = sorted((out / name).iterdir())
        assert files and all(p.suffix == ".parquet" and p.stem.isdigit() for p in files), name
        for path in files:
            assert pq.read_schema(path).equals(spec.arrow_schema()), path
        frame = read(out, name)
        assert len(frame) == rows[name], name
        if spec.key:
            assert not frame.duplicated(list(spec.key)).any(), name
        for col in spec.columns:
            values = frame[col.name]
            if not col.nullable:
                assert values.notna().all(), (name, col.name)
            values = values.dropna()
            if col.enum:
                assert set(values.unique()) <= set(col.enum), (name, col.name)
            if col.min_value is not None:
                assert values.min() >= col.min_value, (name, col.name)
            if col.max_value is not None:
                assert values.max() <= col.max_value, (name, col.name)
            if col.positive:
                assert (values > 0).all(), (name, col.name)
            if col.first_of_month:
                assert (pd.to_datetime(values).dt.day == 1).all(), (name, col.name)
        coverage = pd.to_datetime(frame[spec.coverage_column])
        if name not in ("case_audits",):
            assert coverage.min() >= pd.Timestamp("2022-01-01") and coverage.max() < pd.Timestamp(
                "2022-04-01"
            )
    reviews, investigations = read(out, "investigation_reviews"), read(out, "investigations")
    assert reviews["crime_id"].isin(investigations["crime_id"]).all()


def test_forces_are_written_one_at_a_time(large):
    """Each force's rows are their own row groups, in force order: memory holds one force."""
    out, _ = large
    path = out / "incidents" / "2022.parquet"
    meta = pq.ParquetFile(path).metadata
    assert meta.num_row_groups >= gen.NATIONAL_FORCES
    frame = read(out, "incidents")
    order = list(dict.fromkeys(frame["force"]))
    assert order == [p.name for p in gen.force_profiles(gen.DEFAULT_SEED, gen.NATIONAL_FORCES, LARGE)]


def test_one_force_files_are_those_write_parquet_writes(tmp_path):
    """The default data is unchanged: one force's year file is byte for byte write_parquet's."""
    out = tmp_path / "one"
    gen.generate(out, start="2022-01", end="2022-02")
    for table in ("incidents", "investigation_reviews", "rso_register", "team_staffing"):
        path = out / table / "2022.parquet"
        again = write_parquet(table, read(out, table), tmp_path / "again" / table / "2022.parquet")
        assert path.read_bytes() == again.read_bytes(), table


def test_dorset_keeps_the_review_figures_at_or_above_its_own_volume(tmp_path):
    out = tmp_path / "big"
    gen.generate(out, start="2022-03", end="2022-03", incidents_per_year=2_500_000)
    incidents = read(out, "incidents")
    assert len(incidents) == pytest.approx(gen.national_volume(2_500_000) * 1500, rel=0.1)
    assert round(100 * incidents["thrive_completed"].mean(), 1) == 97.0
    assert len(read(out, "rso_breaches")) == 15
    # below its own volume the review's counts cannot be met: simulated from rates, no failure
    small = tmp_path / "small"
    gen.generate(small, start="2022-03", end="2022-03", incidents_per_year=200_000)
    assert gen.national_volume(200_000) < 1 and len(read(small, "rso_breaches")) != 15


def test_volume_on_the_command_line(tmp_path, capsys):
    with pytest.raises(SystemExit):
        gen.main(["--help"])
    assert "--incidents-per-year" in capsys.readouterr().out
    assert gen.main(["--out", str(tmp_path / "x"), "--incidents-per-year", "0"]) == 2
    assert gen.main(["--out", str(tmp_path / "x"), "--incidents-per-year", "-5"]) == 2
    assert not (tmp_path / "x").exists()
    assert "incidents-per-year" in capsys.readouterr().err
    args = ["--out", str(tmp_path / "y"), "--from", "2022-03", "--to", "2022-03", "--forces", "2"]
    assert gen.main([*args, "--incidents-per-year", "300000"]) == 0
    sizes = read(tmp_path / "y", "incidents").groupby("force", observed=True).size()
    assert sizes["Wessex"] / sizes["Dorset"] == pytest.approx(2.01 / 0.77, rel=0.15)  # Hampshire's people
    assert "--incidents-per-year" in gen.__doc__
