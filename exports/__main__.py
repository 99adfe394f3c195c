"""The export command: the gold group's monthly pack as PowerPoint and PDF.

python -m exports pack --data DIR --month YYYY-MM [--from YYYY-MM] [--force F] [--lpa L]
                       [--local-authority A] [--disclosure] [--settings FILE] [--events FILE] --out DIR

Writes ``pack-<force>-YYYY-MM.pptx`` and ``.pdf`` into ``--out`` and prints how long it took.
A request the data cannot answer (no such folder, a month outside it, an unknown force) exits
with 2 and a sentence; a picture that cannot be drawn exits with 1. Every run is a row of the
audit log of the app that serves the data folder, as ``python -m data.ingest`` is.
"""

from __future__ import annotations

import argparse
import getpass
import sqlite3
import sys
import time
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m exports", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    pack = commands.add_parser("pack", help="the monthly pack (PowerPoint and PDF) for one force and month")
    pack.add_argument("--data", help="data folder (default: $CPD_DATA_DIR or data/extracts)")
    pack.add_argument("--month", required=True, metavar="YYYY-MM", help="the month the pack reports")
    pack.add_argument(
        "--from",
        dest="period_from",
        metavar="YYYY-MM",
        help="first month of the period (default: the 12 months ending at --month)",
    )
    pack.add_argument("--force", help="the force (needed when the data holds several)")
    pack.add_argument("--lpa")
    pack.add_argument("--local-authority", dest="local_authority")
    pack.add_argument(
        "--disclosure",
        action="store_true",
        help="apply disclosure control (counts 1-4 as <5, percentages on fewer than 5 withheld)",
    )
    pack.add_argument("--settings", help="settings TOML overriding data/settings.toml")
    pack.add_argument("--events", help="events TOML replacing data/events.toml")
    pack.add_argument("--out", required=True, help="folder the two files are written to")
    return parser


def _audit(data_dir: Path, *, outcome: str, args, detail: dict, seconds: float) -> None:
    """The run as a row of the audit log (``auth.audit``), beside the data folder's app."""
    from auth import audit, instance_dir, private_dir

    filters = "&".join(
        f"{key}={value}"
        for key, value in (
            ("month", args.month),
            ("from", args.period_from),
            ("force", args.force),
            ("lpa", args.lpa),
            ("local_authority", args.local_authority),
            ("disclosure", int(args.disclosure)),
        )
        if value not in (None, "")
    )
    try:
        audit.record(
            "export pack",
            outcome=outcome,
            user=getpass.getuser(),
            role="cli",
            force=args.force,
            filters=filters,
            duration_ms=seconds * 1000,
            detail=detail,
            path=private_dir(instance_dir(data_dir)) / "audit.sqlite",
        )
    except (OSError, sqlite3.Error) as exc:
        print(f"warning: could not write the audit log for this pack: {exc}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from data.settings import SettingsError
    from exports.pack import PackError, build_pack, open_store
    from exports.routes import RenderError, renderer
    from kpi.spc import EventsError
    from queries import DataError, default_data_dir
    from queries.kpis import Filters

    data_dir = Path(args.data) if args.data else default_data_dir()
    started = time.perf_counter()
    try:
        store = open_store(data_dir, args.settings, args.events)
    except (DataError, SettingsError, EventsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    filters = Filters(args.force, args.lpa, args.local_authority)
    try:
        built = build_pack(
            store,
            args.month,
            filters,
            disclosure=args.disclosure,
            out_dir=args.out,
            period_from=args.period_from,
            user=getpass.getuser(),
        )
    except (PackError, DataError) as exc:
        seconds = time.perf_counter() - started
        _audit(data_dir, outcome="refused", args=args, detail={"reason": str(exc)}, seconds=seconds)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RenderError as exc:
        seconds = time.perf_counter() - started
        _audit(data_dir, outcome="failed", args=args, detail={"reason": str(exc)}, seconds=seconds)
        print(f"error: no pack: {exc}", file=sys.stderr)
        return 1
    finally:
        renderer.close()
    plan, took = built.plan, built.seconds
    _audit(
        data_dir,
        outcome="done",
        args=args,
        detail={
            "files": [built.pptx.name, built.pdf.name],
            "pack_id": plan.pack_id,
            "data_version": plan.data_version,
            "pages": len(plan.pages),
            "disclosure": plan.disclosure,
        },
        seconds=took["total"],
    )
    print(f"{built.pptx}\n{built.pdf}")
    print(
        f"{len(plan.pages)} pages for {plan.force}, {plan.selection.period_note}; pack {plan.pack_id}. "
        f"Built in {took['total']:.1f} s (figures {took['figures']:.1f} s, PowerPoint {took['pptx']:.1f} s, "
        f"pictures {took['pictures']:.1f} s, PDF {took['pdf']:.1f} s)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
