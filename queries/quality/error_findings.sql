-- Data errors: the records that break a rule no true record can break, one row per finding.
-- Returns: check_id, table_name, record_id, linked_id, force, lpa, local_authority,
--   event_at (the record's coverage-column time), month (its month), first_column,
--   first_at, second_column, second_at. The check ids and their words live in
--   queries/quality.py (CHECKS); a finding is counted in the month of its record's
--   coverage column, and only records whose coverage time lies in
--   [$period_start, $period_end) are checked.
-- Filters: force on every table; lpa and local_authority where the table has the column
--   (not applied to the others, as in metrics.md).
-- $check: one check id, or null for every check.
--
-- The checks:
--   negative intervals: second_at strictly before first_at, for each pair of times where
--     the second cannot come first: every interval a KPI measures (metrics.md: a negative
--     interval is a data-quality finding, never silently used) and each record's own
--     life (found, closed, ended, released before it began). An interval with an end
--     not recorded is not checked.
--   custody_rights_after_interview: rights_given_at (first) after interview_at (second),
--     both recorded: the KPI rights_after_interview, listed here record by record.
--   time_after_now: any recorded time (or date) of the record after $now, one finding per
--     column (first_column / first_at). Dates count from the day after today; a register
--     snapshot from the first of a month not yet begun. team_staffing is not checked (a
--     planned establishment may be entered ahead). A record whose coverage time itself is
--     in the future falls outside any period: the table summary counts those (rows_future).
--   breach_rso_not_on_register: a breach whose rso_id is on no rso_register snapshot of
--     its force; checked only when the register holds rows for that force (an absent
--     register is a missing table, not a breach per row).
--   review_crime_not_in_investigations: a supervisory review whose crime_id is no
--     investigation's (of any force: metrics.md links reviews by crime_id whatever their
--     force); checked only when investigations holds rows.
-- Parameters: $period_start, $period_end, $force, $lpa, $local_authority, $now, $check.
with inc as (
    select * from incidents
    where ($force is null or force = $force) and ($lpa is null or lpa = $lpa)
        and ($local_authority is null or local_authority = $local_authority)
        and received_at >= $period_start and received_at < $period_end
),
mis as (
    select * from missing_episodes
    where ($force is null or force = $force) and ($lpa is null or lpa = $lpa)
        and ($local_authority is null or local_authority = $local_authority)
        and reported_at >= $period_start and reported_at < $period_end
),
mash as (
    select * from mash_referrals
    where ($force is null or force = $force) and ($lpa is null or lpa = $lpa)
        and ($local_authority is null or local_authority = $local_authority)
        and received_at >= $period_start and received_at < $period_end
),
inv as (
    select * from investigations
    where ($force is null or force = $force) and ($lpa is null or lpa = $lpa)
        and opened_at >= $period_start and opened_at < $period_end
),
rev as (
    select * from investigation_reviews
    where ($force is null or force = $force)
        and reviewed_at >= $period_start and reviewed_at < $period_end
),
pp as (
    select * from police_protection
    where ($force is null or force = $force) and ($lpa is null or lpa = $lpa)
        and invoked_at >= $period_start and invoked_at < $period_end
),
reg as (
    select * from rso_register
    where ($force is null or force = $force) and ($lpa is null or lpa = $lpa)
        and snapshot_month >= $period_start and snapshot_month < $period_end
),
brc as (
    select * from rso_breaches
    where ($force is null or force = $force) and ($lpa is null or lpa = $lpa)
        and recorded_at >= $period_start and recorded_at < $period_end
),
cus as (
    select * from custody_detentions
    where ($force is null or force = $force) and ($lpa is null or lpa = $lpa)
        and arrived_at >= $period_start and arrived_at < $period_end
),
aud as (
    select * from case_audits
    where ($force is null or force = $force)
        and audited_at >= $period_start and audited_at < $period_end
),
-- Each record with its candidate findings: {check, first time, second time}.
candidates as (
    select 'incidents' as table_name, incident_id as record_id, null::varchar as linked_id,
        force, lpa, local_authority, received_at as event_at,
        unnest([
            {check_id: 'incident_arrived_before_received', first_column: 'received_at', first_at: received_at,
             second_column: 'arrived_at', second_at: arrived_at},
            {check_id: 'incident_ppn_before_received', first_column: 'received_at', first_at: received_at,
             second_column: 'ppn_submitted_at', second_at: ppn_submitted_at},
            {check_id: 'time_after_now', first_column: 'received_at', first_at: received_at,
             second_column: null::varchar, second_at: null::timestamp},
            {check_id: 'time_after_now', first_column: 'arrived_at', first_at: arrived_at,
             second_column: null::varchar, second_at: null::timestamp},
            {check_id: 'time_after_now', first_column: 'ppn_submitted_at', first_at: ppn_submitted_at,
             second_column: null::varchar, second_at: null::timestamp}
        ], recursive := true)
    from inc
    union all
    select 'missing_episodes', episode_id, null, force, lpa, local_authority, reported_at,
        unnest([
            {check_id: 'missing_ratified_before_reported', first_column: 'reported_at', first_at: reported_at,
             second_column: 'risk_ratified_at', second_at: risk_ratified_at},
            {check_id: 'missing_deployed_before_reported', first_column: 'reported_at', first_at: reported_at,
             second_column: 'first_deployed_at', second_at: first_deployed_at},
            {check_id: 'missing_found_before_reported', first_column: 'reported_at', first_at: reported_at,
             second_column: 'found_at', second_at: found_at},
            {check_id: 'missing_rhi_before_found', first_column: 'found_at', first_at: found_at,
             second_column: 'return_home_interview_at', second_at: return_home_interview_at},
            {check_id: 'time_after_now', first_column: 'reported_at', first_at: reported_at,
             second_column: null::varchar, second_at: null::timestamp},
            {check_id: 'time_after_now', first_column: 'risk_ratified_at', first_at: risk_ratified_at,
             second_column: null::varchar, second_at: null::timestamp},
            {check_id: 'time_after_now', first_column: 'first_deployed_at', first_at: first_deployed_at,
             second_column: null::varchar, second_at: null::timestamp},
            {check_id: 'time_after_now', first_column: 'found_at', first_at: found_at,
             second_column: null::varchar, second_at: null::timestamp},
            {check_id: 'time_after_now', first_column: 'return_home_interview_at',
             first_at: return_home_interview_at, second_column: null::varchar, second_at: null::timestamp}
        ], recursive := true)
    from mis
    union all
    select 'mash_referrals', referral_id, null, force, lpa, local_authority, received_at,
        unnest([
            {check_id: 'mash_completed_before_received', first_column: 'received_at', first_at: received_at,
             second_column: 'completed_at', second_at: completed_at},
            {check_id: 'mash_strategy_before_received', first_column: 'received_at', first_at: received_at,
             second_column: 'strategy_held_at', second_at: strategy_held_at},
            {check_id: 'mash_minutes_before_strategy', first_column: 'strategy_held_at',
             first_at: strategy_held_at, second_column: 'minutes_received_at', second_at: minutes_received_at},
            {check_id: 'time_after_now', first_column: 'received_at', first_at: received_at,
             second_column: null::varchar, second_at: null::timestamp},
            {check_id: 'time_after_now', first_column: 'completed_at', first_at: completed_at,
             second_column: null::varchar, second_at: null::timestamp},
            {check_id: 'time_after_now', first_column: 'strategy_held_at', first_at: strategy_held_at,
             second_column: null::varchar, second_at: null::timestamp},
            {check_id: 'time_after_now', first_column: 'minutes_received_at', first_at: minutes_received_at,
             second_column: null::varchar, second_at: null::timestamp}
        ], recursive := true)
    from mash
    union all
    select 'investigations', crime_id, null, force, lpa, null, opened_at,
        unnest([
            {check_id: 'investigation_closed_before_opened', first_column: 'opened_at', first_at: opened_at,
             second_column: 'closed_at', second_at: closed_at},
            {check_id: 'investigation_video_before_opened', first_column: 'opened_at', first_at: opened_at,
             second_column: 'video_interview_at', second_at: video_interview_at},
            {check_id: 'investigation_csc_before_opened', first_column: 'opened_at', first_at: opened_at,
             second_column: 'csc_informed_at', second_at: csc_informed_at},
            {check_id: 'time_after_now', first_column: 'opened_at', first_at: opened_at,
             second_column: null::varchar, second_at: null::timestamp},
            {check_id: 'time_after_now', first_column: 'closed_at', first_at: closed_at,
             second_column: null::varchar, second_at: null::timestamp},
            {check_id: 'time_after_now', first_column: 'video_interview_at', first_at: video_interview_at,
             second_column: null::varchar, second_at: null::timestamp},
            {check_id: 'time_after_now', first_column: 'csc_informed_at', first_at: csc_informed_at,
             second_column: null::varchar, second_at: null::timestamp}
        ], recursive := true)
    from inv
    union all
    select 'investigation_reviews', crime_id, crime_id, force, null, null, reviewed_at,
        unnest([
            {check_id: 'time_after_now', first_column: 'reviewed_at', first_at: reviewed_at,
             second_column: null::varchar, second_at: null::timestamp}
        ], recursive := true)
    from rev
    union all
    select 'police_protection', pp_id, null, force, lpa, null, invoked_at,
        unnest([
            {check_id: 'pp_ended_before_invoked', first_column: 'invoked_at', first_at: invoked_at,
             second_column: 'ended_at', second_at: ended_at},
            {check_id: 'pp_strategy_before_invoked', first_column: 'invoked_at', first_at: invoked_at,
             second_column: 'strategy_discussion_at', second_at: strategy_discussion_at},
            {check_id: 'time_after_now', first_column: 'invoked_at', first_at: invoked_at,
             second_column: null::varchar, second_at: null::timestamp},
            {check_id: 'time_after_now', first_column: 'ended_at', first_at: ended_at,
             second_column: null::varchar, second_at: null::timestamp},
            {check_id: 'time_after_now', first_column: 'strategy_discussion_at',
             first_at: strategy_discussion_at, second_column: null::varchar, second_at: null::timestamp}
        ], recursive := true)
    from pp
    union all
    select 'rso_register', rso_id, null, force, lpa, null, snapshot_month::timestamp,
        unnest([
            {check_id: 'time_after_now', first_column: 'snapshot_month', first_at: snapshot_month::timestamp,
             second_column: null::varchar, second_at: null::timestamp},
            {check_id: 'time_after_now', first_column: 'arms_completed_date',
             first_at: arms_completed_date::timestamp, second_column: null::varchar, second_at: null::timestamp}
        ], recursive := true)
    from reg
    union all
    select 'rso_breaches', breach_id, rso_id, force, lpa, null, recorded_at,
        unnest([
            {check_id: 'time_after_now', first_column: 'recorded_at', first_at: recorded_at,
             second_column: null::varchar, second_at: null::timestamp}
        ], recursive := true)
    from brc
    union all
    select 'custody_detentions', detention_id, null, force, lpa, null, arrived_at,
        unnest([
            {check_id: 'custody_aa_requested_before_arrival', first_column: 'arrived_at', first_at: arrived_at,
             second_column: 'aa_requested_at', second_at: aa_requested_at},
            {check_id: 'custody_aa_arrived_before_requested', first_column: 'aa_requested_at',
             first_at: aa_requested_at, second_column: 'aa_arrived_at', second_at: aa_arrived_at},
            {check_id: 'custody_aa_arrived_before_arrival', first_column: 'arrived_at', first_at: arrived_at,
             second_column: 'aa_arrived_at', second_at: aa_arrived_at},
            {check_id: 'custody_rights_before_arrival', first_column: 'arrived_at', first_at: arrived_at,
             second_column: 'rights_given_at', second_at: rights_given_at},
            {check_id: 'custody_interview_before_arrival', first_column: 'arrived_at', first_at: arrived_at,
             second_column: 'interview_at', second_at: interview_at},
            {check_id: 'custody_released_before_arrival', first_column: 'arrived_at', first_at: arrived_at,
             second_column: 'released_at', second_at: released_at},
            {check_id: 'custody_rights_after_interview', first_column: 'rights_given_at',
             first_at: rights_given_at, second_column: 'interview_at', second_at: interview_at},
            {check_id: 'time_after_now', first_column: 'arrived_at', first_at: arrived_at,
             second_column: null::varchar, second_at: null::timestamp},
            {check_id: 'time_after_now', first_column: 'aa_requested_at', first_at: aa_requested_at,
             second_column: null::varchar, second_at: null::timestamp},
            {check_id: 'time_after_now', first_column: 'aa_arrived_at', first_at: aa_arrived_at,
             second_column: null::varchar, second_at: null::timestamp},
            {check_id: 'time_after_now', first_column: 'rights_given_at', first_at: rights_given_at,
             second_column: null::varchar, second_at: null::timestamp},
            {check_id: 'time_after_now', first_column: 'interview_at', first_at: interview_at,
             second_column: null::varchar, second_at: null::timestamp},
            {check_id: 'time_after_now', first_column: 'released_at', first_at: released_at,
             second_column: null::varchar, second_at: null::timestamp}
        ], recursive := true)
    from cus
    union all
    select 'case_audits', audit_id, null, force, null, null, audited_at::timestamp,
        unnest([
            {check_id: 'time_after_now', first_column: 'audited_at', first_at: audited_at::timestamp,
             second_column: null::varchar, second_at: null::timestamp}
        ], recursive := true)
    from aud
),
timing as (
    select * from candidates
    where case
        when check_id = 'time_after_now' then first_at > $now
        else second_at < first_at
    end
),
links as (
    select 'breach_rso_not_on_register' as check_id, 'rso_breaches' as table_name, b.breach_id as record_id,
        b.rso_id as linked_id, b.force, b.lpa, null::varchar as local_authority, b.recorded_at as event_at,
        'rso_id' as first_column, null::timestamp as first_at,
        null::varchar as second_column, null::timestamp as second_at
    from brc b
    where exists (select 1 from rso_register r where r.force = b.force)
        and not exists (select 1 from rso_register r where r.force = b.force and r.rso_id = b.rso_id)
    union all
    select 'review_crime_not_in_investigations', 'investigation_reviews', v.crime_id, v.crime_id,
        v.force, null, null, v.reviewed_at, 'crime_id', null, null, null
    from rev v
    where exists (select 1 from investigations)
        and not exists (select 1 from investigations i where i.crime_id = v.crime_id)
),
findings as (
    select check_id, table_name, record_id, linked_id, force, lpa, local_authority, event_at,
        first_column, first_at, second_column, second_at
    from timing
    union all
    select check_id, table_name, record_id, linked_id, force, lpa, local_authority, event_at,
        first_column, first_at, second_column, second_at
    from links
)
select check_id, table_name, record_id, linked_id, force, lpa, local_authority, event_at,
    date_trunc('month', event_at) as month, first_column, first_at, second_column, second_at
from findings
where $check is null or check_id = $check
order by check_id, event_at, table_name, record_id, first_column
