-- Records behind the MASH charts. $scope 'period': referrals received in the
-- period; 'open_at_end': referrals open at the period end (received before it,
-- not completed by it), as mash_open_at_end counts them. When $row_ids is
-- given, exactly those referrals (the rows a KPI counts, chosen by
-- queries.kpis.kpi_records), whatever their time; $scope then only says
-- whether days_open_at_end is shown.
-- kpi_value: the value a KPI judges the row on ($measure; null when null).
-- Parameters: $period_start, $period_end, $scope, $force, $lpa,
-- $local_authority, $focus_column, $focus_value, $row_ids (varchar[] or null),
-- $measure ('days_open_at_end' or null), $row_limit.
select referral_id, force, lpa, local_authority, received_at, risk_level, source, completed_at,
    case when $scope = 'open_at_end' then days_between(received_at, $period_end::timestamp) end
        as days_open_at_end,
    strategy_required, strategy_held_at, minutes_received_at,
    case when usable_interval(strategy_held_at, minutes_received_at)
        then days_between(strategy_held_at, minutes_received_at) end as minutes_delay_days,
    case $measure
        when 'days_open_at_end' then days_between(received_at, $period_end::timestamp)
    end as kpi_value,
    count(*) over () as total_rows
from mash_referrals_in_scope($force, $lpa, $local_authority, $focus_column, $focus_value)
where case
    when $row_ids is not null then referral_id in (select unnest($row_ids::varchar[]))
    when $scope = 'open_at_end'
        then received_at < $period_end and (completed_at is null or completed_at >= $period_end)
    else received_at >= $period_start and received_at < $period_end
end
order by received_at desc, referral_id
limit $row_limit
