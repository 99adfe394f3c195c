"""KPI summaries, target statuses and the recommendation tracker."""

import pandas as pd
import pytest

from data.settings import STATUS_NEAR, STATUS_NONE, STATUS_OFF, STATUS_ON, Target, load_settings
from kpi.summary import Recommendation, load_recommendations, recommendation_status, worst_status
from queries import QueryError
from queries.kpis import catalog


@pytest.mark.parametrize(
    ("target", "value", "is_pct", "status"),
    [
        (Target(100, ">=", 95), 97.0, True, STATUS_NEAR),
        (Target(100, ">=", 95), 94.9, True, STATUS_OFF),
        (Target(100, ">=", 95), 100.0, True, STATUS_ON),
        (Target(90, ">="), 85.0, True, STATUS_NEAR),  # default band: 5 points
        (Target(90, ">="), 84.9, True, STATUS_OFF),
        (Target(50, "<="), 54.0, False, STATUS_NEAR),  # default band: 10% of the target
        (Target(50, "<="), 55.1, False, STATUS_OFF),
        (Target(0, "<="), 0, False, STATUS_ON),
        (Target(0, "<="), 1, False, STATUS_OFF),
        (Target(90, ">="), None, True, None),
    ],
)
def test_target_status(target, value, is_pct, status):
    assert target.status(value, is_percentage=is_pct) == status


def test_default_settings_match_metrics_md():
    settings = load_settings()
    assert (settings.grade1_target_min, settings.grade2_target_min) == (15, 20)
    assert settings.targets["thrive_completion_pct"] == Target(100, ">=", 95)
    assert settings.targets["rso_per_offender_manager"] == Target(50, "<=")
    assert "voluntarily absent" in settings.language_phrases
    assert set(settings.targets) <= set(catalog().kpis)


def test_recommendations_file_names_known_kpis():
    recommendations = load_recommendations()
    assert [r.id for r in recommendations] == [f"R{i}" for i in range(1, 9)]
    assert {r.due for r in recommendations} == {"immediately", "3 months", "6 months"}


def test_a_recommendation_naming_an_unknown_kpi_is_refused(tmp_path):
    bad = tmp_path / "r.toml"
    bad.write_text(
        '[[recommendation]]\nid="R1"\narea="detention"\nsummary="s"\ndue="now"\n'
        'due_month="2021-04"\nkpis=["no_such_kpi"]\n'
    )
    with pytest.raises(QueryError, match="no_such_kpi"):
        load_recommendations(bad)


def test_recommendation_status_is_the_worst_of_its_targeted_kpis():
    summary = pd.DataFrame(
        {
            "kpi_id": ["a", "b", "c", "d"],
            "target": [90.0, 95.0, None, 100.0],
            "status": [STATUS_ON, STATUS_NEAR, None, None],
        }
    )
    rec = Recommendation("R", "detention", "s", "now", "2021-04", ("a", "b", "c"))
    assert recommendation_status(summary, rec) == STATUS_NEAR
    assert (
        recommendation_status(summary, Recommendation("R", "detention", "s", "n", "x", ("c",))) == STATUS_NONE
    )
    assert (
        recommendation_status(summary, Recommendation("R", "detention", "s", "n", "x", ("d",))) == "No data"
    )
    assert worst_status([STATUS_ON, STATUS_OFF, "No data"]) == STATUS_OFF


def test_sparks_from_the_spc_history_equal_sparks_queried_alone(synthetic_dir):
    from kpi.summary import kpi_history, kpi_summary, kpis_with_target
    from queries import DataStore
    from queries.kpis import Filters, Period

    store = DataStore(synthetic_dir)
    # A period whose 12 spark months start before the data (Apr 2020): those months are gaps either way.
    for period in (Period("2021-04", "2022-03"), Period("2020-06", "2020-09")):
        kpi_ids = kpis_with_target(store)
        history = kpi_history(store, period, Filters("Dorset"), kpi_ids)
        alone = kpi_summary(store, period, Filters("Dorset"), kpi_ids)
        shared = kpi_summary(store, period, Filters("Dorset"), kpi_ids, history=history)
        assert list(shared["spark"]) == list(alone["spark"])
        assert shared.drop(columns="spark").equals(alone.drop(columns="spark"))


def test_spc_cases_are_the_median_denominator_of_the_last_segment(synthetic_dir):
    """Against pandas over the same history rows: the months from the last step change on."""
    from kpi.spc import load_events
    from kpi.summary import kpi_history, kpi_spc
    from queries import DataStore
    from queries.kpis import Filters, Period

    store = DataStore(synthetic_dir)
    kpis = ["pp_ppn_pct", "thrive_completion_pct", "aa_delay_median_min", "rso_per_offender_manager"]
    history = kpi_history(store, Period("2021-04", "2022-03"), Filters("Dorset"), kpis)
    results = kpi_spc(history, kpis, load_settings(), load_events())
    for kpi_id in kpis:
        result = results[kpi_id]
        rows = history[history["kpi_id"] == kpi_id]
        if catalog().kpis[kpi_id].unit not in ("pct", "min", "days"):
            assert result.cases is None  # a ratio's denominator is officers, not cases
            continue
        last = result.segments[-1]
        shown = rows[(rows["month"] >= last.start_month) & (rows["month"] <= last.end_month)]
        shown = shown[shown["value"].notna()]
        assert result.cases == pytest.approx(pd.to_numeric(shown["denominator"]).median())
