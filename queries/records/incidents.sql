-- Records behind the initial-contact charts: incidents received in the period,
-- or, when $row_ids is given, exactly those incidents (the rows a KPI counts,
-- chosen by queries.kpis.kpi_records from the KPI's own query), whatever their time.
-- Contract columns plus the derived arrival time (null unless usable), and
-- kpi_value: the interval a "within T" KPI judges the row on ($measure; null
-- when $measure is null), as recorded, so that a negative or missing one shows.
-- Parameters: $period_start, $period_end, $force, $lpa, $local_authority,
-- $focus_column, $focus_value (a drill-down: one breakdown group), $row_ids
-- (varchar[] or null), $measure ('arrival_min', 'ppn_hours' or null), $row_limit.
select incident_id, force, lpa, local_authority, received_at, incident_type, grade,
    vulnerability_identified, thrive_completed, thrive_reassessments, victim_callback,
    arrived_at,
    case when usable_interval(received_at, arrived_at) then minutes_between(received_at, arrived_at) end
        as arrival_min,
    ppn_submitted_at, voice_of_child_recorded, child_spoken_to, bwv_used,
    case $measure
        when 'arrival_min' then minutes_between(received_at, arrived_at)
        when 'ppn_hours' then minutes_between(received_at, ppn_submitted_at) / 60.0
    end as kpi_value,
    count(*) over () as total_rows
from incidents_in_scope($force, $lpa, $local_authority, $focus_column, $focus_value)
where case when $row_ids is null then received_at >= $period_start and received_at < $period_end
           else incident_id in (select unnest($row_ids::varchar[])) end
order by received_at desc, incident_id
limit $row_limit
