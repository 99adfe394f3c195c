-- Records behind the missing-children charts: episodes reported in the period;
-- or, when $row_ids is given, exactly those episodes (the rows a KPI counts,
-- chosen by queries.kpis.kpi_records), whatever their time; or, when $child_ids
-- is given, one row per listed child: its latest episode reported before the
-- period end (a repeat-missing KPI counts children, not episodes).
-- The risk-assessment text is a contract column (needed to read flagged language).
-- kpi_value: the interval a KPI judges the row on ($measure, as recorded;
-- null when $measure is null).
-- Parameters: $period_start, $period_end, $force, $lpa, $local_authority,
-- $focus_column, $focus_value, $row_ids, $child_ids (varchar[] or null),
-- $measure ('deploy_min', 'ratification_to_deploy_min', 'rhi_hours' or null), $row_limit.
with chosen as (
    select * from missing_episodes_in_scope($force, $lpa, $local_authority, $focus_column, $focus_value)
    where case
        when $child_ids is not null
            then child_id in (select unnest($child_ids::varchar[])) and reported_at < $period_end
        when $row_ids is not null then episode_id in (select unnest($row_ids::varchar[]))
        else reported_at >= $period_start and reported_at < $period_end
    end
    qualify $child_ids is null
        or row_number() over (partition by child_id order by reported_at desc, episode_id desc) = 1
)
select episode_id, child_id, force, lpa, local_authority, age, reported_at, risk_level,
    risk_ratified_at,
    case when usable_interval(reported_at, risk_ratified_at)
        then minutes_between(reported_at, risk_ratified_at) end as ratification_delay_min,
    first_deployed_at,
    case when usable_interval(reported_at, first_deployed_at)
        then minutes_between(reported_at, first_deployed_at) end as deploy_delay_min,
    found_at, prevention_interview, return_home_interview_at, ppn_submitted,
    strategy_meeting_held, csc_referral, risk_assessment_text,
    case $measure
        when 'deploy_min' then minutes_between(reported_at, first_deployed_at)
        when 'ratification_to_deploy_min' then minutes_between(risk_ratified_at, first_deployed_at)
        when 'rhi_hours' then minutes_between(found_at, return_home_interview_at) / 60.0
    end as kpi_value,
    count(*) over () as total_rows
from chosen
order by reported_at desc, episode_id
limit $row_limit
