-- Records behind the case-audit charts: audits in the period, or, when
-- $row_ids is given, exactly those audits (the rows a KPI counts, chosen by
-- queries.kpis.kpi_records). No lpa. kpi_value is always null (no audit KPI
-- measures an interval); it is there so every records query has the column.
-- Parameters: $period_start, $period_end, $force, $focus_column, $focus_value,
-- $row_ids (varchar[] or null), $row_limit.
select audit_id, force, audited_at, area, grade,
    null::double as kpi_value,
    count(*) over () as total_rows
from case_audits
where case when $row_ids is null then audited_at >= $period_start and audited_at < $period_end
           else audit_id in (select unnest($row_ids::varchar[])) end
  and ($force is null or force = $force)
  and ($focus_value is null or case $focus_column
        when 'area' then area
        when 'force' then force
      end = $focus_value)
order by audited_at desc, audit_id
limit $row_limit
