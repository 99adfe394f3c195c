-- Case audit KPIs from case_audits (event date audited_at).
-- Returns one row per (window_start, group, kpi_id): numerator, denominator,
-- value, is_covered (see initial_contact/incident_kpis.sql for the shape).
-- case_audits has neither lpa nor local_authority: those filters are not applied.
-- Parameters: $period_start, $period_end, $monthly, $breakdown, $force.
-- breakdowns: force, area
with in_force as (
    select * from case_audits where $force is null or force = $force
),
scoped as (
    select *,
        case $breakdown when 'force' then force when 'area' then area else 'all' end as grp
    from in_force
),
coverage as (
    select case when $breakdown = 'force' then force else 'all' end as grp,
        min(date_trunc('month', audited_at)) as first_month,
        max(date_trunc('month', audited_at)) as last_month
    from in_force
    group by all
),
groups as (
    select 'all' as grp where $breakdown = 'none'
    union
    select distinct grp from scoped where $breakdown <> 'none'
),
frame as (
    select w.window_start, w.window_end, g.grp,
        covers_event(c.first_month, c.last_month, w.window_start, w.window_end) as is_covered
    from kpi_windows($period_start, $period_end, $monthly) w
    cross join groups g
    left join coverage c on c.grp = case when $breakdown = 'force' then g.grp else 'all' end
),
events as (
    select event_window(audited_at::timestamp, $period_start, $monthly) as window_start, grp,
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
select window_start, grp as "group", kpi_id, is_covered,
    case when is_covered then numerator end as numerator,
    case when is_covered then denominator end as denominator,
    case when is_covered then value end as value
from kpis
order by window_start, "group", kpi_id
