-- The rows of a table that the filter bar and a drill-down select: one place per
-- table, shared by the records view and the distribution charts, so the two can
-- never disagree about which rows a filter means. The runner creates these after
-- the tables' views (a table macro needs its table to exist).
-- Arguments: the force, LPA and local-authority filters (null = all; tables
-- without a column have no argument for it: that filter is not applied), and
-- a drill-down group (focus_column, focus_value; null = none) among the
-- columns the table's KPI query can break down by (queries/catalog.toml).
-- The period is left to the caller: events in it, or rows open at its end.

create or replace macro incidents_in_scope(p_force, p_lpa, p_local_authority, p_focus_column, p_focus_value) as table
    select * from incidents
    where (p_force is null or force = p_force)
      and (p_lpa is null or lpa = p_lpa)
      and (p_local_authority is null or local_authority = p_local_authority)
      and (p_focus_value is null or case p_focus_column
            when 'incident_type' then incident_type
            when 'grade' then grade::varchar
            when 'lpa' then lpa
            when 'local_authority' then local_authority
            when 'force' then force
          end = p_focus_value);

create or replace macro missing_episodes_in_scope(p_force, p_lpa, p_local_authority, p_focus_column, p_focus_value) as table
    select * from missing_episodes
    where (p_force is null or force = p_force)
      and (p_lpa is null or lpa = p_lpa)
      and (p_local_authority is null or local_authority = p_local_authority)
      and (p_focus_value is null or case p_focus_column
            when 'risk_level' then risk_level
            when 'lpa' then lpa
            when 'local_authority' then local_authority
            when 'force' then force
          end = p_focus_value);

create or replace macro mash_referrals_in_scope(p_force, p_lpa, p_local_authority, p_focus_column, p_focus_value) as table
    select * from mash_referrals
    where (p_force is null or force = p_force)
      and (p_lpa is null or lpa = p_lpa)
      and (p_local_authority is null or local_authority = p_local_authority)
      and (p_focus_value is null or case p_focus_column
            when 'risk_level' then risk_level
            when 'source' then source
            when 'lpa' then lpa
            when 'local_authority' then local_authority
            when 'force' then force
          end = p_focus_value);

-- investigations has no local_authority.
create or replace macro investigations_in_scope(p_force, p_lpa, p_focus_column, p_focus_value) as table
    select * from investigations
    where (p_force is null or force = p_force)
      and (p_lpa is null or lpa = p_lpa)
      and (p_focus_value is null or case p_focus_column
            when 'team' then team
            when 'category' then category
            when 'risk_level' then risk_level
            when 'lpa' then lpa
            when 'force' then force
          end = p_focus_value);

-- custody_detentions has no local_authority.
create or replace macro custody_detentions_in_scope(p_force, p_lpa, p_focus_column, p_focus_value) as table
    select * from custody_detentions
    where (p_force is null or force = p_force)
      and (p_lpa is null or lpa = p_lpa)
      and (p_focus_value is null or case p_focus_column
            when 'custody_suite' then custody_suite
            when 'lpa' then lpa
            when 'force' then force
          end = p_focus_value);

-- rso_register has no local_authority.
create or replace macro rso_register_in_scope(p_force, p_lpa, p_focus_column, p_focus_value) as table
    select * from rso_register
    where (p_force is null or force = p_force)
      and (p_lpa is null or lpa = p_lpa)
      and (p_focus_value is null or case p_focus_column
            when 'management' then management
            when 'lpa' then lpa
            when 'force' then force
          end = p_focus_value);

-- A KPI query's rows under the filter bar, each with its group (grp) for
-- p_breakdown: one definition for the queries that share a table (a table's
-- KPIs and its medians' query, kept apart for the roll-ups: queries/rollup.py).
-- The force filter is the caller's in_force (its coverage reads only that).
create or replace macro incidents_grouped(p_force, p_lpa, p_local_authority, p_breakdown) as table
    select *,
        case p_breakdown
            when 'force' then force
            when 'lpa' then lpa
            when 'local_authority' then local_authority
            when 'incident_type' then incident_type
            when 'grade' then grade::varchar
            else 'all'
        end as grp
    from incidents
    where (p_force is null or force = p_force)
      and (p_lpa is null or lpa = p_lpa)
      and (p_local_authority is null or local_authority = p_local_authority);

create or replace macro investigations_grouped(p_force, p_lpa, p_breakdown) as table
    select *,
        case p_breakdown
            when 'force' then force
            when 'lpa' then lpa
            when 'team' then team
            when 'category' then category
            when 'risk_level' then risk_level
            else 'all'
        end as grp
    from investigations
    where (p_force is null or force = p_force)
      and (p_lpa is null or lpa = p_lpa);
