-- Records behind the missing-children charts: episodes reported in the period.
-- The risk-assessment text is a contract column (needed to read flagged language).
-- Parameters: $period_start, $period_end, $force, $lpa, $local_authority,
-- $focus_column, $focus_value, $row_limit.
select episode_id, child_id, force, lpa, local_authority, age, reported_at, risk_level,
    risk_ratified_at,
    case when usable_interval(reported_at, risk_ratified_at)
        then minutes_between(reported_at, risk_ratified_at) end as ratification_delay_min,
    first_deployed_at,
    case when usable_interval(reported_at, first_deployed_at)
        then minutes_between(reported_at, first_deployed_at) end as deploy_delay_min,
    found_at, prevention_interview, return_home_interview_at, ppn_submitted,
    strategy_meeting_held, csc_referral, risk_assessment_text,
    count(*) over () as total_rows
from missing_episodes_in_scope($force, $lpa, $local_authority, $focus_column, $focus_value)
where reported_at >= $period_start and reported_at < $period_end
order by reported_at desc, episode_id
limit $row_limit
