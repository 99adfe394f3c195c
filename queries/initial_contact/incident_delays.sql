-- Initial contact delays from incidents (event time received_at): the median
-- minutes from the call to an officer on scene, for vulnerable callers. Kept
-- apart from incident_kpis.sql because a median cannot be summed from months:
-- the monthly roll-ups (queries/rollup.py) answer that file's figures for any
-- period, and this one is read for a period as it stands.
-- Returns one row per (window_start, group, kpi_id) (see incident_kpis.sql for
-- the shape and the parameters).
-- Parameters: $period_start, $period_end, $window_months, $breakdown, $force,
--   $lpa, $local_authority.
-- breakdowns: force, lpa, local_authority, incident_type, grade
with in_force as (
    select * from incidents where $force is null or force = $force
),
scoped as (
    select * from incidents_grouped($force, $lpa, $local_authority, $breakdown)
),
frame as (
    select f.*, covers_event(c.first_month, c.last_month, f.window_start, f.window_end) as is_covered
    from kpi_frame('scoped', $period_start, $period_end, $window_months, $breakdown) f
    left join month_coverage('in_force', received_at, $breakdown) c
      on c.grp = coverage_group($breakdown, f.grp)
),
events as (
    select event_window(received_at, $period_start, $window_months) as window_start, grp,
        quantile_cont(minutes_between(received_at, arrived_at), 0.5)
            filter (where vulnerability_identified and usable_interval(received_at, arrived_at)) as arrival_median,
        count_if(vulnerability_identified and usable_interval(received_at, arrived_at)) as n_arrival
    from scoped
    where received_at >= $period_start and received_at < $period_end
    group by all
),
kpis as (
    select f.window_start, f.grp, f.is_covered,
        unnest([kpi_stat('arrival_median_min', e.arrival_median, e.n_arrival)], recursive := true)
    from frame f
    left join events e on e.window_start = f.window_start and e.grp = f.grp
)
-- Figures of uncovered windows are nulled; rows ordered by window, group, kpi.
select * from kpi_output('kpis')
