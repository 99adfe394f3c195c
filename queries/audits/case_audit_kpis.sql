-- Case audit KPIs from case_audits (event date audited_at).
-- Returns one row per (window_start, group, kpi_id): numerator, denominator,
-- value, is_covered (see initial_contact/incident_kpis.sql for the shape).
-- case_audits has neither lpa nor local_authority: those filters are not applied.
-- Parameters: $period_start, $period_end, $window_months, $breakdown, $force.
-- breakdowns: force, area
with in_force as (
    select * from case_audits where $force is null or force = $force
),
scoped as (
    select *,
        case $breakdown when 'force' then force when 'area' then area else 'all' end as grp
    from in_force
),
-- Each window x group, covered when in_force (the force filter only,
-- metrics.md) has audited_at months overlapping the window.
frame as (
    select f.*, covers_event(c.first_month, c.last_month, f.window_start, f.window_end) as is_covered
    from kpi_frame('scoped', $period_start, $period_end, $window_months, $breakdown) f
    left join month_coverage('in_force', audited_at, $breakdown) c
      on c.grp = coverage_group($breakdown, f.grp)
),
events as (
    select event_window(audited_at::timestamp, $period_start, $window_months) as window_start, grp,
        count(*) as n_audits,
        count_if(grade = 'good') as n_good,
        count_if(grade = 'requires improvement') as n_requires_improvement,
        count_if(grade = 'inadequate') as n_inadequate
    from scoped
    where audited_at >= $period_start and audited_at < $period_end
    group by all
),
kpis as (
    select f.window_start, f.grp, f.is_covered,
        unnest([
            kpi_count('audits', e.n_audits),
            kpi_count('audit_good', e.n_good),
            kpi_count('audit_requires_improvement', e.n_requires_improvement),
            kpi_count('audit_inadequate', e.n_inadequate)
        ], recursive := true)
    from frame f
    left join events e on e.window_start = f.window_start and e.grp = f.grp
)
-- Figures of uncovered windows are nulled; rows ordered by window, group, kpi.
select * from kpi_output('kpis')
