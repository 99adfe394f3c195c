-- Appropriate-adult delays by custody suite for children arriving in custody
-- in the period: minutes from aa_requested_at to aa_arrived_at.
-- Returns one row per (custody_suite, status, aa_delay_min) with n_detentions:
--   status 'usable': both times recorded and the arrival not before the
--     request; aa_delay_min holds the minutes (rows with equal minutes share
--     one row, so the result stays small);
--   status 'not_recorded': aa_arrived_at null (no AA arrival recorded);
--   status 'request_not_recorded': aa_arrived_at recorded, aa_requested_at null;
--   status 'negative': the arrival before the request (a data-quality
--     finding, left out of the distribution).
--   aa_delay_min is null unless status is 'usable'.
-- Parameters: $period_start, $period_end (timestamps, end exclusive), $force,
--   $lpa (varchar; null = no filter), $focus_column, $focus_value (a
--   drill-down group: custody_suite, lpa or force; null = none).
-- custody_detentions has no local_authority: that filter is not applied.
with chosen as (
    select custody_suite,
        case
            when aa_arrived_at is null then 'not_recorded'
            when aa_requested_at is null then 'request_not_recorded'
            when usable_interval(aa_requested_at, aa_arrived_at) then 'usable'
            else 'negative'
        end as status,
        case when usable_interval(aa_requested_at, aa_arrived_at)
            then minutes_between(aa_requested_at, aa_arrived_at) end as aa_delay_min
    from custody_detentions_in_scope($force, $lpa, $focus_column, $focus_value)
    where arrived_at >= $period_start and arrived_at < $period_end
)
select custody_suite, status, aa_delay_min, count(*) as n_detentions
from chosen
group by all
order by custody_suite, status, aa_delay_min
