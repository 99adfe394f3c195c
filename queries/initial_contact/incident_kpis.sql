-- Initial contact KPIs from incidents (event time received_at). The median
-- arrival time for vulnerable callers is incident_delays.sql's.
-- Returns one row per (window_start, group, kpi_id) with numerator,
-- denominator, value, is_covered: one per window of $window_months months
-- from the period's start (the period's length: the whole period as one
-- window; 1: a monthly series); one group 'all', or one per value of $breakdown.
-- Parameters: $period_start, $period_end (timestamps, end exclusive),
--   $window_months (integer, dividing the period's months), $breakdown (a whitelisted name below, or 'none'),
--   $force, $lpa, $local_authority (varchar; null = no filter),
--   $grade1_target_min, $grade2_target_min (minutes).
-- breakdowns: force, lpa, local_authority, incident_type, grade
with in_force as (
    select * from incidents where $force is null or force = $force
),
scoped as (
    select * from incidents_grouped($force, $lpa, $local_authority, $breakdown)
),
-- Each window x group, covered when in_force (the force filter only,
-- metrics.md) has received_at months overlapping the window.
frame as (
    select f.*, covers_event(c.first_month, c.last_month, f.window_start, f.window_end) as is_covered
    from kpi_frame('scoped', $period_start, $period_end, $window_months, $breakdown) f
    left join month_coverage('in_force', received_at, $breakdown) c
      on c.grp = coverage_group($breakdown, f.grp)
),
events as (
    select event_window(received_at, $period_start, $window_months) as window_start, grp,
        count(*) as n_incidents,
        count_if(thrive_completed) as n_thrive,
        count_if(grade = 1) as n_grade1,
        count_if(grade = 1 and within_minutes(received_at, arrived_at, $grade1_target_min)) as n_grade1_within,
        count_if(grade = 2) as n_grade2,
        count_if(grade = 2 and within_minutes(received_at, arrived_at, $grade2_target_min)) as n_grade2_within,
        count_if(vulnerability_identified) as n_vulnerable,
        count_if(vulnerability_identified and grade in (1, 2)) as n_vulnerable_graded_1_2,
        count_if(vulnerability_identified and ppn_submitted_at is not null) as n_vulnerable_ppn,
        count_if(vulnerability_identified and within_minutes(received_at, ppn_submitted_at, 24 * 60))
            as n_vulnerable_ppn_24h,
        count_if(ppn_submitted_at is not null) as n_ppn,
        count_if(ppn_submitted_at is not null and voice_of_child_recorded) as n_ppn_voice,
        count_if(vulnerability_identified and child_spoken_to) as n_vulnerable_spoken_to,
        count_if(thrive_reassessments >= 1) as n_reassessed,
        count_if(thrive_reassessments >= 1 and victim_callback) as n_reassessed_callback
    from scoped
    where received_at >= $period_start and received_at < $period_end
    group by all
),
kpis as (
    select f.window_start, f.grp, f.is_covered,
        unnest([
            kpi_count('incidents', e.n_incidents),
            kpi_pct('thrive_completion_pct', e.n_thrive, e.n_incidents),
            kpi_pct('grade1_within_target_pct', e.n_grade1_within, e.n_grade1),
            kpi_pct('grade2_within_target_pct', e.n_grade2_within, e.n_grade2),
            kpi_pct('vulnerable_graded_1_2_pct', e.n_vulnerable_graded_1_2, e.n_vulnerable),
            kpi_pct('ppn_submission_pct', e.n_vulnerable_ppn, e.n_vulnerable),
            kpi_pct('ppn_within_24h_pct', e.n_vulnerable_ppn_24h, e.n_vulnerable),
            kpi_pct('voice_of_child_pct', e.n_ppn_voice, e.n_ppn),
            kpi_pct('child_spoken_to_pct', e.n_vulnerable_spoken_to, e.n_vulnerable),
            kpi_pct('reassessed_callback_pct', e.n_reassessed_callback, e.n_reassessed)
        ], recursive := true)
    from frame f
    left join events e on e.window_start = f.window_start and e.grp = f.grp
)
-- Figures of uncovered windows are nulled; rows ordered by window, group, kpi.
select * from kpi_output('kpis')
