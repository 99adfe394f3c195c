"""What leaves the dashboard: chart data, records, packs — and the rules every export follows."""
