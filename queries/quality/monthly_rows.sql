-- Rows per contract table and month of its coverage column, in the period and under the filters.
-- The denominators of the data-error counts: a month in which a table has no rows is
-- absent here (no cell on the page), so that 0 errors is told apart from no data.
-- Returns: table_name, month, rows (only months with rows; months in [$period_start, $period_end)).
-- Filters: force on every table; lpa and local_authority on the tables that have the
-- column (not applied to the others, as in metrics.md).
-- Parameters: $period_start, $period_end, $force, $lpa, $local_authority.
with events as (
    select 'incidents' as table_name, force, lpa, local_authority, true as has_lpa, true as has_la,
        received_at as event_at
    from incidents
    union all
    select 'missing_episodes', force, lpa, local_authority, true, true, reported_at from missing_episodes
    union all
    select 'mash_referrals', force, lpa, local_authority, true, true, received_at from mash_referrals
    union all
    select 'investigations', force, lpa, null, true, false, opened_at from investigations
    union all
    select 'investigation_reviews', force, null, null, false, false, reviewed_at from investigation_reviews
    union all
    select 'team_staffing', force, null, null, false, false, month::timestamp from team_staffing
    union all
    select 'police_protection', force, lpa, null, true, false, invoked_at from police_protection
    union all
    select 'rso_register', force, lpa, null, true, false, snapshot_month::timestamp from rso_register
    union all
    select 'rso_breaches', force, lpa, null, true, false, recorded_at from rso_breaches
    union all
    select 'custody_detentions', force, lpa, null, true, false, arrived_at from custody_detentions
    union all
    select 'case_audits', force, null, null, false, false, audited_at::timestamp from case_audits
)
select table_name, date_trunc('month', event_at) as month, count(*) as rows
from events
where ($force is null or force = $force)
    and ($lpa is null or not has_lpa or lpa = $lpa)
    and ($local_authority is null or not has_la or local_authority = $local_authority)
    and event_at >= $period_start and event_at < $period_end
group by all
order by table_name, month
