"""Statistical process control (NHS England "Making Data Count" XmR charts) and the events file behind them.

Pure functions over pandas and numpy: a monthly series in, an :class:`SpcResult`
out (limits, the four special-cause rules, improvement or concern, the
variation and assurance summaries). The only I/O is :func:`load_events`,
which reads ``data/events.toml`` (or ``$CPD_EVENTS``): step changes, where
limits are recalculated, and annotations drawn on the trends.

Conventions (where "Making Data Count" leaves a choice):

* **Consecutive means consecutive calendar months, all with a value, in the
  same segment.** A missing month (NaN: the data does not cover it) or a step
  change breaks a moving range, a run, a trend and a rule-4 window: a run of
  four months, a gap, then three more months is not a run of seven.
  Months absent from the input are inserted as missing rows.
* **Baseline**: the first ``baseline_points`` (12) months *with a value* of
  each segment; fewer gives trial limits, fewer than 2 points or no moving
  range gives no limits (the centre line too) and no signals.
* **On a line is not beyond it**: a point exactly on a process limit is
  inside, exactly on the mean breaks a run, exactly on a two-sigma line is not
  beyond it, and equal consecutive values break a trend. "Exactly" allows for
  floating-point rounding (relative 1e-9), so a flat series is not a run.
* **Flat series** (every moving range 0): the limits equal the mean, so any
  later point that differs from that mean is outside a limit (rule 1).
* **Rule 4** looks at windows of three consecutive months that all lie on
  the same side of the mean (a point on the other side, or exactly on the
  mean, spoils the window) and in which at least two are beyond the two-sigma
  line on that side; it flags only the points beyond it (a point beyond the
  process limit is also beyond two sigma).
* **A point flagged high by one rule and low by another** takes the side of the
  higher-priority rule: rule 1 (outside a limit) > rule 4 (two of three) >
  rule 2 (run) > rule 3 (trend). A peak or trough is the end of one trend and
  the start of another: the trend that *ends* at the point decides its side
  (a peak is high). The latest point's :class:`Signal` uses the same order.
* **Direction**: "higher" makes a high signal an improvement and a low one a
  concern, "lower" the reverse, "neutral" makes both "neither".
* **Summaries** describe the latest month with a value, against its own
  segment's limits; with no limits they say common cause (with a tooltip
  saying there are too few months). Assurance uses the last segment's limits.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from data.settings import DIRECTION_HIGHER, DIRECTION_NEUTRAL, DIRECTIONS

# XmR constants ("Making Data Count"): process limits are mean ± 2.66 × mean moving range (2.66 ≈ 3 / d2,
# d2 = 1.128 for moving ranges of two), two-sigma lines two thirds of that: 2 × 2.66 / 3 = 1.77333…
# (not a rounded 1.77, which puts the line 0.0033 × mR too close to the mean).
LIMIT_FACTOR = 2.66
TWO_SIGMA_FACTOR = LIMIT_FACTOR * 2 / 3
DEFAULT_BASELINE_POINTS = 12
_RTOL = 1e-9
_ATOL = 1e-12

SIDE_HIGH = "high"
SIDE_LOW = "low"
IMPROVEMENT = "improvement"
CONCERN = "concern"
NEITHER = "neither"

# Rule flags, also the Signal.rule names, in priority order (rule 1 > rule 4 > rule 2 > rule 3).
RULE_COLUMNS = (
    "outside_upper",
    "outside_lower",
    "two_of_three_upper",
    "two_of_three_lower",
    "run_above",
    "run_below",
    "trend_up",
    "trend_down",
)
_RULE_SIDE = {
    "outside_upper": SIDE_HIGH,
    "outside_lower": SIDE_LOW,
    "two_of_three_upper": SIDE_HIGH,
    "two_of_three_lower": SIDE_LOW,
    "run_above": SIDE_HIGH,
    "run_below": SIDE_LOW,
    "trend_up": SIDE_HIGH,
    "trend_down": SIDE_LOW,
}
FRAME_COLUMNS = [
    "month",
    "value",
    "mr",
    "mean",
    "upper",
    "lower",
    "upper_2s",
    "lower_2s",
    "is_trial",
    "segment",
    *RULE_COLUMNS,
    "special",
    "side",
    "variation",
]

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class SpcError(ValueError):
    """A series the SPC engine cannot read: bad or unordered months, lengths that differ."""


def _month_index(text: object, *, what: str = "month") -> int:
    match = _MONTH.match(text.strip()) if isinstance(text, str) else None
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise SpcError(f"{what} {text!r} is not a month of the form YYYY-MM (e.g. 2022-03)")
    return int(match.group(1)) * 12 + int(match.group(2)) - 1


def _month_text(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_name(month: str) -> str:
    """'2022-03' -> 'March 2022'."""
    index = _month_index(month)
    return date(index // 12, index % 12 + 1, 1).strftime("%B %Y")


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=_RTOL, abs_tol=_ATOL)


def _above(a: float, b: float) -> bool:
    """``a`` is strictly above ``b`` (beyond rounding); False when either is NaN."""
    return a > b and not _close(a, b)


def _below(a: float, b: float) -> bool:
    return a < b and not _close(a, b)


def _sign(a: float, b: float) -> int:
    """1 when ``a`` is above ``b``, -1 below, 0 on it (within rounding)."""
    return 1 if _above(a, b) else -1 if _below(a, b) else 0


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Status:
    """A summary icon: a stable ``code``, a plain-English ``label``, a one-sentence ``tooltip``."""

    code: str
    label: str
    tooltip: str


@dataclass(frozen=True)
class Segment:
    """The limits of one segment (from the start, or from a step change, to the next one).

    Limits are NaN when the segment has fewer than 2 baseline points or no moving range.
    """

    start_month: str
    end_month: str
    baseline_points: int
    is_trial: bool
    mean: float = math.nan
    mr_mean: float = math.nan
    upper: float = math.nan
    lower: float = math.nan
    upper_2s: float = math.nan
    lower_2s: float = math.nan

    @property
    def has_limits(self) -> bool:
        return not math.isnan(self.upper)


@dataclass(frozen=True)
class Signal:
    """The special cause behind the latest point, for a sentence such as
    "AA delay (median) rose above its upper process limit in March 2022 (412 min; limit 380)".

    Attributes:
        rule: one of ``RULE_COLUMNS`` (the highest-priority rule the point fired).
        month: the latest month with a value (YYYY-MM).
        value: its value.
        reference: what the rule compares with: the process limit (outside_*),
            the two-sigma line (two_of_three_*), the mean (run_*) or the value
            at the start of the trend (trend_*).
        start_month: the first month of the run, trend or rule-4 window.
        length: points in the run or trend; points beyond two sigma in the
            rule-4 window; 1 for a point outside a limit.
        side: "high" or "low".
        variation: "improvement", "concern" or "neither".
    """

    rule: str
    month: str
    value: float
    reference: float
    start_month: str
    length: int
    side: str
    variation: str

    def describe(self, label: str, fmt: Callable[[float], str] | None = None) -> str:
        """A plain-English sentence, ``fmt`` formatting the numbers (default: up to 3 significant figures)."""
        fmt = fmt or (lambda v: f"{v:.3g}")
        when, start = month_name(self.month), month_name(self.start_month)
        value, ref = fmt(self.value), fmt(self.reference)
        if self.rule == "outside_upper":
            return f"{label} rose above its upper process limit in {when} ({value}; limit {ref})"
        if self.rule == "outside_lower":
            return f"{label} fell below its lower process limit in {when} ({value}; limit {ref})"
        if self.rule in ("two_of_three_upper", "two_of_three_lower"):
            where = "high" if self.rule == "two_of_three_upper" else "low"
            return (
                f"{label} was unusually {where} in {self.length} of the 3 months to {when} "
                f"({value}; two-sigma line {ref})"
            )
        if self.rule in ("run_above", "run_below"):
            where = "above" if self.rule == "run_above" else "below"
            return (
                f"{label} has been {where} its average for {self.length} months in a row, "
                f"{start} to {when} ({value}; average {ref})"
            )
        verb = "risen" if self.rule == "trend_up" else "fallen"
        return (
            f"{label} has {verb} for {self.length} consecutive months, {start} to {when} ({ref} to {value})"
        )


@dataclass(frozen=True)
class SpcResult:
    """An XmR chart: one row per month in ``frame`` plus the summaries of the latest month.

    ``frame`` columns: month, value, mr (moving range), mean, upper, lower,
    upper_2s, lower_2s, is_trial, segment, the eight rule flags of
    ``RULE_COLUMNS``, special, side ("high"/"low"/None) and variation
    ("improvement"/"concern"/"neither"/None).
    """

    frame: pd.DataFrame
    segments: tuple[Segment, ...]
    variation: Status
    signal: Signal | None
    direction: str
    run_length: int
    # The median number of cases a month rests on, over the last segment's months, for a KPI
    # whose figure rests on its cases (a percentage, a median); None when unknown.
    cases: float | None = None

    @property
    def is_trial(self) -> bool:
        """The last segment's limits are trial limits (fewer baseline points than asked)."""
        return bool(self.segments) and self.segments[-1].is_trial

    @property
    def has_limits(self) -> bool:
        """The last segment has limits (what assurance uses)."""
        return bool(self.segments) and self.segments[-1].has_limits


# --------------------------------------------------------------------------- the engine


def _variation_of(side: str, direction: str) -> str:
    if direction == DIRECTION_NEUTRAL:
        return NEITHER
    better = SIDE_HIGH if direction == DIRECTION_HIGHER else SIDE_LOW
    return IMPROVEMENT if side == better else CONCERN


def _streaks(codes: Sequence[int], linked: Sequence[bool]) -> list[int]:
    """For each position, the first position of its streak of equal non-zero codes (-1 for code 0)."""
    starts = [-1] * len(codes)
    for i, code in enumerate(codes):
        if code == 0:
            continue
        if i > 0 and linked[i] and codes[i - 1] == code:
            starts[i] = starts[i - 1]
        else:
            starts[i] = i
    return starts


def _segment_limits(values: np.ndarray, mr: np.ndarray, positions: range, months: list[str], baseline: int):
    present = [i for i in positions if not math.isnan(values[i])]
    base = present[:baseline]
    start, end = months[positions.start], months[positions.stop - 1]
    base_mr = [mr[i] for i in base if not math.isnan(mr[i])]
    if len(base) < 2 or not base_mr:
        return Segment(start, end, len(base), is_trial=False)
    mean = math.fsum(values[i] for i in base) / len(base)
    mr_mean = math.fsum(base_mr) / len(base_mr)
    return Segment(
        start,
        end,
        len(base),
        is_trial=len(base) < baseline,
        mean=mean,
        mr_mean=mr_mean,
        upper=mean + LIMIT_FACTOR * mr_mean,
        lower=mean - LIMIT_FACTOR * mr_mean,
        upper_2s=mean + TWO_SIGMA_FACTOR * mr_mean,
        lower_2s=mean - TWO_SIGMA_FACTOR * mr_mean,
    )


def _regular_months(months: Sequence[str], values: Sequence[float]) -> tuple[list[str], np.ndarray]:
    if len(months) != len(values):
        raise SpcError(f"{len(months)} months but {len(values)} values")
    indexes = [_month_index(m) for m in months]
    for before, after in itertools.pairwise(indexes):
        if after <= before:
            raise SpcError(
                f"months must be in order without repeats: {_month_text(after)} after {_month_text(before)}"
            )
    try:
        raw = np.array([math.nan if v is None or v is pd.NA else float(v) for v in values], dtype=float)
    except (TypeError, ValueError):
        raise SpcError("values must be numbers, or None/NaN for a month the data does not cover") from None
    if not indexes:
        return [], raw
    full = np.full(indexes[-1] - indexes[0] + 1, np.nan)
    full[np.asarray(indexes) - indexes[0]] = raw
    return [_month_text(i) for i in range(indexes[0], indexes[-1] + 1)], full


def xmr(
    months: Sequence[str],
    values: Sequence[float | None],
    *,
    direction: str = DIRECTION_NEUTRAL,
    run_length: int = 7,
    step_changes: Iterable[str] = (),
    baseline_points: int = DEFAULT_BASELINE_POINTS,
) -> SpcResult:
    """An XmR chart of a KPI's whole monthly history, with its special-cause signals.

    Args:
        months: 'YYYY-MM', in order; months absent between the first and last are inserted as missing.
        values: one per month; None or NaN where the data does not cover the month.
        direction: "higher", "lower" or "neutral" (``Settings.direction(kpi_id)``).
        run_length: points in a run (rule 2) or trend (rule 3): 6 or 7 (``Settings.spc_run_length``).
        step_changes: months from which limits are recalculated (``Events.step_changes_for``).
        baseline_points: months with a value that fix each segment's limits.

    Returns:
        An :class:`SpcResult`; pass the whole history, then slice ``frame`` for the screen.

    Raises:
        SpcError: a bad or out-of-order month, lengths that differ, a bad direction or run length.
    """
    if direction not in DIRECTIONS:
        raise SpcError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
    if not isinstance(run_length, int) or run_length < 2:
        raise SpcError(f"run_length must be a whole number of at least 2, not {run_length!r}")
    if not isinstance(baseline_points, int) or baseline_points < 2:
        raise SpcError(f"baseline_points must be a whole number of at least 2, not {baseline_points!r}")
    month_list, x = _regular_months(months, values)
    n = len(month_list)
    first = _month_index(month_list[0]) if n else 0
    steps = sorted({_month_index(m, what="step change") - first for m in step_changes})
    cuts = [0, *[s for s in steps if 0 < s < n], n]
    segment = np.zeros(n, dtype=int)
    for k, (lo, hi) in enumerate(itertools.pairwise(cuts)):
        segment[lo:hi] = k

    present = ~np.isnan(x)
    # linked[i]: months i-1 and i both have a value and lie in one segment — the only way two points connect.
    linked = np.zeros(n, dtype=bool)
    linked[1:] = present[1:] & present[:-1] & (segment[1:] == segment[:-1])
    mr = np.full(n, np.nan)
    mr[1:][linked[1:]] = np.abs(np.diff(x))[linked[1:]]

    segments = tuple(
        _segment_limits(x, mr, range(lo, hi), month_list, baseline_points)
        for lo, hi in itertools.pairwise(cuts)
        if hi > lo
    )
    cols = {name: np.full(n, np.nan) for name in ("mean", "upper", "lower", "upper_2s", "lower_2s")}
    is_trial = np.zeros(n, dtype=bool)
    for i in range(n):
        seg = segments[segment[i]]
        for name in cols:
            cols[name][i] = getattr(seg, name)
        is_trial[i] = seg.is_trial
    usable = present & ~np.isnan(cols["mean"])
    linked &= usable & np.roll(usable, 1)

    flags = {name: np.zeros(n, dtype=bool) for name in RULE_COLUMNS}
    for i in np.flatnonzero(usable):
        flags["outside_upper"][i] = _above(x[i], cols["upper"][i])
        flags["outside_lower"][i] = _below(x[i], cols["lower"][i])

    # Rule 2: runs on one side of the mean.
    sides = [_sign(x[i], cols["mean"][i]) if usable[i] else 0 for i in range(n)]
    run_start = _streaks(sides, linked)
    for i in range(n):
        if sides[i] and i - run_start[i] + 1 >= run_length:
            name = "run_above" if sides[i] > 0 else "run_below"
            flags[name][run_start[i] : i + 1] = True

    # Rule 3: trends; step[i] is the direction from point i-1 to point i, a trend of N points is N-1 steps.
    step = [0] * n
    for i in range(1, n):
        if linked[i]:
            step[i] = _sign(x[i], x[i - 1])
    trend_start = _streaks(step, [True] * n)
    for i in range(n):
        points = i - trend_start[i] + 2
        if step[i] and points >= run_length:
            name = "trend_up" if step[i] > 0 else "trend_down"
            flags[name][trend_start[i] - 1 : i + 1] = True

    # Rule 4: three consecutive points all on one side of the mean, at least two of them beyond the
    # two-sigma line on that side; flag those beyond.
    beyond_hi = np.array([usable[i] and _above(x[i], cols["upper_2s"][i]) for i in range(n)], dtype=bool)
    beyond_lo = np.array([usable[i] and _below(x[i], cols["lower_2s"][i]) for i in range(n)], dtype=bool)
    for i in range(2, n):
        if linked[i] and linked[i - 1]:
            for side, beyond, name in (
                (1, beyond_hi, "two_of_three_upper"),
                (-1, beyond_lo, "two_of_three_lower"),
            ):
                window = beyond[i - 2 : i + 1]
                if window.sum() >= 2 and all(sides[j] == side for j in range(i - 2, i + 1)):
                    flags[name][i - 2 : i + 1] |= window

    side_col: list[str | None] = [None] * n
    for i in range(n):
        fired = [name for name in RULE_COLUMNS if flags[name][i]]
        if not fired:
            continue
        if fired[0].startswith("trend") and len(fired) == 2:
            side_col[i] = SIDE_HIGH if step[i] > 0 else SIDE_LOW  # the trend ending here decides
        else:
            side_col[i] = _RULE_SIDE[fired[0]]
    frame = pd.DataFrame(
        {
            "month": month_list,
            "value": x,
            "mr": mr,
            **cols,
            "is_trial": is_trial,
            "segment": segment,
            **flags,
            "special": [s is not None for s in side_col],
            # object dtype keeps None (pandas 3 would infer a string column holding NaN)
            "side": pd.Series(side_col, dtype=object),
            "variation": pd.Series(
                [None if s is None else _variation_of(s, direction) for s in side_col], dtype=object
            ),
        },
        columns=FRAME_COLUMNS,
    )
    signal = _latest_signal(frame, run_start, trend_start, step, x)
    latest_seg = None
    if present.any():
        latest_seg = segments[segment[np.flatnonzero(present)[-1]]]
    return SpcResult(
        frame=frame,
        segments=segments,
        variation=variation_status(signal, latest_seg),
        signal=signal,
        direction=direction,
        run_length=run_length,
    )


def _latest_signal(frame: pd.DataFrame, run_start, trend_start, step, x) -> Signal | None:
    present = np.flatnonzero(~np.isnan(x))
    if not len(present):
        return None
    i = int(present[-1])
    row = frame.iloc[i]
    if not row["special"]:
        return None
    rule = next(name for name in RULE_COLUMNS if row[name] and _RULE_SIDE[name] == row["side"])
    months = frame["month"]
    if rule.startswith("outside"):
        start, length, reference = i, 1, row["upper" if rule == "outside_upper" else "lower"]
    elif rule.startswith("two_of_three"):
        start = i - 2
        length = int(frame[rule].iloc[start : i + 1].sum())
        reference = row["upper_2s" if rule == "two_of_three_upper" else "lower_2s"]
    elif rule.startswith("run"):
        start, reference = run_start[i], row["mean"]
        length = i - start + 1
    else:
        start = trend_start[i] - 1
        length, reference = i - start + 1, x[start]
    return Signal(
        rule=rule,
        month=row["month"],
        value=float(row["value"]),
        reference=float(reference),
        start_month=months.iloc[start],
        length=int(length),
        side=row["side"],
        variation=row["variation"],
    )


_BETTER_WORDS = {
    (IMPROVEMENT, SIDE_HIGH): "and higher is better for this measure",
    (IMPROVEMENT, SIDE_LOW): "and lower is better for this measure",
    (CONCERN, SIDE_HIGH): "and higher is worse for this measure, so it needs attention",
    (CONCERN, SIDE_LOW): "and lower is worse for this measure, so it needs attention",
    (NEITHER, SIDE_HIGH): "but this measure has no better or worse direction",
    (NEITHER, SIDE_LOW): "but this measure has no better or worse direction",
}
_VARIATION_WORDS = {
    IMPROVEMENT: "improving",
    CONCERN: "concerning",
    NEITHER: "neither improving nor concerning",
}


def variation_status(signal: Signal | None, segment: Segment | None) -> Status:
    """The variation summary of the latest month, from its signal (None: common cause) and its segment."""
    if signal is None:
        if segment is None or not segment.has_limits:
            tooltip = (
                "Too few months with data to calculate process limits, so no unusual change "
                "can be identified yet."
            )
        else:
            tooltip = (
                "No unusual change: the latest month is within the range this process produces "
                "from month to month by chance."
            )
        return Status("common", "Common cause variation", tooltip)
    provisional = (
        f"Provisional (limits from only {segment.baseline_points} months): "
        if segment is not None and segment.is_trial
        else ""
    )
    tooltip = (
        f"{provisional}The latest month is unusually {signal.side} — a real change rather than chance — "
        f"{_BETTER_WORDS[(signal.variation, signal.side)]}."
    )
    label = f"Special cause: {_VARIATION_WORDS[signal.variation]} — {signal.side}"
    return Status(f"{signal.variation}_{signal.side}", label, tooltip[0].upper() + tooltip[1:])


SMALL_CASES = 10  # fewer cases a month than this and a month's figure swings on one or two


def assurance(result: SpcResult, target: float | None, comparison: str = ">=") -> Status | None:
    """Whether the process will meet ``target``: "meets", "fails", "hit_and_miss"; None without target/limits.

    Uses the last segment's limits; a limit exactly on the target counts as passing.

    Raises:
        SpcError: ``comparison`` is not ">=" or "<=".
    """
    if comparison not in (">=", "<="):
        raise SpcError(f"comparison must be '>=' or '<=', not {comparison!r}")
    if target is None or (isinstance(target, float) and math.isnan(target)) or not result.has_limits:
        return None
    seg = result.segments[-1]

    def passes(limit: float) -> bool:
        return _close(limit, target) or (limit > target if comparison == ">=" else limit < target)

    shown = f"{comparison} {target:g}"
    provisional = f"Provisional (limits from only {seg.baseline_points} months): " if seg.is_trial else ""
    if passes(seg.upper) and passes(seg.lower):
        status = Status(
            "meets",
            "Consistently meets target",
            f"both process limits are on the passing side of the target ({shown}), so it will be met "
            "month after month unless the process changes.",
        )
    elif not passes(seg.upper) and not passes(seg.lower):
        status = Status(
            "fails",
            "Consistently fails target",
            f"both process limits are on the failing side of the target ({shown}), so it will not be met "
            "without a change to how the work is done.",
        )
    else:
        # Said with its n: on a handful of cases a month the limits are wide and almost any target
        # falls between them, which is about the count, not the process (issue 11).
        cases = result.cases
        few = cases is not None and cases < SMALL_CASES
        status = Status(
            "hit_and_miss",
            "Hit and miss" if cases is None else f"Hit and miss (n ≈ {cases:,.0f} a month)",
            f"the target ({shown}) lies between the process limits, so it will be met in some months and "
            "missed in others by chance alone."
            + (
                f" Its months rest on about {cases:,.0f} cases each: with so few, one or two cases swing a "
                "month's figure, so the limits are wide."
                if few
                else ""
            ),
        )
    tooltip = provisional + status.tooltip
    return Status(status.code, status.label, tooltip[0].upper() + tooltip[1:])


# --------------------------------------------------------------------------- events

DEFAULT_EVENTS_PATH = Path(__file__).resolve().parent.parent / "data" / "events.toml"
EVENTS_ENV = "CPD_EVENTS"
EVENT_AREAS = (
    "initial_contact",
    "assessment_and_help",
    "investigation",
    "decision_making",
    "managing_risk",
    "detention",
    "case_audits",
)
ALL_KPIS = "*"
_KINDS = {
    "step_change": ({"month", "kpis", "reason"}, {"month", "kpis", "reason"}),
    "annotation": ({"month", "kpis", "label"}, {"month", "kpis", "label", "areas", "detail"}),
}


class EventsError(ValueError):
    """An events file that cannot be read or holds a wrong entry; the message names file, entry and key."""


@dataclass(frozen=True)
class StepChange:
    """Limits are recalculated from ``month`` for ``kpis`` (("*",) = all) because of ``reason``."""

    month: str
    kpis: tuple[str, ...]
    reason: str

    def applies_to(self, kpi_id: str) -> bool:
        return ALL_KPIS in self.kpis or kpi_id in self.kpis


@dataclass(frozen=True)
class Annotation:
    """A dated note on the trends: ``label`` at ``month`` for ``kpis``, optionally only on some ``areas``."""

    month: str
    label: str
    kpis: tuple[str, ...]
    areas: tuple[str, ...] = ()
    detail: str = ""

    def applies_to(self, kpi_id: str, area: str | None) -> bool:
        """For ``kpi_id`` on ``area``'s page; an annotation limited to some areas needs one of them."""
        if not (ALL_KPIS in self.kpis or kpi_id in self.kpis):
            return False
        return not self.areas or area in self.areas


@dataclass(frozen=True)
class Events:
    """The step changes and annotations of one events file."""

    step_changes: tuple[StepChange, ...] = ()
    annotations: tuple[Annotation, ...] = ()
    source: str = field(default=str(DEFAULT_EVENTS_PATH))

    def step_changes_for(self, kpi_id: str) -> tuple[str, ...]:
        """The months (YYYY-MM, in order, no repeats) where ``kpi_id``'s limits are recalculated."""
        return tuple(sorted({s.month for s in self.step_changes if s.applies_to(kpi_id)}))

    def annotations_for(self, kpi_id: str, area: str | None) -> list[Annotation]:
        """The annotations for ``kpi_id``'s trend on ``area``'s page (None: only those for every area)."""
        return sorted((a for a in self.annotations if a.applies_to(kpi_id, area)), key=lambda a: a.month)


def _text(raw: dict, key: str, where: str) -> str:
    value = raw[key]
    if not isinstance(value, str) or not value.strip():
        raise EventsError(f"{where}: {key!r} must be non-empty text, not {value!r}")
    return value.strip()


def _names(raw: dict, key: str, where: str, known: Iterable[str] | None, what: str) -> tuple[str, ...]:
    value = raw[key]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise EventsError(f"{where}: {key!r} must be a non-empty list of ids, not {value!r}")
    names = tuple(v.strip() for v in value)
    if key == "kpis" and ALL_KPIS in names:
        if len(names) > 1:
            raise EventsError(f"{where}: 'kpis' may be [\"*\"] (all KPIs) or a list of KPI ids, not both")
        return names
    if known is not None:
        known = set(known)
        for name in names:
            if name not in known:
                raise EventsError(f"{where}: unknown {what} {name!r} in {key!r}")
    return names


def _parse_entry(kind: str, number: int, raw: object, path: Path, known_kpis) -> StepChange | Annotation:
    where = f"{path}: {kind} #{number}"
    if not isinstance(raw, dict):
        raise EventsError(f"{where}: must be a table of keys, not {raw!r}")
    required, allowed = _KINDS[kind]
    for key in raw:
        if key not in allowed:
            raise EventsError(f"{where}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")
    for key in sorted(required):
        if key not in raw:
            raise EventsError(f"{where}: missing {key!r}")
    month = raw["month"]
    try:
        month = _month_text(_month_index(month))
    except SpcError:
        raise EventsError(f"{where}: month {month!r} is not a real month YYYY-MM (e.g. 2022-03)") from None
    kpis = _names(raw, "kpis", where, known_kpis, "KPI id")
    if kind == "step_change":
        return StepChange(month=month, kpis=kpis, reason=_text(raw, "reason", where))
    areas = _names(raw, "areas", where, EVENT_AREAS, "area") if "areas" in raw else ()
    detail = _text(raw, "detail", where) if "detail" in raw else ""
    return Annotation(month=month, label=_text(raw, "label", where), kpis=kpis, areas=areas, detail=detail)


def load_events(path: str | Path | None = None, *, known_kpis: Iterable[str] | None = None) -> Events:
    """Read the events file ``path`` (else $CPD_EVENTS, else ``data/events.toml``).

    Args:
        path: the file; it replaces the default file (events are not merged).
        known_kpis: when given, a KPI id outside it is refused.

    Raises:
        EventsError: the file is missing or not TOML, or an entry has an unknown kind or key,
            a missing key, a bad month, an unknown KPI id or area.
    """
    chosen = Path(path or os.environ.get(EVENTS_ENV) or DEFAULT_EVENTS_PATH)
    try:
        with chosen.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise EventsError(f"events file {chosen} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise EventsError(f"events file {chosen} is not valid TOML: {exc}") from None
    known = None if known_kpis is None else frozenset(known_kpis)
    parsed: dict[str, list] = {kind: [] for kind in _KINDS}
    for kind, entries in raw.items():
        if kind not in _KINDS:
            raise EventsError(
                f"{chosen}: {kind} #1: unknown kind of event {kind!r} (use [[step_change]] or [[annotation]])"
            )
        if not isinstance(entries, list):
            raise EventsError(f"{chosen}: {kind} must be written as [[{kind}]] entries")
        for number, entry in enumerate(entries, start=1):
            parsed[kind].append(_parse_entry(kind, number, entry, chosen, known))
    return Events(
        step_changes=tuple(parsed["step_change"]),
        annotations=tuple(parsed["annotation"]),
        source=str(chosen),
    )
