-- Registered sex offender KPIs from the rso_register snapshot of each
-- window's last month (snapshot_month = `to`), with team_staffing (mosovo)
-- for RSOs per offender manager.
-- Returns one row per (window_start, group, kpi_id): numerator, denominator,
-- value, is_covered (see initial_contact/incident_kpis.sql for the shape).
-- Coverage is the months that have rows. rso_register has no
-- local_authority: that filter is not applied, except that per-officer
-- figures are null under it (staffing is force-wide).
-- "By the end of `to`" = on or before its last day = before window_end.
-- Parameters: $period_start, $period_end, $window_months, $breakdown, $force, $lpa,
--   $local_authority.
-- breakdowns: force, lpa, management
with in_force as (
    select * from rso_register where $force is null or force = $force
),
scoped as (
    select *,
        case $breakdown
            when 'force' then force
            when 'lpa' then lpa
            when 'management' then management
            else 'all'
        end as grp
    from in_force
    where $lpa is null or lpa = $lpa
),
-- A register is a monthly snapshot, so coverage is the set of months that
-- have rows, not a first..last range (month_coverage): a gap is uncovered.
coverage_months as (
    select distinct coverage_group($breakdown, force) as grp, snapshot_month
    from in_force
),
-- Each window x group, read from the snapshot of the window's last month and
-- covered when that month has rows.
frame as (
    select f.*, (f.window_end - interval 1 month)::date as snapshot_month,
        cm.snapshot_month is not null as is_covered
    from kpi_frame('scoped', $period_start, $period_end, $window_months, $breakdown) f
    left join coverage_months cm
      on cm.grp = coverage_group($breakdown, f.grp)
     and cm.snapshot_month = (f.window_end - interval 1 month)::date
),
snapshot_rows as (
    select f.window_start, f.window_end::date as next_month_start, f.grp, s.*
    exclude (grp)
    from frame f
    join scoped s on s.grp = f.grp and s.snapshot_month = f.snapshot_month
),
register as (
    select window_start, grp,
        count(*) as n_rso,
        count_if(not in_custody) as n_community,
        count_if(not in_custody and arms_required and arms_due_date < next_month_start) as n_arms_outstanding,
        count_if(not in_custody and arms_required and arms_completed_date is not null
            and arms_due_date >= next_month_start) as n_arms_in_date,
        count_if(not in_custody and management = 'active' and next_visit_due < next_month_start)
            as n_visits_overdue,
        count_if(not in_custody and whereabouts_unknown) as n_whereabouts_unknown
    from snapshot_rows
    group by all
),
manager_caseload as (
    select window_start, grp, max(n_managed) as max_per_manager, count(*) as n_managers
    from (
        select window_start, grp, force, offender_manager_id, count(*) as n_managed
        from snapshot_rows
        where not in_custody
        group by all
    )
    group by all
),
-- RSOs per offender manager: only forces with a mosovo staffing row for the
-- snapshot month count, numerator and denominator alike.
community_by_force as (
    select window_start, force, count_if(not in_custody) as n_community
    from snapshot_rows
    group by all
),
per_officer as (
    select f.window_start, f.grp,
        sum(coalesce(cf.n_community, 0)) as n_community,
        sum(st.officers_fte) as officers_fte
    from frame f
    join team_staffing st
      on st.team = 'mosovo'
     and st.month = f.snapshot_month
     and ($force is null or st.force = $force)
     and ($breakdown = 'none' or st.force = f.grp)
    left join community_by_force cf on cf.window_start = f.window_start and cf.force = st.force
    where $breakdown in ('none', 'force') and $lpa is null and $local_authority is null
    group by all
),
kpis as (
    select f.window_start, f.grp, f.is_covered,
        unnest([
            kpi_count('rso_count', r.n_rso),
            kpi_count('rso_in_community', r.n_community),
            kpi_count('arms_outstanding', r.n_arms_outstanding),
            kpi_count('arms_in_date', r.n_arms_in_date),
            kpi_pct('arms_completion_pct', r.n_arms_in_date,
                coalesce(r.n_arms_in_date, 0) + coalesce(r.n_arms_outstanding, 0)),
            kpi_ratio('rso_per_offender_manager', po.n_community, po.officers_fte),
            kpi_stat('rso_max_per_offender_manager', mc.max_per_manager, mc.n_managers),
            kpi_count('home_visits_overdue', r.n_visits_overdue),
            kpi_count('rso_whereabouts_unknown', r.n_whereabouts_unknown)
        ], recursive := true)
    from frame f
    left join register r on r.window_start = f.window_start and r.grp = f.grp
    left join manager_caseload mc on mc.window_start = f.window_start and mc.grp = f.grp
    left join per_officer po on po.window_start = f.window_start and po.grp = f.grp
)
-- Figures of uncovered windows are nulled; rows ordered by window, group, kpi.
select * from kpi_output('kpis')
