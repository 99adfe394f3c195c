-- Notification breach KPIs from rso_breaches (event time recorded_at).
-- Returns one row per (window_start, group, kpi_id): numerator, denominator,
-- value, is_covered (see initial_contact/incident_kpis.sql for the shape).
-- rso_breaches has no local_authority: that filter is not applied.
-- Parameters: $period_start, $period_end, $window_months, $breakdown, $force, $lpa.
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
-- Each window x group, covered when in_force (the force filter only,
-- metrics.md) has recorded_at months overlapping the window.
frame as (
    select f.*, covers_event(c.first_month, c.last_month, f.window_start, f.window_end) as is_covered
    from kpi_frame('scoped', $period_start, $period_end, $window_months, $breakdown) f
    left join month_coverage('in_force', recorded_at, $breakdown) c
      on c.grp = coverage_group($breakdown, f.grp)
),
events as (
    select event_window(recorded_at, $period_start, $window_months) as window_start, grp,
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
-- Figures of uncovered windows are nulled; rows ordered by window, group, kpi.
select * from kpi_output('kpis')
