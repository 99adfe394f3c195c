-- Arrival times of incidents with vulnerability identified, received in the
-- period: minutes from received_at to arrived_at, counted in bins, by grade
-- group ('grade 1', 'grade 2', 'other' = grades 3-5).
-- Returns one row per (grade_group, status, bin_min) with n_incidents and
-- median_min (the grade group's median over its usable arrivals, continuous,
-- unbinned; null if none; repeated on each of the group's rows):
--   status 'usable': both times recorded and arrived_at not before received_at;
--     bin_min is the bin's lower edge in minutes (floor(minutes / $bin_min) *
--     $bin_min), and every arrival at or after $cap_min falls in the bin at
--     $cap_min (an overflow bin);
--   status 'not_recorded': arrived_at null (not attended), bin_min null;
--   status 'negative': arrived_at before received_at (a data-quality finding,
--     left out of the distribution), bin_min null.
-- Parameters: $period_start, $period_end (timestamps, end exclusive), $force,
--   $lpa, $local_authority (varchar; null = no filter), $focus_column,
--   $focus_value (a drill-down group: incident_type, grade, lpa,
--   local_authority or force; null = none), $bin_min, $cap_min (minutes).
-- Every filter applies: incidents has lpa and local_authority.
with chosen as (
    select
        case grade when 1 then 'grade 1' when 2 then 'grade 2' else 'other' end as grade_group,
        case
            when arrived_at is null then 'not_recorded'
            when usable_interval(received_at, arrived_at) then 'usable'
            else 'negative'
        end as status,
        minutes_between(received_at, arrived_at) as arrival_min
    from incidents_in_scope($force, $lpa, $local_authority, $focus_column, $focus_value)
    where vulnerability_identified
      and received_at >= $period_start and received_at < $period_end
),
medians as (
    select grade_group, quantile_cont(arrival_min, 0.5) as median_min
    from chosen
    where status = 'usable'
    group by all
)
select c.grade_group, c.status,
    case when c.status = 'usable'
        then least(floor(c.arrival_min / $bin_min) * $bin_min, $cap_min)::double end as bin_min,
    count(*) as n_incidents,
    any_value(m.median_min) as median_min
from chosen c
left join medians m on m.grade_group = c.grade_group
group by c.grade_group, c.status, bin_min
order by c.grade_group, c.status, bin_min
