-- The MASH open backlog at the period end: referrals received before
-- $period_end and not completed by it (as mash_open_at_end counts them), by
-- risk level and age band. Age is the whole days open at $period_end
-- (floor of (period_end - received_at) in days): '0-7', '8-28', '29-90',
-- 'over 90'.
-- Returns one row per (risk_level, age_band) that has referrals:
--   risk_level, age_band, band_order (1-4, youngest first), n_open.
--   No rows when month `to` is outside the table's coverage (the months
--   from its earliest to its latest received_at, over the forces in the
--   filter), as the KPI is null then.
-- Parameters: $period_end (timestamp, exclusive), $force, $lpa,
--   $local_authority (varchar; null = no filter), $focus_column, $focus_value
--   (a drill-down group: risk_level, source, lpa, local_authority or force;
--   null = none).
-- Every filter applies: mash_referrals has lpa and local_authority.
with in_force as (
    select * from mash_referrals where $force is null or force = $force
),
coverage as (
    select min(date_trunc('month', received_at)) as first_month,
        max(date_trunc('month', received_at)) as last_month
    from in_force
),
open_at_end as (
    select risk_level,
        floor(days_between(received_at, $period_end::timestamp)) as days_open
    from mash_referrals_in_scope($force, $lpa, $local_authority, $focus_column, $focus_value)
    where received_at < $period_end
      and (completed_at is null or completed_at >= $period_end)
)
select risk_level,
    case when days_open <= 7 then '0-7' when days_open <= 28 then '8-28'
        when days_open <= 90 then '29-90' else 'over 90' end as age_band,
    case when days_open <= 7 then 1 when days_open <= 28 then 2
        when days_open <= 90 then 3 else 4 end as band_order,
    count(*) as n_open
from open_at_end
where (select covers_snapshot(first_month, last_month, $period_end::timestamp) from coverage)
group by all
order by band_order, risk_level
