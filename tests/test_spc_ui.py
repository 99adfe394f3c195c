"""SPC on screen: exceptions from real queries, the icons, the XmR trend figure and the page helpers.

The query tests run on a tiny incidents extract written here: Dorset has 20
incidents a month from April 2020 to March 2022 whose THRIVE completion and
voice-of-the-child figures are set by hand, so every mean, moving range and
process limit below is worked out in a comment and checked exactly.
"""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # so that `pytest` run from anywhere finds data/, queries/, ui/
    sys.path.insert(0, str(ROOT))

import figures  # noqa: E402
from data.contract import TABLES, write_parquet  # noqa: E402
from data.settings import Settings, Target  # noqa: E402
from kpi import spc  # noqa: E402
from kpi.spc import Status, xmr  # noqa: E402
from kpi.summary import (  # noqa: E402
    KpiException,
    clip_to_unit,
    exceptions,
    history_period,
    history_start,
    kpi_history,
    kpi_spc,
)
from queries import DataStore  # noqa: E402
from queries.kpis import Filters, Focus, Period, catalog  # noqa: E402
from ui.formatting import format_value  # noqa: E402
from ui.spc_badges import (  # noqa: E402
    assurance_badge,
    short_variation_label,
    spc_badges,
    variation_badge,
)

# --------------------------------------------------------------------------- the extract

DORSET = Filters(force="Dorset")
SPC_KPIS = ["thrive_completion_pct", "voice_of_child_pct"]
THRIVE, VOICE = SPC_KPIS
MONTHS = pd.period_range("2020-04", "2022-03", freq="M").strftime("%Y-%m").tolist()  # 24 months
PER_MONTH = 20
# Settings built here, not read from disk, so a CPD_SETTINGS in the environment changes nothing.
SETTINGS = Settings(targets={THRIVE: Target(100, ">=", 95), VOICE: Target(90, ">=")})


def _thrive_done(i: int) -> int:
    """Incidents (of 20) with THRIVE in month ``i``: 16, 17, 16, 17 ... (80%, 85%), then 20 (100%) last."""
    return PER_MONTH if i == len(MONTHS) - 1 else (16 if i % 2 == 0 else 17)


def _voice_done(i: int) -> int:
    """PPNs (of 20) with the child's voice: 4, 8, 4, 8 ... (20%, 40%) every month."""
    return 4 if i % 2 == 0 else 8


def _incident(iid: str, force: str, lpa: str, la: str, received: pd.Timestamp, thrive: bool, voice: bool):
    return {
        "incident_id": iid,
        "force": force,
        "lpa": lpa,
        "local_authority": la,
        "received_at": received,
        "incident_type": "concern for welfare",
        "grade": 2,
        "vulnerability_identified": True,
        "thrive_completed": thrive,
        "thrive_reassessments": 0,
        "victim_callback": False,
        "arrived_at": received + pd.Timedelta(minutes=10),
        "ppn_submitted_at": received + pd.Timedelta(hours=1),
        "voice_of_child_recorded": voice,
        "child_spoken_to": True,
        "bwv_used": True,
    }


def incidents() -> pd.DataFrame:
    rows = []
    for i, month in enumerate(MONTHS):
        for k in range(PER_MONTH):
            received = pd.Timestamp(f"{month}-{k + 1:02d} 10:00")
            rows.append(
                _incident(
                    f"D{i:02d}-{k:02d}",
                    "Dorset",
                    "East",
                    "BCP Council",
                    received,
                    k < _thrive_done(i),
                    k < _voice_done(i),
                )
            )
    # Wiltshire's data starts 15 months earlier: all forces together start in January 2019.
    rows.append(
        _incident(
            "W01",
            "Wiltshire",
            "Swindon",
            "Swindon Borough Council",
            pd.Timestamp("2019-01-15 10:00"),
            True,
            True,
        )
    )
    return pd.DataFrame(rows)[TABLES["incidents"].column_names]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> DataStore:
    data_dir = tmp_path_factory.mktemp("spc-data")
    write_parquet("incidents", incidents(), data_dir / "incidents" / "part-0.parquet")
    return DataStore(data_dir, SETTINGS)


def _results(store: DataStore, period: Period) -> dict[str, spc.SpcResult]:
    history = kpi_history(store, period, DORSET, SPC_KPIS)
    return kpi_spc(history, SPC_KPIS, SETTINGS, spc.Events())


# THRIVE: baseline = the first 12 months, 80, 85, ... 85: mean 82.5; 11 moving ranges of 5: mR 5.
# Upper limit 82.5 + 2.66 * 5 = 95.8; lower 82.5 - 13.3 = 69.2. March 2022 (100%) is above 95.8.
THRIVE_MEAN, THRIVE_UPPER, THRIVE_LOWER = 82.5, 95.8, 69.2
# Voice: 20, 40, ...: mean 30; mR 20; upper 30 + 53.2 = 83.2; lower 30 - 53.2 = -23.2, shown as 0.0%.
VOICE_MEAN, VOICE_UPPER, VOICE_LOWER = 30.0, 83.2, -23.2
THRIVE_SIGNAL = "It rose above its upper process limit in March 2022 (100.0%; limit 95.8%)."
THRIVE_FAILS = (
    "process limits (69.2% to 95.8%) are both below the target of 100.0%, "
    "so it will not be met without a change."
)
VOICE_FAILS = (
    "Its process limits (0.0% to 83.2%) are both below the target of 90.0%, "
    "so it will not be met without a change."
)


def test_the_extract_gives_the_series_designed(store):
    history = kpi_history(store, Period("2022-01", "2022-03"), DORSET, SPC_KPIS)
    thrive = history[history["kpi_id"] == THRIVE]
    assert list(thrive["month"]) == MONTHS
    assert [float(v) for v in thrive["value"]] == [
        100.0 * _thrive_done(i) / PER_MONTH for i in range(len(MONTHS))
    ]
    voice = history[history["kpi_id"] == VOICE]
    assert [float(v) for v in voice["value"]] == [20.0, 40.0] * 12


# --------------------------------------------------------------------------- history


def test_history_starts_at_the_forces_first_month(store):
    assert history_start(store, DORSET) == "2020-04"
    assert history_start(store, Filters(force="Wiltshire")) == "2019-01"
    assert history_start(store, Filters()) == "2019-01"  # all forces: the earliest of any
    assert history_start(store, Filters(force="Nowhere")) is None


def test_history_period_runs_from_the_first_month_to_the_periods_end(store):
    assert history_period(store, Period("2021-04", "2022-03"), DORSET) == Period("2020-04", "2022-03")
    assert history_period(store, Period("2020-04", "2021-06"), DORSET) == Period("2020-04", "2021-06")
    # A period starting before the data is kept as it is.
    assert history_period(store, Period("2019-06", "2022-03"), DORSET) == Period("2019-06", "2022-03")
    nowhere = Period("2021-04", "2022-03")
    assert history_period(store, nowhere, Filters(force="Nowhere")) == nowhere


@pytest.mark.parametrize("start", ["2019-06", "2020-04", "2020-11", "2021-04", "2022-03"])
def test_changing_from_never_moves_the_limits(store, start):
    results = _results(store, Period(start, "2022-03"))
    thrive = results[THRIVE]
    segment = thrive.segments[-1]
    assert segment.baseline_points == 12 and not segment.is_trial
    assert segment.mean == pytest.approx(THRIVE_MEAN)
    assert segment.mr_mean == pytest.approx(5.0)
    assert segment.upper == pytest.approx(THRIVE_UPPER)
    assert segment.lower == pytest.approx(THRIVE_LOWER)
    assert thrive.signal is not None
    assert (thrive.signal.rule, thrive.signal.month, thrive.signal.value) == (
        "outside_upper",
        "2022-03",
        100.0,
    )
    assert thrive.variation.code == "improvement_high"  # higher is better for a ">=" target
    voice = results[VOICE].segments[-1]
    assert (voice.mean, voice.upper, voice.lower) == pytest.approx((VOICE_MEAN, VOICE_UPPER, VOICE_LOWER))
    assert results[VOICE].signal is None


def test_kpi_spc_applies_step_changes_and_direction(store):
    history = kpi_history(store, Period("2022-01", "2022-03"), DORSET, SPC_KPIS)
    events = spc.Events(step_changes=(spc.StepChange("2020-10", (THRIVE,), "relaunch"),))
    results = kpi_spc(history, SPC_KPIS, Settings(spc_directions={THRIVE: "lower"}), events)
    thrive = results[THRIVE]
    assert [s.start_month for s in thrive.segments] == ["2020-04", "2020-10"]
    assert thrive.direction == "lower"
    assert thrive.signal.variation == "concern"
    assert [s.start_month for s in results[VOICE].segments] == ["2020-04"]  # the step is THRIVE's only
    assert results[VOICE].direction == "neutral"  # no target, no direction set


def test_a_focus_group_absent_from_the_data_gives_no_limits_and_no_exception(store):
    east = kpi_history(store, Period("2021-04", "2022-03"), DORSET, SPC_KPIS, focus=Focus("lpa", "East"))
    assert kpi_spc(east, SPC_KPIS, SETTINGS, spc.Events())[THRIVE].segments[-1].upper == pytest.approx(
        THRIVE_UPPER
    )  # all of Dorset's incidents are East's
    west = kpi_history(store, Period("2021-04", "2022-03"), DORSET, SPC_KPIS, focus=Focus("lpa", "West"))
    results = kpi_spc(west, SPC_KPIS, SETTINGS, spc.Events())
    assert all(not r.has_limits and r.variation.code == "common" for r in results.values())
    assert exceptions(results, SETTINGS, format_value, "2022-03") == []


# --------------------------------------------------------------------------- exceptions


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (-23.2, "pct", 0.0),
        (123.4, "pct", 100.0),
        (55.5, "pct", 55.5),
        (-4.0, "min", 0.0),
        (480.0, "min", 480.0),
        (-0.5, "count", 0.0),
        (250.0, "count", 250.0),
    ],
)
def test_clip_to_unit(value, unit, shown):
    assert clip_to_unit(value, unit) == shown


def test_exception_sentences_in_catalogue_order(store):
    results = _results(store, Period("2021-04", "2022-03"))
    reversed_results = {VOICE: results[VOICE], THRIVE: results[THRIVE]}
    got = exceptions(reversed_results, SETTINGS, format_value, "2022-03")
    assert [e.kpi_id for e in got] == [THRIVE, VOICE]
    thrive, voice = got
    assert thrive.sentence == f"{THRIVE_SIGNAL} Its {THRIVE_FAILS}"
    assert thrive.area == voice.area == "initial_contact"
    assert thrive.variation.code == "improvement_high"
    assert thrive.assurance.code == "fails"
    # The lower limit (-23.2%) is shown as 0.0%: a percentage cannot go below 0.
    assert voice.sentence == VOICE_FAILS
    assert voice.variation.code == "common"
    assert voice.assurance.code == "fails"
    assert thrive.needs_attention and voice.needs_attention


def test_a_signal_before_the_period_end_is_not_this_months_news(store):
    results = _results(store, Period("2021-04", "2022-03"))
    # No targets: only signals can make an exception.
    no_targets = Settings()
    assert exceptions(results, no_targets, format_value, "2022-02") == []
    (only,) = exceptions(results, no_targets, format_value, "2022-03")
    assert only.sentence == THRIVE_SIGNAL
    assert only.assurance is None
    assert not only.needs_attention  # an improvement with no target at risk


def test_a_signal_in_the_last_month_with_data_is_not_news_for_a_later_period_end(store):
    # The data ends in March 2022; the period runs to June, whose months have no value.
    results = _results(store, Period("2022-01", "2022-06"))
    assert results[THRIVE].signal.month == "2022-03"
    got = exceptions(results, SETTINGS, format_value, "2022-06")
    assert [e.sentence for e in got] == [f"Its {THRIVE_FAILS}", VOICE_FAILS]


def test_hit_and_miss_and_meeting_targets(store):
    results = _results(store, Period("2021-04", "2022-03"))
    # Voice limits -23.2 .. 83.2: a target of 50 lies between them; 0 is met (lower clipped to 0 is on it).
    hit_and_miss = Settings(targets={VOICE: Target(50, ">=")})
    (got,) = exceptions({VOICE: results[VOICE]}, hit_and_miss, format_value, "2022-03")
    assert got.sentence == (
        "Its process limits (0.0% to 83.2%) are either side of the target of 50.0%, "
        "so it will be met in some months only."
    )
    assert got.assurance.code == "hit_and_miss" and got.needs_attention
    meets = Settings(targets={VOICE: Target(90, "<=")})
    assert exceptions({VOICE: results[VOICE]}, meets, format_value, "2022-03") == []


def _exception(variation: str, assurance: str | None) -> KpiException:
    return KpiException(
        "k", "a", "s", Status(variation, "v", "t"), None if assurance is None else Status(assurance, "a", "t")
    )


@pytest.mark.parametrize(
    ("variation", "assurance", "attention"),
    [
        ("common", None, False),
        ("common", "meets", False),
        ("common", "fails", True),
        ("common", "hit_and_miss", True),
        ("improvement_high", None, False),
        ("improvement_low", "meets", False),
        ("improvement_high", "hit_and_miss", True),
        ("concern_high", None, True),
        ("concern_low", "meets", True),
        ("neither_high", None, True),
        ("neither_low", "meets", True),
    ],
)
def test_needs_attention(variation, assurance, attention):
    assert _exception(variation, assurance).needs_attention is attention


# --------------------------------------------------------------------------- badges


def _props(component) -> dict:
    return component.to_plotly_json()["props"]


TIP = "The latest month is unusually high."


@pytest.mark.parametrize(
    ("code", "letter", "modifier", "short"),
    [
        ("common", "~", "common", "Common cause"),
        ("improvement_high", "H", "improvement", "Improving (high)"),
        ("improvement_low", "L", "improvement", "Improving (low)"),
        ("concern_high", "H", "concern", "Concern (high)"),
        ("concern_low", "L", "concern", "Concern (low)"),
        ("neither_high", "H", "neither", "Special cause (high)"),
        ("neither_low", "L", "neither", "Special cause (low)"),
    ],
)
def test_variation_badge(code, letter, modifier, short):
    status = Status(code, f"Label of {code}", TIP)
    badge = variation_badge(status)
    icon, words = badge.children
    assert (icon.children, icon.className) == (letter, f"spc-icon spc-{modifier}")
    assert _props(icon)["aria-hidden"] == "true"  # the words say it; the letter is decoration
    assert words == f"Label of {code}"  # the label is a text node: one component fewer a badge
    assert badge.className == "spc-badge"
    assert badge.title == TIP
    assert _props(badge)["aria-label"] == f"Label of {code}. {TIP}"
    assert short_variation_label(status) == short
    compact = variation_badge(status, compact=True)
    assert compact.children[1] == short
    assert _props(compact)["aria-label"] == f"Label of {code}. {TIP}"  # the full words stay for readers


def test_variation_badge_from_the_engine():
    result = xmr([f"2021-{m:02d}" for m in range(1, 13)], [10, 12] * 5 + [11, 40], direction="lower")
    badge = variation_badge(result.variation)
    assert badge.children[0].children == "H"
    assert badge.children[0].className == "spc-icon spc-concern"
    assert badge.children[1] == "Special cause: concerning — high"
    assert badge.title == result.variation.tooltip
    assert "needs attention" in badge.title


@pytest.mark.parametrize(
    ("code", "letter", "modifier"),
    [("meets", "P", "improvement"), ("fails", "F", "concern"), ("hit_and_miss", "?", "neither")],
)
def test_assurance_badge(code, letter, modifier):
    status = Status(code, f"Label of {code}", TIP)
    badge = assurance_badge(status)
    icon, words = badge.children
    assert (icon.children, icon.className) == (letter, f"spc-icon spc-{modifier}")
    assert _props(icon)["aria-hidden"] == "true"
    assert words == f"Label of {code}"  # the label is a text node: one component fewer a badge
    assert badge.title == TIP
    assert _props(badge)["aria-label"] == f"Label of {code}. {TIP}"


def test_no_assurance_gives_no_badge():
    assert assurance_badge(None) is None
    assert assurance_badge(None, compact=True) is None


def test_spc_badges_side_by_side():
    variation = Status("common", "Common cause variation", "No unusual change.")
    both = spc_badges(variation, Status("fails", "Consistently fails target", "Both limits fail."))
    assert "spc-badges" in both.className
    assert [c.children[0].children for c in both.children] == ["~", "F"]
    alone = spc_badges(variation, None)
    assert alone.children[0].children[0].children == "~"
    assert alone.children[1] is None


# --------------------------------------------------------------------------- figures


def _series(months: list[str], values: list) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "month": months,
            "value": values,
            "numerator": [None] * len(months),
            "denominator": [50] * len(months),
        }
    )


def _named(fig, name: str) -> list:
    return [t for t in fig.data if t.name == name]


def _texts(fig) -> list[str]:
    return [a.text for a in fig.layout.annotations]


MONTHS_18 = pd.period_range("2021-01", "2022-06", freq="M").strftime("%Y-%m").tolist()
# Baseline 50, 52, ... : mean 51, mR 2, limits 45.68 .. 56.32. 60 in Jan 2022 is above, 40 in Mar below.
SPECIAL_VALUES = [50.0, 52.0] * 6 + [60.0, 51.0, 40.0, 51.0, 50.0, 52.0]


def test_trend_has_mean_limits_and_special_causes_at_their_months():
    result = xmr(MONTHS_18, SPECIAL_VALUES, direction="higher")
    fig = figures.trend_figure(_series(MONTHS_18, SPECIAL_VALUES), title="t", unit="pct", spc=result.frame)
    (mean,) = _named(fig, "Mean")
    assert list(mean.y) == pytest.approx([51.0] * 18)
    upper, lower = _named(fig, "Process limits")
    assert list(upper.y) == pytest.approx([56.32] * 18)
    assert list(lower.y) == pytest.approx([45.68] * 18)
    assert upper.showlegend and not lower.showlegend  # one legend entry for both limits
    assert not _named(fig, "Process limits (trial)")
    (improvement,) = _named(fig, "Special cause: improvement")
    assert [pd.Timestamp(x) for x in improvement.x] == [pd.Timestamp("2022-01-01")]
    assert list(improvement.y) == [60.0]
    assert "above the upper process limit" in improvement.customdata[0]
    (concern,) = _named(fig, "Special cause: concern")
    assert [pd.Timestamp(x) for x in concern.x] == [pd.Timestamp("2022-03-01")]
    assert list(concern.y) == [40.0]
    assert not _named(fig, "Special cause: neither")


def test_special_causes_of_a_neutral_measure_are_neither():
    result = xmr(MONTHS_18, SPECIAL_VALUES, direction="neutral")
    fig = figures.trend_figure(_series(MONTHS_18, SPECIAL_VALUES), title="t", unit="count", spc=result.frame)
    (neither,) = _named(fig, "Special cause: neither")
    assert [pd.Timestamp(x) for x in neither.x] == [pd.Timestamp("2022-01-01"), pd.Timestamp("2022-03-01")]
    assert list(neither.y) == [60.0, 40.0]
    assert not _named(fig, "Special cause: improvement") and not _named(fig, "Special cause: concern")


def test_only_the_months_shown_are_drawn():
    result = xmr(MONTHS_18, SPECIAL_VALUES, direction="higher")
    shown = _series(MONTHS_18[12:], SPECIAL_VALUES[12:])  # limits from all 18 months, 6 on screen
    fig = figures.trend_figure(shown, title="t", unit="pct", spc=result.frame)
    (mean,) = _named(fig, "Mean")
    assert len(mean.x) == 6 and list(mean.y) == pytest.approx([51.0] * 6)
    (improvement,) = _named(fig, "Special cause: improvement")
    assert list(improvement.y) == [60.0]


def test_percentage_limits_are_clipped_to_0_and_100():
    values = [10.0, 90.0] * 9  # mean 50, mR 80: limits 50 ± 212.8
    result = xmr(MONTHS_18, values)
    fig = figures.trend_figure(_series(MONTHS_18, values), title="t", unit="pct", spc=result.frame)
    upper, lower = _named(fig, "Process limits")
    assert list(upper.y) == [100.0] * 18
    assert list(lower.y) == [0.0] * 18
    counts = figures.trend_figure(_series(MONTHS_18, values), title="t", unit="count", spc=result.frame)
    upper, lower = _named(counts, "Process limits")
    assert list(upper.y) == pytest.approx([262.8] * 18)  # a count has no ceiling
    assert list(lower.y) == [0.0] * 18


def test_trial_limits_are_named_trial_and_dotted():
    months, values = MONTHS_18[:8], SPECIAL_VALUES[:8]
    result = xmr(months, values)
    assert result.is_trial
    fig = figures.trend_figure(_series(months, values), title="t", unit="pct", spc=result.frame)
    limits = _named(fig, "Process limits (trial)")
    assert len(limits) == 2 and all(t.line.dash == "dot" for t in limits)
    assert not _named(fig, "Process limits")


def test_only_the_trial_segment_has_trial_limits():
    # A step change in Jan 2022: 12 baseline months before it (full limits), 6 after it (trial limits).
    result = xmr(MONTHS_18, SPECIAL_VALUES, step_changes=["2022-01"])
    assert [s.is_trial for s in result.segments] == [False, True]
    fig = figures.trend_figure(
        _series(MONTHS_18, SPECIAL_VALUES),
        title="t",
        unit="pct",
        spc=result.frame,
        step_changes=[("2022-01", "New process")],
    )
    limits = [t for t in fig.data if t.name and t.name.startswith("Process limits")]
    assert [(t.name, t.line.dash, len(t.x)) for t in limits] == [
        ("Process limits", "dash", 12),
        ("Process limits", "dash", 12),
        ("Process limits (trial)", "dot", 6),
        ("Process limits (trial)", "dot", 6),
    ]


def test_annotations_only_within_the_months_shown_and_neighbours_at_different_heights():
    result = xmr(MONTHS_18, SPECIAL_VALUES)
    shown = _series(MONTHS_18[3:15], SPECIAL_VALUES[3:15])  # 2021-04 .. 2022-03
    annotations = [
        ("2021-02", "Before"),
        ("2021-04", "Inspection visit"),
        ("2021-05", "Gold group formed"),
        ("2021-06", "Third"),
        ("2022-03", "Last"),
        ("2022-05", "After"),
    ]
    fig = figures.trend_figure(shown, title="t", unit="pct", spc=result.frame, annotations=annotations)
    labels = {a.text: a for a in fig.layout.annotations if a.yref == "paper" and a.text != "t"}
    assert set(labels) == {"Inspection visit", "Gold group formed", "Third", "Last"}
    heights = [labels[name].y for name in ("Inspection visit", "Gold group formed", "Third", "Last")]
    assert all(a != b for a, b in itertools.pairwise(heights))
    lines = [pd.Timestamp(s.x0) for s in fig.layout.shapes if s.type == "line"]
    assert lines == [pd.Timestamp(f"{m}-01") for m in ("2021-04", "2021-05", "2021-06", "2022-03")]


def test_a_step_change_is_drawn_as_limits_recalculated():
    result = xmr(MONTHS_18, SPECIAL_VALUES, step_changes=["2021-10"])
    fig = figures.trend_figure(
        _series(MONTHS_18, SPECIAL_VALUES),
        title="t",
        unit="pct",
        spc=result.frame,
        step_changes=[("2021-10", "THRIVE policy relaunch")],
    )
    (label,) = [a for a in fig.layout.annotations if a.text == "Limits recalculated"]
    assert pd.Timestamp(label.x) == pd.Timestamp("2021-10-01")
    assert label.hovertext == "THRIVE policy relaunch"
    (line,) = [s for s in fig.layout.shapes if s.type == "line"]
    assert pd.Timestamp(line.x0) == pd.Timestamp("2021-10-01") and line.line.dash == "solid"
    means = _named(fig, "Mean")
    assert len(means) == 2  # one step of the mean per segment
    assert [t.showlegend for t in means] == [True, False]
    assert pd.Timestamp(means[1].x[0]) == pd.Timestamp("2021-10-01")
    # The second segment has only 9 months: its limits are trial limits.
    assert _named(fig, "Process limits (trial)")


def test_highlight_month_is_shaded():
    result = xmr(MONTHS_18, SPECIAL_VALUES)
    fig = figures.trend_figure(
        _series(MONTHS_18, SPECIAL_VALUES), title="t", unit="pct", spc=result.frame, highlight_month="2021-06"
    )
    (rect,) = [s for s in fig.layout.shapes if s.type == "rect"]
    assert pd.Timestamp(rect.x0) < pd.Timestamp("2021-06-01") < pd.Timestamp(rect.x1)


def test_an_empty_series_gives_the_empty_figure_even_with_spc():
    result = xmr(MONTHS_18, SPECIAL_VALUES)
    for series in (_series([], []), _series(MONTHS_18[:3], [None, None, math.nan])):
        fig = figures.trend_figure(
            series, title="t", unit="pct", spc=result.frame, annotations=[("2021-02", "Event")]
        )
        assert any(figures.EMPTY_MESSAGE in (text or "") for text in _texts(fig))
        assert not fig.data


def test_breakdown_bar_highlights_only_the_focus_group():
    frame = pd.DataFrame(
        {
            "group": ["East", "West", "North"],
            "value": [97.0, 91.0, 95.0],
            "numerator": [1, 1, 1],
            "denominator": [9, 12, 10],
        }
    )
    fig = figures.breakdown_bar(frame, title="By LPA", unit="pct", highlight_group="North")
    assert list(fig.data[0].y) == ["West", "North", "East"]
    assert list(fig.data[0].marker.color) == [figures.ACCENT, figures.FOCUS_COLOUR, figures.ACCENT]
    plain = figures.breakdown_bar(frame, title="By LPA", unit="pct")
    assert list(plain.data[0].marker.color) == [figures.ACCENT] * 3
    absent = figures.breakdown_bar(frame, title="By LPA", unit="pct", highlight_group="South")
    assert list(absent.data[0].marker.color) == [figures.ACCENT] * 3
    grades = pd.DataFrame({"group": [1, 2], "value": [5.0, 6.0], "numerator": [1, 1], "denominator": [2, 2]})
    numeric = figures.breakdown_bar(grades, title="By grade", unit="pct", highlight_group="2")
    assert list(numeric.data[0].marker.color) == [figures.ACCENT, figures.FOCUS_COLOUR]


# --------------------------------------------------------------------------- page helpers


@pytest.fixture(scope="module")
def area_page(store, tmp_path_factory):
    """ui.area_page, the app's store pointed at the tiny extract with a THRIVE target of 97 (a setting)."""
    from ui import area_page, state

    settings = tmp_path_factory.mktemp("spc-settings") / "settings.toml"
    settings.write_text('[targets]\nthrive_completion_pct = { target = 97, comparison = ">=" }\n')
    state.configure(store.data_dir, settings_path=settings)
    return area_page


def _filter_state():
    from ui.filters import FilterState

    return FilterState("2021-04", "2022-03", "Dorset")


def test_page_focus_from_data(area_page):
    page_focus = area_page.PageFocus
    for empty in (None, {}):
        focus = page_focus.from_data(empty)
        assert focus == page_focus() and focus.is_empty() and focus.group is None and focus.words() == ""
        assert focus.period(_filter_state()) == Period("2021-04", "2022-03")
    month = page_focus.from_data({"month": "2022-03", "column": None, "value": None})
    assert not month.is_empty() and month.group is None
    assert month.period(_filter_state()) == Period("2022-03", "2022-03")
    assert month.words() == "Mar 2022"
    both = page_focus.from_data({"month": "2022-03", "column": "lpa", "value": "East"})
    assert both.group == Focus("lpa", "East")
    assert both.words() == "LPA East · Mar 2022"
    group = page_focus(column="incident_type", value="online abuse")
    assert not group.is_empty() and group.period(_filter_state()) == Period("2021-04", "2022-03")
    assert group.words() == "incident type online abuse"
    assert page_focus(column="lpa").group is None  # a column without a value narrows nothing


def test_click_to_focus(area_page):
    page_focus, click_to_focus = area_page.PageFocus, area_page.click_to_focus
    current = page_focus(column="lpa", value="East")
    trend_click = {"points": [{"x": "2022-03-01", "y": 96.5}]}
    assert click_to_focus(trend_click, None, current) == page_focus("2022-03", "lpa", "East")
    bar_click = {"points": [{"x": 91.0, "y": "West"}]}
    assert click_to_focus(bar_click, "lpa", page_focus("2022-03")) == page_focus("2022-03", "lpa", "West")
    assert click_to_focus({"points": [{"x": 4.0, "y": 2}]}, "grade", page_focus()) == page_focus(
        None, "grade", "2"
    )


@pytest.mark.parametrize(
    ("click", "column"),
    [
        (None, None),
        ({}, None),
        ({"points": []}, None),
        ({"points": [{}]}, None),
        ({"points": [{"x": None}]}, None),
        ({"points": [{"x": "2022-13-01"}]}, None),
        ({"points": [{"x": "2022-13"}]}, None),
        ({"points": [{"x": "not a month"}]}, None),
        ({"points": [{"x": 91.0}]}, "lpa"),
        (None, "lpa"),
    ],
)
def test_a_malformed_click_keeps_the_focus(area_page, click, column):
    current = area_page.PageFocus("2021-06", "lpa", "East")
    assert area_page.click_to_focus(click, column, current) == current


def _cells(row) -> list[str]:
    return [cell.children for cell in row.children]


def test_numbers_table_by_month(area_page):
    frame = pd.DataFrame(
        {
            "month": ["2022-01", "2022-02"],
            "value": [80.0, None],
            "numerator": [16, None],
            "denominator": [20, 0],
        }
    )
    table = area_page.numbers_table(frame, first="month", first_label="Month", unit="pct")
    head, body = table.children
    assert _cells(head.children) == ["Month", "Value", "Numerator", "Denominator (n)"]
    assert [c.scope for c in head.children.children] == ["col"] * 4
    assert [_cells(r) for r in body.children] == [
        ["Jan 2022", "80.0%", "16", "20"],
        ["Feb 2022", "no data", "no data", "0"],
    ]
    assert body.children[0].children[0].scope == "row"


def test_numbers_table_by_group_without_numerator(area_page):
    frame = pd.DataFrame(
        {
            "group": ["East", "West"],
            "value": [12.0, 7.0],
            "numerator": [None, None],
            "denominator": [None, None],
        }
    )
    table = area_page.numbers_table(frame, first="group", first_label="LPA", unit="count")
    head, body = table.children
    assert _cells(head.children) == ["LPA", "Value"]
    assert [_cells(r) for r in body.children] == [["East", "12"], ["West", "7"]]
    # A count's numerator is not shown even when present.
    counted = frame.assign(numerator=[12, 7])
    head, _ = area_page.numbers_table(counted, first="group", first_label="LPA", unit="count").children
    assert _cells(head.children) == ["LPA", "Value"]


def test_numbers_table_empty_state(area_page):
    empty = pd.DataFrame(columns=["month", "value", "numerator", "denominator"])
    shown = area_page.numbers_table(empty, first="month", first_label="Month", unit="pct")
    assert shown.children == figures.EMPTY_MESSAGE


def _text(component) -> str:
    """Every string inside a Dash component tree, joined."""
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(_text(c) for c in component)
    return _text(getattr(component, "children", None))


def _terms(definition: list) -> dict[str, str]:
    """The definition list's terms, ``{"Source": "incidents", ...}``."""
    dl = next(c for c in definition if type(c).__name__ == "Dl")
    terms = dl.children
    return {
        _text(dt): _text(dd)
        for dt, dd in zip(terms[0::2], terms[1::2], strict=True)
        if type(dt).__name__ == "Dt"
    }


def test_definition_text(area_page):
    definition = area_page.definition_text(THRIVE)
    assert catalog().kpis[THRIVE].definition in _text(definition)
    terms = _terms(definition)
    assert "incidents" in terms["Source"]
    assert "≥ 97" in terms["Target"]  # the configured settings' target, not the default 100
    assert terms["KPI id"] == THRIVE
    assert terms["Period"]
    assert "None set" in _terms(area_page.definition_text("incidents"))["Target"]


def test_numbers_table_shows_a_ratio_denominator_as_used(area_page):
    frame = pd.DataFrame(
        {"group": ["East"], "value": [757 / 15.1], "numerator": [757.0], "denominator": [15.1]}
    )
    table = area_page.numbers_table(frame, first="group", first_label="Team", unit="ratio")
    _head, body = table.children
    cells = [cell.children for cell in body.children[0].children]
    assert cells == ["East", "50.1", "757", "15.1"]
