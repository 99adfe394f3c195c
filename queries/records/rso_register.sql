-- Records behind the RSO charts: the register snapshot of the period's last
-- month (as the snapshot KPIs read it), or, when $row_ids is given, exactly
-- those RSOs of that snapshot (the rows a KPI counts, chosen by
-- queries.kpis.kpi_records). kpi_value is always null here (the ARMS status
-- words are given by kpi_records); it is there so every records query has it.
-- No local_authority column.
-- Parameters: $period_end, $force, $lpa, $focus_column, $focus_value,
-- $row_ids (varchar[] or null), $row_limit.
select snapshot_month, rso_id, force, lpa, offender_manager_id, management, in_custody,
    whereabouts_unknown, arms_required, arms_completed_date, arms_due_date, next_visit_due,
    null::double as kpi_value,
    count(*) over () as total_rows
from rso_register_in_scope($force, $lpa, $focus_column, $focus_value)
where snapshot_month = ($period_end::timestamp - interval 1 month)::date
  and ($row_ids is null or rso_id in (select unnest($row_ids::varchar[])))
order by offender_manager_id, rso_id
limit $row_limit
