-- Records behind the breach charts: breaches recorded in the period, or, when
-- $row_ids is given, exactly those breaches (the rows a KPI counts, chosen by
-- queries.kpis.kpi_records). kpi_value is always null (no breach KPI measures
-- an interval); it is there so every records query has the column.
-- Parameters: $period_start, $period_end, $force, $lpa, $focus_column,
-- $focus_value, $row_ids (varchar[] or null), $row_limit.
select breach_id, rso_id, force, lpa, recorded_at, outcome, visor_updated,
    null::double as kpi_value,
    count(*) over () as total_rows
from rso_breaches
where case when $row_ids is null then recorded_at >= $period_start and recorded_at < $period_end
           else breach_id in (select unnest($row_ids::varchar[])) end
  and ($force is null or force = $force)
  and ($lpa is null or lpa = $lpa)
  and ($focus_value is null or case $focus_column
        when 'outcome' then outcome
        when 'lpa' then lpa
        when 'force' then force
      end = $focus_value)
order by recorded_at desc, breach_id
limit $row_limit
