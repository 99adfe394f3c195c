-- Records behind the police-protection charts: powers invoked in the period,
-- or, when $row_ids is given, exactly those uses (the rows a KPI counts, chosen
-- by queries.kpis.kpi_records), with kpi_value: the interval a KPI judges the
-- row on ($measure, as recorded; null when $measure is null).
-- police_protection has no local_authority: that filter is not applied.
-- Parameters: $period_start, $period_end, $force, $lpa, $focus_column,
-- $focus_value, $row_ids (varchar[] or null), $measure ('strategy_hours' or
-- null), $row_limit.
select pp_id, child_id, force, lpa, invoked_at, ended_at, ppn_submitted, strategy_discussion_at,
    case when usable_interval(invoked_at, strategy_discussion_at)
        then minutes_between(invoked_at, strategy_discussion_at) / 60.0 end as strategy_delay_hours,
    template_used,
    case $measure
        when 'strategy_hours' then minutes_between(invoked_at, strategy_discussion_at) / 60.0
    end as kpi_value,
    count(*) over () as total_rows
from police_protection
where case when $row_ids is null then invoked_at >= $period_start and invoked_at < $period_end
           else pp_id in (select unnest($row_ids::varchar[])) end
  and ($force is null or force = $force)
  and ($lpa is null or lpa = $lpa)
  and ($focus_value is null or case $focus_column
        when 'lpa' then lpa
        when 'force' then force
      end = $focus_value)
order by invoked_at desc, pp_id
limit $row_limit
