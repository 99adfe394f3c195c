"""Tiny, hand-checkable extracts of every table for the KPI tests.

Two forces: Dorset (LPAs East / West; local authorities BCP Council / Dorset
Council, with one cross-border row each in incidents and missing_episodes) and
Wiltshire (LPA Swindon, Swindon Borough Council), which has data only in
2022-02..2022-03 for most tables.

The headline period is 2022-01..2022-03: period_start 2022-01-01 00:00:00,
period_end 2022-04-01 00:00:00. Every event table holds a row at exactly
period_start (counted), at 2021-12-31 23:59:59 and at period_end (not counted),
one at 2022-03-31 23:59:59 whose other times fall after period_end, none in
2022-05 (a month inside coverage with no events) and its latest rows in 2022-06,
so Dorset's coverage is 2021-12..2022-06. rso_register holds the months 2022-01,
2022-03 and 2022-04 only (2022-02 is a gap); team_staffing 2022-01..2022-03.

Offsets are written in minutes after the row's own event time (None = null).
The comments at each row say what the row is there to test.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from data.contract import TABLES, write_parquet

DORSET, WILTS = "Dorset", "Wiltshire"
EAST, WEST, SWINDON = "East", "West", "Swindon"
BCP, DORSET_COUNCIL, SWINDON_COUNCIL = "BCP Council", "Dorset Council", "Swindon Borough Council"
LA_OF = {EAST: BCP, WEST: DORSET_COUNCIL, SWINDON: SWINDON_COUNCIL}
FORCE_OF = {EAST: DORSET, WEST: DORSET, SWINDON: WILTS}

H = 60  # minutes in an hour
D = 24 * 60  # minutes in a day


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def after(base: str | pd.Timestamp, minutes: float | None) -> pd.Timestamp | None:
    """``base`` plus ``minutes`` (None stays None: a null)."""
    if minutes is None:
        return None
    return pd.Timestamp(base) + pd.Timedelta(minutes=minutes)


def _frame(table: str, rows: list[dict]) -> pd.DataFrame:
    columns = TABLES[table].column_names
    frame = pd.DataFrame(rows)
    missing = [c for c in columns if c not in frame.columns]
    assert not missing, f"fixture {table} lacks {missing}"
    frame = frame[columns]
    for col in TABLES[table].columns:
        if col.type in ("timestamp", "date"):
            frame[col.name] = pd.to_datetime(frame[col.name])
    return frame


# --------------------------------------------------------------------------
# incidents
# --------------------------------------------------------------------------


def _incident(iid, lpa, received, grade, vuln, thrive, reass, callback, arrive, ppn, voc, spoken, la=None):
    return {
        "incident_id": iid,
        "force": FORCE_OF[lpa],
        "lpa": lpa,
        "local_authority": la or LA_OF[lpa],
        "received_at": ts(received),
        "incident_type": "concern for welfare",
        "grade": grade,
        "vulnerability_identified": vuln,
        "thrive_completed": thrive,
        "thrive_reassessments": reass,
        "victim_callback": callback,
        "arrived_at": after(received, arrive),
        "ppn_submitted_at": after(received, ppn),
        "voice_of_child_recorded": voc,
        "child_spoken_to": spoken,
        "bwv_used": True,
    }


def incidents() -> pd.DataFrame:
    f, t = False, True
    # One row a line, aligned by hand for reading.
    # fmt: off
    rows = [
        # id   lpa    received               g  vuln thr re cb arrive ppn      voc spoken
        _incident("I01", EAST, "2021-12-31 23:59:59", 1, t, t, 0, f, 10, 60, t, t),  # 1 s before start
        _incident("I02", EAST, "2022-01-01 00:00:00", 1, t, t, 2, t, 15, D, t, t),  # at start; 15 min, 24 h
        _incident("I03", WEST, "2022-01-10 08:00:00", 1, t, f, 1, f, None, None, f, f),  # not attended
        _incident("I04", WEST, "2022-01-20 12:00:00", 1, f, t, 0, f, -5, 2 * H, f, f),  # negative arrival
        _incident("I05", EAST, "2022-02-05 09:00:00", 2, t, t, 0, f, 20, D + 1 / 60, t, t),  # PPN 24h 1s
        # East LPA but a Dorset Council child (cross-border): local_authority != LPA's usual one
        _incident("I06", EAST, "2022-02-14 18:30:00", 2, t, t, 3, f, 21, None, f, t, la=DORSET_COUNCIL),
        # last second of the period; arrival and PPN after period_end (still read)
        _incident("I07", WEST, "2022-03-31 23:59:59", 3, t, t, 0, f, 31, 10 * H + 1 / 60, t, f),
        _incident("I08", WEST, "2022-04-01 00:00:00", 1, t, t, 0, f, 5, 60, t, t),  # at period_end
        _incident("I09", EAST, "2022-04-15 10:00:00", 4, f, t, 0, f, None, None, f, f),
        _incident("I10", WEST, "2022-06-10 10:00:00", 2, t, t, 0, f, 12, 60, t, t),  # latest: June
        _incident("W01", SWINDON, "2022-02-01 10:00:00", 1, t, t, 1, t, 12, 3 * H, t, t),
        _incident("W02", SWINDON, "2022-03-15 14:00:00", 2, f, f, 0, f, None, 30, f, f),
    ]
    # fmt: on
    return _frame("incidents", rows)


# --------------------------------------------------------------------------
# missing_episodes
# --------------------------------------------------------------------------


def _episode(
    eid, child, lpa, reported, risk, text, ratified, deployed, found, rhi_after_found, ppn, csc, la=None
):
    found_at = after(reported, found)
    return {
        "episode_id": eid,
        "child_id": child,
        "force": FORCE_OF[lpa],
        "lpa": lpa,
        "local_authority": la or LA_OF[lpa],
        "age": 14,
        "reported_at": ts(reported),
        "risk_level": risk,
        "risk_assessment_text": text,
        "risk_ratified_at": after(reported, ratified),
        "first_deployed_at": after(reported, deployed),
        "found_at": found_at,
        "prevention_interview": False,
        "return_home_interview_at": None if found_at is None else after(found_at, rhi_after_found),
        "ppn_submitted": ppn,
        "strategy_meeting_held": False,
        "csc_referral": csc,
    }


def missing_episodes() -> pd.DataFrame:
    f, t = False, True
    # For to = 2022-03 the 90-day window is [2022-01-01 00:00, 2022-04-01 00:00).
    # C1: exactly 3 episodes in the window (the first at its first instant), one referred.
    # C2: 3 episodes, one a second before the window: 2 in the window, not repeat.
    # C3: 4 in the window (one in West, three in East) and one at period_end; never referred.
    # One row a line, aligned by hand for reading.
    # fmt: off
    rows = [
        # id     child lpa   reported           risk      text (None = null)
        #        ratified deployed found  rhi (after found)  ppn csc
        _episode("E01", "C1", EAST, "2022-01-01 00:00", "high", "Streetwise, missing THROUGH CHOICE",
                 10, 15, 600, 72 * H, t, f),  # at start; deployed at 15 min; RHI at exactly 72 h
        _episode("E02", "C1", EAST, "2022-02-10 10:00", "medium", "voluntarily absented from placement",
                 30, 20, 120, 72 * H + 1, t, t),  # deployed before ratification; RHI 72 h 1 min
        _episode("E03", "C1", EAST, "2022-03-20 16:00", "low", None,
                 None, None, None, None, f, f),  # nothing recorded
        _episode("E04", "C2", WEST, "2021-12-31 23:59:59", "medium", "through choice",
                 5, 5, 60, 60, t, f),  # 1 s before the period and the 90-day window
        _episode("E05", "C2", WEST, "2022-02-01 09:00", "high", "no concerns",
                 5, None, 300, None, t, f),  # not deployed; no RHI
        _episode("E06", "C2", WEST, "2022-03-05 12:00", "medium", "Not missing through choice",
                 -10, 25, 60, 24 * H, t, t),  # ratified before the report (negative)
        _episode("E07", "C3", WEST, "2022-01-15 08:00", "high", "keeps choosing to stay out",
                 20, 16, 2000, 10 * H, f, f),  # deployed at 16 min: over the grade 1 target
        _episode("E08", "C3", EAST, "2022-02-15 22:00", "low", "",
                 60, 60, 480, None, t, f, la=DORSET_COUNCIL),  # cross-border; deployed at ratification
        _episode("E09", "C3", EAST, "2022-03-15 07:00", "high", "Putting herself at risk",
                 3, -2, None, None, t, f),  # deployed before the report (negative); still missing
        _episode("E10", "C3", EAST, "2022-03-31 23:59:59", "medium", "streetwise",
                 10, 20, 300, 30 * H, t, f),  # last second; everything else after period_end
        _episode("E11", "C3", EAST, "2022-04-01 00:00", "high", "streetwise",
                 5, 5, 60, 60, t, t),  # at period_end
        _episode("E12", "C4", WEST, "2022-06-05 10:00", "low", None,
                 None, 30, 60, 60, t, f),  # latest
        _episode("E13", "W1", SWINDON, "2022-02-20 10:00", "high", "Lifestyle choice",
                 15, 10, 100, None, f, f),
        _episode("E14", "W1", SWINDON, "2022-03-10 10:00", "medium", None,
                 10, 30, 100, 60, t, t),
    ]
    # fmt: on
    return _frame("missing_episodes", rows)


# --------------------------------------------------------------------------
# mash_referrals
# --------------------------------------------------------------------------


def _referral(rid, lpa, received, risk, completed, required, held, minutes):
    return {
        "referral_id": rid,
        "force": FORCE_OF[lpa],
        "lpa": lpa,
        "local_authority": LA_OF[lpa],
        "received_at": ts(received),
        "risk_level": risk,
        "source": "partner",
        "completed_at": None if completed is None else ts(completed),
        "strategy_required": required,
        "strategy_held_at": None if held is None else ts(held),
        "minutes_received_at": None if minutes is None else ts(minutes),
    }


def mash_referrals() -> pd.DataFrame:
    f, t = False, True
    # One row a line, aligned by hand for reading.
    # fmt: off
    rows = [
        #          id     lpa   received            risk      completed           req held / minutes
        # open high-risk referral received before the period: the oldest at period end;
        # strategy held in the period, minutes 2 days later
        _referral("M01", EAST, "2021-12-20 09:00", "high", None, t, "2022-01-05 10:00", "2022-01-07 10:00"),
        # completed exactly at period_end: still open at period end; strategy never held
        _referral("M02", EAST, "2022-01-01 00:00", "high", "2022-04-01 00:00", t, None, None),
        _referral("M03", WEST, "2022-01-15 09:00", "medium", "2022-01-20 09:00", f, None, None),
        # strategy held in the period, minutes never received
        _referral("M04", WEST, "2022-02-10 09:00", "low", None, t, "2022-02-11 12:00", None),
        # minutes dated before the meeting (negative), completed 1 s before period_end
        _referral("M05", EAST, "2022-03-01 09:00", "high", "2022-03-31 23:59:59", t,
                  "2022-03-02 10:00", "2022-03-01 10:00"),
        # received in the last second; strategy held after period_end (recorded all the same)
        _referral("M06", WEST, "2022-03-31 23:59:59", "high", None, t,
                  "2022-04-01 09:00", "2022-04-03 09:00"),
        _referral("M07", EAST, "2022-04-01 00:00", "high", None, t, None, None),  # at period_end
        _referral("M08", WEST, "2022-06-01 09:00", "low", None, f, None, None),  # latest
        # received before the period, strategy held a minute before period_end, minutes 12 h later
        _referral("M10", WEST, "2021-12-10 09:00", "low", "2021-12-15 09:00", t,
                  "2022-03-31 23:59", "2022-04-01 11:59"),
        _referral("W09", SWINDON, "2022-02-15 09:00", "high", None, t,
                  "2022-02-20 09:00", "2022-02-21 21:00"),
    ]
    # fmt: on
    return _frame("mash_referrals", rows)


# --------------------------------------------------------------------------
# investigations, investigation_reviews, team_staffing
# --------------------------------------------------------------------------


def _investigation(cid, child, lpa, team, category, risk, opened, closed, plan, video, kirat, csc):
    return {
        "crime_id": cid,
        "victim_child_id": child,
        "force": FORCE_OF[lpa],
        "lpa": lpa,
        "team": team,
        "category": category,
        "risk_level": risk,
        "opened_at": ts(opened),
        "closed_at": None if closed is None else ts(closed),
        "plan_recorded": plan,
        "video_interview_at": after(opened, video),
        "kirat_completed": kirat,
        "csc_informed_at": after(opened, csc),
    }


def investigations() -> pd.DataFrame:
    f, t = False, True
    # For to = 2022-03: period_end 2022-04-01, drift cut-off 2022-03-04 00:00:00.
    # One row a line, aligned by hand for reading.
    # fmt: off
    rows = [
        #              id     child lpa   team      category       risk    opened / closed
        #              plan video(min) kirat csc(min)
        # open, old, reviewed exactly at the cut-off -> not drifting
        _investigation("V01", "K1", EAST, "impact", "sexual abuse", "high", "2021-12-01 10:00", None,
                       t, 2 * D, None, 2 * H),
        # opened at period_start; last review 1 s before the cut-off -> drifting; CSC at exactly 24 h
        _investigation("V02", "K2", EAST, "impact", "exploitation", "high", "2022-01-01 00:00", None,
                       f, None, None, D),
        _investigation("V03", "K3", WEST, "polit", "online abuse", "medium", "2022-01-20 09:00",
                       "2022-02-01 09:00", t, 3 * D, t, None),
        # reviewed only by a Wiltshire reviewer: the review still counts -> not drifting
        _investigation("V04", "K4", WEST, "polit", "sexual abuse", "low", "2022-02-05 09:00", None,
                       t, 1.5 * D, f, 25 * H),
        # opened exactly 28 days before period_end, never reviewed -> drifting; negative intervals
        _investigation("V05", "K5", EAST, "cid", "exploitation", "low", "2022-03-04 00:00", None,
                       t, -D, None, -H),
        # opened 1 s less than 28 days before period_end -> not drifting
        _investigation("V06", "K6", WEST, "neighbourhood", "physical abuse", "high", "2022-03-04 00:00:01",
                       None, f, None, None, 2 * H),
        # last second of the period, same child as V02; video and CSC after period_end
        _investigation("V07", "K2", EAST, "impact", "neglect", "high", "2022-03-31 23:59:59", None,
                       t, D, None, 10 * H),
        # at period_end: not open at period end
        _investigation("V08", "K8", EAST, "impact", "other", "low", "2022-04-01 00:00", None,
                       t, None, None, None),
        # closed exactly at period_end: still open at period end; never reviewed -> drifting
        _investigation("V09", "K9", WEST, "cait", "sexual abuse", "high", "2021-12-15 09:00",
                       "2022-04-01 00:00", t, None, None, 3 * H),
        # closed 1 s before period_end
        _investigation("V10", "K10", EAST, "impact", "online abuse", "medium", "2022-02-01 09:00",
                       "2022-03-31 23:59:59", t, None, None, 30 * H),
        _investigation("V11", "K11", WEST, "impact", "neglect", "medium", "2022-06-10 09:00", None,
                       t, None, None, H),  # latest
        _investigation("W12", "WK1", SWINDON, "impact", "sexual abuse", "high", "2022-02-10 09:00", None,
                       t, D, None, H),
        _investigation("W13", "WK2", SWINDON, "neighbourhood", "exploitation", "medium", "2022-03-01 09:00",
                       None, f, None, None, None),
    ]
    # fmt: on
    return _frame("investigations", rows)


def investigation_reviews() -> pd.DataFrame:
    # One row a line, aligned by hand for reading.
    # fmt: off
    rows = [
        ("V01", DORSET, "2021-12-20 10:00:00"),  # Dorset's earliest review
        ("V01", DORSET, "2022-03-04 00:00:00"),  # exactly at the drift cut-off: counts
        ("V02", DORSET, "2022-03-03 23:59:59"),  # 1 s before the cut-off: does not count
        ("V04", WILTS, "2022-03-20 10:00:00"),  # another force's review of a Dorset crime: counts
        ("V09", DORSET, "2022-04-01 00:00:00"),  # at period_end: does not count
        ("W12", WILTS, "2022-03-15 10:00:00"),
        ("V11", DORSET, "2022-06-20 10:00:00"),  # Dorset's latest review
    ]
    # fmt: on
    return _frame(
        "investigation_reviews",
        [{"crime_id": c, "force": fo, "reviewed_at": ts(r)} for c, fo, r in rows],
    )


def team_staffing() -> pd.DataFrame:
    # One row a line, aligned by hand for reading.
    # fmt: off
    rows = [
        ("2022-01-01", DORSET, "impact", 2.0),
        ("2022-01-01", DORSET, "mosovo", 1.0),
        ("2022-02-01", DORSET, "impact", 2.0),
        ("2022-02-01", DORSET, "cait", 3.0),
        ("2022-03-01", DORSET, "impact", 2.5),
        ("2022-03-01", DORSET, "mosovo", 2.0),
        ("2022-03-01", WILTS, "impact", 1.0),  # Wiltshire: impact, but no mosovo row
    ]
    # fmt: on
    return _frame(
        "team_staffing",
        [{"month": m, "force": fo, "team": tm, "officers_fte": fte} for m, fo, tm, fte in rows],
    )


# --------------------------------------------------------------------------
# police_protection
# --------------------------------------------------------------------------


def _pp(pid, lpa, invoked, ended, ppn, strategy, template):
    return {
        "pp_id": pid,
        "child_id": "P" + pid,
        "force": FORCE_OF[lpa],
        "lpa": lpa,
        "invoked_at": ts(invoked),
        "ended_at": after(invoked, ended),
        "ppn_submitted": ppn,
        "strategy_discussion_at": after(invoked, strategy),
        "template_used": template,
    }


def police_protection() -> pd.DataFrame:
    f, t = False, True
    # One row a line, aligned by hand for reading.
    # fmt: off
    rows = [
        _pp("P06", WEST, "2021-12-05 10:00:00", 10 * H, t, H, t),  # earliest
        _pp("P01", EAST, "2022-01-01 00:00:00", 48 * H, t, 24 * H, t),  # at start; strategy at exactly 24 h
        _pp("P02", WEST, "2022-02-10 10:00:00", None, f, None, f),  # nothing recorded
        _pp("P04", WEST, "2022-03-10 10:00:00", 10 * H, t, -H, f),  # strategy before invocation
        _pp("P03", EAST, "2022-03-31 23:59:59", 30 * H, t, 20 * H, t),  # last second; strategy after end
        _pp("P05", EAST, "2022-04-01 00:00:00", H, t, H, t),  # at period_end
        _pp("P08", WEST, "2022-06-15 10:00:00", H, t, H, t),  # latest
        _pp("W07", SWINDON, "2022-03-05 10:00:00", 5 * H, t, 25 * H, t),
    ]
    # fmt: on
    return _frame("police_protection", rows)


# --------------------------------------------------------------------------
# rso_register, rso_breaches
# --------------------------------------------------------------------------


def _rso(month, rid, lpa, om, management, custody, unknown, required, completed, due, visit):
    return {
        "snapshot_month": month,
        "rso_id": rid,
        "force": FORCE_OF[lpa],
        "lpa": lpa,
        "offender_manager_id": om,
        "management": management,
        "in_custody": custody,
        "whereabouts_unknown": unknown,
        "arms_required": required,
        "arms_completed_date": completed,
        "arms_due_date": due,
        "next_visit_due": visit,
    }


def rso_register() -> pd.DataFrame:
    f, t = False, True
    m1, m3, m4 = "2022-01-01", "2022-03-01", "2022-04-01"
    # One row a line, aligned by hand for reading.
    # fmt: off
    rows = [
        # 2022-01 (last day 2022-01-31)
        _rso(m1, "S01", EAST, "OM1", "active", f, f, t, "2021-06-01", "2022-03-31", "2022-01-31"),
        _rso(m1, "S02", EAST, "OM1", "active", f, f, t, "2021-09-01", "2022-04-01", "2022-02-01"),
        _rso(m1, "S04", WEST, "OM2", "active", f, t, t, None, "2022-01-31", None),
        # 2022-03 (last day 2022-03-31); 2022-02 has no rows at all
        # due on the last day of `to`: outstanding; visit due on the last day: overdue
        _rso(m3, "S01", EAST, "OM1", "active", f, f, t, "2021-06-01", "2022-03-31", "2022-03-31"),
        # due the day after: in date; visit not yet due
        _rso(m3, "S02", EAST, "OM1", "active", f, f, t, "2021-09-01", "2022-04-01", "2022-04-01"),
        # never assessed and overdue: outstanding; reactive: its overdue visit does not count
        _rso(m3, "S03", EAST, "OM1", "reactive", f, t, t, None, "2022-02-01", "2022-01-01"),
        # never assessed, first assessment not yet due: neither; no visit planned
        _rso(m3, "S04", WEST, "OM2", "active", f, f, t, None, "2022-06-01", None),
        # in custody: not in the community, so none of the community counts
        _rso(m3, "S05", WEST, "OM2", "active", t, t, t, None, "2021-01-01", "2022-01-01"),
        # ARMS not required (due date null); visit overdue; same manager as East rows
        _rso(m3, "S06", WEST, "OM1", "active", f, f, f, None, None, "2022-03-15"),
        # Wiltshire reuses the id OM1: a different (force, offender_manager_id)
        _rso(m3, "S07", SWINDON, "OM1", "active", f, t, t, "2021-12-01", "2022-12-01", None),
        _rso(m3, "S08", SWINDON, "OM9", "active", f, f, t, "2022-01-01", "2023-01-01", "2022-05-01"),
        # 2022-04: rso covered, but no mosovo staffing row
        _rso(m4, "S01", EAST, "OM1", "active", f, f, t, "2022-04-10", "2023-04-10", "2022-04-30"),
    ]
    # fmt: on
    return _frame("rso_register", rows)


def _breach(bid, lpa, recorded, outcome, visor):
    return {
        "breach_id": bid,
        "rso_id": "R" + bid,
        "force": FORCE_OF[lpa],
        "lpa": lpa,
        "recorded_at": ts(recorded),
        "outcome": outcome,
        "visor_updated": visor,
    }


def rso_breaches() -> pd.DataFrame:
    f, t = False, True
    # One row a line, aligned by hand for reading.
    # fmt: off
    rows = [
        _breach("B06", WEST, "2021-12-10 10:00:00", "charged", t),  # earliest
        _breach("B01", EAST, "2022-01-01 00:00:00", "words of advice", t),  # at start
        _breach("B02", WEST, "2022-02-10 10:00:00", "ongoing", f),  # ongoing: out of the WoA denominator
        _breach("B04", WEST, "2022-03-12 10:00:00", "words of advice", f),
        _breach("B03", EAST, "2022-03-31 23:59:59", "charged", t),  # last second
        _breach("B05", EAST, "2022-04-01 00:00:00", "words of advice", t),  # at period_end
        _breach("B07", EAST, "2022-06-20 10:00:00", "cautioned", t),  # latest
        _breach("W08", SWINDON, "2022-02-20 10:00:00", "ongoing", t),  # Wiltshire: WoA denominator 0
    ]
    # fmt: on
    return _frame("rso_breaches", rows)


# --------------------------------------------------------------------------
# custody_detentions
# --------------------------------------------------------------------------


def _detention(did, lpa, arrived, aa_req, aa_arr, rights, interview, overnight, alt_req, alt_prov, ppn):
    return {
        "detention_id": did,
        "child_id": "C" + did,
        "force": FORCE_OF[lpa],
        "lpa": lpa,
        "custody_suite": {EAST: "Bournemouth", WEST: "Weymouth", SWINDON: "Swindon"}[lpa],
        "age": 15,
        "arrived_at": ts(arrived),
        "aa_requested_at": after(arrived, aa_req),
        "aa_arrived_at": after(arrived, aa_arr),
        "rights_given_at": after(arrived, rights),
        "interview_at": after(arrived, interview),
        "released_at": after(arrived, 600),
        "charged": False,
        "bail_denied": False,
        "held_overnight": overnight,
        "alt_accommodation_requested": alt_req,
        "alt_accommodation_provided": alt_prov,
        "ppn_submitted": ppn,
    }


def custody_detentions() -> pd.DataFrame:
    f, t = False, True
    # One row a line, aligned by hand for reading.
    # fmt: off
    rows = [
        #          id     lpa   arrived               aa_req aa_arr rights interview night alt_r alt_p ppn
        _detention("D08", WEST, "2021-12-05 10:00:00", 10, 40, 5, None, f, f, f, t),  # earliest
        _detention("D01", EAST, "2022-01-01 00:00:00", 10, 100, 5, 200, f, f, f, t),  # at start
        # AA at exactly 2 h; rights given at the interview's minute (not after it)
        _detention("D06", EAST, "2022-01-20 10:00:00", 15, 120, 120, 120, f, f, f, f),
        _detention("D02", WEST, "2022-02-10 10:00:00", 30, 150, None, 180, t, t, f, f),  # AA late; no rights
        _detention("D03", EAST, "2022-03-01 08:00:00", None, 60, 300, 240, t, t, t, t),  # rights after intvw
        _detention("D05", EAST, "2022-03-15 12:00:00", 40, 30, -10, 60, f, f, f, f),  # negative AA and rights
        _detention("D04", WEST, "2022-03-31 23:59:59", 20, None, 15, None, f, f, f, t),  # last second; no AA
        _detention("D07", EAST, "2022-04-01 00:00:00", 5, 10, 5, None, t, f, f, t),  # at period_end
        _detention("D09", WEST, "2022-06-01 10:00:00", 5, 10, 5, None, f, f, f, t),  # latest
        _detention("W10", SWINDON, "2022-02-15 10:00:00", 20, 80, 10, 90, f, f, f, t),
    ]
    # fmt: on
    return _frame("custody_detentions", rows)


# --------------------------------------------------------------------------
# case_audits
# --------------------------------------------------------------------------


def case_audits() -> pd.DataFrame:
    # One row a line, aligned by hand for reading.
    # fmt: off
    rows = [
        ("A06", DORSET, "2021-12-01", "detention", "good"),  # earliest
        ("A01", DORSET, "2022-01-01", "initial contact", "good"),  # first day of the period
        ("A02", DORSET, "2022-02-15", "investigation", "requires improvement"),
        ("A04", DORSET, "2022-03-10", "managing risk", "good"),
        ("A03", DORSET, "2022-03-31", "decision-making", "inadequate"),  # last day of the period
        ("A05", DORSET, "2022-04-01", "detention", "good"),  # first day after
        ("A07", DORSET, "2022-06-30", "detention", "inadequate"),  # latest
        ("W08", WILTS, "2022-03-01", "initial contact", "good"),
    ]
    # fmt: on
    return _frame(
        "case_audits",
        [{"audit_id": a, "force": fo, "audited_at": d, "area": ar, "grade": g} for a, fo, d, ar, g in rows],
    )


# --------------------------------------------------------------------------
# All tables; writing and reading them as parquet
# --------------------------------------------------------------------------

BUILDERS = {
    "incidents": incidents,
    "missing_episodes": missing_episodes,
    "mash_referrals": mash_referrals,
    "investigations": investigations,
    "investigation_reviews": investigation_reviews,
    "team_staffing": team_staffing,
    "police_protection": police_protection,
    "rso_register": rso_register,
    "rso_breaches": rso_breaches,
    "custody_detentions": custody_detentions,
    "case_audits": case_audits,
}


def all_frames() -> dict[str, pd.DataFrame]:
    """Every table's fixture frame."""
    assert set(BUILDERS) == set(TABLES), "a contract table has no fixture"
    return {name: build() for name, build in BUILDERS.items()}


def write_fixtures(
    data_dir: str | Path,
    frames: dict[str, pd.DataFrame] | None = None,
    *,
    skip: tuple[str, ...] = (),
    decoys: bool = False,
) -> dict[str, pd.DataFrame]:
    """Write each table as ``data_dir/<table>/part-0.parquet`` and ``part-1.parquet``.

    Each table is split across two files (alternate rows) to exercise multi-file
    folders. Tables named in ``skip`` get no folder at all. With ``decoys``, each
    folder also gets ``_previous/part-0.parquet`` and ``.part-2.parquet`` holding a
    copy of every row: files the contract says are not data, so no KPI may change.

    Returns:
        The frames written (tables in ``skip`` left out).
    """
    data_dir = Path(data_dir)
    frames = all_frames() if frames is None else frames
    written = {}
    for name, frame in frames.items():
        if name in skip:
            continue
        folder = data_dir / name
        write_parquet(name, frame.iloc[0::2], folder / "part-0.parquet")
        write_parquet(name, frame.iloc[1::2], folder / "part-1.parquet")
        if decoys:
            write_parquet(name, frame, folder / "_previous" / "part-0.parquet")
            write_parquet(name, frame, folder / ".part-2.parquet")
        written[name] = frame
    return written


def read_frames(data_dir: str | Path) -> dict[str, pd.DataFrame]:
    """Read back every table folder (skipping ``_``/``.`` names), as a reader of the contract would."""
    data_dir = Path(data_dir)
    frames = {}
    for name in TABLES:
        folder = data_dir / name
        if not folder.is_dir():
            continue
        files = sorted(p for p in folder.glob("*.parquet") if not p.name.startswith(("_", ".")))
        if files:
            frames[name] = pd.concat([pq.read_table(p).to_pandas() for p in files], ignore_index=True)
    return frames


# --------------------------------------------------------------------------
# Random extracts: many more rows, for a broad comparison with the oracle
# --------------------------------------------------------------------------

RANDOM_LPAS = (EAST, WEST, SWINDON)
RANDOM_MONTHS = pd.period_range("2021-11", "2022-07", freq="M")
_SAMPLE_TEXTS = (
    None,
    "",
    "no concerns",
    "missing through choice",
    "Voluntarily absented again",
    "PUTTING HIMSELF AT RISK",
    "streetwise young person",
    "not choosing to go",
    "lifestyle",
)


def random_frames(seed: int, rows: int = 120) -> dict[str, pd.DataFrame]:
    """Contract-valid random extracts with nulls, negative intervals and month-boundary times.

    Intervals are often exactly a threshold (15, 20, 120 min, 24 h, 72 h) so that
    "at most T" is exercised; times are often the first instant of a month or the
    second before it.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2021-11-01")
    span_s = int((pd.Timestamp("2022-08-01") - start).total_seconds())
    bounds = [m.start_time for m in RANDOM_MONTHS]

    def pick(options):
        return options[int(rng.integers(len(options)))]

    def when() -> pd.Timestamp:
        roll = rng.random()
        if roll < 0.08:
            return pick(bounds)
        if roll < 0.14:
            return pick(bounds) - pd.Timedelta(seconds=1)
        return start + pd.Timedelta(seconds=int(rng.integers(span_s)))

    def gap(base: pd.Timestamp, null_p: float = 0.2) -> pd.Timestamp | None:
        roll = rng.random()
        if roll < null_p:
            return None
        if roll < null_p + 0.1:
            return base - pd.Timedelta(minutes=int(rng.integers(1, 600)))
        if roll < null_p + 0.4:
            return base + pd.Timedelta(minutes=pick([15, 20, 120, 24 * 60, 72 * 60, 28 * 24 * 60]))
        return base + pd.Timedelta(seconds=int(rng.integers(0, 5 * 24 * 3600)))

    def where() -> tuple[str, str, str]:
        lpa = pick(RANDOM_LPAS)
        la = LA_OF[lpa] if rng.random() < 0.8 else pick(list(LA_OF.values()))
        return FORCE_OF[lpa], lpa, la

    def coin(p: float = 0.5) -> bool:
        return bool(rng.random() < p)

    frames: dict[str, list[dict]] = {name: [] for name in TABLES}
    for i in range(rows):
        force, lpa, la = where()
        received = when()
        frames["incidents"].append(
            {
                "incident_id": f"I{i}",
                "force": force,
                "lpa": lpa,
                "local_authority": la,
                "received_at": received,
                "incident_type": "other",
                "grade": int(rng.integers(1, 6)),
                "vulnerability_identified": coin(0.6),
                "thrive_completed": coin(0.8),
                "thrive_reassessments": int(rng.integers(0, 3)),
                "victim_callback": coin(),
                "arrived_at": gap(received),
                "ppn_submitted_at": gap(received, 0.3),
                "voice_of_child_recorded": coin(),
                "child_spoken_to": coin(),
                "bwv_used": coin(),
            }
        )
        force, lpa, la = where()
        reported = when()
        found = gap(reported)
        frames["missing_episodes"].append(
            {
                "episode_id": f"E{i}",
                "child_id": f"{force[0]}{int(rng.integers(12))}",
                "force": force,
                "lpa": lpa,
                "local_authority": la,
                "age": 13,
                "reported_at": reported,
                "risk_level": pick(["low", "medium", "high"]),
                "risk_assessment_text": pick(_SAMPLE_TEXTS),
                "risk_ratified_at": gap(reported),
                "first_deployed_at": gap(reported),
                "found_at": found,
                "prevention_interview": coin(),
                "return_home_interview_at": None if found is None else gap(found),
                "ppn_submitted": coin(0.8),
                "strategy_meeting_held": coin(),
                "csc_referral": coin(0.3),
            }
        )
        force, lpa, la = where()
        received = when()
        held = gap(received, 0.4)
        frames["mash_referrals"].append(
            {
                "referral_id": f"M{i}",
                "force": force,
                "lpa": lpa,
                "local_authority": la,
                "received_at": received,
                "risk_level": pick(["low", "medium", "high"]),
                "source": "ppn",
                "completed_at": gap(received, 0.4),
                "strategy_required": coin(0.6),
                "strategy_held_at": held,
                "minutes_received_at": None if held is None else gap(held),
            }
        )
        force, lpa, _ = where()
        opened = when()
        team = pick(["impact", "polit", "cait", "cid", "neighbourhood"])
        frames["investigations"].append(
            {
                "crime_id": f"V{i}",
                "victim_child_id": f"K{int(rng.integers(rows // 2))}",
                "force": force,
                "lpa": lpa,
                "team": team,
                "category": pick(["exploitation", "neglect", "other"]),
                "risk_level": pick(["low", "medium", "high"]),
                "opened_at": opened,
                "closed_at": gap(opened, 0.5)
                if coin(0.5)
                else opened + pd.Timedelta(days=int(rng.integers(90))),
                "plan_recorded": coin(),
                "video_interview_at": gap(opened),
                "kirat_completed": coin() if team == "polit" else None,
                "csc_informed_at": gap(opened),
            }
        )
        frames["investigation_reviews"].append(
            {
                "crime_id": f"V{int(rng.integers(rows))}",
                "force": pick([DORSET, WILTS]),
                "reviewed_at": when(),
            }
        )
        force, lpa, _ = where()
        invoked = when()
        frames["police_protection"].append(
            {
                "pp_id": f"P{i}",
                "child_id": f"PC{i}",
                "force": force,
                "lpa": lpa,
                "invoked_at": invoked,
                "ended_at": gap(invoked),
                "ppn_submitted": coin(0.8),
                "strategy_discussion_at": gap(invoked),
                "template_used": coin(0.7),
            }
        )
        force, lpa, _ = where()
        frames["rso_breaches"].append(
            {
                "breach_id": f"B{i}",
                "rso_id": f"R{i}",
                "force": force,
                "lpa": lpa,
                "recorded_at": when(),
                "outcome": pick(["words of advice", "charged", "cautioned", "no further action", "ongoing"]),
                "visor_updated": coin(0.7),
            }
        )
        force, lpa, _ = where()
        arrived = when()
        requested = gap(arrived)
        frames["custody_detentions"].append(
            {
                "detention_id": f"D{i}",
                "child_id": f"DC{i}",
                "force": force,
                "lpa": lpa,
                "custody_suite": "Bournemouth",
                "age": 15,
                "arrived_at": arrived,
                "aa_requested_at": requested,
                "aa_arrived_at": gap(requested if requested is not None and coin() else arrived),
                "rights_given_at": gap(arrived),
                "interview_at": gap(arrived, 0.4),
                "released_at": gap(arrived),
                "charged": coin(),
                "bail_denied": coin(),
                "held_overnight": coin(0.3),
                "alt_accommodation_requested": coin(0.3),
                "alt_accommodation_provided": coin(),
                "ppn_submitted": coin(0.8),
            }
        )
        frames["case_audits"].append(
            {
                "audit_id": f"A{i}",
                "force": pick([DORSET, WILTS]),
                "audited_at": when().normalize(),
                "area": "investigation",
                "grade": pick(["good", "requires improvement", "inadequate"]),
            }
        )

    for month in RANDOM_MONTHS:
        first = month.start_time
        last_day = month.end_time.normalize()
        for force in (DORSET, WILTS):
            for team in ("impact", "mosovo", "cait"):
                if coin(0.7):
                    frames["team_staffing"].append(
                        {
                            "month": first,
                            "force": force,
                            "team": team,
                            "officers_fte": float(rng.integers(1, 9)) / 2,
                        }
                    )
            if coin(0.25):
                continue  # a month with no register rows for this force
            for r in range(12):
                required = coin(0.8)
                due = None
                if required:
                    due = pick(
                        [
                            last_day,
                            last_day + pd.Timedelta(days=1),
                            first + pd.Timedelta(days=int(rng.integers(-200, 200))),
                        ]
                    )
                visit = pick([None, last_day, last_day + pd.Timedelta(days=1), first])
                frames["rso_register"].append(
                    {
                        "snapshot_month": first,
                        "rso_id": f"{force[0]}R{r}",
                        "force": force,
                        "lpa": pick([EAST, WEST]) if force == DORSET else SWINDON,
                        "offender_manager_id": f"OM{int(rng.integers(4))}",
                        "management": pick(["active", "reactive"]),
                        "in_custody": coin(0.15),
                        "whereabouts_unknown": coin(0.1),
                        "arms_required": required,
                        "arms_completed_date": None if coin(0.3) else first - pd.Timedelta(days=100),
                        "arms_due_date": due,
                        "next_visit_due": visit,
                    }
                )
    return {name: _frame(name, rows_) for name, rows_ in frames.items()}
