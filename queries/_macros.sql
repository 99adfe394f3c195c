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

-- The windows a KPI is evaluated over: the whole period as one window, or
-- one window per month of it (a monthly series).
create or replace macro kpi_windows(period_start, period_end, monthly) as table
    select period_start::timestamp as window_start, period_end::timestamp as window_end
    where not monthly
    union all
    select m as window_start, m + interval 1 month as window_end
    from range(period_start::timestamp, period_end::timestamp, interval 1 month) r(m)
    where monthly;

-- The window an event at t falls in (the caller keeps t inside the period).
create or replace macro event_window(t, period_start, monthly) as
    case when monthly then date_trunc('month', t) else period_start::timestamp end;

-- Does a coverage range [first_month, last_month] overlap a window (event
-- KPIs), or hold the window's last month (snapshot KPIs)?
create or replace macro covers_event(first_month, last_month, window_start, window_end) as
    coalesce(first_month < window_end and last_month >= window_start, false);
create or replace macro covers_snapshot(first_month, last_month, window_end) as
    coalesce(window_end - interval 1 month between first_month and last_month, false);

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
