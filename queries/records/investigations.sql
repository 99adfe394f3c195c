-- Records behind the investigation charts. $scope 'period': investigations
-- opened in the period; 'open_at_end': open at the period end, with the last
-- review before it (drift: none in the 28 days before the end). When $row_ids
-- is given, exactly those investigations (the rows a KPI counts, chosen by
-- queries.kpis.kpi_records), whatever their dates; $scope then only says
-- whether drifting_at_end is shown.
-- kpi_value: the value a KPI judges the row on ($measure, as recorded; null
-- when $measure is null).
-- investigations has no local_authority: that filter is not applied.
-- Parameters: $period_start, $period_end, $scope, $force, $lpa,
-- $focus_column, $focus_value, $row_ids (varchar[] or null), $measure
-- ('days_open_at_end', 'csc_hours' or null), $row_limit.
with chosen as (
    select * from investigations_in_scope($force, $lpa, $focus_column, $focus_value)
    where case
        when $row_ids is not null then crime_id in (select unnest($row_ids::varchar[]))
        when $scope = 'open_at_end'
            then opened_at < $period_end and (closed_at is null or closed_at >= $period_end)
        else opened_at >= $period_start and opened_at < $period_end
    end
),
last_review as (
    select r.crime_id, max(r.reviewed_at) as last_reviewed_at
    from investigation_reviews r
    join chosen c on c.crime_id = r.crime_id
    where r.reviewed_at < $period_end
    group by all
)
select c.crime_id, c.victim_child_id, c.force, c.lpa, c.team, c.category, c.risk_level,
    c.opened_at, c.closed_at, c.plan_recorded, c.video_interview_at,
    case when usable_interval(c.opened_at, c.video_interview_at)
        then days_between(c.opened_at, c.video_interview_at) end as video_interview_delay_days,
    c.kirat_completed, c.csc_informed_at, l.last_reviewed_at,
    case when $scope = 'open_at_end' then
        c.opened_at <= $period_end::timestamp - interval 28 day
        and (l.last_reviewed_at is null or l.last_reviewed_at < $period_end::timestamp - interval 28 day)
    end as drifting_at_end,
    case $measure
        when 'days_open_at_end' then days_between(c.opened_at, $period_end::timestamp)
        when 'csc_hours' then minutes_between(c.opened_at, c.csc_informed_at) / 60.0
    end as kpi_value,
    count(*) over () as total_rows
from chosen c
left join last_review l on l.crime_id = c.crime_id
order by c.opened_at desc, c.crime_id
limit $row_limit
