-- Filter choices for the filter bar: every (force, lpa, local_authority) the
-- extracts hold, per source table, with the months that table's rows cover.
-- Tables without lpa or local_authority give nulls there.
-- Parameters: none.
select 'incidents' as source, force, lpa, local_authority,
    min(date_trunc('month', received_at)) as first_month, max(date_trunc('month', received_at)) as last_month
from incidents group by all
union all
select 'missing_episodes', force, lpa, local_authority,
    min(date_trunc('month', reported_at)), max(date_trunc('month', reported_at))
from missing_episodes group by all
union all
select 'mash_referrals', force, lpa, local_authority,
    min(date_trunc('month', received_at)), max(date_trunc('month', received_at))
from mash_referrals group by all
union all
select 'investigations', force, lpa, null,
    min(date_trunc('month', opened_at)), max(date_trunc('month', opened_at))
from investigations group by all
union all
select 'police_protection', force, lpa, null,
    min(date_trunc('month', invoked_at)), max(date_trunc('month', invoked_at))
from police_protection group by all
union all
select 'rso_register', force, lpa, null,
    min(snapshot_month)::timestamp, max(snapshot_month)::timestamp
from rso_register group by all
union all
select 'rso_breaches', force, lpa, null,
    min(date_trunc('month', recorded_at)), max(date_trunc('month', recorded_at))
from rso_breaches group by all
union all
select 'custody_detentions', force, lpa, null,
    min(date_trunc('month', arrived_at)), max(date_trunc('month', arrived_at))
from custody_detentions group by all
union all
select 'case_audits', force, null, null,
    min(date_trunc('month', audited_at))::timestamp, max(date_trunc('month', audited_at))::timestamp
from case_audits group by all
order by force, lpa, local_authority, source
