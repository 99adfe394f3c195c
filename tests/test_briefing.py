"""The overview's first screen: recommendations' direction of travel, concerns new or continuing,
where a change came from, and abbreviations spelt out. Hand-made frames with known answers, and
the generated data for the decomposition of a month's change by group."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from data.settings import STATUS_NEAR, STATUS_OFF, STATUS_ON, Target
from kpi import briefing, spc
from kpi.summary import KpiException, Recommendation
from queries import DataStore
from queries.kpis import Filters, Period, kpi_breakdown, kpi_table
from ui.glossary import FirstUse

MONTHS = ["2021-10", "2021-11", "2021-12", "2022-01", "2022-02", "2022-03"]
SETTINGS = SimpleNamespace(
    targets={
        "thrive_completion_pct": Target(90.0, ">="),
        "grade1_within_target_pct": Target(90.0, ">="),
        "home_visits_overdue": Target(10.0, "<="),
    }
)


def _history(values: dict[str, list[float | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"kpi_id": kpi_id, "month": month, "value": value}
            for kpi_id, series in values.items()
            for month, value in zip(MONTHS, series, strict=True)
        ]
    )


def _recommendation(*kpis: str) -> Recommendation:
    return Recommendation("R9", "initial_contact", "Do better.", "3 months", "2021-07", kpis, short="Better")


def test_month_statuses_follow_each_target_and_say_no_data():
    history = _history({"thrive_completion_pct": [80, 86, 91, None, 95, 89], "home_visits_overdue": [12] * 6})
    statuses = briefing.month_statuses(
        history,
        SETTINGS,
        ["thrive_completion_pct", "home_visits_overdue", "rso_per_offender_manager"],
        MONTHS,
    )
    assert list(statuses.index) == ["thrive_completion_pct", "home_visits_overdue"]  # no target: left out
    assert list(statuses.loc["thrive_completion_pct"]) == [
        STATUS_OFF, STATUS_NEAR, STATUS_ON, "No data", STATUS_ON, STATUS_NEAR,
    ]  # fmt: skip
    # Lower is better: 12 against a target of 10 is within the 10% band's edge of 11? No: off.
    assert set(statuses.loc["home_visits_overdue"]) == {STATUS_OFF}


def test_direction_of_travel_counts_kpis_on_target_now_against_three_months_before():
    rec = _recommendation("thrive_completion_pct", "grade1_within_target_pct")
    better = briefing.recommendation_progress(
        _history({"thrive_completion_pct": [80, 80, 80, 95, 95, 95], "grade1_within_target_pct": [50] * 6}),
        SETTINGS, rec, "2022-03",
    )  # fmt: skip
    assert better.months == tuple(MONTHS)
    assert better.on_target == (0, 0, 0, 1, 1, 1) and better.with_target == 2
    assert better.direction == "better" and better.words == "Better"
    # The worst status is the tracker's (metrics.md): one KPI off target keeps it off.
    assert better.statuses[-1] == STATUS_OFF
    worse = briefing.recommendation_progress(
        _history({"thrive_completion_pct": [95, 95, 95, 95, 95, 80], "grade1_within_target_pct": [50] * 6}),
        SETTINGS, rec, "2022-03",
    )  # fmt: skip
    assert worse.direction == "worse"
    # A tie on "on target" is broken by fewer KPIs off target: off -> near is better.
    near = briefing.recommendation_progress(
        _history({"thrive_completion_pct": [50, 50, 50, 50, 50, 87], "grade1_within_target_pct": [50] * 6}),
        SETTINGS, rec, "2022-03",
    )  # fmt: skip
    assert near.direction == "better"
    same = briefing.recommendation_progress(
        _history({"thrive_completion_pct": [50] * 6, "grade1_within_target_pct": [50] * 6}),
        SETTINGS,
        rec,
        "2022-03",
    )
    assert same.direction == "no change"


def test_a_recommendation_without_targets_has_no_direction():
    rec = _recommendation("rso_per_offender_manager")
    progress = briefing.recommendation_progress(
        _history({"rso_per_offender_manager": [50] * 6}), SETTINGS, rec, "2022-03"
    )
    assert progress.with_target == 0 and progress.direction == "no change"
    assert set(progress.statuses) == {"No target"}


def _found(kpi_id: str, variation: str, assurance: str | None = None) -> KpiException:
    return KpiException(
        kpi_id,
        "initial_contact",
        "It moved.",
        spc.Status(variation, variation, ""),
        spc.Status(assurance, assurance, "") if assurance else None,
    )


def _result(variations: dict[str, str | None]) -> SimpleNamespace:
    frame = pd.DataFrame({"month": list(variations), "variation": list(variations.values())})
    return SimpleNamespace(frame=frame)


def test_concerns_come_first_new_before_continuing_then_targets_at_risk_then_improvements():
    found = [
        _found("thrive_completion_pct", "concern_low"),
        _found("grade1_within_target_pct", "improvement_high", "fails"),
        _found("home_visits_overdue", "concern_high"),
        _found("grade2_within_target_pct", "improvement_high"),
        _found("voice_of_child_pct", "common", "hit_and_miss"),
    ]
    results = {
        "thrive_completion_pct": _result({"2022-02": "concern", "2022-03": "concern"}),  # continuing
        "home_visits_overdue": _result({"2022-02": None, "2022-03": "concern"}),  # new this month
    }
    sorted_ = briefing.sort_exceptions(found, results, "2022-03")
    assert [(e.kpi_id, new) for e, new in sorted_.concerns] == [
        ("home_visits_overdue", True),
        ("thrive_completion_pct", False),
    ]
    assert [e.kpi_id for e in sorted_.at_risk] == ["grade1_within_target_pct", "voice_of_child_pct"]
    assert [e.kpi_id for e in sorted_.improving] == ["grade2_within_target_pct"]
    # Improving yet failing its target is never shown as only "improving".
    assert briefing.far_from_target(found[1]) and not briefing.far_from_target(found[3])


@pytest.fixture(scope="module")
def store(synthetic_dir):
    return DataStore(synthetic_dir)


def test_the_largest_mover_explains_the_change_and_the_contributions_add_up(store):
    dorset = Filters(force="Dorset")
    kpi_id, month, before = "thrive_completion_pct", "2022-03", "2022-02"
    mover = briefing.largest_mover(store, kpi_id, month, dorset)
    assert mover is not None and mover.column != "force"  # one force: its groups, not the force
    # Independently: each group's denominator-weighted value, this month minus last, in pandas.
    now = kpi_breakdown(store, kpi_id, mover.column, Period(month, month), dorset).set_index("group")
    then = kpi_breakdown(store, kpi_id, mover.column, Period(before, before), dorset).set_index("group")

    def weighted(frame):
        return frame["denominator"].astype(float) / frame["denominator"].astype(float).sum() * frame["value"]

    change = weighted(now).sub(weighted(then), fill_value=0.0)
    assert mover.group == change.abs().idxmax()
    assert mover.contribution == pytest.approx(change[mover.group])
    # The contributions add up to the force's own change (the decomposition is exact).
    force_now = kpi_table(store, Period(month, month), dorset, kpi_ids=[kpi_id])["value"].iloc[0]
    force_then = kpi_table(store, Period(before, before), dorset, kpi_ids=[kpi_id])["value"].iloc[0]
    assert change.sum() == pytest.approx(force_now - force_then)
    assert mover.before == pytest.approx(then.at[mover.group, "value"])
    assert mover.after == pytest.approx(now.at[mover.group, "value"])


def test_a_count_mover_is_the_group_whose_count_changed_most(store):
    dorset = Filters(force="Dorset")
    mover = briefing.largest_mover(store, "missing_episodes", "2022-03", dorset)
    now = kpi_breakdown(store, "missing_episodes", mover.column, Period("2022-03", "2022-03"), dorset)
    then = kpi_breakdown(store, "missing_episodes", mover.column, Period("2022-02", "2022-02"), dorset)
    change = now.set_index("group")["value"].sub(then.set_index("group")["value"], fill_value=0)
    assert mover.contribution == pytest.approx(change[mover.group])
    assert abs(mover.contribution) == pytest.approx(change.abs().max())


def test_abbreviations_get_a_tooltip_everywhere_and_words_on_first_use_only():
    from dash import html

    words = FirstUse()
    first = words.text("THRIVE completion and RSOs per manager")
    abbrs = [p for p in first if isinstance(p, html.Abbr)]
    assert [a.children for a in abbrs] == ["THRIVE", "RSOs"]
    assert abbrs[0].title.startswith("threat, harm, risk")
    longs = [p.children for p in first if isinstance(p, html.Span)]
    assert longs == [
        " (threat, harm, risk, investigation, vulnerability and engagement)",
        " (registered sex offender)",
    ]
    again = words.text("THRIVE again")
    assert not [p for p in again if isinstance(p, html.Span)]  # spelt out once per page
    assert [p.children for p in again if isinstance(p, html.Abbr)] == ["THRIVE"]
    # Whole words only: "ARMSTRONG" is no abbreviation.
    assert words.text("ARMSTRONG") == ["ARMSTRONG"]
    assert not [p for p in FirstUse.tooltips_only().text("MASH") if isinstance(p, html.Span)]


def test_under_an_lpa_filter_the_mover_is_never_that_lpa(store):
    """The one LPA a filter keeps is the whole figure: the mover is found among the other columns."""
    east = Filters(force="Dorset", lpa="East")
    for kpi_id in ("thrive_completion_pct", "missing_episodes"):
        mover = briefing.largest_mover(store, kpi_id, "2022-03", east)
        assert mover is None or mover.column not in ("force", "lpa")
    both = Filters(force="Dorset", lpa="East", local_authority="BCP Council")
    mover = briefing.largest_mover(store, "thrive_completion_pct", "2022-03", both)
    assert mover is None or mover.column not in ("force", "lpa", "local_authority")


def test_movers_read_together_equal_each_read_alone(store):
    """The overview reads every concern's breakdowns in one batch (two months per query): the same
    movers as one KPI at a time, across percentages, counts and medians of several queries."""
    dorset = Filters(force="Dorset")
    kpi_ids = ["thrive_completion_pct", "missing_episodes", "arrival_median_min", "grade1_within_target_pct"]
    together = briefing.largest_movers(store, kpi_ids, "2022-03", dorset)
    for kpi_id in kpi_ids:
        alone = briefing.largest_mover(store, kpi_id, "2022-03", dorset)
        assert together[kpi_id] == alone, kpi_id


def test_first_use_parts_carry_the_same_words_as_the_components():
    words = FirstUse()
    parts = words.parts("THRIVE <b>and</b> RSOs")
    assert parts == [
        {"text": "THRIVE", "title": "threat, harm, risk, investigation, vulnerability and engagement",
         "long": " (threat, harm, risk, investigation, vulnerability and engagement)"},
        {"text": " <b>and</b> "},  # text stays text: the renderer never reads it as HTML
        {"text": "RSOs", "title": "registered sex offender", "long": " (registered sex offender)"},
    ]  # fmt: skip
    assert words.parts("THRIVE") == [{"text": "THRIVE", "title": parts[0]["title"]}]  # spelt out once
    assert FirstUse().parts("") == []
