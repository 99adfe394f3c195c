-- Recording gaps: for every column the contract marks "null = not recorded", the share of
-- the rows it can be judged on that leave it null, per month of the table's coverage column.
-- Returns one row per (table_name, column_name, month) that has judged rows:
--   rows_judged, rows_missing, missing_pct (100 * rows_missing / rows_judged).
-- A month with no judged rows gives no row: the page shows no cell, never 0%.
-- Months: the coverage column's month, in [$period_start, $period_end).
-- Filters: force on every table; lpa on all four tables here; local_authority only on
-- missing_episodes (the others lack it, so it is not applied to them, as in metrics.md).
--
-- Which rows a gap is judged on (a null is a gap only once the value was due):
--   missing_episodes.risk_ratified_at  every episode: a supervisor ratifies every risk assessment.
--   missing_episodes.return_home_interview_at
--                                      episodes found (found_at recorded) at least 72 h before
--                                      the as-of time: a child still missing has no interview
--                                      due, and the interview is due within 72 h of return.
--   investigations.csc_informed_at     every investigation: the victim is a child, so social care
--                                      is always told.
--   police_protection.ended_at         uses invoked at least 72 h before the as-of time: police
--                                      protection lasts at most 72 h (Children Act 1989 s46), so
--                                      by then it has ended and the end is due on the record.
--   custody_detentions.aa_requested_at, rights_given_at
--                                      every detention: both are due on arrival (PACE Code C).
--   custody_detentions.aa_arrived_at   detentions released (released_at recorded) or that arrived
--                                      at least 24 h before the as-of time (the PACE detention
--                                      clock): a child still in the cell may await the AA.
-- The as-of time is the latest coverage-column time among the force's rows of that table
-- (the extract can hold nothing later than its own latest record), capped at $now.
-- found_at ("still missing"), closed_at ("open"), arrived_at ("not attended"), released_at
-- ("still detained") and the like record a state, not a gap: they are not counted here.
-- Parameters: $period_start, $period_end, $force, $lpa, $local_authority, $now.
with missing as (
    select * from (
        select *, least(max(reported_at) over (partition by force), $now::timestamp) as as_of
        from missing_episodes
        where $force is null or force = $force
    )
    where reported_at >= $period_start and reported_at < $period_end
        and ($lpa is null or lpa = $lpa)
        and ($local_authority is null or local_authority = $local_authority)
),
crimes as (
    select * from investigations
    where ($force is null or force = $force)
        and ($lpa is null or lpa = $lpa)
        and opened_at >= $period_start and opened_at < $period_end
),
protection as (
    select * from (
        select *, least(max(invoked_at) over (partition by force), $now::timestamp) as as_of
        from police_protection
        where $force is null or force = $force
    )
    where invoked_at >= $period_start and invoked_at < $period_end
        and ($lpa is null or lpa = $lpa)
),
custody as (
    select * from (
        select *, least(max(arrived_at) over (partition by force), $now::timestamp) as as_of
        from custody_detentions
        where $force is null or force = $force
    )
    where arrived_at >= $period_start and arrived_at < $period_end
        and ($lpa is null or lpa = $lpa)
),
judged as (
    select 'missing_episodes' as table_name, 'risk_ratified_at' as column_name,
        date_trunc('month', reported_at) as month, risk_ratified_at is null as is_missing
    from missing
    union all
    select 'missing_episodes', 'return_home_interview_at',
        date_trunc('month', reported_at), return_home_interview_at is null
    from missing
    where found_at is not null and found_at + interval 72 hour <= as_of
    union all
    select 'investigations', 'csc_informed_at', date_trunc('month', opened_at), csc_informed_at is null
    from crimes
    union all
    select 'police_protection', 'ended_at', date_trunc('month', invoked_at), ended_at is null
    from protection
    where invoked_at + interval 72 hour <= as_of
    union all
    select 'custody_detentions', 'aa_requested_at', date_trunc('month', arrived_at), aa_requested_at is null
    from custody
    union all
    select 'custody_detentions', 'aa_arrived_at', date_trunc('month', arrived_at), aa_arrived_at is null
    from custody
    where released_at is not null or arrived_at + interval 24 hour <= as_of
    union all
    select 'custody_detentions', 'rights_given_at', date_trunc('month', arrived_at), rights_given_at is null
    from custody
)
select table_name, column_name, month,
    count(*)::bigint as rows_judged,
    count_if(is_missing)::bigint as rows_missing,
    pct(count_if(is_missing), count(*)) as missing_pct
from judged
group by all
order by table_name, column_name, month
