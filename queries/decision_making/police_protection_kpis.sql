-- Police protection KPIs from police_protection (event time invoked_at).
-- Returns one row per (window_start, group, kpi_id): numerator, denominator,
-- value, is_covered (see initial_contact/incident_kpis.sql for the shape).
-- police_protection has no local_authority: that filter is not applied.
-- Parameters: $period_start, $period_end, $window_months, $breakdown, $force, $lpa.
-- breakdowns: force, lpa
with in_force as (
    select * from police_protection where $force is null or force = $force
),
scoped as (
    select *,
        case $breakdown when 'force' then force when 'lpa' then lpa else 'all' end as grp
    from in_force
    where $lpa is null or lpa = $lpa
),
-- Each window x group, covered when in_force (the force filter only,
-- metrics.md) has invoked_at months overlapping the window.
frame as (
    select f.*, covers_event(c.first_month, c.last_month, f.window_start, f.window_end) as is_covered
    from kpi_frame('scoped', $period_start, $period_end, $window_months, $breakdown) f
    left join month_coverage('in_force', invoked_at, $breakdown) c
      on c.grp = coverage_group($breakdown, f.grp)
),
events as (
    select event_window(invoked_at, $period_start, $window_months) as window_start, grp,
        count(*) as n_uses,
        count_if(ppn_submitted) as n_ppn,
        count_if(ended_at is not null) as n_end_recorded,
        count_if(within_minutes(invoked_at, strategy_discussion_at, 24 * 60)) as n_strategy_24h,
        count_if(template_used) as n_template
    from scoped
    where invoked_at >= $period_start and invoked_at < $period_end
    group by all
),
kpis as (
    select f.window_start, f.grp, f.is_covered,
        unnest([
            kpi_count('police_protection_count', e.n_uses),
            kpi_pct('pp_ppn_pct', e.n_ppn, e.n_uses),
            kpi_pct('pp_end_recorded_pct', e.n_end_recorded, e.n_uses),
            kpi_pct('pp_strategy_within_24h_pct', e.n_strategy_24h, e.n_uses),
            kpi_pct('pp_template_pct', e.n_template, e.n_uses)
        ], recursive := true)
    from frame f
    left join events e on e.window_start = f.window_start and e.grp = f.grp
)
-- Figures of uncovered windows are nulled; rows ordered by window, group, kpi.
select * from kpi_output('kpis')
