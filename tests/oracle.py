"""An independent oracle for the KPIs of ../shared/spec/metrics.md, in plain pandas.

Written from the metric catalogue alone (never from queries/*.sql), so that a
test comparing the two catches a query that drifts from its definition.
Simple and slow on purpose: every KPI reads like its sentence in metrics.md.
"""

from __future__ import annotations

import pandas as pd

from data.contract import TABLES
from data.settings import Settings, load_settings

# Every KPI id of metrics.md, in catalogue order.
KPI_IDS: tuple[str, ...] = (
    # Initial contact (incidents)
    "incidents",
    "thrive_completion_pct",
    "grade1_within_target_pct",
    "grade2_within_target_pct",
    "vulnerable_graded_1_2_pct",
    "arrival_median_min",
    "ppn_submission_pct",
    "ppn_within_24h_pct",
    "voice_of_child_pct",
    "child_spoken_to_pct",
    "reassessed_callback_pct",
    # Assessment and help (missing_episodes, mash_referrals)
    "missing_episodes",
    "missing_deploy_delay_median_min",
    "missing_deployed_within_target_pct",
    "missing_ratification_delay_median_min",
    "missing_deployed_after_ratification_pct",
    "repeat_missing_children",
    "repeat_missing_max_episodes",
    "repeat_missing_referred_pct",
    "rhi_within_72h_pct",
    "missing_ppn_pct",
    "inappropriate_language_count",
    "mash_received",
    "mash_open_at_end",
    "mash_open_oldest_days_high",
    "strategy_held_pct",
    "strategy_minutes_delay_median_days",
    "strategy_minutes_missing",
    # Investigation (investigations, investigation_reviews, team_staffing)
    "investigations_opened",
    "investigation_plan_pct",
    "investigations_open_at_end",
    "investigations_drifting",
    "video_interview_delay_median_days",
    "csc_informed_within_24h_pct",
    "polit_kirat_pct",
    "high_risk_outside_specialist_pct",
    "impact_open_cases",
    "impact_cases_per_officer",
    "impact_high_risk_children",
    # Decision-making (police_protection)
    "police_protection_count",
    "pp_ppn_pct",
    "pp_end_recorded_pct",
    "pp_strategy_within_24h_pct",
    "pp_template_pct",
    # Managing risk (rso_register, rso_breaches)
    "rso_count",
    "rso_in_community",
    "arms_outstanding",
    "arms_in_date",
    "arms_completion_pct",
    "rso_per_offender_manager",
    "rso_max_per_offender_manager",
    "home_visits_overdue",
    "rso_whereabouts_unknown",
    "breaches",
    "breach_words_of_advice_pct",
    "breach_visor_updated_pct",
    # Police detention (custody_detentions)
    "child_detentions",
    "aa_request_delay_median_min",
    "aa_delay_median_min",
    "aa_delay_p90_min",
    "aa_within_2h_pct",
    "aa_arrival_not_recorded_pct",
    "rights_delay_median_min",
    "rights_not_recorded",
    "rights_after_interview",
    "overnight_detentions",
    "alt_accommodation_provided_pct",
    "custody_ppn_pct",
    # Case audits (case_audits)
    "audits",
    "audit_good",
    "audit_requires_improvement",
    "audit_inadequate",
)

# Tables whose coverage is the set of months that have rows (metrics.md,
# "Coverage"); every other table covers the whole range from its earliest to
# its latest month.
MONTH_SET_TABLES = ("rso_register", "team_staffing")

Value = float | None


# --------------------------------------------------------------------------
# Small helpers: percentages, durations, medians
# --------------------------------------------------------------------------


def _pct(numerator: int, denominator: int) -> Value:
    """100 * numerator / denominator; null (None) on a zero denominator."""
    if denominator == 0:
        return None
    return 100.0 * numerator / denominator


def _flag(series: pd.Series) -> pd.Series:
    """A boolean column as plain True/False; a null reads as False."""
    return series.astype("boolean").fillna(False).astype(bool)


def _minutes(start: pd.Series, end: pd.Series) -> pd.Series:
    """Wall-clock difference end - start in minutes (NaN where either is null)."""
    return (end - start) / pd.Timedelta(minutes=1)


def _days(start: pd.Series, end: pd.Series) -> pd.Series:
    """Wall-clock difference end - start in fractional days (NaN where either is null)."""
    return (end - start) / pd.Timedelta(days=1)


def _usable(durations: pd.Series) -> pd.Series:
    """Durations a statistic may use: both ends recorded, end not before start."""
    return durations[durations.notna() & (durations >= 0)]


def _quantile(durations: pd.Series, q: float) -> Value:
    """Continuous quantile (pandas' default, linear) of the usable durations; None if none."""
    usable = _usable(durations)
    if usable.empty:
        return None
    return float(usable.quantile(q))


def _median(durations: pd.Series) -> Value:
    return _quantile(durations, 0.5)


def _within(durations: pd.Series, limit) -> pd.Series:
    """metrics.md "Within T of": recorded, not negative and at most T; anything else is a miss.

    ``limit`` is a number or a Series aligned with ``durations``.
    """
    return (durations.notna() & (durations >= 0) & (durations <= limit)).astype(bool)


def _count(frame_or_mask) -> float:
    if isinstance(frame_or_mask, pd.DataFrame):
        return float(len(frame_or_mask))
    return float(int(frame_or_mask.sum()))


# --------------------------------------------------------------------------
# The evaluation context: period, filters, coverage
# --------------------------------------------------------------------------


def _clean_filter(value: str | None) -> str | None:
    """An empty or space-only filter means no filter."""
    if value is None:
        return None
    value = str(value)
    if value.strip() == "":
        return None
    # AMBIGUITY: metrics.md says a space-only filter is no filter but not whether
    # a real value is trimmed. Ingest trims surrounding spaces from the data, so
    # " Dorset " is read as "Dorset" here. (The tests do not rely on this.)
    return value.strip()


def _normalise(table: str, frame: pd.DataFrame | None) -> pd.DataFrame:
    """The frame with the contract's columns, timestamps and dates as datetime64.

    A missing table or an empty frame is a table with no rows.
    """
    spec = TABLES[table]
    if frame is None or len(frame) == 0:
        frame = pd.DataFrame({name: pd.Series([], dtype=object) for name in spec.column_names})
    frame = frame.copy()
    for col in spec.columns:
        if col.type in ("timestamp", "date"):
            frame[col.name] = pd.to_datetime(frame[col.name])
    return frame.reset_index(drop=True)


class _Context:
    """One evaluation: the frames, the period, the filters and the settings."""

    def __init__(self, frames, period_from, period_to, force, lpa, local_authority, settings):
        self.frames = {name: _normalise(name, frames.get(name)) for name in TABLES}
        self.from_month = pd.Period(period_from, freq="M")
        self.to_month = pd.Period(period_to, freq="M")
        if self.to_month < self.from_month:
            raise ValueError(f"period {period_from}..{period_to} ends before it starts")
        self.period_start = self.from_month.start_time
        # First instant of the month after `to` (exclusive end).
        self.period_end = (self.to_month + 1).start_time
        # First day of month `to`: the rso_register snapshot and staffing month.
        self.to_start = self.to_month.start_time
        self.filters = {
            "force": _clean_filter(force),
            "lpa": _clean_filter(lpa),
            "local_authority": _clean_filter(local_authority),
        }
        self.force = self.filters["force"]
        self.settings = settings if settings is not None else load_settings()
        self.period_months = set(pd.period_range(self.from_month, self.to_month, freq="M"))

    @property
    def sub_force_filter(self) -> bool:
        """An lpa or local-authority filter is set (per-officer KPIs are then null)."""
        return self.filters["lpa"] is not None or self.filters["local_authority"] is not None

    def filtered(self, table: str) -> pd.DataFrame:
        """The table's rows kept by the filters; a filter on a column the table lacks is not applied."""
        frame = self.frames[table]
        columns = TABLES[table].column_names  # the contract's columns, not stray extras
        for column, value in self.filters.items():
            if value is not None and column in columns:
                frame = frame[frame[column] == value]
        return frame

    def events(self, table: str, column: str) -> pd.DataFrame:
        """Filtered rows whose ``column`` lies in [period_start, period_end)."""
        frame = self.filtered(table)
        return frame[(frame[column] >= self.period_start) & (frame[column] < self.period_end)]

    def coverage(self, table: str) -> set[pd.Period]:
        """Months the table covers, over the rows of the forces in the filter (force filter only)."""
        frame = self.frames[table]
        if self.force is not None:
            frame = frame[frame["force"] == self.force]
        months = frame[TABLES[table].coverage_column].dropna().dt.to_period("M")
        if months.empty:
            return set()
        if table in MONTH_SET_TABLES:
            return set(months)
        return set(pd.period_range(months.min(), months.max(), freq="M"))

    def event_covered(self, *tables: str) -> bool:
        """The period overlaps the coverage of every table named."""
        return all(self.period_months & self.coverage(t) for t in tables)

    def snapshot_covered(self, *tables: str) -> bool:
        """Month `to` lies inside the coverage of every table named."""
        return all(self.to_month in self.coverage(t) for t in tables)

    def open_at_end(self, frame: pd.DataFrame, start: str, end: str) -> pd.DataFrame:
        """Rows started before period_end and not ended before it (null end = still open)."""
        started = frame[start] < self.period_end
        # An end exactly at period_end is not "before" it: still open.
        not_ended = frame[end].isna() | (frame[end] >= self.period_end)
        return frame[started & not_ended]


def _gate(values: dict[str, Value], covered: bool) -> dict[str, Value]:
    """Null every value when the data does not cover the period (counts included)."""
    if covered:
        return values
    return dict.fromkeys(values)


# --------------------------------------------------------------------------
# The KPIs, area by area
# --------------------------------------------------------------------------


def _initial_contact(ctx: _Context) -> dict[str, Value]:
    inc = ctx.events("incidents", "received_at")
    g1_min = float(ctx.settings.grade1_target_min)
    g2_min = float(ctx.settings.grade2_target_min)
    vulnerable = inc[_flag(inc["vulnerability_identified"])]
    grade1 = inc[inc["grade"] == 1]
    grade2 = inc[inc["grade"] == 2]
    with_ppn = inc[inc["ppn_submitted_at"].notna()]
    reassessed = inc[inc["thrive_reassessments"] >= 1]

    values = {
        "incidents": _count(inc),
        "thrive_completion_pct": _pct(_flag(inc["thrive_completed"]).sum(), len(inc)),
        "grade1_within_target_pct": _pct(
            _within(_minutes(grade1["received_at"], grade1["arrived_at"]), g1_min).sum(), len(grade1)
        ),
        "grade2_within_target_pct": _pct(
            _within(_minutes(grade2["received_at"], grade2["arrived_at"]), g2_min).sum(), len(grade2)
        ),
        "vulnerable_graded_1_2_pct": _pct(vulnerable["grade"].isin([1, 2]).sum(), len(vulnerable)),
        "arrival_median_min": _median(_minutes(vulnerable["received_at"], vulnerable["arrived_at"])),
        "ppn_submission_pct": _pct(vulnerable["ppn_submitted_at"].notna().sum(), len(vulnerable)),
        "ppn_within_24h_pct": _pct(
            _within(_minutes(vulnerable["received_at"], vulnerable["ppn_submitted_at"]), 24 * 60).sum(),
            len(vulnerable),
        ),
        # AMBIGUITY: "of all incidents with ppn_submitted_at recorded" - the incident is
        # selected by received_at in the period; the PPN time itself may fall after
        # period_end (metrics.md: other columns are read as they stand in the extract).
        "voice_of_child_pct": _pct(_flag(with_ppn["voice_of_child_recorded"]).sum(), len(with_ppn)),
        "child_spoken_to_pct": _pct(_flag(vulnerable["child_spoken_to"]).sum(), len(vulnerable)),
        "reassessed_callback_pct": _pct(_flag(reassessed["victim_callback"]).sum(), len(reassessed)),
    }
    return _gate(values, ctx.event_covered("incidents"))


def _missing(ctx: _Context) -> dict[str, Value]:
    ep = ctx.events("missing_episodes", "reported_at")
    g1_min = float(ctx.settings.grade1_target_min)
    g2_min = float(ctx.settings.grade2_target_min)

    # Deployment within the grade target: high -> grade 1 target, medium -> grade 2.
    high_medium = ep[ep["risk_level"].isin(["high", "medium"])]
    target = high_medium["risk_level"].map({"high": g1_min, "medium": g2_min}).astype(float)
    deploy_min = _minutes(high_medium["reported_at"], high_medium["first_deployed_at"])
    deployed_in_target = _within(deploy_min, target)

    both = ep[ep["first_deployed_at"].notna() & ep["risk_ratified_at"].notna()]
    after_ratification = both["first_deployed_at"] > both["risk_ratified_at"]  # strictly after

    found = ep[ep["found_at"].notna()]
    rhi_in_72h = _within(_minutes(found["found_at"], found["return_home_interview_at"]), 72 * 60)

    phrases = [p.lower() for p in ctx.settings.language_phrases]
    text = ep["risk_assessment_text"].astype("string").str.lower()
    matches = pd.Series(False, index=ep.index)
    for phrase in phrases:
        # A plain substring, no regex, no word boundaries; a null text matches nothing.
        matches |= text.str.contains(phrase, regex=False).fillna(False).astype(bool)

    event_values = {
        "missing_episodes": _count(ep),
        "missing_deploy_delay_median_min": _median(_minutes(ep["reported_at"], ep["first_deployed_at"])),
        "missing_deployed_within_target_pct": _pct(deployed_in_target.sum(), len(high_medium)),
        "missing_ratification_delay_median_min": _median(_minutes(ep["reported_at"], ep["risk_ratified_at"])),
        "missing_deployed_after_ratification_pct": _pct(after_ratification.sum(), len(both)),
        "rhi_within_72h_pct": _pct(rhi_in_72h.sum(), len(found)),
        "missing_ppn_pct": _pct(_flag(ep["ppn_submitted"]).sum(), len(ep)),
        "inappropriate_language_count": _count(matches),
    }

    # Repeat missing (snapshot): episodes reported in [period_end - 90 days, period_end).
    # AMBIGUITY: the filters select episodes, so under an lpa / local-authority filter only
    # that area's episodes are counted towards a child's 3 (a child missing twice in East
    # and once in West is not a repeat-missing child of East). Children are told apart by
    # child_id alone, as written ("distinct child_id").
    everything = ctx.filtered("missing_episodes")
    window_start = ctx.period_end - pd.Timedelta(days=90)
    window = everything[
        (everything["reported_at"] >= window_start) & (everything["reported_at"] < ctx.period_end)
    ]
    per_child = window.groupby("child_id").size()
    repeat_children = per_child[per_child >= 3]
    repeat_rows = window[window["child_id"].isin(repeat_children.index)]
    # AMBIGUITY: "csc_referral on at least one episode in that window" - the episodes
    # in the window that the filters keep.
    referred = _flag(repeat_rows["csc_referral"]).groupby(repeat_rows["child_id"]).any()
    snapshot_values = {
        "repeat_missing_children": float(len(repeat_children)),
        "repeat_missing_max_episodes": float(repeat_children.max()) if len(repeat_children) else None,
        "repeat_missing_referred_pct": _pct(int(referred.sum()), len(repeat_children)),
    }
    return {
        **_gate(event_values, ctx.event_covered("missing_episodes")),
        **_gate(snapshot_values, ctx.snapshot_covered("missing_episodes")),
    }


def _mash(ctx: _Context) -> dict[str, Value]:
    received = ctx.events("mash_referrals", "received_at")
    required = received[_flag(received["strategy_required"])]
    # Strategy meetings held in the period (whenever the referral was received).
    # AMBIGUITY: these two KPIs select rows by strategy_held_at, but the table's
    # coverage is still that of its event column received_at (metrics.md names one
    # event column per table).
    held = ctx.events("mash_referrals", "strategy_held_at")
    event_values = {
        "mash_received": _count(received),
        "strategy_held_pct": _pct(required["strategy_held_at"].notna().sum(), len(required)),
        "strategy_minutes_delay_median_days": _median(
            _days(held["strategy_held_at"], held["minutes_received_at"])
        ),
        "strategy_minutes_missing": _count(held["minutes_received_at"].isna()),
    }

    # AMBIGUITY: a referral completed exactly at period_end did not end *before*
    # period_end, so it is still open at period end.
    open_now = ctx.open_at_end(ctx.filtered("mash_referrals"), "received_at", "completed_at")
    open_high = open_now[open_now["risk_level"] == "high"]
    ages = (ctx.period_end - open_high["received_at"]) / pd.Timedelta(days=1)
    snapshot_values = {
        "mash_open_at_end": _count(open_now),
        "mash_open_oldest_days_high": float(ages.max()) if len(ages) else None,
    }
    return {
        **_gate(event_values, ctx.event_covered("mash_referrals")),
        **_gate(snapshot_values, ctx.snapshot_covered("mash_referrals")),
    }


def _per_officer(ctx: _Context, team: str, numerator_rows: pd.DataFrame) -> Value:
    """Rows of the forces having a ``team`` staffing row for month `to` / the sum of their officers_fte.

    Null under an lpa or local-authority filter (the establishment has neither),
    and when no force in the filter has such a staffing row.
    """
    # AMBIGUITY: with no force filter, "the forces in the filter" are all forces; the
    # numerator keeps only the rows of forces that have the staffing row (a force
    # without one adds neither cases nor officers), and the KPI also needs month `to`
    # inside the coverage of both tables (checked by the caller).
    if ctx.sub_force_filter:
        return None
    staff = ctx.frames["team_staffing"]
    staff = staff[(staff["month"] == ctx.to_start) & (staff["team"] == team)]
    if ctx.force is not None:
        staff = staff[staff["force"] == ctx.force]
    if staff.empty:
        return None
    forces = set(staff["force"])
    numerator = int(numerator_rows["force"].isin(forces).sum())
    return numerator / float(staff["officers_fte"].sum())


def _investigations(ctx: _Context) -> dict[str, Value]:
    opened = ctx.events("investigations", "opened_at")
    polit = opened[opened["team"] == "polit"]
    event_values = {
        "investigations_opened": _count(opened),
        "investigation_plan_pct": _pct(_flag(opened["plan_recorded"]).sum(), len(opened)),
        "video_interview_delay_median_days": _median(
            _days(opened["opened_at"], opened["video_interview_at"])
        ),
        "csc_informed_within_24h_pct": _pct(
            _within(_minutes(opened["opened_at"], opened["csc_informed_at"]), 24 * 60).sum(), len(opened)
        ),
        # AMBIGUITY: kirat_completed null on a polit investigation (a contract breach)
        # is read as "not completed": the row stays in the denominator.
        "polit_kirat_pct": _pct(_flag(polit["kirat_completed"]).sum(), len(polit)),
    }

    open_now = ctx.open_at_end(ctx.filtered("investigations"), "opened_at", "closed_at")
    high_or_exploitation = open_now[
        (open_now["risk_level"] == "high") | (open_now["category"] == "exploitation")
    ]
    impact_open = open_now[open_now["team"] == "impact"]
    impact_high = impact_open[impact_open["risk_level"] == "high"]

    # Drift: open at period end, opened at least 28 days before period_end, and no
    # review of its crime_id in [period_end - 28 days, period_end). Reviews are never
    # filtered (a review counts whatever its own force).
    # AMBIGUITY: "at least 28 days before" is inclusive: opened_at <= period_end - 28 days.
    cutoff = ctx.period_end - pd.Timedelta(days=28)
    reviews = ctx.frames["investigation_reviews"]
    recent = reviews[(reviews["reviewed_at"] >= cutoff) & (reviews["reviewed_at"] < ctx.period_end)]
    reviewed_ids = set(recent["crime_id"])
    drifting = open_now[(open_now["opened_at"] <= cutoff) & ~open_now["crime_id"].isin(reviewed_ids)]

    snapshot_values = {
        "investigations_open_at_end": _count(open_now),
        "high_risk_outside_specialist_pct": _pct(
            high_or_exploitation["team"].isin(["neighbourhood", "cid"]).sum(), len(high_or_exploitation)
        ),
        "impact_open_cases": _count(impact_open),
        "impact_high_risk_children": float(impact_high["victim_child_id"].nunique()),
    }
    return {
        **_gate(event_values, ctx.event_covered("investigations")),
        **_gate(snapshot_values, ctx.snapshot_covered("investigations")),
        # Two-table KPIs need both tables' coverage (metrics.md, "Coverage").
        # AMBIGUITY: drift is a snapshot KPI, so "needs both" is read as month `to`
        # inside the coverage of investigations and of investigation_reviews (the
        # latter over the forces in the filter, earliest to latest reviewed_at month).
        **_gate(
            {"investigations_drifting": _count(drifting)},
            ctx.snapshot_covered("investigations", "investigation_reviews"),
        ),
        **_gate(
            {"impact_cases_per_officer": _per_officer(ctx, "impact", impact_open)},
            ctx.snapshot_covered("investigations", "team_staffing"),
        ),
    }


def _police_protection(ctx: _Context) -> dict[str, Value]:
    pp = ctx.events("police_protection", "invoked_at")
    values = {
        "police_protection_count": _count(pp),
        "pp_ppn_pct": _pct(_flag(pp["ppn_submitted"]).sum(), len(pp)),
        "pp_end_recorded_pct": _pct(pp["ended_at"].notna().sum(), len(pp)),
        "pp_strategy_within_24h_pct": _pct(
            _within(_minutes(pp["invoked_at"], pp["strategy_discussion_at"]), 24 * 60).sum(), len(pp)
        ),
        "pp_template_pct": _pct(_flag(pp["template_used"]).sum(), len(pp)),
    }
    return _gate(values, ctx.event_covered("police_protection"))


def _rso(ctx: _Context) -> dict[str, Value]:
    register = ctx.filtered("rso_register")
    snap = register[register["snapshot_month"] == ctx.to_start]
    community = snap[~_flag(snap["in_custody"])]
    arms = community[_flag(community["arms_required"])]
    # "By the end of `to`" = on or before the last day of month `to` = before period_end.
    due_by_end = arms["arms_due_date"].notna() & (arms["arms_due_date"] < ctx.period_end)
    due_after_end = arms["arms_due_date"].notna() & (arms["arms_due_date"] >= ctx.period_end)
    # AMBIGUITY: an arms_required row with a null arms_due_date (a contract breach)
    # is in neither arms_outstanding nor arms_in_date.
    outstanding = int(due_by_end.sum())
    in_date = int((arms["arms_completed_date"].notna() & due_after_end).sum())
    active = community[community["management"] == "active"]
    visits_overdue = active["next_visit_due"].notna() & (active["next_visit_due"] < ctx.period_end)
    per_manager = community.groupby(["force", "offender_manager_id"]).size()

    values = {
        "rso_count": _count(snap),
        "rso_in_community": _count(community),
        "arms_outstanding": float(outstanding),
        "arms_in_date": float(in_date),
        "arms_completion_pct": _pct(in_date, in_date + outstanding),
        "rso_max_per_offender_manager": float(per_manager.max()) if len(per_manager) else None,
        "home_visits_overdue": _count(visits_overdue),
        "rso_whereabouts_unknown": _count(_flag(community["whereabouts_unknown"])),
    }
    return {
        **_gate(values, ctx.snapshot_covered("rso_register")),
        **_gate(
            {"rso_per_offender_manager": _per_officer(ctx, "mosovo", community)},
            ctx.snapshot_covered("rso_register", "team_staffing"),
        ),
    }


def _breaches(ctx: _Context) -> dict[str, Value]:
    br = ctx.events("rso_breaches", "recorded_at")
    concluded = br[br["outcome"] != "ongoing"]
    values = {
        "breaches": _count(br),
        "breach_words_of_advice_pct": _pct((concluded["outcome"] == "words of advice").sum(), len(concluded)),
        "breach_visor_updated_pct": _pct(_flag(br["visor_updated"]).sum(), len(br)),
    }
    return _gate(values, ctx.event_covered("rso_breaches"))


def _custody(ctx: _Context) -> dict[str, Value]:
    cd = ctx.events("custody_detentions", "arrived_at")
    aa_delay = _minutes(cd["aa_requested_at"], cd["aa_arrived_at"])
    requested = cd[_flag(cd["alt_accommodation_requested"])]
    values = {
        "child_detentions": _count(cd),
        "aa_request_delay_median_min": _median(_minutes(cd["arrived_at"], cd["aa_requested_at"])),
        "aa_delay_median_min": _median(aa_delay),
        "aa_delay_p90_min": _quantile(aa_delay, 0.9),
        # AMBIGUITY: an appropriate adult recorded as arriving before the child
        # (negative interval) is not "within 2 h": a miss, like a missing time.
        "aa_within_2h_pct": _pct(
            _within(_minutes(cd["arrived_at"], cd["aa_arrived_at"]), 120).sum(), len(cd)
        ),
        "aa_arrival_not_recorded_pct": _pct(cd["aa_arrived_at"].isna().sum(), len(cd)),
        "rights_delay_median_min": _median(_minutes(cd["arrived_at"], cd["rights_given_at"])),
        "rights_not_recorded": _count(cd["rights_given_at"].isna()),
        "rights_after_interview": _count(
            cd["interview_at"].notna()
            & cd["rights_given_at"].notna()
            & (cd["rights_given_at"] > cd["interview_at"])  # strictly after
        ),
        "overnight_detentions": _count(_flag(cd["held_overnight"])),
        "alt_accommodation_provided_pct": _pct(
            _flag(requested["alt_accommodation_provided"]).sum(), len(requested)
        ),
        "custody_ppn_pct": _pct(_flag(cd["ppn_submitted"]).sum(), len(cd)),
    }
    return _gate(values, ctx.event_covered("custody_detentions"))


def _audits(ctx: _Context) -> dict[str, Value]:
    # audited_at is a date: as midnight, it lies in the period exactly when its day does.
    au = ctx.events("case_audits", "audited_at")
    values = {
        "audits": _count(au),
        "audit_good": _count(au["grade"] == "good"),
        "audit_requires_improvement": _count(au["grade"] == "requires improvement"),
        "audit_inadequate": _count(au["grade"] == "inadequate"),
    }
    return _gate(values, ctx.event_covered("case_audits"))


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def oracle_kpis(
    frames: dict[str, pd.DataFrame],
    period_from: str,
    period_to: str,
    *,
    force: str | None = None,
    lpa: str | None = None,
    local_authority: str | None = None,
    settings: Settings | None = None,
) -> dict[str, Value]:
    """Every KPI of metrics.md for the period ``period_from``..``period_to`` (YYYY-MM, inclusive).

    Args:
        frames: table name -> DataFrame holding the contract's columns; a missing
            table or an empty frame means no data.
        period_from, period_to: the first and last month of the period.
        force, lpa, local_authority: filters; None, "" or spaces mean no filter.
        settings: grade targets and the language list; the defaults when None.

    Returns:
        KPI id -> value (float), or None where metrics.md says null.
    """
    ctx = _Context(frames, period_from, period_to, force, lpa, local_authority, settings)
    values: dict[str, Value] = {}
    for area in (
        _initial_contact,
        _missing,
        _mash,
        _investigations,
        _police_protection,
        _rso,
        _breaches,
        _custody,
        _audits,
    ):
        values.update(area(ctx))
    missing = set(KPI_IDS) - set(values)
    extra = set(values) - set(KPI_IDS)
    assert not missing and not extra, f"oracle bug: missing {missing}, extra {extra}"
    return {kpi: values[kpi] for kpi in KPI_IDS}


def oracle_series(
    frames: dict[str, pd.DataFrame],
    kpi_id: str,
    period_from: str,
    period_to: str,
    **filters,
) -> list[tuple[str, Value]]:
    """One (YYYY-MM, value) per month of the period, each month evaluated as a one-month period."""
    months = pd.period_range(pd.Period(period_from, freq="M"), pd.Period(period_to, freq="M"), freq="M")
    series = []
    for month in months:
        label = month.strftime("%Y-%m")
        series.append((label, oracle_kpis(frames, label, label, **filters)[kpi_id]))
    return series
