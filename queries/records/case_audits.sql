-- Records behind the case-audit charts: audits in the period. No lpa.
-- Parameters: $period_start, $period_end, $force, $focus_column, $focus_value, $row_limit.
select audit_id, force, audited_at, area, grade,
    count(*) over () as total_rows
from case_audits
where audited_at >= $period_start and audited_at < $period_end
  and ($force is null or force = $force)
  and ($focus_value is null or case $focus_column
        when 'area' then area
        when 'force' then force
      end = $focus_value)
order by audited_at desc, audit_id
limit $row_limit
