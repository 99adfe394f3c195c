-- Each extract table's first and last month, by its coverage column (data/contract.py):
-- the months a roll-up (queries/rollup.py) runs its query over. No parameters.
select 'incidents' as table_name,
    min(date_trunc('month', received_at::timestamp)) as first_month,
    max(date_trunc('month', received_at::timestamp)) as last_month
from incidents
union all
select 'missing_episodes' as table_name,
    min(date_trunc('month', reported_at::timestamp)) as first_month,
    max(date_trunc('month', reported_at::timestamp)) as last_month
from missing_episodes
union all
select 'mash_referrals' as table_name,
    min(date_trunc('month', received_at::timestamp)) as first_month,
    max(date_trunc('month', received_at::timestamp)) as last_month
from mash_referrals
union all
select 'investigations' as table_name,
    min(date_trunc('month', opened_at::timestamp)) as first_month,
    max(date_trunc('month', opened_at::timestamp)) as last_month
from investigations
union all
select 'investigation_reviews' as table_name,
    min(date_trunc('month', reviewed_at::timestamp)) as first_month,
    max(date_trunc('month', reviewed_at::timestamp)) as last_month
from investigation_reviews
union all
select 'team_staffing' as table_name,
    min(date_trunc('month', month::timestamp)) as first_month,
    max(date_trunc('month', month::timestamp)) as last_month
from team_staffing
union all
select 'police_protection' as table_name,
    min(date_trunc('month', invoked_at::timestamp)) as first_month,
    max(date_trunc('month', invoked_at::timestamp)) as last_month
from police_protection
union all
select 'rso_register' as table_name,
    min(date_trunc('month', snapshot_month::timestamp)) as first_month,
    max(date_trunc('month', snapshot_month::timestamp)) as last_month
from rso_register
union all
select 'rso_breaches' as table_name,
    min(date_trunc('month', recorded_at::timestamp)) as first_month,
    max(date_trunc('month', recorded_at::timestamp)) as last_month
from rso_breaches
union all
select 'custody_detentions' as table_name,
    min(date_trunc('month', arrived_at::timestamp)) as first_month,
    max(date_trunc('month', arrived_at::timestamp)) as last_month
from custody_detentions
union all
select 'case_audits' as table_name,
    min(date_trunc('month', audited_at::timestamp)) as first_month,
    max(date_trunc('month', audited_at::timestamp)) as last_month
from case_audits
