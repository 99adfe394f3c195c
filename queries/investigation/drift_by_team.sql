-- Drifting investigations at the period end by team, split by how long since
-- the last supervisory review: the investigations investigations_drifting
-- counts (open at $period_end, opened at least 28 days before it, no review
-- in [period_end - 28 days, period_end)). A review counts for the
-- investigation with its crime_id whatever the review's force.
-- Returns one row per (team, review_band) that has drifting investigations:
--   team, review_band ('never reviewed', '28-56 days', '57-90 days',
--   'over 90 days': whole days from the last review before $period_end to
--   $period_end, floor), band_order (1-4), n_drifting.
--   No rows unless month `to` is inside the coverage of both investigations
--   (opened_at) and investigation_reviews (reviewed_at), over the forces in
--   the filter, as the KPI is null then.
-- Parameters: $period_end (timestamp, exclusive), $force, $lpa (varchar;
--   null = no filter), $focus_column, $focus_value (a drill-down group:
--   team, category, risk_level, lpa or force; null = none).
-- investigations has no local_authority: that filter is not applied.
with in_force as (
    select * from investigations where $force is null or force = $force
),
coverage as (
    select
        (select covers_snapshot(min(date_trunc('month', opened_at)), max(date_trunc('month', opened_at)),
            $period_end::timestamp) from in_force)
        and (select covers_snapshot(min(date_trunc('month', reviewed_at)),
            max(date_trunc('month', reviewed_at)), $period_end::timestamp)
            from investigation_reviews where $force is null or force = $force) as is_covered
),
open_at_end as (
    select crime_id, team
    from investigations_in_scope($force, $lpa, $focus_column, $focus_value)
    where opened_at < $period_end
      and (closed_at is null or closed_at >= $period_end)
      and opened_at <= $period_end::timestamp - interval 28 day
),
-- The reviews the join below can match, not the whole table. The band needs
-- each investigation's last review however old (never reviewed vs over 90
-- days), so there is no start date; but only reviews before $period_end can
-- match, and under a force filter only those with a crime_id between the open
-- investigations' least and greatest, whatever the review's force (DuckDB
-- then skips later years' files, and other forces' row groups where ids
-- cluster by force, as generated ones do).
reviews_before_end as (
    select crime_id, reviewed_at from investigation_reviews
    where reviewed_at < $period_end
      and ($force is null
        or crime_id between (select min(crime_id) from open_at_end)
            and (select max(crime_id) from open_at_end))
),
last_review as (
    select o.crime_id, o.team, max(r.reviewed_at) as last_reviewed_at
    from open_at_end o
    left join reviews_before_end r on r.crime_id = o.crime_id and r.reviewed_at < $period_end
    group by all
),
drifting as (
    select team, floor(days_between(last_reviewed_at, $period_end::timestamp)) as days_since_review
    from last_review
    where last_reviewed_at is null or last_reviewed_at < $period_end::timestamp - interval 28 day
)
select team,
    case when days_since_review is null then 'never reviewed' when days_since_review <= 56 then '28-56 days'
        when days_since_review <= 90 then '57-90 days' else 'over 90 days' end as review_band,
    case when days_since_review is null then 1 when days_since_review <= 56 then 2
        when days_since_review <= 90 then 3 else 4 end as band_order,
    count(*) as n_drifting
from drifting
where (select is_covered from coverage)
group by all
order by team, band_order
