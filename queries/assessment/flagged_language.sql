-- Missing episodes reported in the period whose risk-assessment text holds
-- language that blames a child: the episodes inappropriate_language_count
-- counts, by the same rule (missing_kpis.sql): the lower-cased
-- risk_assessment_text contains a phrase of the language list as a plain
-- substring; a null text matches nothing.
-- Returns one row per flagged episode, newest first: episode_id, child_id
--   (pseudonymous), reported_at, risk_level, lpa, local_authority,
--   matched_phrases (the list's phrases found, in the list's order) and
--   risk_assessment_text (for an excerpt; redacted at source, shown only to
--   roles that may see records).
-- Parameters: $period_start, $period_end (timestamps, end exclusive), $force,
--   $lpa, $local_authority (varchar; null = no filter), $language_phrases
--   (list of lower-case phrases, from the settings), $focus_column,
--   $focus_value (a drill-down group: risk_level, lpa, local_authority or
--   force; null = none).
-- Every filter applies: missing_episodes has lpa and local_authority.
with matched as (
    select *,
        list_filter($language_phrases,
            lambda phrase: contains(lower(risk_assessment_text), phrase)) as matched_phrases
    from missing_episodes_in_scope($force, $lpa, $local_authority, $focus_column, $focus_value)
    where reported_at >= $period_start and reported_at < $period_end
)
select episode_id, child_id, reported_at, risk_level, lpa, local_authority, matched_phrases,
    risk_assessment_text
from matched
where len(matched_phrases) > 0
order by reported_at desc, episode_id
