-- Records behind the breach charts: breaches recorded in the period.
-- Parameters: $period_start, $period_end, $force, $lpa, $focus_column,
-- $focus_value, $row_limit.
select breach_id, rso_id, force, lpa, recorded_at, outcome, visor_updated,
    count(*) over () as total_rows
from rso_breaches
where recorded_at >= $period_start and recorded_at < $period_end
  and ($force is null or force = $force)
  and ($lpa is null or lpa = $lpa)
  and ($focus_value is null or case $focus_column
        when 'outcome' then outcome
        when 'lpa' then lpa
        when 'force' then force
      end = $focus_value)
order by recorded_at desc, breach_id
limit $row_limit
