-- Investigation delays from investigations (event time opened_at): the median
-- days to a video interview. Kept apart from investigation_kpis.sql because a
-- median cannot be summed from months: the monthly roll-ups (queries/rollup.py)
-- answer that file's figures for any period, and this one, a single scan of one
-- table, is read for a period as it stands.
-- Returns one row per (window_start, group, kpi_id) (see
-- initial_contact/incident_kpis.sql for the shape). investigations has no
-- local_authority: that filter is not applied here.
-- Parameters: $period_start, $period_end, $window_months, $breakdown, $force, $lpa.
-- breakdowns: force, lpa, team, category, risk_level
with in_force as (
    select * from investigations where $force is null or force = $force
),
scoped as (
    select * from investigations_grouped($force, $lpa, $breakdown)
),
-- Each window x group, covered when in_force (the force filter only,
-- metrics.md) has opened_at months overlapping the window.
frame as (
    select f.*, covers_event(c.first_month, c.last_month, f.window_start, f.window_end) as is_covered
    from kpi_frame('scoped', $period_start, $period_end, $window_months, $breakdown) f
    left join month_coverage('in_force', opened_at, $breakdown) c
      on c.grp = coverage_group($breakdown, f.grp)
),
opened as (
    select event_window(opened_at, $period_start, $window_months) as window_start, grp,
        quantile_cont(days_between(opened_at, video_interview_at), 0.5)
            filter (where usable_interval(opened_at, video_interview_at)) as video_median,
        count_if(usable_interval(opened_at, video_interview_at)) as n_video
    from scoped
    where opened_at >= $period_start and opened_at < $period_end
    group by all
),
kpis as (
    select f.window_start, f.grp, f.is_covered,
        unnest([
            kpi_stat('video_interview_delay_median_days', op.video_median, op.n_video)
        ], recursive := true)
    from frame f
    left join opened op on op.window_start = f.window_start and op.grp = f.grp
)
-- Figures of uncovered windows are nulled; rows ordered by window, group, kpi.
select * from kpi_output('kpis')
