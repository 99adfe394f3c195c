"""The KPI command: every KPI for a period as JSON, or one KPI's monthly series as CSV.

python -m queries kpis --data DIR --from 2022-01 --to 2022-03 [--force F] [--lpa L]
                       [--local-authority A] [--settings FILE] --json
python -m queries trend KPI_ID --data DIR --from 2021-04 --to 2022-03 [filters]
python -m queries definitions [--settings FILE]   # every KPI's definition as Markdown
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from data.settings import SettingsError, load_settings
from queries import DataError, DataStore, QueryError
from queries.kpis import Filters, Period, PeriodError, get_kpi, kpi_series, kpi_values


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", help="data folder (default: $CPD_DATA_DIR or data/extracts)")
    parser.add_argument("--from", dest="period_from", required=True, metavar="YYYY-MM")
    parser.add_argument("--to", dest="period_to", required=True, metavar="YYYY-MM")
    parser.add_argument("--force")
    parser.add_argument("--lpa")
    parser.add_argument("--local-authority", dest="local_authority")
    parser.add_argument("--settings", help="settings TOML overriding data/settings.toml")


def _number(kpi_id: str, value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if get_kpi(kpi_id).unit == "count" and float(value).is_integer():
        return int(value)
    return float(value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m queries", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    kpis = commands.add_parser("kpis", help="every KPI of metrics.md for one period")
    _add_common(kpis)
    kpis.add_argument("--json", action="store_true", help="print one JSON object (the only format)")
    trend = commands.add_parser("trend", help="one KPI month by month, as CSV")
    trend.add_argument("kpi_id")
    _add_common(trend)
    definitions = commands.add_parser("definitions", help="every KPI's definition as Markdown")
    definitions.add_argument("--settings", help="settings TOML overriding data/settings.toml")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "definitions":
        from queries.definitions import markdown

        try:
            sys.stdout.write(markdown(load_settings(args.settings)))
        except SettingsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0
    try:
        settings = load_settings(args.settings)
        period = Period(args.period_from, args.period_to)
        filters = Filters(args.force, args.lpa, args.local_authority)
        store = DataStore(args.data, settings)
        store.check_data_dir()
        if args.command == "kpis":
            values = {k: _number(k, v) for k, v in kpi_values(store, period, filters).items()}
            json.dump({"kpis": values}, sys.stdout, indent=2)
            sys.stdout.write("\n")
        else:
            get_kpi(args.kpi_id)
            series = kpi_series(store, args.kpi_id, period, filters)
            series.to_csv(sys.stdout, index=False, columns=["month", "value", "numerator", "denominator"])
    except (SettingsError, PeriodError, DataError, QueryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
