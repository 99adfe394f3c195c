-- Records behind the initial-contact charts: incidents received in the period.
-- Contract columns plus the derived arrival time (null unless usable).
-- Parameters: $period_start, $period_end, $force, $lpa, $local_authority,
-- $focus_column, $focus_value (a drill-down: one breakdown group), $row_limit.
select incident_id, force, lpa, local_authority, received_at, incident_type, grade,
    vulnerability_identified, thrive_completed, thrive_reassessments, victim_callback,
    arrived_at,
    case when usable_interval(received_at, arrived_at) then minutes_between(received_at, arrived_at) end
        as arrival_min,
    ppn_submitted_at, voice_of_child_recorded, child_spoken_to, bwv_used,
    count(*) over () as total_rows
from incidents_in_scope($force, $lpa, $local_authority, $focus_column, $focus_value)
where received_at >= $period_start and received_at < $period_end
order by received_at desc, incident_id
limit $row_limit
