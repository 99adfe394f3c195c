-- The repeat-missing cohort behind repeat_missing_children: each child with 3
-- or more episodes reported in [period_end - 90 days, period_end), with their
-- episode count, last report, and whether any episode in the window led to a
-- referral to children's social care. Pseudonymous ids only.
-- Parameters: $period_end (timestamp), $force, $lpa, $local_authority
--   (varchar; null = no filter).
select child_id,
    count(*) as episodes,
    max(reported_at) as last_reported_at,
    bool_or(csc_referral) as is_referred,
    count_if(risk_level = 'high') as high_risk_episodes
from missing_episodes
where ($force is null or force = $force)
  and ($lpa is null or lpa = $lpa)
  and ($local_authority is null or local_authority = $local_authority)
  and reported_at >= $period_end - interval 90 day
  and reported_at < $period_end
group by child_id
having count(*) >= 3
order by episodes desc, last_reported_at desc, child_id
