-- Child detention KPIs from custody_detentions (event time arrived_at).
-- Returns one row per (window_start, group, kpi_id): numerator, denominator,
-- value, is_covered (see initial_contact/incident_kpis.sql for the shape).
-- custody_detentions has no local_authority: that filter is not applied.
-- Parameters: $period_start, $period_end, $window_months, $breakdown, $force, $lpa.
-- breakdowns: force, lpa, custody_suite
with in_force as (
    select * from custody_detentions where $force is null or force = $force
),
scoped as (
    select *,
        case $breakdown
            when 'force' then force
            when 'lpa' then lpa
            when 'custody_suite' then custody_suite
            else 'all'
        end as grp
    from in_force
    where $lpa is null or lpa = $lpa
),
-- Each window x group, covered when in_force (the force filter only,
-- metrics.md) has arrived_at months overlapping the window.
frame as (
    select f.*, covers_event(c.first_month, c.last_month, f.window_start, f.window_end) as is_covered
    from kpi_frame('scoped', $period_start, $period_end, $window_months, $breakdown) f
    left join month_coverage('in_force', arrived_at, $breakdown) c
      on c.grp = coverage_group($breakdown, f.grp)
),
events as (
    select event_window(arrived_at, $period_start, $window_months) as window_start, grp,
        count(*) as n_detentions,
        quantile_cont(minutes_between(arrived_at, aa_requested_at), 0.5)
            filter (where usable_interval(arrived_at, aa_requested_at)) as aa_request_median,
        count_if(usable_interval(arrived_at, aa_requested_at)) as n_aa_request,
        quantile_cont(minutes_between(aa_requested_at, aa_arrived_at), 0.5)
            filter (where usable_interval(aa_requested_at, aa_arrived_at)) as aa_delay_median,
        quantile_cont(minutes_between(aa_requested_at, aa_arrived_at), 0.9)
            filter (where usable_interval(aa_requested_at, aa_arrived_at)) as aa_delay_p90,
        count_if(usable_interval(aa_requested_at, aa_arrived_at)) as n_aa_delay,
        count_if(within_minutes(arrived_at, aa_arrived_at, 120)) as n_aa_2h,
        count_if(aa_arrived_at is null) as n_aa_not_recorded,
        quantile_cont(minutes_between(arrived_at, rights_given_at), 0.5)
            filter (where usable_interval(arrived_at, rights_given_at)) as rights_median,
        count_if(usable_interval(arrived_at, rights_given_at)) as n_rights,
        count_if(rights_given_at is null) as n_rights_not_recorded,
        count_if(rights_given_at > interview_at) as n_rights_after_interview,
        count_if(held_overnight) as n_overnight,
        count_if(alt_accommodation_requested) as n_alt_requested,
        count_if(alt_accommodation_requested and alt_accommodation_provided) as n_alt_provided,
        count_if(ppn_submitted) as n_ppn
    from scoped
    where arrived_at >= $period_start and arrived_at < $period_end
    group by all
),
kpis as (
    select f.window_start, f.grp, f.is_covered,
        unnest([
            kpi_count('child_detentions', e.n_detentions),
            kpi_stat('aa_request_delay_median_min', e.aa_request_median, e.n_aa_request),
            kpi_stat('aa_delay_median_min', e.aa_delay_median, e.n_aa_delay),
            kpi_stat('aa_delay_p90_min', e.aa_delay_p90, e.n_aa_delay),
            kpi_pct('aa_within_2h_pct', e.n_aa_2h, e.n_detentions),
            kpi_pct('aa_arrival_not_recorded_pct', e.n_aa_not_recorded, e.n_detentions),
            kpi_stat('rights_delay_median_min', e.rights_median, e.n_rights),
            kpi_count('rights_not_recorded', e.n_rights_not_recorded),
            kpi_count('rights_after_interview', e.n_rights_after_interview),
            kpi_count('overnight_detentions', e.n_overnight),
            kpi_pct('alt_accommodation_provided_pct', e.n_alt_provided, e.n_alt_requested),
            kpi_pct('custody_ppn_pct', e.n_ppn, e.n_detentions)
        ], recursive := true)
    from frame f
    left join events e on e.window_start = f.window_start and e.grp = f.grp
)
-- Figures of uncovered windows are nulled; rows ordered by window, group, kpi.
select * from kpi_output('kpis')
