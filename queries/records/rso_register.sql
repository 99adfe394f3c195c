-- Records behind the RSO charts: the register snapshot of the period's last
-- month (as the snapshot KPIs read it). No local_authority column.
-- Parameters: $period_end, $force, $lpa, $focus_column, $focus_value, $row_limit.
select snapshot_month, rso_id, force, lpa, offender_manager_id, management, in_custody,
    whereabouts_unknown, arms_required, arms_completed_date, arms_due_date, next_visit_due,
    count(*) over () as total_rows
from rso_register_in_scope($force, $lpa, $focus_column, $focus_value)
where snapshot_month = ($period_end::timestamp - interval 1 month)::date
order by offender_manager_id, rso_id
limit $row_limit
