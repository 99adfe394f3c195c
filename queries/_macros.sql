-- Macros shared by every KPI query; the runner creates them once per connection.
-- They hold the rules of metrics.md that every area repeats, so each rule is
-- written once: percentages, durations, "within T", windows, and the long
-- output row shape (kpi_id, numerator, denominator, value).

-- A percentage: 100 * n / d, null when the denominator is 0 (never 0).
create or replace macro pct(n, d) as
    case when d is null or d = 0 then null else 100.0 * n / d end;

-- Wall-clock minutes and fractional days between two naive local timestamps.
create or replace macro minutes_between(t0, t1) as date_diff('second', t0, t1) / 60.0;
create or replace macro days_between(t0, t1) as date_diff('second', t0, t1) / 86400.0;

-- A duration usable by a median or percentile: both ends recorded and the
-- end not before the start (negative intervals are data-quality findings).
create or replace macro usable_interval(t0, t1) as
    t0 is not null and t1 is not null and t1 >= t0;

-- "Within T of": recorded, not negative, and at most T minutes.
create or replace macro within_minutes(t0, t1, limit_min) as
    coalesce(usable_interval(t0, t1) and date_diff('second', t0, t1) <= limit_min * 60, false);

-- The windows a KPI is evaluated over: consecutive windows of window_months
-- months from period_start (the caller makes it divide the period): the
-- period's length gives the whole period as one window, 1 a monthly series,
-- and half a two-period span a period beside the one before it (one query
-- where there were two: a page's current and previous figures).
create or replace macro kpi_windows(period_start, period_end, window_months) as table
    select m as window_start, m + to_months(window_months) as window_end
    from range(period_start::timestamp, period_end::timestamp, to_months(window_months)) r(m);

-- The window an event at t falls in (the caller keeps t inside the period).
-- The first two cases are the common ones, kept cheap for every row.
create or replace macro event_window(t, period_start, window_months) as
    case
        when window_months = 1 then date_trunc('month', t)
        when t < period_start::timestamp + to_months(window_months) then period_start::timestamp
        else period_start::timestamp
            + to_months(window_months * (date_diff('month', period_start::timestamp, t) // window_months))
    end;

-- Does a coverage range [first_month, last_month] overlap a window (event
-- KPIs), or hold the window's last month (snapshot KPIs)?
create or replace macro covers_event(first_month, last_month, window_start, window_end) as
    coalesce(first_month < window_end and last_month >= window_start, false);
create or replace macro covers_snapshot(first_month, last_month, window_end) as
    coalesce(window_end - interval 1 month between first_month and last_month, false);

-- The frame every KPI query fills, and how it finds its coverage.
-- Table macros cannot take a table as an argument, so these name the
-- caller's CTE as a string and read it with query_table('name').
--
-- The coverage row a group is judged on: each force its own months when the
-- breakdown is by force, else one 'all' row over the force filter (metrics.md).
create or replace macro coverage_group(breakdown, force) as
    case when breakdown = 'force' then force else 'all' end;

-- First and last month with an event at time t in table or CTE tbl (which
-- has a force column), one row per coverage_group. For event-time tables;
-- snapshot tables (rso_register) list their months instead.
create or replace macro month_coverage(tbl, t, breakdown) as table
    select coverage_group(breakdown, force) as grp,
        min(date_trunc('month', t)) as first_month,
        max(date_trunc('month', t)) as last_month
    from query_table(tbl)
    group by all;

-- Every window x every group: one group 'all' when breakdown is 'none', else
-- each distinct grp of the caller's CTE named by scoped (so a group with no
-- event in a window still gets its rows). The caller joins its coverage on
-- coverage_group(breakdown, grp) and decides what "covered" means. (A
-- coverage_group column here led DuckDB to build its hash table on scoped,
-- not the frame, in later range joins: monthly mash_kpis ran ~1.8x slower.)
create or replace macro kpi_frame(scoped, period_start, period_end, window_months, breakdown) as table
    select w.window_start, w.window_end, g.grp
    from kpi_windows(period_start, period_end, window_months) w
    cross join (
        select 'all' as grp where breakdown = 'none'
        union
        select distinct grp from query_table(scoped) where breakdown <> 'none'
    ) g;

-- The result of a KPI query, from the caller's CTE named by kpis (columns
-- window_start, grp, is_covered, kpi_id, numerator, denominator, value):
-- a window the data does not cover shows no figures, only is_covered false.
create or replace macro kpi_output(kpis) as table
    select window_start, grp as "group", kpi_id, is_covered,
        case when is_covered then numerator end as numerator,
        case when is_covered then denominator end as denominator,
        case when is_covered then value end as value
    from query_table(kpis)
    order by window_start, "group", kpi_id;

-- Output rows: one struct per KPI, unnested by the caller.
create or replace macro kpi_count(id, n) as
    {kpi_id: id, numerator: coalesce(n, 0)::double, denominator: null::double, value: coalesce(n, 0)::double};
create or replace macro kpi_pct(id, n, d) as
    {kpi_id: id, numerator: coalesce(n, 0)::double, denominator: coalesce(d, 0)::double,
     value: pct(coalesce(n, 0), coalesce(d, 0))::double};
-- A statistic (median, percentile, maximum) over n rows; null when n is 0.
create or replace macro kpi_stat(id, v, n) as
    {kpi_id: id, numerator: null::double, denominator: coalesce(n, 0)::double,
     value: case when coalesce(n, 0) > 0 then v end::double};
-- A ratio n / d (per officer); null when d is null or 0.
create or replace macro kpi_ratio(id, n, d) as
    {kpi_id: id, numerator: n::double, denominator: d::double,
     value: case when d > 0 then n / d end::double};
