-- Records behind the detention charts: children arriving in custody in the
-- period, or, when $row_ids is given, exactly those detentions (the rows a KPI
-- counts, chosen by queries.kpis.kpi_records), with the derived delays (null
-- unless usable) and kpi_value: the interval a KPI judges the row on
-- ($measure, as recorded; null when $measure is null). No local_authority.
-- Parameters: $period_start, $period_end, $force, $lpa, $focus_column,
-- $focus_value, $row_ids (varchar[] or null), $measure
-- ('aa_after_arrival_min', 'rights_after_interview_min' or null), $row_limit.
select detention_id, child_id, force, lpa, custody_suite, age, arrived_at, aa_requested_at,
    aa_arrived_at,
    case when usable_interval(aa_requested_at, aa_arrived_at)
        then minutes_between(aa_requested_at, aa_arrived_at) end as aa_delay_min,
    rights_given_at,
    case when usable_interval(arrived_at, rights_given_at)
        then minutes_between(arrived_at, rights_given_at) end as rights_delay_min,
    interview_at, released_at, charged, bail_denied, held_overnight,
    alt_accommodation_requested, alt_accommodation_provided, ppn_submitted,
    case $measure
        when 'aa_after_arrival_min' then minutes_between(arrived_at, aa_arrived_at)
        when 'rights_after_interview_min' then minutes_between(interview_at, rights_given_at)
    end as kpi_value,
    count(*) over () as total_rows
from custody_detentions_in_scope($force, $lpa, $focus_column, $focus_value)
where case when $row_ids is null then arrived_at >= $period_start and arrived_at < $period_end
           else detention_id in (select unnest($row_ids::varchar[])) end
order by arrived_at desc, detention_id
limit $row_limit
