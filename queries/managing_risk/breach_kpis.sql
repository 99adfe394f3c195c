-- Notification breach KPIs from rso_breaches (event time recorded_at).
-- Returns one row per (window_start, group, kpi_id): numerator, denominator,
-- value, is_covered (see initial_contact/incident_kpis.sql for the shape).
-- rso_breaches has no local_authority: that filter is not applied.
-- Parameters: $period_start, $period_end, $monthly, $breakdown, $force, $lpa.
-- breakdowns: force, lpa, outcome
with in_force as (
    select * from rso_breaches where $force is null or force = $force
),
scoped as (
    select *,
        case $breakdown when 'force' then force when 'lpa' then lpa when 'outcome' then outcome else 'all' end
            as grp
    from in_force
    where $lpa is null or lpa = $lpa
),
coverage as (
    select case when $breakdown = 'force' then force else 'all' end as grp,
        min(date_trunc('month', recorded_at)) as first_month,
        max(date_trunc('month', recorded_at)) as last_month
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
    select event_window(recorded_at, $period_start, $monthly) as window_start, grp,
        count(*) as n_breaches,
        count_if(outcome <> 'ongoing') as n_concluded,
        count_if(outcome = 'words of advice') as n_words_of_advice,
        count_if(visor_updated) as n_visor
    from scoped
    where recorded_at >= $period_start and recorded_at < $period_end
    group by all
),
kpis as (
    select f.window_start, f.grp, f.is_covered,
        unnest([
            kpi_count('breaches', e.n_breaches),
            kpi_pct('breach_words_of_advice_pct', e.n_words_of_advice, e.n_concluded),
            kpi_pct('breach_visor_updated_pct', e.n_visor, e.n_breaches)
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
