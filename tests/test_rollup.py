"""Monthly roll-ups (queries/rollup.py): the same figures as the queries, for every KPI, without
reading the extracts. Generated data of three forces (real DuckDB over the generator's parquet);
the oracle tests of tests/test_kpis.py run on the roll-up path too."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from kpi.summary import current_and_previous
from queries import DataStore, rollup
from queries.kpis import KPI_IDS, Filters, Focus, Period, catalog, kpi_table

READS = [
    # (period, window_months or None for the whole period, monthly, filters, breakdown)
    (Period("2021-04", "2022-03"), None, False, Filters(), "none"),
    (Period("2021-04", "2022-03"), None, False, Filters(force="Dorset"), "none"),
    (Period("2021-04", "2022-03"), None, False, Filters(), "force"),
    (Period("2021-04", "2022-03"), None, False, Filters(force="Dorset"), "force"),
    (Period("2021-10", "2022-03"), 3, False, Filters(), "none"),
    (Period("2021-01", "2021-12"), None, True, Filters(), "force"),
    # Past both ends of the data (Apr 2020 – Mar 2022): uncovered months, as the query's.
    (Period("2019-12", "2020-05"), None, True, Filters(force="Dorset"), "none"),
    (Period("2021-11", "2022-06"), 4, False, Filters(), "force"),
    # A force the data does not hold.
    (Period("2021-04", "2022-03"), None, False, Filters(force="Atlantis"), "none"),
]


@pytest.fixture(scope="module")
def three_forces(tmp_path_factory):
    from data.generate import generate

    out = tmp_path_factory.mktemp("rollup") / "extracts"
    generate(out, forces=3, start="2020-04", end="2022-03", incidents_per_year=6000)
    return out


@pytest.fixture(scope="module")
def stores(three_forces):
    direct = DataStore(three_forces)
    rolled = DataStore(three_forces, rollups=True)
    rolled.rollups.build_all()
    return direct, rolled


def _same(a, b) -> bool:
    def plain(v):
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else v

    a, b = plain(a), plain(b)
    if a is None or b is None:
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b)
    return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)


def _compare(direct: pd.DataFrame, rolled: pd.DataFrame, label: str) -> list[str]:
    keys = ["window_start", "group", "kpi_id"]
    left = direct.assign(window_start=pd.to_datetime(direct["window_start"]))
    right = rolled.assign(window_start=pd.to_datetime(rolled["window_start"]))
    merged = left.merge(right, on=keys, how="outer", suffixes=("_direct", "_rollup"), indicator=True)
    problems = [f"{label}: {r[keys].tolist()} only in {r['_merge']}" for _, r in merged.iterrows()
                if r["_merge"] != "both"]  # fmt: skip
    for _, row in merged[merged["_merge"] == "both"].iterrows():
        for column in ("is_covered", "numerator", "denominator", "value"):
            if not _same(row[f"{column}_direct"], row[f"{column}_rollup"]):
                problems.append(
                    f"{label}: {row['kpi_id']} {row['group']} {row['window_start']:%Y-%m} {column}: "
                    f"query {row[f'{column}_direct']!r}, roll-up {row[f'{column}_rollup']!r}"
                )
    return problems


def test_the_rollups_hold_three_forces_by_month(stores):
    _, rolled = stores
    for name in catalog().queries:
        built = rolled.rollups.get(name)
        assert built is not None, name
        assert len(built.forces) == 3 and built.forces[0] == "Dorset", built.forces
        # The query's tables' own months (case audits start later than incidents).
        assert (
            pd.Timestamp("2020-04-01") <= built.first_month <= built.last_month <= pd.Timestamp("2022-03-01")
        )
        assert set(built.by_force["group"]) == set(built.forces)
        assert set(built.national["group"]) == {"all"}


@pytest.mark.parametrize("read", range(len(READS)))
def test_every_kpi_from_the_rollups_equals_the_query(stores, read):
    """A roll-up's result equals the direct SQL's for every KPI (the figures of every query)."""
    direct, rolled = stores
    period, window_months, monthly, filters, breakdown = READS[read]
    kwargs = {"monthly": monthly, "breakdown": breakdown, "window_months": window_months}
    if window_months and window_months > 1:
        # Medians and percentiles of events are read from their queries for such windows;
        # everything else comes from the roll-up.
        wanted = [k for k in KPI_IDS if rollup.servable([k], window_months, filters, breakdown, None)]
    else:
        wanted = list(KPI_IDS)
    expected = kpi_table(direct, period, filters, kpi_ids=wanted, **kwargs)
    got = kpi_table(rolled, period, filters, kpi_ids=wanted, **kwargs)
    assert not expected.empty
    assert _compare(expected, got, f"read {read}") == []


def test_servable_reads_run_no_query_and_the_rest_run_theirs(stores, monkeypatch):
    direct, rolled = stores
    ran: list[str] = []
    real = DataStore.run_many

    def recording(self, calls):
        ran.extend(name for name, _ in calls)
        return real(self, calls)

    monkeypatch.setattr(DataStore, "run_many", recording)
    period = Period("2021-04", "2022-03")
    kpi_table(rolled, period, Filters(force="Force 2"), monthly=True)
    kpi_table(rolled, period, Filters(), breakdown="force", kpi_ids=["thrive_completion_pct"])
    assert ran == []
    # A median over twelve months, an LPA filter, a drill-down: the queries answer.
    kpi_table(rolled, period, Filters(force="Dorset"), kpi_ids=["arrival_median_min"])
    assert ran == ["initial_contact/incident_delays"]
    ran.clear()
    kpi_table(rolled, period, Filters(force="Dorset", lpa="East"), kpi_ids=["thrive_completion_pct"])
    kpi_table(rolled, period, Filters(), kpi_ids=["thrive_completion_pct"], focus=Focus("grade", "1"))
    assert ran == ["initial_contact/incident_kpis"] * 2
    # A page's current and previous figures: one call, and from the roll-ups where they can.
    ran.clear()
    current, previous = current_and_previous(rolled, period, Filters(force="Dorset"), list(KPI_IDS))
    stats = {k.query for k in catalog().kpis.values() if k.kind == "event" and k.unit in rollup.STAT_UNITS}
    assert sorted(ran) == sorted(stats)
    want_now, want_then = current_and_previous(direct, period, Filters(force="Dorset"), list(KPI_IDS))
    assert _compare(want_now, current, "current") == [] and _compare(want_then, previous, "previous") == []


def test_a_new_data_version_is_never_answered_from_the_old_rollup(tmp_path):
    from data.generate import generate

    data = tmp_path / "extracts"
    generate(data, forces=2, start="2021-04", end="2022-03", incidents_per_year=3000)
    store = DataStore(data, rollups=True, recheck_seconds=0)
    store.rollups.build_all()
    before = kpi_table(store, Period("2021-04", "2022-03"), Filters(), kpi_ids=["incidents"])["value"].iloc[0]
    generate(data, forces=2, start="2021-04", end="2022-03", incidents_per_year=6000, seed=7, overwrite=True)
    # The old roll-up is not used: until the new one is built the query answers, then the new one.
    after = kpi_table(store, Period("2021-04", "2022-03"), Filters(), kpi_ids=["incidents"])["value"].iloc[0]
    direct = kpi_table(DataStore(data), Period("2021-04", "2022-03"), Filters(), kpi_ids=["incidents"])
    assert after == direct["value"].iloc[0] != before
    store.rollups.join(60)  # that read started the new version's builds in the background
    assert store.rollups.get("initial_contact/incident_kpis") is not None
    rebuilt = kpi_table(store, Period("2021-04", "2022-03"), Filters(), kpi_ids=["incidents"])["value"].iloc[
        0
    ]
    assert rebuilt == after


def test_a_rollup_that_cannot_be_built_leaves_the_queries_answering(stores, three_forces, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(rollup, "build", broken)
    store = DataStore(three_forces, rollups=True)
    store.rollups.build_all()
    assert store.rollups.get("initial_contact/incident_kpis") is None  # failed, not retried each read
    direct, _ = stores
    period = Period("2021-04", "2022-03")
    assert (
        _compare(
            kpi_table(direct, period, Filters(force="Dorset")),
            kpi_table(store, period, Filters(force="Dorset")),
            "x",
        )
        == []
    )


def test_rollups_are_off_under_the_environment_switch(monkeypatch):
    for value, on in (("0", False), ("off", False), ("1", True), ("", True)):
        monkeypatch.setenv(rollup.ROLLUPS_ENV, value)
        assert rollup.enabled_by_environment() is on
