-- The IMPACT caseload month by month: for each month of the period, IMPACT
-- investigations open at the month's end, IMPACT officers (team_staffing
-- FTE for that month) and cases per officer, as impact_open_cases and
-- impact_cases_per_officer define them for a period ending with that month.
-- Returns one row per month of the period: month (date, first of month),
--   open_cases (null when the month is outside the investigations table's
--   coverage), officers_fte (sum over the forces in the filter with an
--   impact staffing row for the month; null if none), cases_per_officer
--   (those forces' open cases / their FTE; null if no such force or the
--   month is not covered).
-- Parameters: $period_start, $period_end (timestamps, end exclusive), $force,
--   $lpa, $local_authority (varchar; null = no filter).
-- investigations has no local_authority: that filter is not applied to the
-- cases. team_staffing has no lpa or local authority: under either filter
-- officers_fte and cases_per_officer are null (staffing is force-wide).
with in_force as (
    select * from investigations where $force is null or force = $force
),
coverage as (
    select min(date_trunc('month', opened_at)) as first_month,
        max(date_trunc('month', opened_at)) as last_month
    from in_force
),
months as (
    select w.window_start, w.window_end,
        covers_snapshot(c.first_month, c.last_month, w.window_end) as is_covered
    from kpi_windows($period_start, $period_end, 1) w
    cross join coverage c
),
open_by_force as (
    select m.window_start, i.force, count(*) as n_open
    from months m
    join in_force i
      on i.team = 'impact'
     and i.opened_at < m.window_end
     and (i.closed_at is null or i.closed_at >= m.window_end)
     and ($lpa is null or i.lpa = $lpa)
    group by all
),
staffing as (
    select m.window_start, sum(coalesce(o.n_open, 0)) as n_open_staffed, sum(s.officers_fte) as officers_fte
    from months m
    join team_staffing s
      on s.team = 'impact'
     and s.month = m.window_start::date
     and ($force is null or s.force = $force)
    left join open_by_force o on o.window_start = m.window_start and o.force = s.force
    where $lpa is null and $local_authority is null
    group by all
)
select m.window_start::date as month,
    case when m.is_covered then coalesce(sum(o.n_open), 0) end::double as open_cases,
    any_value(s.officers_fte)::double as officers_fte,
    case when m.is_covered and any_value(s.officers_fte) > 0
        then any_value(s.n_open_staffed) / any_value(s.officers_fte) end::double as cases_per_officer
from months m
left join open_by_force o on o.window_start = m.window_start
left join staffing s on s.window_start = m.window_start
group by m.window_start, m.is_covered
order by month
