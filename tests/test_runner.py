"""The query runner: views per data version, skipped hidden files, bad folders, threads, whitelists."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

from data.contract import write_parquet
from queries import DataError, DataStore, QueryError
from queries.kpis import Filters, Period, kpi_breakdown, kpi_values


def _incidents(ids, when="2022-03-10 10:00", lpa="East"):
    n = len(ids)
    return pd.DataFrame(
        {
            "incident_id": ids,
            "force": ["Dorset"] * n,
            "lpa": [lpa] * n,
            "local_authority": ["BCP Council"] * n,
            "received_at": [pd.Timestamp(when)] * n,
            "incident_type": ["other"] * n,
            "grade": [1] * n,
            "vulnerability_identified": [True] * n,
            "thrive_completed": [True] * n,
            "thrive_reassessments": [0] * n,
            "victim_callback": [False] * n,
            "arrived_at": [pd.Timestamp(when) + pd.Timedelta(minutes=10)] * n,
            "ppn_submitted_at": [None] * n,
            "voice_of_child_recorded": [False] * n,
            "child_spoken_to": [False] * n,
            "bwv_used": [False] * n,
        }
    )


MARCH = Period("2022-03", "2022-03")


def test_missing_data_folder_is_named(tmp_path):
    store = DataStore(tmp_path / "nowhere")
    with pytest.raises(DataError, match=r"nowhere.*does not exist"):
        kpi_values(store, MARCH, Filters())


def test_empty_data_folder_is_named(tmp_path):
    with pytest.raises(DataError, match="holds no extract tables"):
        DataStore(tmp_path).check_data_dir()


def test_hidden_files_and_folders_are_skipped(tmp_path):
    write_parquet("incidents", _incidents(["a", "b"]), tmp_path / "incidents" / "2022.parquet")
    write_parquet("incidents", _incidents(["c"]), tmp_path / "incidents" / "_old.parquet")
    write_parquet("incidents", _incidents(["d"]), tmp_path / "incidents" / ".tmp.parquet")
    write_parquet("incidents", _incidents(["e"]), tmp_path / "incidents" / "_versions" / "x.parquet")
    assert kpi_values(DataStore(tmp_path), MARCH, Filters(), kpi_ids=["incidents"]) == {"incidents": 2}


def test_new_data_is_seen_without_a_restart(tmp_path):
    write_parquet("incidents", _incidents(["a"]), tmp_path / "incidents" / "1.parquet")
    store = DataStore(tmp_path, recheck_seconds=0)
    first_version = store.version
    assert kpi_values(store, MARCH, Filters(), kpi_ids=["incidents"])["incidents"] == 1
    write_parquet("incidents", _incidents(["b", "c"]), tmp_path / "incidents" / "2.parquet")
    assert kpi_values(store, MARCH, Filters(), kpi_ids=["incidents"])["incidents"] == 3
    assert store.version != first_version


def test_a_corrupt_file_is_a_clear_error(tmp_path):
    write_parquet("incidents", _incidents(["a"]), tmp_path / "incidents" / "1.parquet")
    (tmp_path / "incidents" / "2.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(DataError, match=r"incidents|parquet"):
        kpi_values(DataStore(tmp_path), MARCH, Filters(), kpi_ids=["incidents"])


def test_filter_text_is_a_parameter_not_sql(tmp_path):
    write_parquet("incidents", _incidents(["a", "b"]), tmp_path / "incidents" / "1.parquet")
    values = kpi_values(DataStore(tmp_path), MARCH, Filters(lpa="East' or '1'='1"), kpi_ids=["incidents"])
    assert values == {"incidents": 0}


def test_breakdowns_are_whitelisted(tmp_path):
    write_parquet("incidents", _incidents(["a"]), tmp_path / "incidents" / "1.parquet")
    store = DataStore(tmp_path)
    with pytest.raises(QueryError, match="cannot be broken down"):
        kpi_breakdown(store, "incidents", "incident_id; drop table incidents", MARCH, Filters())
    with pytest.raises(QueryError, match="no query named"):
        store.run("../../etc/passwd")


def test_concurrent_callbacks_get_the_same_answers(tmp_path):
    write_parquet("incidents", _incidents(["a", "b"], lpa="East"), tmp_path / "incidents" / "1.parquet")
    write_parquet("incidents", _incidents(["c"], lpa="West"), tmp_path / "incidents" / "2.parquet")
    store = DataStore(tmp_path)
    results, errors = [], []

    def work(lpa):
        try:
            for _ in range(5):
                got = kpi_values(store, MARCH, Filters(lpa=lpa), kpi_ids=["incidents"])["incidents"]
                results.append((lpa, got))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(lpa,)) for lpa in ["East", "West", None] * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert {r for r in results} == {("East", 2), ("West", 1), (None, 3)}


def test_repeat_missing_cohort_matches_its_kpi(synthetic_dir):
    store = DataStore(synthetic_dir)
    march = Period("2022-03", "2022-03")
    dorset = Filters(force="Dorset")
    cohort = store.run(
        "assessment/repeat_missing_cohort", {"period_end": march.period_end, **dorset.as_params()}
    )
    values = kpi_values(store, march, dorset)
    assert len(cohort) == values["repeat_missing_children"]
    assert cohort["episodes"].max() == values["repeat_missing_max_episodes"] == 34
    assert list(cohort["episodes"].head(3)) == [34, 28, 16]
    assert 100 * cohort["is_referred"].sum() / len(cohort) == pytest.approx(
        values["repeat_missing_referred_pct"]
    )


def _setting(store: DataStore, name: str) -> str:
    return store._connect().execute(f"select current_setting('{name}')").fetchone()[0]


def test_duckdb_is_held_to_a_memory_limit_and_spills_to_a_private_folder(tmp_path, monkeypatch):
    import os

    write_parquet("incidents", _incidents(["a"]), tmp_path / "incidents" / "2022.parquet")
    monkeypatch.delenv("CPD_DUCKDB_MEMORY_LIMIT", raising=False)
    store = DataStore(tmp_path)
    assert _setting(store, "memory_limit") == "953.6 MiB"  # 1 GB
    spill = _setting(store, "temp_directory")
    assert os.stat(spill).st_mode & 0o077 == 0 and "cpd-duckdb-spill" in spill
    monkeypatch.setenv("CPD_DUCKDB_MEMORY_LIMIT", "200MB")
    assert _setting(DataStore(tmp_path), "memory_limit") == "190.7 MiB"


def test_a_wrong_memory_limit_is_named(tmp_path, monkeypatch):
    write_parquet("incidents", _incidents(["a"]), tmp_path / "incidents" / "2022.parquet")
    monkeypatch.setenv("CPD_DUCKDB_MEMORY_LIMIT", "lots")
    with pytest.raises(DataError, match=r"CPD_DUCKDB_MEMORY_LIMIT='lots' is not a memory size"):
        kpi_values(DataStore(tmp_path), MARCH, Filters())


def test_the_query_threads_give_the_answers_of_one_thread(synthetic_dir, monkeypatch):
    """run_many side by side equals run in turn, in the order asked (and a nested call runs inline)."""
    from queries import concurrently

    store = DataStore(synthetic_dir)
    params = {"period_start": MARCH.period_start, "period_end": MARCH.period_end, "window_months": 1}
    params |= {"breakdown": "lpa", **Filters("Dorset").as_params()}
    names = ["initial_contact/incident_kpis", "assessment/missing_kpis", "detention/custody_kpis"]
    together = store.run_many([(name, params) for name in names])
    alone = [store.run(name, params, use_cache=False) for name in names]
    for a, b in zip(together, alone, strict=True):
        pd.testing.assert_frame_equal(a, b)
    nested = concurrently([lambda: concurrently([lambda: 1, lambda: 2]), lambda: 3])
    assert nested == [[1, 2], 3]
    with pytest.raises(ZeroDivisionError):
        concurrently([lambda: 1, lambda: 1 / 0])
