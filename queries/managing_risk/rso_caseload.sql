-- Caseload per offender manager at the period's last month: registered sex
-- offenders in the community (not in_custody) in the rso_register snapshot
-- of month `to`, counted per (force, offender_manager_id), as
-- rso_max_per_offender_manager counts them.
-- Returns one row per (force, offender_manager_id) with at least one RSO in
--   the community, largest caseload first: force, offender_manager_id
--   (pseudonymous), n_rso. No rows when the snapshot month has no rows.
-- Parameters: $period_end (timestamp, exclusive; the snapshot month is the
--   month before it), $force, $lpa (varchar; null = no filter),
--   $focus_column, $focus_value (a drill-down group: lpa, management or
--   force; null = none).
-- rso_register has no local_authority: that filter is not applied.
select force, offender_manager_id, count(*) as n_rso
from rso_register_in_scope($force, $lpa, $focus_column, $focus_value)
where snapshot_month = ($period_end::timestamp - interval 1 month)::date
  and not in_custody
group by all
order by n_rso desc, force, offender_manager_id
