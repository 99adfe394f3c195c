"""The investigation queries read only the reviews their windows can use: the same figures as the whole table.

Each query's reviews CTE is cut to a time span and a crime_id span; the oracle
is the same query with that CTE reading the whole table (the uncut SQL), run on
the same data, plus an independent pandas count of drift. The data: three
generated forces, with reviews added on every boundary a window has (exactly
28 days before its end, a second earlier, a second before its end, its end),
reviews by another force, reviews long before an investigation opened, and
reviews of crimes no investigation has; files in small row groups clustered by
force, so the crime_id span does skip row groups.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from data import generate as gen
from data.contract import to_arrow
from queries import DataStore, load_sql
from queries.kpis import Filters, Period

FIRST, LAST = "2021-10", "2022-06"  # the data's months
CUT_CTES = {  # query -> the CTE that reads investigation_reviews cut
    "investigation/investigation_kpis": "reviews_in_period",
    "investigation/drift_by_team": "reviews_before_end",
}
DAY = pd.Timedelta(days=1)
SECOND = pd.Timedelta(seconds=1)


def uncut_sql(name: str) -> str:
    """The query with its reviews CTE reading the whole table: the oracle."""
    text, _ = load_sql(name)
    cte = CUT_CTES[name]
    pattern = re.compile(
        rf"({cte} as \(\n\s+select crime_id, reviewed_at from investigation_reviews)\n.*?\n\),", re.S
    )
    uncut, count = pattern.subn(r"\1\n),", text)
    assert count == 1, f"{name}: the cut CTE {cte} is not where this test expects it"
    assert "interval 28 day from frame" not in uncut.split(cte, 1)[1].split("),", 1)[0]
    return uncut


def _month_ends() -> list[pd.Timestamp]:
    return list(pd.date_range(FIRST + "-01", periods=10, freq="MS")[1:])


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cut") / "extracts"
    gen.generate(out, forces=3, start=FIRST, end=LAST)
    inv = pq.read_table(out / "investigations").to_pandas()
    reviews = pq.read_table(out / "investigation_reviews").to_pandas()
    rng = np.random.default_rng(13)
    # A fifth of the investigations lose their generated reviews and get one
    # review on a window boundary instead, so that boundary alone decides drift.
    chosen = inv.sample(frac=0.2, random_state=13)
    reviews = reviews[~reviews["crime_id"].isin(chosen["crime_id"])]
    ends = _month_ends()
    offsets = [-28 * DAY, -28 * DAY - SECOND, -SECOND, pd.Timedelta(0), -56 * DAY, -91 * DAY, -400 * DAY]
    forces = sorted(inv["force"].unique())
    added = pd.DataFrame(
        {
            "crime_id": chosen["crime_id"].to_numpy(),
            # one in four reviewed by another force: it counts all the same (metrics.md)
            "force": [
                f if rng.random() < 0.75 else forces[(forces.index(f) + 1) % len(forces)]
                for f in chosen["force"]
            ],
            "reviewed_at": [
                ends[rng.integers(len(ends))] + offsets[rng.integers(len(offsets))]
                for _ in range(len(chosen))
            ],
        }
    )
    strays = pd.DataFrame(
        {
            "crime_id": ["AAA-0", "CR-ZZZ-1", "zz", inv["crime_id"].iloc[0], inv["crime_id"].iloc[-1]],
            "force": ["Dorset", "Wessex", "Dorset", "Dorset", forces[0]],
            "reviewed_at": pd.to_datetime(
                ["2022-03-10", "2022-03-10", "2022-02-20", "2019-05-01 08:00", "2022-02-01"], format="mixed"
            ),
        }
    )
    reviews = pd.concat([reviews, added, strays], ignore_index=True)
    reviews = reviews.sort_values(["force", "reviewed_at", "crime_id"], ignore_index=True)
    folder = out / "investigation_reviews"
    for path in folder.iterdir():
        path.unlink()
    pq.write_table(to_arrow("investigation_reviews", reviews), folder / "all.parquet", row_group_size=2_000)
    return out


@pytest.fixture(scope="module")
def store(data_dir) -> DataStore:
    return DataStore(data_dir, cache_size=0)


def _run_uncut(store: DataStore, name: str, params: dict) -> pd.DataFrame:
    _, wanted = load_sql(name)
    given = {**store.settings.query_parameters(), **params}
    cursor = store._connect().cursor()  # the runner's connection: its views and macros
    try:
        return cursor.execute(uncut_sql(name), {k: given[k] for k in wanted}).df()
    finally:
        cursor.close()


def _same(store: DataStore, name: str, params: dict) -> pd.DataFrame:
    cut = store.run(name, params)
    whole = _run_uncut(store, name, params)
    # sums of FTE may differ in the last bit with the threads' order, nothing more
    pd.testing.assert_frame_equal(cut, whole, check_exact=False, rtol=1e-12, obj=f"{name} {params}")
    return cut


PERIODS = [
    (FIRST, FIRST),  # the data's first month: no review before it
    ("2021-11", "2021-11"),
    ("2022-02", "2022-02"),  # 28 days: the window's 28 days are the whole month
    ("2022-03", "2022-03"),  # reviews precede the start; 28 days before the end is 4 March
    ("2022-03", "2022-05"),
    (FIRST, LAST),  # every month
    ("2021-08", "2021-10"),  # starts before the data
    ("2022-05", "2022-08"),  # runs past the data
]
FILTERS = [Filters(), Filters(force="Dorset"), Filters(force="Dorset", lpa="East"), Filters(force="Nowhere")]


@pytest.mark.parametrize("months", PERIODS, ids=["..".join(p) for p in PERIODS])
def test_investigation_kpis_cut_equals_the_whole_table(store, months):
    period = Period(*months)
    seen_drift = False
    for monthly, breakdown, filters in itertools.product((False, True), ("none", "force", "team"), FILTERS):
        params = {
            "period_start": period.period_start,
            "period_end": period.period_end,
            "window_months": 1 if monthly else period.months,
            "breakdown": breakdown,
            **filters.as_params(),
        }
        result = _same(store, "investigation/investigation_kpis", params)
        drift = result[result["kpi_id"] == "investigations_drifting"]
        seen_drift |= bool((drift["value"].fillna(0) > 0).any())
    assert seen_drift or months == ("2021-08", "2021-10") or months == (FIRST, FIRST)


@pytest.mark.parametrize(
    "end_month", [m.strftime("%Y-%m") for m in pd.date_range("2021-09-01", "2022-07-01", freq="MS")]
)
def test_drift_by_team_cut_equals_the_whole_table(store, end_month):
    period = Period(end_month, end_month)
    focuses = [(None, None), ("team", "impact"), ("lpa", "East"), ("force", "Dorset"), ("risk_level", "high")]
    for filters, (column, value) in itertools.product(FILTERS, focuses):
        params = {
            "period_start": period.period_start,
            "period_end": period.period_end,
            **filters.as_params(),
            "focus_column": column,
            "focus_value": value,
        }
        _same(store, "investigation/drift_by_team", params)


# --- independent of the SQL: drift counted in pandas


def _frames(data_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (
        pq.read_table(data_dir / "investigations").to_pandas(),
        pq.read_table(data_dir / "investigation_reviews").to_pandas(),
    )


def pandas_drift(inv: pd.DataFrame, rev: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """Investigations drifting at ``end`` (metrics.md) with days since their last review before it."""
    open_ = inv[
        (inv["opened_at"] < end)
        & (inv["closed_at"].isna() | (inv["closed_at"] >= end))
        & (inv["opened_at"] <= end - 28 * DAY)
    ]
    before = rev[rev["reviewed_at"] < end].groupby("crime_id")["reviewed_at"].max()
    last = open_["crime_id"].map(before)
    drifting = open_[last.isna() | (last < end - 28 * DAY)].copy()
    drifting["days"] = np.floor((end - last[drifting.index]).dt.total_seconds() / 86_400)
    return drifting


def test_drift_equals_pandas_on_every_boundary(store, data_dir):
    inv, rev = _frames(data_dir)
    period = Period(FIRST, LAST)
    params = {
        "period_start": period.period_start,
        "period_end": period.period_end,
        "window_months": 1,
        "breakdown": "force",
        "force": None,
        "lpa": None,
        "local_authority": None,
    }
    kpis = store.run("investigation/investigation_kpis", params)
    kpis = kpis[kpis["kpi_id"] == "investigations_drifting"]
    for row in kpis.itertuples():
        end = pd.Timestamp(row.window_start) + pd.offsets.MonthBegin(1)
        if not row.is_covered:
            continue
        expected = pandas_drift(inv[inv["force"] == row.group], rev, end)
        assert row.value == len(expected), (row.window_start, row.group)
    # and the bands, for Dorset at the end of every month
    for end in _month_ends()[:-1]:
        month = (end - DAY).strftime("%Y-%m")
        got = store.run(
            "investigation/drift_by_team",
            {
                "period_start": Period(month, month).period_start,
                "period_end": end.to_pydatetime(),
                "force": "Dorset",
                "lpa": None,
                "focus_column": None,
                "focus_value": None,
            },
        )
        days = pandas_drift(inv[inv["force"] == "Dorset"], rev, end)
        band = pd.cut(days["days"].fillna(-1), [-2, 0, 56, 90, np.inf], labels=[1, 2, 3, 4]).astype(int)
        expected = band.groupby(days["team"].to_numpy()).value_counts().sort_index()
        actual = got.set_index(["team", "band_order"])["n_drifting"].sort_index()
        assert actual.tolist() == expected.tolist() and list(actual.index) == list(expected.index), month


def test_the_boundaries_are_in_the_data(data_dir):
    """The data holds the cases the cut could get wrong, so the tests above can see them."""
    _, rev = _frames(data_dir)
    at = rev["reviewed_at"]
    for end in _month_ends():
        assert (at == end - 28 * DAY).any() and (at == end - 28 * DAY - SECOND).any(), end
    assert (at < pd.Timestamp(FIRST + "-01")).any()  # a review before any investigation opened
    meta = pq.ParquetFile(data_dir / "investigation_reviews" / "all.parquet").metadata
    assert meta.num_row_groups > 10
