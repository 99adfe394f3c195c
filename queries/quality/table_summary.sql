-- Data quality, per contract table: size, coverage and freshness of the force's extract.
-- Returns one row per table (all eleven, in contract order, even when empty):
--   table_name, table_order, rows_in_period, rows_all, first_month, last_month,
--   latest_at, rows_future, days_since_latest, is_stale.
-- rows_in_period: rows whose coverage-column time lies in [$period_start, $period_end),
--   under the force filter and the lpa / local_authority filters where the table has
--   that column (a filter a table lacks is not applied to it, as in metrics.md).
-- Everything else describes the force's whole extract (force filter only, every month),
--   as metrics.md's "Coverage" does: staleness is a property of the extract, not of an area.
-- first_month, last_month: the months of the coverage column (metrics.md "Coverage").
-- latest_at: the latest coverage-column time not after $now. For the monthly snapshot
--   tables (rso_register, team_staffing) it is the last day of the latest month not after
--   the current month (a snapshot is the state at the end of its month); for
--   case_audits the audit date.
-- rows_future: rows whose coverage-column time is after $now (a mistyped date, or
--   a snapshot month not yet begun); left out of latest_at.
-- days_since_latest: whole days from latest_at to $today (0 when not before today);
--   is_stale: days_since_latest > $stale_after_days (null when the table has no rows).
-- Parameters: $period_start, $period_end, $force, $lpa, $local_authority, $now, $today,
--   $stale_after_days.
with events as (
    select 'incidents' as table_name, 1 as table_order, false as is_snapshot,
        force, lpa, local_authority, true as has_lpa, true as has_la, received_at as event_at
    from incidents
    union all
    select 'missing_episodes', 2, false, force, lpa, local_authority, true, true, reported_at
    from missing_episodes
    union all
    select 'mash_referrals', 3, false, force, lpa, local_authority, true, true, received_at
    from mash_referrals
    union all
    select 'investigations', 4, false, force, lpa, null, true, false, opened_at
    from investigations
    union all
    select 'investigation_reviews', 5, false, force, null, null, false, false, reviewed_at
    from investigation_reviews
    union all
    select 'team_staffing', 6, true, force, null, null, false, false, month::timestamp
    from team_staffing
    union all
    select 'police_protection', 7, false, force, lpa, null, true, false, invoked_at
    from police_protection
    union all
    select 'rso_register', 8, true, force, lpa, null, true, false, snapshot_month::timestamp
    from rso_register
    union all
    select 'rso_breaches', 9, false, force, lpa, null, true, false, recorded_at
    from rso_breaches
    union all
    select 'custody_detentions', 10, false, force, lpa, null, true, false, arrived_at
    from custody_detentions
    union all
    select 'case_audits', 11, false, force, null, null, false, false, audited_at::timestamp
    from case_audits
),
in_force as (
    select * from events where $force is null or force = $force
),
tables as (
    select * from (values
        ('incidents', 1, false), ('missing_episodes', 2, false), ('mash_referrals', 3, false),
        ('investigations', 4, false), ('investigation_reviews', 5, false), ('team_staffing', 6, true),
        ('police_protection', 7, false), ('rso_register', 8, true), ('rso_breaches', 9, false),
        ('custody_detentions', 10, false), ('case_audits', 11, false)
    ) t(table_name, table_order, is_snapshot)
),
summary as (
    select table_name,
        count(*) filter (
            where event_at >= $period_start and event_at < $period_end
                and ($lpa is null or not has_lpa or lpa = $lpa)
                and ($local_authority is null or not has_la or local_authority = $local_authority)
        ) as rows_in_period,
        count(*) as rows_all,
        min(date_trunc('month', event_at)) as first_month,
        max(date_trunc('month', event_at)) as last_month,
        max(event_at) filter (where event_at <= $now) as latest_event_at,
        count(*) filter (where event_at > $now) as rows_future
    from in_force
    group by table_name
),
dated as (
    select t.table_name, t.table_order,
        coalesce(s.rows_in_period, 0) as rows_in_period,
        coalesce(s.rows_all, 0) as rows_all,
        s.first_month, s.last_month,
        case
            when t.is_snapshot then (s.latest_event_at + interval 1 month - interval 1 day)::timestamp
            else s.latest_event_at
        end as latest_at,
        coalesce(s.rows_future, 0) as rows_future
    from tables t
    left join summary s using (table_name)
),
aged as (
    -- greatest() skips nulls: guard an empty table explicitly, so its age stays null.
    select *,
        case when latest_at is not null then greatest(date_diff('day', latest_at::date, $today::date), 0) end
            as days_since_latest
    from dated
)
select table_name, table_order, rows_in_period, rows_all, first_month, last_month, latest_at, rows_future,
    days_since_latest, days_since_latest > $stale_after_days as is_stale
from aged
order by table_order
