-- Missing children KPIs from missing_episodes (event time reported_at), with
-- the repeat-missing snapshot (3+ episodes in the 90 days before window end).
-- Returns one row per (window_start, group, kpi_id): numerator, denominator,
-- value, is_covered (see initial_contact/incident_kpis.sql for the shape).
-- Parameters: $period_start, $period_end, $window_months, $breakdown, $force, $lpa,
--   $local_authority, $grade1_target_min, $grade2_target_min,
--   $language_phrases (list of lower-case phrases).
-- breakdowns: force, lpa, local_authority, risk_level
with in_force as (
    select * from missing_episodes where $force is null or force = $force
),
scoped as (
    select *,
        case $breakdown
            when 'force' then force
            when 'lpa' then lpa
            when 'local_authority' then local_authority
            when 'risk_level' then risk_level
            else 'all'
        end as grp
    from in_force
    where ($lpa is null or lpa = $lpa)
      and ($local_authority is null or local_authority = $local_authority)
),
-- Each window x group. Event KPIs need in_force (the force filter only,
-- metrics.md) to have reported_at months overlapping the window; snapshot KPIs,
-- the window's last month within its months.
frame as (
    select f.*,
        covers_event(c.first_month, c.last_month, f.window_start, f.window_end) as is_event_covered,
        covers_snapshot(c.first_month, c.last_month, f.window_end) as is_snapshot_covered
    from kpi_frame('scoped', $period_start, $period_end, $window_months, $breakdown) f
    left join month_coverage('in_force', reported_at, $breakdown) c
      on c.grp = coverage_group($breakdown, f.grp)
),
events as (
    select event_window(reported_at, $period_start, $window_months) as window_start, grp,
        count(*) as n_episodes,
        quantile_cont(minutes_between(reported_at, first_deployed_at), 0.5)
            filter (where usable_interval(reported_at, first_deployed_at)) as deploy_median,
        count_if(usable_interval(reported_at, first_deployed_at)) as n_deploy,
        count_if(risk_level in ('high', 'medium')) as n_high_medium,
        count_if(
            (risk_level = 'high' and within_minutes(reported_at, first_deployed_at, $grade1_target_min))
            or (risk_level = 'medium' and within_minutes(reported_at, first_deployed_at, $grade2_target_min))
        ) as n_high_medium_within,
        quantile_cont(minutes_between(reported_at, risk_ratified_at), 0.5)
            filter (where usable_interval(reported_at, risk_ratified_at)) as ratification_median,
        count_if(usable_interval(reported_at, risk_ratified_at)) as n_ratification,
        count_if(first_deployed_at is not null and risk_ratified_at is not null) as n_deployed_and_ratified,
        count_if(first_deployed_at > risk_ratified_at) as n_deployed_after_ratification,
        count_if(found_at is not null) as n_found,
        count_if(within_minutes(found_at, return_home_interview_at, 72 * 60)) as n_rhi_72h,
        count_if(ppn_submitted) as n_ppn,
        count_if(coalesce(list_bool_or(list_transform(
            $language_phrases, lambda phrase: contains(lower(risk_assessment_text), phrase)
        )), false)) as n_language
    from scoped
    where reported_at >= $period_start and reported_at < $period_end
    group by all
),
-- Episodes per child in the 90 days before each window's end.
repeat_window as (
    select f.window_start, f.grp, s.child_id,
        count(*) as n_child_episodes,
        bool_or(s.csc_referral) as is_referred
    from frame f
    join scoped s
      on s.grp = f.grp
     and s.reported_at >= f.window_end - interval 90 day
     and s.reported_at < f.window_end
    group by all
),
repeat_children as (
    select window_start, grp,
        count(*) as n_repeat,
        max(n_child_episodes) as max_episodes,
        count_if(is_referred) as n_repeat_referred
    from repeat_window
    where n_child_episodes >= 3
    group by all
),
kpis as (
    select f.window_start, f.grp, f.is_event_covered as is_covered,
        unnest([
            kpi_count('missing_episodes', e.n_episodes),
            kpi_stat('missing_deploy_delay_median_min', e.deploy_median, e.n_deploy),
            kpi_pct('missing_deployed_within_target_pct', e.n_high_medium_within, e.n_high_medium),
            kpi_stat('missing_ratification_delay_median_min', e.ratification_median, e.n_ratification),
            kpi_pct('missing_deployed_after_ratification_pct', e.n_deployed_after_ratification,
                e.n_deployed_and_ratified),
            kpi_pct('rhi_within_72h_pct', e.n_rhi_72h, e.n_found),
            kpi_pct('missing_ppn_pct', e.n_ppn, e.n_episodes),
            kpi_count('inappropriate_language_count', e.n_language)
        ], recursive := true)
    from frame f
    left join events e on e.window_start = f.window_start and e.grp = f.grp
    union all
    select f.window_start, f.grp, f.is_snapshot_covered as is_covered,
        unnest([
            kpi_count('repeat_missing_children', r.n_repeat),
            kpi_stat('repeat_missing_max_episodes', r.max_episodes, r.n_repeat),
            kpi_pct('repeat_missing_referred_pct', r.n_repeat_referred, r.n_repeat)
        ], recursive := true)
    from frame f
    left join repeat_children r on r.window_start = f.window_start and r.grp = f.grp
)
-- Figures of uncovered windows are nulled; rows ordered by window, group, kpi.
select * from kpi_output('kpis')
