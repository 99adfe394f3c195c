"""The SPC engine (XmR, the four rules, variation and assurance) and the events loader, on hand-worked series.

Every expected number is worked by hand in a comment, never by calling the engine.
Most series start from BASE, twelve months alternating 12, 10:
    mean = (6 × 12 + 6 × 10) / 12 = 11
    moving ranges: eleven of |12 − 10| = 2, mean mR = 2
    process limits = 11 ± 2.66 × 2 = 11 ± 5.32 -> 16.32 and 5.68
    two-sigma lines = 11 ± (2 / 3 × 2.66) × 2 = 11 ± 10.64 / 3 = 11 ± 3.54666… -> 14.54666… and 7.45333…
It alternates sides of the mean and direction, so on its own it fires no rule.
BASE3 (rule 4 and the two-sigma factor) alternates 51.5, 48.5:
    mean = 600 / 12 = 50, eleven moving ranges of 3, mean mR = 3
    process limits = 50 ± 2.66 × 3 = 50 ± 7.98 -> 57.98 and 42.02
    two-sigma lines = 50 ± (2 / 3 × 2.66) × 3 = 50 ± 2 × 2.66 = 50 ± 5.32 -> 55.32 and 44.68
"""

from __future__ import annotations

import math
import pickle

import pytest

from kpi.spc import (
    LIMIT_FACTOR,
    RULE_COLUMNS,
    TWO_SIGMA_FACTOR,
    EventsError,
    SpcError,
    assurance,
    load_events,
    month_name,
    xmr,
)
from queries.kpis import catalog

BASE = [12.0, 10.0] * 6  # ends on 10 (below the mean)
BASE_ENDS_HIGH = [10.0, 12.0] * 6  # the same limits, ends on 12 (above the mean)
BASE3 = [51.5, 48.5] * 6  # mean 50, mR 3; ends on 48.5 (below the mean)
BASE3_ENDS_HIGH = [48.5, 51.5] * 6  # the same limits, ends on 51.5 (above the mean)


def months(n: int, start: str = "2021-01") -> list[str]:
    year, month = int(start[:4]), int(start[5:])
    out = []
    for k in range(n):
        index = year * 12 + month - 1 + k
        out.append(f"{index // 12:04d}-{index % 12 + 1:02d}")
    return out


def chart(values, **options):
    return xmr(months(len(values)), values, **options)


def flagged(result, rule: str) -> list[int]:
    """Positions (0-based) flagged by ``rule``."""
    return [i for i, hit in enumerate(result.frame[rule]) if hit]


def specials(result) -> list[int]:
    return [i for i, hit in enumerate(result.frame["special"]) if hit]


# --------------------------------------------------------------------------- limits


def test_limits_on_a_small_series_are_trial():
    # 10, 12, 11, 13, 12: mean = 58 / 5 = 11.6; mR = 2, 1, 2, 1 -> mean 1.5
    # limits 11.6 ± 2.66 × 1.5 = 11.6 ± 3.99 -> 15.59, 7.61; two sigma 11.6 ± (2 / 3 × 2.66) × 1.5
    # = 11.6 ± 2.66 -> 14.26, 8.94
    result = chart([10, 12, 11, 13, 12])
    frame = result.frame
    assert list(frame["mr"].iloc[1:]) == [2, 1, 2, 1] and math.isnan(frame["mr"].iloc[0])
    assert frame["mean"].iloc[0] == pytest.approx(11.6)
    assert frame["upper"].iloc[0] == pytest.approx(15.59)
    assert frame["lower"].iloc[0] == pytest.approx(7.61)
    assert frame["upper_2s"].iloc[0] == pytest.approx(14.26)
    assert frame["lower_2s"].iloc[0] == pytest.approx(8.94)
    assert result.is_trial and frame["is_trial"].all()
    assert result.segments[0].baseline_points == 5
    assert result.variation.code == "common" and result.signal is None


def test_base_limits_and_frame_shape():
    result = chart(BASE)
    seg = result.segments[0]
    assert (seg.mean, seg.mr_mean) == pytest.approx((11, 2))
    assert (seg.upper, seg.lower, seg.upper_2s, seg.lower_2s) == pytest.approx(
        (16.32, 5.68, 43.64 / 3, 22.36 / 3)
    )
    assert not result.is_trial and not seg.is_trial
    assert specials(result) == []
    for rule in (*RULE_COLUMNS, "special", "is_trial"):
        assert result.frame[rule].dtype == bool
    assert result.frame["variation"].tolist() == [None] * 12


def test_lower_limit_is_not_clipped():
    # 1, 5, 1, 5: mean 3, mR 4 -> lower = 3 − 10.64 = −7.64 (below zero, kept raw)
    assert chart([1, 5, 1, 5]).segments[0].lower == pytest.approx(-7.64)


def test_baseline_is_the_first_12_points_and_later_points_do_not_move_the_limits():
    # BASE then 11, 11, 40: the limits stay 16.32 / 5.68; 40 is outside the upper limit
    result = chart([*BASE, 11, 11, 40])
    assert result.frame["upper"].tolist() == pytest.approx([16.32] * 15)
    assert result.frame["lower"].tolist() == pytest.approx([5.68] * 15)
    assert flagged(result, "outside_upper") == [14]
    # a missing first month: the baseline is the first 12 months *with a value*, so the mean stays 11
    gap_first = chart([None, *BASE, 40])
    assert gap_first.segments[0].mean == pytest.approx(11)
    assert gap_first.segments[0].baseline_points == 12
    assert flagged(gap_first, "outside_upper") == [13]


# --------------------------------------------------------------------------- rule 1


def test_rule1_a_point_exactly_on_a_limit_is_inside():
    assert specials(chart([*BASE, 16.32])) == []  # exactly on the upper limit
    assert specials(chart([*BASE_ENDS_HIGH, 5.68])) == []  # exactly on the lower limit
    above = chart([*BASE, 16.33])
    assert flagged(above, "outside_upper") == [12]
    below = chart([*BASE_ENDS_HIGH, 5.67])
    assert flagged(below, "outside_lower") == [12]
    assert below.signal.rule == "outside_lower" and below.signal.reference == pytest.approx(5.68)


# --------------------------------------------------------------------------- rule 2


def test_rule2_run_of_6_does_not_fire_with_run_length_7_but_7_does():
    # BASE ends on 10 (below), so the run above the mean (11) is only the 11.5s
    six = [*BASE, *[11.5] * 6]
    assert flagged(chart(six, run_length=7), "run_above") == []
    seven = chart([*BASE, *[11.5] * 7], run_length=7)
    assert flagged(seven, "run_above") == list(range(12, 19))  # every point of the run, not only the 7th
    assert seven.signal.rule == "run_above"
    assert (seven.signal.length, seven.signal.start_month) == (7, "2022-01")
    assert seven.signal.reference == pytest.approx(11)


def test_rule2_run_length_6():
    assert flagged(chart([*BASE, *[11.5] * 6], run_length=6), "run_above") == list(range(12, 18))
    assert flagged(chart([*BASE, *[11.5] * 5], run_length=6), "run_above") == []


def test_rule2_run_below():
    # BASE_ENDS_HIGH ends on 12 (above), so the run below is the seven 10.5s
    result = chart([*BASE_ENDS_HIGH, *[10.5] * 7])
    assert flagged(result, "run_below") == list(range(12, 19))


def test_rule2_a_point_exactly_on_the_mean_breaks_a_run():
    # 3 above, one on the mean (11), 4 above: runs of 3 and 4, not 8
    result = chart([*BASE, 11.5, 11.5, 11.5, 11, 11.5, 11.5, 11.5, 11.5])
    assert specials(result) == []


# --------------------------------------------------------------------------- rule 3


RISE_7 = [10.5, 11.5, 12, 12.5, 13, 13.5]  # after BASE's final 10: 10 < 10.5 < ... < 13.5 = 7 points


def test_rule3_trend_of_7_points_is_6_rises():
    # above the mean: 11.5 .. 13.5 = 5 points (no run); none beyond 14.54 (no rule 4)
    result = chart([*BASE, *RISE_7], run_length=7)
    assert flagged(result, "trend_up") == list(range(11, 18))  # from BASE's last point (10) on
    assert specials(result) == list(range(11, 18))
    assert result.signal.rule == "trend_up"
    assert (result.signal.length, result.signal.start_month, result.signal.reference) == (7, "2021-12", 10)


def test_rule3_six_points_need_run_length_6():
    six = [*BASE, *RISE_7[:5]]  # 10, 10.5, 11.5, 12, 12.5, 13: 6 points, 5 rises
    assert specials(chart(six, run_length=7)) == []
    assert flagged(chart(six, run_length=6), "trend_up") == list(range(11, 17))


def test_rule3_equal_consecutive_values_break_a_trend():
    # 10, 10.5, 11.5 | 11.5, 12, 12.5, 13, 13.5: trends of 3 and 5 points; run above 11.5..13.5 = 6 < 7
    result = chart([*BASE, 10.5, 11.5, 11.5, 12, 12.5, 13, 13.5])
    assert specials(result) == []


def test_rule3_trend_down_and_a_peak_takes_the_side_of_the_trend_ending_there():
    # 10 (BASE's last), 10.5, 11, 11.5, 12, 12.5 rise (6 points), then 12, 11.5, 11, 10.5, 10 fall (6 points
    # with the peak). Run above: 11.5, 12, 12.5, 12, 11.5 = 5 < 6.
    values = [*BASE, 10.5, 11, 11.5, 12, 12.5, 12, 11.5, 11, 10.5, 10]
    result = chart(values, run_length=6, direction="higher")
    assert flagged(result, "trend_up") == list(range(11, 17))
    assert flagged(result, "trend_down") == list(range(16, 22))
    frame = result.frame
    assert frame["side"].iloc[16] == "high"  # the peak ends a rise
    assert frame["side"].iloc[15] == "high" and frame["side"].iloc[17] == "low"
    assert frame["variation"].iloc[16] == "improvement" and frame["variation"].iloc[17] == "concern"
    assert result.signal.rule == "trend_down"
    assert (result.signal.length, result.signal.reference, result.signal.value) == (6, 12.5, 10)
    assert result.variation.code == "concern_low"


# --------------------------------------------------------------------------- rule 4


def test_two_sigma_factor_is_two_thirds_of_2_66_exactly():
    # 2 / 3 × 2.66 = 1.77333…, not 1.77
    assert LIMIT_FACTOR == 2.66
    assert abs(TWO_SIGMA_FACTOR - 5.32 / 3) < 1e-15
    seg = chart(BASE3).segments[0]
    assert (seg.mean, seg.mr_mean) == (50, 3)
    assert abs(seg.upper_2s - (50 + 5.32)) < 1e-12  # 50 + 1.77333… × 3
    assert abs(seg.lower_2s - (50 - 5.32)) < 1e-12
    assert abs(seg.upper - 57.98) < 1e-12 and abs(seg.lower - 42.02) < 1e-12


def test_two_sigma_boundary_between_1_77_and_the_exact_factor():
    # with 1.77 the upper line would be 50 + 5.31 = 55.31 and 55.315 beyond it; the exact line is 55.32
    assert specials(chart([*BASE3_ENDS_HIGH, 55.315, 51, 55.315])) == []
    assert flagged(chart([*BASE3_ENDS_HIGH, 55.325, 51, 55.325]), "two_of_three_upper") == [12, 14]
    # low side: 1.77 would give 44.69 (44.685 beyond); the exact line is 44.68
    assert specials(chart([*BASE3, 44.685, 49, 44.685])) == []
    assert flagged(chart([*BASE3, 44.675, 49, 44.675]), "two_of_three_lower") == [12, 14]


def test_rule4_two_of_three_beyond_two_sigma_flags_only_those_beyond():
    # upper two sigma 14.54666…: 14.6 and 14.6 are beyond, 12 (above the mean, inside 2σ) is not
    result = chart([*BASE, 14.6, 12, 14.6])
    assert flagged(result, "two_of_three_upper") == [12, 14]
    assert specials(result) == [12, 14]
    assert result.signal.rule == "two_of_three_upper"
    assert result.signal.length == 2 and result.signal.start_month == "2022-01"
    assert result.signal.reference == pytest.approx(43.64 / 3)
    low = chart([*BASE_ENDS_HIGH, 7.4, 10, 7.4])  # lower two sigma 7.45333…; 10 is below the mean
    assert flagged(low, "two_of_three_lower") == [12, 14]
    # issue 11: a middle point exactly on the mean (11) is on neither side, so the window no longer signals
    assert specials(chart([*BASE, 14.6, 11, 14.6])) == []
    assert specials(chart([*BASE_ENDS_HIGH, 7.4, 11, 7.4])) == []


def test_rule4_exactly_on_two_sigma_is_not_beyond():
    on_upper, on_lower = 43.64 / 3, 22.36 / 3  # 11 ± 10.64 / 3
    assert specials(chart([*BASE, on_upper, 12, on_upper])) == []
    assert specials(chart([*BASE, on_upper, 12, 14.6])) == []  # only one beyond
    assert specials(chart([*BASE_ENDS_HIGH, on_lower, 10, 7.4])) == []
    assert specials(chart([*BASE3_ENDS_HIGH, 55.32, 51, 55.32])) == []  # 50 + 5.32
    assert specials(chart([*BASE3, 44.68, 49, 44.68])) == []  # 50 − 5.32


def test_rule4_a_point_on_the_other_side_of_the_mean_spoils_the_window():
    # BASE3 ends on 48.5 (below the mean 50), so the window 48.5, 55.5, 55.5 is spoiled too.
    # 55.5 > 55.32 (beyond upper 2σ) but < 57.98 (inside the limit); 49 and 44 are below the mean.
    assert specials(chart([*BASE3, 55.5, 55.5, 49])) == []  # the third point below the mean
    assert specials(chart([*BASE3, 55.5, 49, 55.5])) == []  # the middle point below the mean
    assert specials(chart([*BASE3, 55.5, 44, 55.5])) == []  # 44 is beyond the *lower* 2σ: one each side
    assert specials(chart([*BASE3, 55.5, 50, 55.5])) == []  # exactly on the mean is on neither side
    # the low mirror: BASE3_ENDS_HIGH ends on 51.5 (above the mean)
    assert specials(chart([*BASE3_ENDS_HIGH, 44.5, 44.5, 51])) == []
    assert specials(chart([*BASE3_ENDS_HIGH, 44.5, 51, 44.5])) == []
    assert specials(chart([*BASE3_ENDS_HIGH, 44.5, 56, 44.5])) == []  # 56 beyond upper 2σ, < 57.98


def test_rule4_still_signals_when_the_third_point_is_on_the_same_side_inside_two_sigma():
    # 51 and 52 are above the mean 50 but inside 55.32
    middle = chart([*BASE3, 55.5, 51, 55.5], direction="higher")
    assert flagged(middle, "two_of_three_upper") == [12, 14] and specials(middle) == [12, 14]
    assert middle.signal.rule == "two_of_three_upper" and middle.signal.length == 2
    assert middle.signal.start_month == "2022-01" and abs(middle.signal.reference - 55.32) < 1e-12
    assert middle.variation.code == "improvement_high"
    # the two beyond first: the window 55.5, 55.5, 51 signals (48.5, 55.5, 55.5 does not); 51 is not flagged,
    # so the latest month is common cause
    last = chart([*BASE3, 55.5, 55.5, 51])
    assert flagged(last, "two_of_three_upper") == [12, 13] and last.signal is None
    # all three beyond: every point flagged, length 3
    three = chart([*BASE3, 55.5, 56, 55.6])
    assert flagged(three, "two_of_three_upper") == [12, 13, 14] and three.signal.length == 3
    # with BASE3_ENDS_HIGH the window 51.5, 55.5, 55.5 is on one side, so the two 55.5s signal
    assert flagged(chart([*BASE3_ENDS_HIGH, 55.5, 55.5, 49]), "two_of_three_upper") == [12, 13]


def test_rule4_low_side_mirror():
    # 44.5 < 44.68 (beyond lower 2σ) but > 42.02; 49 and 48 are below the mean 50, inside 44.68
    result = chart([*BASE3_ENDS_HIGH, 44.5, 49, 44.5], direction="higher")
    assert flagged(result, "two_of_three_lower") == [12, 14] and specials(result) == [12, 14]
    assert flagged(result, "two_of_three_upper") == []
    assert result.signal.rule == "two_of_three_lower" and result.signal.length == 2
    assert abs(result.signal.reference - 44.68) < 1e-12
    assert result.variation.code == "concern_low"
    assert flagged(chart([*BASE3_ENDS_HIGH, 44.5, 44.5, 48]), "two_of_three_lower") == [12, 13]
    # the window 48.5, 44.5, 44.5 is on one side (BASE3 ends below the mean)
    assert flagged(chart([*BASE3, 44.5, 44.5, 51]), "two_of_three_lower") == [12, 13]


def test_rule4_windows_and_missing_months():
    # BASE3 ends on 48.5 (below): the only window of three consecutive months holding both 55.5s is
    # 48.5, 55.5, 55.5 (spoiled); the gap stops 55.5, 55.5, –, 51 being one
    assert specials(chart([*BASE3, 55.5, 55.5, None, 51])) == []
    # BASE3_ENDS_HIGH ends on 51.5 (above): 51.5, 55.5, 55.5 signals before the gap
    before_gap = chart([*BASE3_ENDS_HIGH, 55.5, 55.5, None, 51])
    assert flagged(before_gap, "two_of_three_upper") == [12, 13]
    assert before_gap.signal is None  # the latest month (51) is common cause
    # a gap between the two beyond points: 51.5, 55.5 | 55.5, 51 — no window of three holds both
    assert specials(chart([*BASE3_ENDS_HIGH, 55.5, None, 55.5, 51])) == []
    # a gap does not hide a point on the other side: after it, 49 spoils 55.5, 49, 55.5
    assert specials(chart([*BASE3_ENDS_HIGH, 51, None, 55.5, 49, 55.5])) == []
    # after a gap a fresh window on one side signals: 51, 55.5, 55.5
    after_gap = chart([*BASE3, None, 51, 55.5, 55.5])
    assert flagged(after_gap, "two_of_three_upper") == [14, 15]
    assert after_gap.signal.rule == "two_of_three_upper" and after_gap.signal.start_month == "2022-02"


def test_rule4_signal_sentence():
    result = chart([*BASE3, 55.5, 51, 55.5])
    assert result.signal.describe("Open cases") == (
        "Open cases was unusually high in 2 of the 3 months to March 2022 (55.5; two-sigma line 55.3)"
    )


# --------------------------------------------------------------------------- direction


@pytest.mark.parametrize(
    ("direction", "high", "low"),
    [
        ("higher", "improvement_high", "concern_low"),
        ("lower", "concern_high", "improvement_low"),
        ("neutral", "neither_high", "neither_low"),
    ],
)
def test_improvement_or_concern_follows_the_direction(direction, high, low):
    up = chart([*BASE, 17], direction=direction)  # 17 > 16.32
    down = chart([*BASE, 5], direction=direction)  # 5 < 5.68
    assert up.variation.code == high and down.variation.code == low
    assert up.frame["variation"].iloc[12] == high.split("_")[0]
    assert up.signal.variation == high.split("_")[0] and up.signal.side == "high"
    assert up.variation.label.startswith("Special cause: ") and up.variation.label.endswith("— high")
    assert up.variation.tooltip.endswith(".")


def test_variation_labels_are_plain_english():
    assert chart([*BASE, 17], direction="lower").variation.label == "Special cause: concerning — high"
    assert chart([*BASE, 17], direction="higher").variation.label == "Special cause: improving — high"
    assert chart(BASE).variation.label == "Common cause variation"


def test_rule1_outranks_an_opposite_trend():
    # seven falling points all above the upper limit 16.32: outside_upper and trend_down (and run_above);
    # rule 1 (high) outranks rule 3 (low), so every point is high
    result = chart([*BASE, 40, 35, 30, 25, 22, 20, 17], direction="higher", run_length=7)
    assert flagged(result, "trend_down") == list(range(12, 19))
    assert flagged(result, "outside_upper") == list(range(12, 19))
    assert set(result.frame["side"].iloc[12:]) == {"high"}
    assert result.signal.rule == "outside_upper" and result.variation.code == "improvement_high"


def test_signal_sentence():
    result = chart([*BASE, 17], direction="lower")
    text = result.signal.describe("AA delay (median)", lambda v: f"{v:.0f} min")
    assert (
        text == "AA delay (median) rose above its upper process limit in January 2022 (17 min; limit 16 min)"
    )
    assert month_name("2022-03") == "March 2022"


# --------------------------------------------------------------------------- trial limits and step changes


def test_trial_limits_with_fewer_than_12_points_still_signal():
    # 7 points, all in the (trial) baseline, 20 included: mean = 86 / 7 = 12.2857;
    # mR = 2, 2, 2, 2, 2, 8 -> 18 / 6 = 3; upper = 12.2857 + 2.66 × 3 = 20.2657, so 20 is inside
    result = chart([10, 12, 10, 12, 10, 12, 20], direction="higher")
    assert result.is_trial and result.segments[0].baseline_points == 7
    assert result.segments[0].upper == pytest.approx(86 / 7 + 7.98)
    assert specials(result) == [] and result.variation.code == "common"
    # trial limits still signal: 10, 12 × 4 then 30 (9 points): mean = (4 × 22 + 30) / 9 = 118 / 9 = 13.111;
    # mR = seven 2s and 18 -> 32 / 8 = 4; upper = 13.111 + 10.64 = 23.751 < 30
    outside = chart([*[10, 12] * 4, 30], direction="higher")
    assert outside.is_trial and outside.segments[0].upper == pytest.approx(118 / 9 + 10.64)
    assert flagged(outside, "outside_upper") == [8]
    assert outside.variation.code == "improvement_high"
    assert outside.variation.tooltip.startswith("Provisional (limits from only 9 months)")


def test_a_step_change_rebases_the_limits():
    # segment 0: BASE (mean 11, limits 16.32 / 5.68)
    # segment 1 from 2022-01: 20, 22 × 6 -> mean 21, mR 2 -> limits 26.32 / 15.68; the 20 − 10 jump at the
    # step is not a moving range
    values = [*BASE, *[20.0, 22.0] * 6]
    rebased = chart(values, step_changes=["2022-01"])
    frame = rebased.frame
    assert frame["segment"].tolist() == [0] * 12 + [1] * 12
    assert math.isnan(frame["mr"].iloc[12])
    assert frame["upper"].iloc[0] == pytest.approx(16.32) and frame["upper"].iloc[12] == pytest.approx(26.32)
    assert frame["lower"].iloc[23] == pytest.approx(15.68)
    assert (rebased.segments[1].start_month, rebased.segments[1].end_month) == ("2022-01", "2022-12")
    assert specials(rebased) == []
    # without the step change every new point is above the old upper limit
    assert flagged(chart(values), "outside_upper") == list(range(12, 24))


def test_a_short_last_segment_has_trial_limits_and_steps_outside_the_range_are_ignored():
    # segment 1: 20, 22, 20, 22, 20 -> mean 104 / 5 = 20.8, mR 2 -> upper 26.12 (trial)
    result = chart([*BASE, 20, 22, 20, 22, 20], step_changes=["2022-01", "2019-01", "2021-01", "2030-01"])
    assert len(result.segments) == 2
    assert result.is_trial and not result.segments[0].is_trial
    assert result.segments[1].upper == pytest.approx(20.8 + 5.32)
    assert result.frame["is_trial"].tolist() == [False] * 12 + [True] * 5


def test_a_run_does_not_cross_a_step_change():
    # in one segment the eight 11.5s after BASE are a run above the mean 11; with a step change after the
    # fourth, segment 0 has a run of only 4 and segment 1 (four 11.5s: mean 11.5, mR 0) is flat, on its mean
    values = [*BASE, *[11.5] * 8]
    assert flagged(chart(values), "run_above") == list(range(12, 20))
    split = chart(values, step_changes=["2022-05"])
    assert flagged(split, "run_above") == []


def test_bad_step_change_month_is_refused():
    with pytest.raises(SpcError, match="2022-13"):
        chart(BASE, step_changes=["2022-13"])


# --------------------------------------------------------------------------- flat, missing, empty


def test_flat_series_limits_equal_the_mean_and_any_other_value_is_outside():
    # twelve 5s: mean 5, every mR 0 -> upper = lower = 5
    flat = chart([5.0] * 13)
    assert (flat.segments[0].upper, flat.segments[0].lower) == (5, 5)
    assert specials(flat) == []  # on the limits is inside; on the mean breaks every run
    moved = chart([*[5.0] * 12, 5.1])
    assert flagged(moved, "outside_upper") == [12]
    # floating-point rounding of the mean of twelve 0.1s does not make a run out of a flat line
    assert specials(chart([0.1] * 20)) == []


def test_missing_months_have_no_moving_range_and_are_inserted():
    # 10, 12, –, 11, 13: mR = –, 2, –, –, 2 -> mean mR 2; mean = 46 / 4 = 11.5 (trial)
    result = chart([10, 12, None, 11, 13])
    mr = result.frame["mr"].tolist()
    assert mr[1] == 2 and mr[4] == 2 and all(math.isnan(mr[i]) for i in (0, 2, 3))
    assert result.segments[0].mean == pytest.approx(11.5)
    assert result.segments[0].mr_mean == pytest.approx(2)
    # a month left out of the input is a missing row, not a neighbour
    skipped = xmr(["2021-01", "2021-02", "2021-04", "2021-05"], [10, 12, 11, 13])
    assert skipped.frame["month"].tolist() == ["2021-01", "2021-02", "2021-03", "2021-04", "2021-05"]
    assert skipped.frame["mr"].tolist()[1::3] == [2, 2]
    assert math.isnan(skipped.frame["value"].iloc[2])


def test_a_missing_month_breaks_runs_trends_and_rule4_windows():
    assert specials(chart([*BASE, 11.5, 11.5, 11.5, None, 11.5, 11.5, 11.5, 11.5])) == []
    assert specials(chart([*BASE, 10.5, 11.5, 12, None, 12.5, 13, 13.5, 14])) == []
    assert specials(chart([*BASE, 14.6, None, 14.6])) == []
    # the latest point with a value is what the summary describes, even before a trailing gap
    trailing = chart([*BASE, 17, None], direction="lower")
    assert trailing.signal.month == "2022-01" and trailing.variation.code == "concern_high"


@pytest.mark.parametrize(
    "values",
    [[], [None, None, None], [5.0], [10, None, 12, None, 11]],
    ids=["empty", "all-missing", "one", "no-mr"],
)
def test_too_little_data_gives_no_limits_and_common_cause(values):
    result = chart(values)
    assert result.signal is None
    assert result.variation.code == "common" and "Too few months" in result.variation.tooltip
    assert not result.has_limits and not result.is_trial
    assert result.frame[["mean", "upper", "lower"]].isna().all().all()
    assert not result.frame["special"].any()
    assert assurance(result, 5, ">=") is None


def test_bad_input_is_refused():
    with pytest.raises(SpcError, match="3 months but 2 values"):
        xmr(months(3), [1, 2])
    with pytest.raises(SpcError, match="in order"):
        xmr(["2021-02", "2021-01"], [1, 2])
    with pytest.raises(SpcError, match="direction"):
        chart(BASE, direction="up")
    with pytest.raises(SpcError, match="numbers"):
        chart(["ten", 12])


def test_result_pickles():
    result = chart([*BASE, 17])
    again = pickle.loads(pickle.dumps(result))
    assert again.variation == result.variation and again.frame.equals(result.frame)


# --------------------------------------------------------------------------- assurance


@pytest.mark.parametrize(
    ("target", "comparison", "code"),
    [
        (5, ">=", "meets"),  # lower 5.68 ≥ 5
        (17, ">=", "fails"),  # upper 16.32 < 17
        (11, ">=", "hit_and_miss"),  # 5.68 < 11 < 16.32
        (17, "<=", "meets"),  # upper 16.32 ≤ 17
        (5, "<=", "fails"),  # lower 5.68 > 5
        (11, "<=", "hit_and_miss"),
        (5.68, ">=", "meets"),  # lower limit exactly on the target passes
        (16.32, "<=", "meets"),  # upper limit exactly on the target passes
        (16.32, ">=", "hit_and_miss"),  # upper on the target passes, lower fails
    ],
)
def test_assurance(target, comparison, code):
    status = assurance(chart(BASE), target, comparison)
    assert status.code == code
    assert (
        status.label
        == {
            "meets": "Consistently meets target",
            "fails": "Consistently fails target",
            "hit_and_miss": "Hit and miss",
        }[code]
    )
    assert "Provisional" not in status.tooltip


def test_assurance_without_target_uses_last_segment_and_marks_trial_provisional():
    assert assurance(chart(BASE), None, ">=") is None
    # last segment 20, 22, 20, 22, 20: limits 26.12 / 15.48 (trial) -> target 15 is met
    rebased = chart([*BASE, 20, 22, 20, 22, 20], step_changes=["2022-01"])
    status = assurance(rebased, 15, ">=")
    assert status.code == "meets" and status.tooltip.startswith("Provisional (limits from only 5 months)")
    with pytest.raises(SpcError, match="comparison"):
        assurance(rebased, 15, ">")


def test_assurance_on_a_flat_series():
    flat = chart([5.0] * 12)  # limits 5 / 5
    assert assurance(flat, 5, ">=").code == "meets"
    assert assurance(flat, 5, "<=").code == "meets"
    assert assurance(flat, 6, ">=").code == "fails"


# --------------------------------------------------------------------------- events

VALID_EVENTS = """
[[step_change]]
month = "2021-07"
kpis = ["thrive_completion_pct"]
reason = "THRIVE policy relaunch"

[[step_change]]
month = "2022-01"
kpis = ["*"]
reason = "New crime recording system"

[[annotation]]
month = "2022-04"
label = "Post-inspection review"
kpis = ["*"]

[[annotation]]
month = "2021-04"
label = "Inspection visit"
kpis = ["*"]

[[annotation]]
month = "2022-01"
label = "IMPACT team restructure"
kpis = ["*"]
areas = ["investigation"]
detail = "More officers in IMPACT"
"""


def write(tmp_path, text, name="events.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_events_file(tmp_path):
    events = load_events(write(tmp_path, VALID_EVENTS))
    assert events.step_changes_for("thrive_completion_pct") == ("2021-07", "2022-01")
    assert events.step_changes_for("incidents") == ("2022-01",)
    on_investigation = events.annotations_for("impact_open_cases", "investigation")
    assert [a.label for a in on_investigation] == [
        "Inspection visit",
        "IMPACT team restructure",
        "Post-inspection review",
    ]
    assert on_investigation[1].detail == "More officers in IMPACT"
    assert [a.month for a in events.annotations_for("incidents", "initial_contact")] == ["2021-04", "2022-04"]
    assert len(events.annotations_for("impact_open_cases", None)) == 2  # area-limited ones need an area


def _entry(kind: str, **keys) -> str:
    body = "\n".join(f"{k} = {v}" for k, v in keys.items())
    return f"[[{kind}]]\n{body}\n"


GOOD_STEP = {"month": '"2021-07"', "kpis": '["incidents"]', "reason": '"r"'}


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (_entry("step_change", **{**GOOD_STEP, "month": '"2022-13"'}), r"step_change #2: month '2022-13'"),
        (
            _entry("step_change", **{**GOOD_STEP, "month": '"March 2022"'}),
            r"step_change #2: month 'March 2022'",
        ),
        (_entry("milestone", month='"2021-01"'), r"milestone #1: unknown kind of event 'milestone'"),
        (_entry("step_change", month='"2021-07"', kpis='["incidents"]'), r"step_change #2: missing 'reason'"),
        (
            _entry("step_change", **{**GOOD_STEP, "reason": '"  "'}),
            r"step_change #2: 'reason' must be non-empty",
        ),
        (_entry("step_change", **GOOD_STEP, reasn='"x"'), r"step_change #2: unknown key 'reasn'"),
        (
            _entry("step_change", **{**GOOD_STEP, "kpis": '"incidents"'}),
            r"step_change #2: 'kpis' must be a non-emp",
        ),
        (
            _entry("step_change", **{**GOOD_STEP, "kpis": '["*", "incidents"]'}),
            r"step_change #2: 'kpis' may be",
        ),
        (_entry("annotation", month='"2021-04"', kpis='["*"]'), r"annotation #1: missing 'label'"),
        (
            _entry("annotation", month='"2021-04"', kpis='["*"]', label='"x"', areas='["custody"]'),
            r"annotation #1: unknown area 'custody' in 'areas'",
        ),
        ('step_change = "2021-07"\n', r"step_change must be written as \[\[step_change\]\]"),
    ],
)
def test_each_refusal_names_file_entry_and_key(tmp_path, second, message):
    path = write(tmp_path, _entry("step_change", **GOOD_STEP) + second if "[[" in second else second)
    with pytest.raises(EventsError, match=message) as caught:
        load_events(path)
    assert str(path) in str(caught.value)


def test_unknown_kpi_is_refused_only_when_known_kpis_are_given(tmp_path):
    path = write(tmp_path, _entry("step_change", **{**GOOD_STEP, "kpis": '["thrive_pct"]'}))
    assert load_events(path).step_changes_for("thrive_pct") == ("2021-07",)
    with pytest.raises(EventsError, match=r"step_change #1: unknown KPI id 'thrive_pct' in 'kpis'"):
        load_events(path, known_kpis={"incidents"})


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(EventsError, match="does not exist"):
        load_events(tmp_path / "nope.toml")
    with pytest.raises(EventsError, match="not valid TOML"):
        load_events(write(tmp_path, "[[step_change]\n"))


def test_cpd_events_overrides_the_default(tmp_path, monkeypatch):
    path = write(tmp_path, VALID_EVENTS, "force.toml")
    monkeypatch.setenv("CPD_EVENTS", str(path))
    events = load_events()
    assert events.source == str(path)
    assert events.step_changes_for("incidents") == ("2022-01",)
    # an explicit path beats the environment
    other = write(tmp_path, "", "empty.toml")
    assert load_events(other).step_changes == ()


def test_the_shipped_events_file_loads_with_known_kpis(monkeypatch):
    monkeypatch.delenv("CPD_EVENTS", raising=False)
    events = load_events(known_kpis=set(catalog().kpis))
    assert events.source.endswith("data/events.toml")
    assert events.step_changes_for("thrive_completion_pct") == ("2021-07",)
    labels = [a.label for a in events.annotations_for("incidents", "initial_contact")]
    assert "Inspection visit" in labels
    assert "IMPACT team restructure" in [
        a.label for a in events.annotations_for("impact_open_cases", "investigation")
    ]
    assert "IMPACT team restructure" not in labels
    for area in ("initial_contact", "managing_risk"):
        for annotation in events.annotations_for("arms_outstanding", area):
            assert annotation.month[:4] in ("2020", "2021", "2022", "2023")


def test_hit_and_miss_says_how_many_cases_a_month_it_rests_on():
    from dataclasses import replace

    few = assurance(replace(chart(BASE), cases=7.0), 11, ">=")
    assert few.label == "Hit and miss (n ≈ 7 a month)"
    assert "about 7 cases each" in few.tooltip
    many = assurance(replace(chart(BASE), cases=250.0), 11, ">=")
    assert many.label == "Hit and miss (n ≈ 250 a month)" and "cases each" not in many.tooltip
    # The other verdicts do not rest on the count in the same way: their words stay.
    assert assurance(replace(chart(BASE), cases=7.0), 17, ">=").label == "Consistently fails target"
