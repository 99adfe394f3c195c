"""What the KPI values mean: SPC over a KPI's monthly history, the summary a page or pack shows
(status against target, exceptions, recommendations), and the overview's briefing.

The numbers themselves come from ``queries`` (the SQL and its runner); nothing here reads
parquet or imports Dash, so the pages, the pack and the command line share it.
"""
