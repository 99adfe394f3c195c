-- Investigation KPIs from investigations (event time opened_at), with
-- investigation_reviews (drift) and team_staffing (IMPACT cases per officer).
-- The median delay to a video interview is investigation_delays.sql's.
-- Returns one row per (window_start, group, kpi_id): numerator, denominator,
-- value, is_covered (see initial_contact/incident_kpis.sql for the shape).
-- investigations has no local_authority: that filter is not applied here,
-- except that per-officer figures are null under it (staffing is force-wide).
-- Parameters: $period_start, $period_end, $window_months, $breakdown, $force, $lpa,
--   $local_authority.
-- breakdowns: force, lpa, team, category, risk_level
with in_force as (
    select * from investigations where $force is null or force = $force
),
scoped as (
    select * from investigations_grouped($force, $lpa, $breakdown)
),
-- Reviews are matched by crime_id whatever their force (so the force filter
-- never touches them in the drift join below), but the table's coverage is
-- taken over the forces in the filter like every table's.
reviews_in_force as (
    select * from investigation_reviews where $force is null or force = $force
),
-- Each window x group. Event KPIs need in_force (the force filter only,
-- metrics.md) to have opened_at months overlapping the window; snapshot KPIs,
-- the window's last month within its months; drift, within both tables'
-- months (a missing review means nothing where reviews were not extracted).
frame as (
    select f.*,
        covers_event(c.first_month, c.last_month, f.window_start, f.window_end) as is_event_covered,
        covers_snapshot(c.first_month, c.last_month, f.window_end) as is_snapshot_covered,
        covers_snapshot(c.first_month, c.last_month, f.window_end)
            and covers_snapshot(rc.first_month, rc.last_month, f.window_end) as is_drift_covered
    from kpi_frame('scoped', $period_start, $period_end, $window_months, $breakdown) f
    left join month_coverage('in_force', opened_at, $breakdown) c
      on c.grp = coverage_group($breakdown, f.grp)
    left join month_coverage('reviews_in_force', reviewed_at, $breakdown) rc
      on rc.grp = coverage_group($breakdown, f.grp)
),
opened as (
    select event_window(opened_at, $period_start, $window_months) as window_start, grp,
        count(*) as n_opened,
        count_if(plan_recorded) as n_plan,
        count_if(within_minutes(opened_at, csc_informed_at, 24 * 60)) as n_csc_24h,
        count_if(team = 'polit') as n_polit,
        count_if(team = 'polit' and kirat_completed) as n_polit_kirat
    from scoped
    where opened_at >= $period_start and opened_at < $period_end
    group by all
),
open_rows as (
    select f.window_start, f.window_end, f.grp, s.crime_id, s.force, s.team, s.category,
        s.risk_level, s.opened_at, s.victim_child_id
    from frame f
    join scoped s
      on s.grp = f.grp
     and s.opened_at < f.window_end
     and (s.closed_at is null or s.closed_at >= f.window_end)
),
-- The reviews drift can read, not the whole table (the join with all of it
-- was most of this query's time at national scale): those in some window's
-- 28 days, from 28 days before the earliest window end to the latest window
-- end (for whole months never before period_start: no window ends sooner
-- than a month after it, and no month is shorter than 28 days); and, under a
-- force filter, with a crime_id between the open investigations' least and
-- greatest, which keeps every review the join can match whatever the
-- review's force and lets DuckDB skip row groups of other forces' crimes
-- (generated ids and files cluster by force; where a real extract does not,
-- nothing is skipped; with no force filter the span would be all crimes).
reviews_in_period as (
    select crime_id, reviewed_at from investigation_reviews
    where reviewed_at >= (select min(window_end) - interval 28 day from frame)
      and reviewed_at < (select max(window_end) from frame)
      and ($force is null
        or crime_id between (select min(crime_id) from open_rows) and (select max(crime_id) from open_rows))
),
recently_reviewed as (
    select distinct o.window_start, o.crime_id
    from open_rows o
    join reviews_in_period r
      on r.crime_id = o.crime_id
     and r.reviewed_at >= o.window_end - interval 28 day
     and r.reviewed_at < o.window_end
),
open_at_end as (
    select o.window_start, o.grp,
        count(*) as n_open,
        count_if(o.opened_at <= o.window_end - interval 28 day and rr.crime_id is null) as n_drifting,
        count_if(o.risk_level = 'high' or o.category = 'exploitation') as n_high_risk,
        count_if((o.risk_level = 'high' or o.category = 'exploitation')
            and o.team in ('neighbourhood', 'cid')) as n_high_risk_outside,
        count_if(o.team = 'impact') as n_impact_open,
        count(distinct o.victim_child_id) filter (where o.team = 'impact' and o.risk_level = 'high')
            as n_impact_high_risk_children
    from open_rows o
    left join recently_reviewed rr on rr.window_start = o.window_start and rr.crime_id = o.crime_id
    group by all
),
-- IMPACT cases per officer: only forces with an impact staffing row for the
-- window's last month count, numerator and denominator alike; staffing has
-- no lpa or local authority, so the figure is null under those filters and
-- for breakdowns other than by force.
impact_open_by_force as (
    select window_start, force, count(*) as n_impact_open
    from open_rows
    where team = 'impact'
    group by all
),
impact_per_officer as (
    select f.window_start, f.grp,
        sum(coalesce(io.n_impact_open, 0)) as n_impact_open,
        sum(st.officers_fte) as officers_fte
    from frame f
    join team_staffing st
      on st.team = 'impact'
     and st.month = (f.window_end - interval 1 month)::date
     and ($force is null or st.force = $force)
     and ($breakdown = 'none' or st.force = f.grp)
    left join impact_open_by_force io on io.window_start = f.window_start and io.force = st.force
    where $breakdown in ('none', 'force') and $lpa is null and $local_authority is null
    group by all
),
kpis as (
    select f.window_start, f.grp, f.is_event_covered as is_covered,
        unnest([
            kpi_count('investigations_opened', op.n_opened),
            kpi_pct('investigation_plan_pct', op.n_plan, op.n_opened),
            kpi_pct('csc_informed_within_24h_pct', op.n_csc_24h, op.n_opened),
            kpi_pct('polit_kirat_pct', op.n_polit_kirat, op.n_polit)
        ], recursive := true)
    from frame f
    left join opened op on op.window_start = f.window_start and op.grp = f.grp
    union all
    select f.window_start, f.grp, f.is_snapshot_covered as is_covered,
        unnest([
            kpi_count('investigations_open_at_end', oe.n_open),
            kpi_pct('high_risk_outside_specialist_pct', oe.n_high_risk_outside, oe.n_high_risk),
            kpi_count('impact_open_cases', oe.n_impact_open),
            kpi_ratio('impact_cases_per_officer', ipo.n_impact_open, ipo.officers_fte),
            kpi_count('impact_high_risk_children', oe.n_impact_high_risk_children)
        ], recursive := true)
    from frame f
    left join open_at_end oe on oe.window_start = f.window_start and oe.grp = f.grp
    left join impact_per_officer ipo on ipo.window_start = f.window_start and ipo.grp = f.grp
    union all
    select f.window_start, f.grp, f.is_drift_covered as is_covered,
        unnest([kpi_count('investigations_drifting', oe.n_drifting)], recursive := true)
    from frame f
    left join open_at_end oe on oe.window_start = f.window_start and oe.grp = f.grp
)
-- Figures of uncovered windows are nulled; rows ordered by window, group, kpi.
select * from kpi_output('kpis')
