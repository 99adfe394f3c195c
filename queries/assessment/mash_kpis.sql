-- MASH KPIs from mash_referrals: received (event time received_at), open at
-- the window end (snapshot), and strategy meetings (event time strategy_held_at).
-- Returns one row per (window_start, group, kpi_id): numerator, denominator,
-- value, is_covered (see initial_contact/incident_kpis.sql for the shape).
-- Parameters: $period_start, $period_end, $window_months, $breakdown, $force, $lpa,
--   $local_authority.
-- breakdowns: force, lpa, local_authority, risk_level, source
with in_force as (
    select * from mash_referrals where $force is null or force = $force
),
scoped as (
    select *,
        case $breakdown
            when 'force' then force
            when 'lpa' then lpa
            when 'local_authority' then local_authority
            when 'risk_level' then risk_level
            when 'source' then source
            else 'all'
        end as grp
    from in_force
    where ($lpa is null or lpa = $lpa)
      and ($local_authority is null or local_authority = $local_authority)
),
-- Each window x group. Event KPIs need in_force (the force filter only,
-- metrics.md) to have received_at months overlapping the window; snapshot KPIs,
-- the window's last month within its months.
frame as (
    select f.*,
        covers_event(c.first_month, c.last_month, f.window_start, f.window_end) as is_event_covered,
        covers_snapshot(c.first_month, c.last_month, f.window_end) as is_snapshot_covered
    from kpi_frame('scoped', $period_start, $period_end, $window_months, $breakdown) f
    left join month_coverage('in_force', received_at, $breakdown) c
      on c.grp = coverage_group($breakdown, f.grp)
),
received as (
    select event_window(received_at, $period_start, $window_months) as window_start, grp,
        count(*) as n_received,
        count_if(strategy_required) as n_strategy_required,
        count_if(strategy_required and strategy_held_at is not null) as n_strategy_held
    from scoped
    where received_at >= $period_start and received_at < $period_end
    group by all
),
-- Strategy meetings count in the window they were held in, whenever the
-- referral was received.
strategy as (
    select event_window(strategy_held_at, $period_start, $window_months) as window_start, grp,
        quantile_cont(days_between(strategy_held_at, minutes_received_at), 0.5)
            filter (where usable_interval(strategy_held_at, minutes_received_at)) as minutes_median,
        count_if(usable_interval(strategy_held_at, minutes_received_at)) as n_minutes,
        count_if(minutes_received_at is null) as n_minutes_missing
    from scoped
    where strategy_held_at >= $period_start and strategy_held_at < $period_end
    group by all
),
open_at_end as (
    select f.window_start, f.grp,
        count(*) as n_open,
        max(days_between(s.received_at, f.window_end)) filter (where s.risk_level = 'high') as oldest_high_days,
        count_if(s.risk_level = 'high') as n_open_high
    from frame f
    join scoped s
      on s.grp = f.grp
     and s.received_at < f.window_end
     and (s.completed_at is null or s.completed_at >= f.window_end)
    group by all
),
kpis as (
    select f.window_start, f.grp, f.is_event_covered as is_covered,
        unnest([
            kpi_count('mash_received', r.n_received),
            kpi_pct('strategy_held_pct', r.n_strategy_held, r.n_strategy_required),
            kpi_stat('strategy_minutes_delay_median_days', s.minutes_median, s.n_minutes),
            kpi_count('strategy_minutes_missing', s.n_minutes_missing)
        ], recursive := true)
    from frame f
    left join received r on r.window_start = f.window_start and r.grp = f.grp
    left join strategy s on s.window_start = f.window_start and s.grp = f.grp
    union all
    select f.window_start, f.grp, f.is_snapshot_covered as is_covered,
        unnest([
            kpi_count('mash_open_at_end', o.n_open),
            kpi_stat('mash_open_oldest_days_high', o.oldest_high_days, o.n_open_high)
        ], recursive := true)
    from frame f
    left join open_at_end o on o.window_start = f.window_start and o.grp = f.grp
)
-- Figures of uncovered windows are nulled; rows ordered by window, group, kpi.
select * from kpi_output('kpis')
