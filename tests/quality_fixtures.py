"""A tiny extract with planted recording gaps and data errors, for the data-quality tests.

The headline period is 2022-01..2022-03; "now" is 10 Apr 2022 12:00 and today is
10 Apr 2022. Dorset (LPAs East / West; local authorities BCP Council / Dorset
Council) holds most rows; Wiltshire (LPA Swindon) a few, to test that the
as-of time is each force's own. custody_detentions and police_protection have no
February rows (a month with no rows: no cell, not 0%). The comment on each row
says what it plants; the hand-known figures the tests assert are in HAND.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pandas as pd

from data.contract import TABLES, write_parquet
from queries.kpis import Filters, Period

DORSET, WILTS = "Dorset", "Wiltshire"
EAST, WEST, SWINDON = "East", "West", "Swindon"
LA_OF = {EAST: "BCP Council", WEST: "Dorset Council", SWINDON: "Swindon Borough Council"}
FORCE_OF = {EAST: DORSET, WEST: DORSET, SWINDON: WILTS}

NOW = datetime(2022, 4, 10, 12, 0)
TODAY = date(2022, 4, 10)
PERIOD = Period("2022-01", "2022-03")
DORSET_ONLY = Filters(DORSET)


def ts(text: str | None) -> pd.Timestamp | None:
    return None if text is None else pd.Timestamp(text)


def _place(lpa: str, with_la: bool = True) -> dict:
    place = {"force": FORCE_OF[lpa], "lpa": lpa}
    if with_la:
        place["local_authority"] = LA_OF[lpa]
    return place


def _incident(iid, lpa, received, arrived=None, ppn=None):
    return {
        "incident_id": iid,
        **_place(lpa),
        "received_at": ts(received),
        "incident_type": "other",
        "grade": 2,
        "vulnerability_identified": True,
        "thrive_completed": True,
        "thrive_reassessments": 0,
        "victim_callback": False,
        "arrived_at": ts(arrived),
        "ppn_submitted_at": ts(ppn),
        "voice_of_child_recorded": True,
        "child_spoken_to": True,
        "bwv_used": True,
    }


def _episode(eid, lpa, reported, ratified=None, found=None, rhi=None):
    return {
        "episode_id": eid,
        "child_id": f"C-{eid}",
        **_place(lpa),
        "age": 14,
        "reported_at": ts(reported),
        "risk_level": "medium",
        "risk_assessment_text": None,
        "risk_ratified_at": ts(ratified),
        "first_deployed_at": None,
        "found_at": ts(found),
        "prevention_interview": False,
        "return_home_interview_at": ts(rhi),
        "ppn_submitted": True,
        "strategy_meeting_held": False,
        "csc_referral": False,
    }


def _referral(rid, lpa, received, completed=None, held=None, minutes=None):
    return {
        "referral_id": rid,
        **_place(lpa),
        "received_at": ts(received),
        "risk_level": "low",
        "source": "ppn",
        "completed_at": ts(completed),
        "strategy_required": held is not None,
        "strategy_held_at": ts(held),
        "minutes_received_at": ts(minutes),
    }


def _crime(cid, lpa, opened, closed=None, video=None, csc=None):
    return {
        "crime_id": cid,
        "victim_child_id": f"V-{cid}",
        **_place(lpa, with_la=False),
        "team": "cid",
        "category": "other",
        "risk_level": "low",
        "opened_at": ts(opened),
        "closed_at": ts(closed),
        "plan_recorded": True,
        "video_interview_at": ts(video),
        "kirat_completed": None,
        "csc_informed_at": ts(csc),
    }


def _protection(pid, lpa, invoked, ended=None):
    return {
        "pp_id": pid,
        "child_id": f"C-{pid}",
        **_place(lpa, with_la=False),
        "invoked_at": ts(invoked),
        "ended_at": ts(ended),
        "ppn_submitted": True,
        "strategy_discussion_at": None,
        "template_used": True,
    }


def _rso(month, rid, lpa):
    return {
        "snapshot_month": ts(month),
        "rso_id": rid,
        **_place(lpa, with_la=False),
        "offender_manager_id": "OM-1",
        "management": "active",
        "in_custody": False,
        "whereabouts_unknown": False,
        "arms_required": False,
        "arms_completed_date": None,
        "arms_due_date": None,
        "next_visit_due": ts("2022-06-01"),  # ahead of now by design: not an error
    }


def _breach(bid, rso_id, lpa, recorded):
    return {
        "breach_id": bid,
        "rso_id": rso_id,
        **_place(lpa, with_la=False),
        "recorded_at": ts(recorded),
        "outcome": "ongoing",
        "visor_updated": True,
    }


def _detention(did, lpa, arrived, req=None, aa=None, rights=None, interview=None, released=None):
    return {
        "detention_id": did,
        "child_id": f"C-{did}",
        **_place(lpa, with_la=False),
        "custody_suite": "Weymouth",
        "age": 15,
        "arrived_at": ts(arrived),
        "aa_requested_at": ts(req),
        "aa_arrived_at": ts(aa),
        "rights_given_at": ts(rights),
        "interview_at": ts(interview),
        "released_at": ts(released),
        "charged": False,
        "bail_denied": False,
        "held_overnight": False,
        "alt_accommodation_requested": False,
        "alt_accommodation_provided": False,
        "ppn_submitted": True,
    }


ROWS: dict[str, list[dict]] = {
    "incidents": [
        _incident("I1", EAST, "2022-01-10 10:00", arrived="2022-01-10 09:50"),  # arrived before the call
        _incident("I2", WEST, "2022-01-20 10:00", arrived="2022-01-20 10:10", ppn="2022-01-21 09:00"),
        _incident(
            "I3", EAST, "2022-03-05 10:00", arrived="2022-03-05 10:20", ppn="2022-05-01 09:00"
        ),  # future
        _incident("I4", WEST, "2022-03-31 23:00"),  # Dorset's latest record: 10 days before today
        _incident("I5", EAST, "2022-06-01 10:00"),  # dated after now: rows_future, outside every period
        _incident("I6", SWINDON, "2022-02-15 10:00", arrived="2022-02-15 10:05"),
    ],
    "missing_episodes": [
        _episode("M1", EAST, "2022-01-05 10:00", "2022-01-05 11:00", "2022-01-05 20:00", "2022-01-07 10:00"),
        _episode("M2", WEST, "2022-01-12 10:00", None, "2022-01-13 10:00", None),  # both gaps
        _episode("M3", EAST, "2022-02-03 10:00", "2022-02-03 11:00", None, None),  # still missing: no RHI due
        _episode("M4", WEST, "2022-02-20 10:00", "2022-02-20 11:00", "2022-02-19 10:00", None),  # found first
        _episode("M5", EAST, "2022-03-30 10:00", None, "2022-03-30 12:00", None),  # RHI not yet due
        _episode("M6", WEST, "2022-03-31 20:00", "2022-03-31 21:00", None, None),  # the as-of time
    ],
    "mash_referrals": [
        _referral("R1", EAST, "2022-01-10 10:00", "2022-01-11 10:00", "2022-01-12 10:00", "2022-01-11 09:00"),
        _referral("R2", WEST, "2022-03-02 10:00", "2022-03-01 10:00"),  # completed before received
        _referral("R3", EAST, "2022-02-05 10:00", "2022-02-06 10:00"),
    ],
    "investigations": [
        _crime("C1", EAST, "2022-01-03 10:00", closed="2022-01-02 10:00"),  # closed before opened; csc gap
        _crime("C2", WEST, "2022-01-15 10:00", csc="2022-01-15 12:00"),
        _crime("C3", EAST, "2022-03-01 10:00", video="2022-02-28 10:00"),  # video first; csc gap
        _crime("C4", WEST, "2022-02-10 10:00", csc="2022-02-10 11:00"),
    ],
    "investigation_reviews": [
        {"crime_id": "C1", "force": DORSET, "reviewed_at": ts("2022-01-20 10:00")},
        {"crime_id": "C2", "force": DORSET, "reviewed_at": ts("2022-02-01 10:00")},
        # No such investigation; and the latest review: exactly 45 days before today (not stale).
        {"crime_id": "C999", "force": DORSET, "reviewed_at": ts("2022-02-24 10:00")},
    ],
    "team_staffing": [
        {"month": ts(m), "force": DORSET, "team": team, "officers_fte": 10.0}
        for m in ("2022-01-01", "2022-02-01", "2022-03-01")
        for team in ("impact", "mosovo")
    ],
    "police_protection": [
        _protection("P1", EAST, "2022-01-10 10:00", "2022-01-11 10:00"),
        _protection("P2", WEST, "2022-01-20 10:00"),  # end not recorded: a gap
        _protection("P3", EAST, "2022-03-05 10:00", "2022-03-04 10:00"),  # ended before invoked
        _protection("P4", WEST, "2022-03-30 10:00"),  # the as-of time: its end is not yet due
    ],
    "rso_register": [
        _rso("2022-01-01", "RSO-1", EAST),
        _rso("2022-01-01", "RSO-2", WEST),
        _rso("2022-03-01", "RSO-1", EAST),
        _rso("2022-03-01", "RSO-2", WEST),
    ],
    "rso_breaches": [
        _breach("B1", "RSO-1", EAST, "2022-01-15 10:00"),
        _breach("B2", "RSO-9", WEST, "2022-02-10 10:00"),  # not on the register
        _breach("B3", "RSO-2", EAST, "2022-03-03 10:00"),  # on the register in another LPA: links
        _breach("B4", "RSO-W1", SWINDON, "2022-02-02 10:00"),  # Wiltshire has no register: not judged
    ],
    "custody_detentions": [
        _detention(
            "D1",
            EAST,
            "2022-01-05 10:00",
            "2022-01-05 10:10",
            "2022-01-05 11:00",
            "2022-01-05 10:05",
            "2022-01-05 12:00",
            "2022-01-05 18:00",
        ),
        _detention("D2", WEST, "2022-01-06 10:00", released="2022-01-06 15:00"),  # three gaps
        _detention(
            "D3",
            EAST,
            "2022-01-20 10:00",
            "2022-01-20 10:30",
            "2022-01-20 10:20",
            "2022-01-20 10:05",
            "2022-01-20 11:00",
            "2022-01-20 14:00",
        ),  # AA arrived before being requested
        _detention(
            "D4",
            WEST,
            "2022-03-10 09:00",
            "2022-03-10 09:10",
            "2022-03-10 10:00",
            "2022-03-10 13:00",
            "2022-03-10 12:00",
            "2022-03-10 15:00",
        ),  # rights given after the interview
        # Still detained and arrived < 24 h before the as-of time (itself): AA arrival not yet judged.
        _detention("D5", EAST, "2022-03-31 20:00", "2022-03-31 20:05", None, "2022-03-31 20:02"),
        # Still detained, but arrived > 24 h before the as-of time: the missing AA arrival is a gap.
        _detention("D6", WEST, "2022-03-02 08:00", "2022-03-02 08:15", None, "2022-03-02 08:05"),
        # Wiltshire's as-of time is its own latest arrival (W2): W1 arrived < 24 h before it.
        _detention("W1", SWINDON, "2022-01-19 10:00", "2022-01-19 10:05", None, "2022-01-19 10:03"),
        _detention(
            "W2",
            SWINDON,
            "2022-01-20 08:00",
            "2022-01-20 08:05",
            "2022-01-20 09:00",
            "2022-01-20 08:02",
            None,
            "2022-01-20 12:00",
        ),
    ],
    "case_audits": [
        {
            "audit_id": f"A{i}",
            "force": DORSET,
            "audited_at": ts("2022-01-15"),
            "area": "detention",
            "grade": "good",
        }
        for i in range(3)
    ]
    + [
        # Dated after now: rows_future, and left out of the latest record (85 days: stale).
        {
            "audit_id": "A9",
            "force": DORSET,
            "audited_at": ts("2022-05-01"),
            "area": "detention",
            "grade": "good",
        }
    ],
}

# Hand-known figures for Dorset, 2022-01..2022-03 (see the row comments).
HAND = {
    "gaps": {
        # (table, column, month): (rows judged, rows missing)
        ("missing_episodes", "risk_ratified_at", "2022-01"): (2, 1),
        ("missing_episodes", "risk_ratified_at", "2022-02"): (2, 0),
        ("missing_episodes", "risk_ratified_at", "2022-03"): (2, 1),
        ("missing_episodes", "return_home_interview_at", "2022-01"): (2, 1),
        ("missing_episodes", "return_home_interview_at", "2022-02"): (1, 1),
        ("investigations", "csc_informed_at", "2022-01"): (2, 1),
        ("investigations", "csc_informed_at", "2022-02"): (1, 0),
        ("investigations", "csc_informed_at", "2022-03"): (1, 1),
        ("police_protection", "ended_at", "2022-01"): (2, 1),
        ("police_protection", "ended_at", "2022-03"): (1, 0),
        ("custody_detentions", "aa_requested_at", "2022-01"): (3, 1),
        ("custody_detentions", "aa_requested_at", "2022-03"): (3, 0),
        ("custody_detentions", "aa_arrived_at", "2022-01"): (3, 1),
        ("custody_detentions", "aa_arrived_at", "2022-03"): (2, 1),
        ("custody_detentions", "rights_given_at", "2022-01"): (3, 1),
        ("custody_detentions", "rights_given_at", "2022-03"): (3, 0),
    },
    "errors": {
        # check_id: [(record_id, month)]
        "incident_arrived_before_received": [("I1", "2022-01")],
        "time_after_now": [("I3", "2022-03")],
        "missing_found_before_reported": [("M4", "2022-02")],
        "mash_minutes_before_strategy": [("R1", "2022-01")],
        "mash_completed_before_received": [("R2", "2022-03")],
        "investigation_closed_before_opened": [("C1", "2022-01")],
        "investigation_video_before_opened": [("C3", "2022-03")],
        "review_crime_not_in_investigations": [("C999", "2022-02")],
        "pp_ended_before_invoked": [("P3", "2022-03")],
        "breach_rso_not_on_register": [("B2", "2022-02")],
        "custody_aa_arrived_before_requested": [("D3", "2022-01")],
        "custody_rights_after_interview": [("D4", "2022-03")],
    },
    # table: (days since latest record, stale?, rows dated after now)
    "freshness": {
        "incidents": (10, False, 1),
        "investigation_reviews": (45, False, 0),
        "police_protection": (11, False, 0),
        "rso_register": (10, False, 0),
        "team_staffing": (10, False, 0),
        "case_audits": (85, True, 1),
    },
}


def frame(table: str) -> pd.DataFrame:
    """The fixture rows of ``table`` with every contract column, typed."""
    out = pd.DataFrame(ROWS[table], columns=TABLES[table].column_names)
    for col in TABLES[table].columns:
        if col.type in ("timestamp", "date"):
            out[col.name] = pd.to_datetime(out[col.name])
    return out


def frames() -> dict[str, pd.DataFrame]:
    return {table: frame(table) for table in TABLES}


def write(data_dir: Path) -> Path:
    """Write every fixture table as ``data_dir/<table>/part.parquet``."""
    for table in TABLES:
        write_parquet(table, frame(table), Path(data_dir) / table / "part.parquet")
    return Path(data_dir)
