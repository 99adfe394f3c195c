"""Benchmark the query layer: how long the queries behind a page update take.

    .venv/bin/python scripts/benchmark.py [--forces 1] [--data DIR] [--repeats 20]

Generates synthetic extracts (``--forces 43`` is national scale) unless
``--data`` names a folder, then times, with the result cache off so every
call runs its SQL: every KPI for one period, one area's monthly series, the
overview summary (period, previous period, 12-month sparks), a breakdown,
SPC over the whole history, and the records behind a chart.
Prints p50 and p95 per operation, and the machine it ran on.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kpi.spc import load_events
from kpi.summary import kpi_history, kpi_spc, kpi_summary, kpis_with_target
from queries import DataStore
from queries.kpis import KPI_IDS, Filters, Period, catalog, kpi_breakdown, kpi_records, kpi_table, kpi_values


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _time(operation, repeats: int) -> tuple[float, float, float]:
    cold_start = time.perf_counter()
    operation()
    cold = (time.perf_counter() - cold_start) * 1000
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        operation()
        samples.append((time.perf_counter() - started) * 1000)
    return cold, statistics.median(samples), _percentile(samples, 0.95)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="an existing data folder (default: generate one)")
    parser.add_argument("--forces", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    if args.data:
        data_dir = Path(args.data)
    else:
        from data.generate import generate

        data_dir = Path(tempfile.mkdtemp(prefix="cpd-bench-")) / "extracts"
        started = time.perf_counter()
        rows = generate(data_dir, forces=args.forces)
        print(
            f"generated {sum(rows.values()):,} rows for {args.forces} force(s) "
            f"in {time.perf_counter() - started:.1f} s"
        )

    store = DataStore(data_dir, cache_size=0)
    period = Period("2021-04", "2022-03")
    events = load_events()
    dorset = Filters(force="Dorset")
    area_ids = [k.id for k in catalog().kpis.values() if k.area == "assessment_and_help"]
    operations = {
        "all 72 KPIs, one period": lambda: kpi_values(store, period, dorset),
        "one area's monthly series (17 KPIs)": lambda: kpi_table(
            store, period, dorset, monthly=True, kpi_ids=area_ids
        ),
        "overview summary (KPIs with targets)": lambda: kpi_summary(
            store, period, dorset, kpis_with_target(store)
        ),
        "breakdown by LPA (THRIVE)": lambda: kpi_breakdown(
            store, "thrive_completion_pct", "lpa", period, dorset
        ),
        "peer comparison: by force, all forces": lambda: kpi_breakdown(
            store, "thrive_completion_pct", "force", period, Filters()
        ),
        "SPC: one area's whole history + XmR": lambda: kpi_spc(
            kpi_history(store, period, dorset, area_ids), area_ids, store.settings, events
        ),
        "overview exceptions: all 72 KPIs' history + XmR": lambda: kpi_spc(
            kpi_history(store, period, dorset, list(KPI_IDS)), list(KPI_IDS), store.settings, events
        ),
        "records behind a chart (incidents, 5,000 cap)": lambda: kpi_records(
            store, "thrive_completion_pct", period, dorset
        ),
    }
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.platform()}"
    )
    print(f"data: {data_dir}  period: {period.start_month}..{period.end_month}  force: Dorset")
    print(f"{'operation':50} {'cold ms':>9} {'p50 ms':>9} {'p95 ms':>9}")
    for name, operation in operations.items():
        cold, p50, p95 = _time(operation, args.repeats)
        print(f"{name:50} {cold:9.1f} {p50:9.1f} {p95:9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
