"""Synthetic extracts: Dorset Police (and fictional peer forces), typed to the data contract.

    python -m data.generate --out DIR [--seed N] [--from 2020-04 --to 2023-03] [--forces N]
        [--incidents-per-year N] [--overwrite]

Writes every table of ``data.contract.TABLES`` as ``DIR/<table>/<year>.parquet`` (one
file per calendar year of the table's coverage column). Everything is written into
a hidden temporary folder beside DIR first and moved into place only when complete.
Forces are generated and written one at a time (each force's rows are a row group
of each year's file), so memory holds one force's tables, not the nation's.

Volume. By default Dorset has its own volume (about 18,000 incidents a year) and
each fictional peer a random size, 0.3 to 3 times Dorset. ``--incidents-per-year N``
sizes the forces as England and Wales instead: N is the national volume, incidents a
year over all 43 forces (before seasonal and lockdown variation), and each force
gets its share of N by population — Dorset (0.77 M people) 1.3%, the fictional
peers the populations of the other 42 real forces (the largest, 8.8 M, is
Thames Gateway's, 11 times Dorset; the smallest, 9,000, Wye Valley's), a force
past the 43rd its random size. Every other table scales with a force's
incidents as Dorset's do (missing episodes, referrals, investigations and their
reviews, detentions, police protection, the sex offender register and breaches,
staffing FTE); case audits are samples of about 30 cases whatever the size.
``--forces 43 --from 2018-04 --to 2023-03 --incidents-per-year 2500000`` writes
about 12 M incidents. Dorset keeps the review's exact figures below when its
share is at least its own volume (N of 1.39 M or more); smaller, those counts
cannot be met and it is simulated from its rates like its peers.

The figures echo the HMICFRS post-inspection review of Dorset Police (April 2022):
THRIVE 97% in March 2022; ARMS 83% with 63 outstanding and 50 RSOs per offender
manager; 15 breaches in March 2022, all words of advice, 10 without a ViSOR entry;
27 children in the IMPACT high-risk cohort; 31 audited cases (10/10/11); three
children missing 34, 28 and 16 times in 90 days. Practice improves gradually after
the April 2021 inspection. Each force has its own random streams (seed, force,
table), so Dorset is the same whatever the number of forces.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from data.contract import TABLES, to_arrow, write_parquet

DEFAULT_SEED = 20220425
DEFAULT_START = "2020-04"
DEFAULT_END = "2023-03"

DAY = 86_400
HOUR = 3_600
MINUTE = 60
NEVER = np.iinfo(np.int64).min  # sentinel for an absent date/time while simulating

# --------------------------------------------------------------------------- forces


@dataclass(frozen=True)
class Lpa:
    name: str
    local_authority: str
    custody_suite: str
    weight: float


@dataclass(frozen=True)
class ForceProfile:
    """A force's shape. Rates are Dorset's, shifted by ``quality`` on the logit scale."""

    name: str
    code: str
    lpas: tuple[Lpa, ...]
    scale: float = 1.0  # volumes relative to Dorset
    quality: float = 0.0  # > 0 better practice than Dorset, < 0 worse
    inspection: str | None = "2021-04"  # improvement starts (the inspection month)
    tau_months: float = 5.0  # time constant of the improvement
    arms_outstanding_share: float = 0.17
    rso_per_om: float = 50.0  # RSOs in the community per MOSOVO officer, after improvement
    audit_months: tuple[str, ...] = ()


DORSET = ForceProfile(
    name="Dorset",
    code="D",
    lpas=(
        Lpa("East", "BCP Council", "Bournemouth", 0.56),
        Lpa("West", "Dorset Council", "Weymouth", 0.44),
    ),
    audit_months=(
        "2021-04",
        "2021-07",
        "2021-10",
        "2022-01",
        "2022-04",
        "2022-07",
        "2022-10",
        "2023-01",
    ),
)

# fmt: off
# Invented names: none is the name of a real police force.
FICTIONAL_FORCES = (
    "Wessex", "Mercia North", "Mercia South", "Severn Vale", "Pennine", "Fenland", "Cheviot",
    "Welsh Marches", "Solent", "Weald", "Chiltern", "Tamar", "Wolds", "High Peak", "East Riding",
    "Borders", "South Downs", "Broadland", "Trent Valley", "Cotswold", "Mendip", "Exmoor", "Dales",
    "Fylde", "Medway", "Quantock", "Malvern", "Lindsey", "Holderness", "Tees Vale", "Eden Valley",
    "Lakeland", "Ribble Valley", "Calder", "Sherwood", "Charnwood", "Nene Valley", "Breckland",
    "Stour Valley", "Thames Gateway", "Cherwell", "Wye Valley", "Tyne Valley", "Forest Vale",
)
# Under --incidents-per-year: the population (millions, 2021 census, rounded) of
# the real force whose size each fictional force takes, in FICTIONAL_FORCES order
# (the names stay invented): Hampshire, West Midlands, West Mercia, Avon and
# Somerset, Greater Manchester, Cambridgeshire, Northumbria, Dyfed-Powys, Sussex,
# Kent, Thames Valley, Devon and Cornwall, Humberside, Derbyshire, North
# Yorkshire, Cumbria, Surrey, Norfolk, Nottinghamshire, Gloucestershire,
# Wiltshire, Gwent, West Yorkshire, Lancashire, Essex, North Wales, Warwickshire,
# Lincolnshire, Cleveland, Durham, South Wales, Cheshire, Merseyside, South
# Yorkshire, Leicestershire, Staffordshire, Northamptonshire, Suffolk,
# Bedfordshire, the Metropolitan Police, Hertfordshire, City of London.
NATIONAL_POPULATION_M = (
    2.01, 2.92, 1.31, 1.74, 2.87, 0.90, 1.46, 0.52, 1.71, 1.85, 2.44, 1.75, 0.93, 1.05, 0.83,
    0.50, 1.20, 0.92, 1.15, 0.65, 0.73, 0.59, 2.35, 1.53, 1.83, 0.69, 0.60, 0.77, 0.57, 0.63,
    1.31, 1.08, 1.42, 1.38, 1.10, 1.13, 0.79, 0.76, 0.69, 8.80, 1.20, 0.0086,
)
_TOWN_START = (
    "Ash", "Brack", "Cald", "Dun", "Elm", "Fen", "Glen", "Hart", "Kings", "Lang", "Mill", "Oak",
    "Pen", "Red", "Stan", "Thorn", "Wick", "Yar", "Brook", "Marl",
)
_TOWN_END = ("ford", "mouth", "bury", "ton", "ham", "field", "bridge", "ley", "combe", "minster")
# fmt: on

_LPA_LAYOUTS = {
    1: ("County",),
    2: ("North", "South"),
    3: ("North", "Central", "South"),
    4: ("North", "South", "East", "West"),
}


DORSET_POPULATION_M = 0.77
NATIONAL_FORCES = 1 + len(NATIONAL_POPULATION_M)  # the 43 forces of England and Wales
DORSET_INCIDENTS_PER_YEAR = 1500 * 12  # _incidents' monthly base at scale 1


def national_volume(incidents_per_year: float) -> float:
    """Dorset's scale when England and Wales has ``incidents_per_year`` incidents a year."""
    total_m = DORSET_POPULATION_M + sum(NATIONAL_POPULATION_M)
    return incidents_per_year * DORSET_POPULATION_M / total_m / DORSET_INCIDENTS_PER_YEAR


def _crc(text: str) -> int:
    return zlib.crc32(text.encode())


def _force_code(name: str, taken: set[str]) -> str:
    words = name.replace("-", " ").split()
    base = (words[0][:3] if len(words) == 1 else "".join(w[0] for w in words) + words[-1][1]).upper()
    code, k = base, 1
    while code in taken:
        k += 1
        code = f"{base}{k}"
    return code


def fictional_profile(seed: int, index: int, taken: set[str], volume: float | None = None) -> ForceProfile:
    """The ``index``-th fictional force (1-based): the same for a seed whatever the count.

    ``volume`` (Dorset's scale under ``--incidents-per-year``) sizes the force by its
    population in ``NATIONAL_POPULATION_M`` instead of at random.
    """
    rng = np.random.default_rng([seed, _crc("profile"), index])
    name = FICTIONAL_FORCES[index - 1] if index <= len(FICTIONAL_FORCES) else f"Region {index}"
    scale = float(np.exp(rng.uniform(np.log(0.3), np.log(3.0))))
    if volume is not None:
        if index <= len(NATIONAL_POPULATION_M):
            scale = NATIONAL_POPULATION_M[index - 1] / DORSET_POPULATION_M
        scale *= volume
    relative = scale if volume is None else scale / volume  # to Dorset: more people, more LPAs
    n_lpa = int(np.clip(round(1 + relative + rng.normal(0, 0.6)), 1, 4))
    towns = rng.permutation(len(_TOWN_START) * len(_TOWN_END))[:n_lpa]
    weights = rng.dirichlet(np.full(n_lpa, 6.0))
    lpas = []
    for k, lpa in enumerate(_LPA_LAYOUTS[n_lpa]):
        if lpa == "County":
            authority = f"{name} County Council"
        elif lpa == "Central":
            authority = f"{name} City Council"
        else:
            authority = f"{lpa} {name} Council"
        town = _TOWN_START[towns[k] // len(_TOWN_END)] + _TOWN_END[towns[k] % len(_TOWN_END)]
        lpas.append(Lpa(lpa, authority, town, float(weights[k])))
    inspection = None
    if rng.random() < 0.85:
        month = np.datetime64("2020-09") + int(rng.integers(0, 22))
        inspection = str(month)
    first_audit = int(rng.integers(0, 3))
    audit_months = tuple(
        str(np.datetime64("2020-04") + m) for m in range(first_audit, 36, 3) if rng.random() < 0.7
    )
    code = _force_code(name, taken)
    taken.add(code)
    return ForceProfile(
        name=name,
        code=code,
        lpas=tuple(lpas),
        scale=scale,
        quality=float(rng.normal(0, 0.6)),
        inspection=inspection,
        tau_months=float(rng.uniform(3, 12)),
        arms_outstanding_share=float(rng.uniform(0.05, 0.3)),
        rso_per_om=float(rng.uniform(40, 68)),
        audit_months=audit_months,
    )


def force_profiles(seed: int, forces: int, incidents_per_year: float | None = None) -> list[ForceProfile]:
    """Dorset and ``forces - 1`` fictional forces, sized nationally if ``incidents_per_year``."""
    taken = {DORSET.code}
    volume = None if incidents_per_year is None else national_volume(incidents_per_year)
    first = DORSET if volume is None else replace(DORSET, scale=volume)
    return [first] + [fictional_profile(seed, i, taken, volume) for i in range(1, forces)]


# --------------------------------------------------------------------------- shapes

# fmt: off
# Calendar-month multipliers (Jan..Dec).
SEASON_INCIDENTS = np.array([1.05, 0.95, 0.97, 0.98, 1.0, 1.01, 1.06, 1.07, 0.97, 0.98, 0.96, 1.10])
SEASON_MISSING = np.array([0.88, 0.88, 0.95, 1.0, 1.05, 1.12, 1.18, 1.17, 1.0, 0.98, 0.92, 0.87])
SEASON_MASH = np.array([1.03, 1.0, 1.05, 0.95, 1.0, 1.03, 1.0, 0.80, 1.04, 1.08, 1.06, 0.96])
SEASON_FLAT = np.ones(12)
# Lockdowns: fewer missing episodes, referrals and arrests.
COVID = {
    "missing": {"2020-04": 0.72, "2020-05": 0.82, "2020-06": 0.92, "2021-01": 0.85, "2021-02": 0.88},
    "mash": {"2020-04": 0.8, "2020-05": 0.85, "2020-06": 0.93, "2021-01": 0.9, "2021-02": 0.92},
    "custody": {"2020-04": 0.7, "2020-05": 0.8, "2020-06": 0.9, "2021-01": 0.85},
    "incidents": {"2020-04": 0.93, "2020-05": 0.95},
}


def _hours(weights: list[float]) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return w / w.sum()


HOURS_CALLS = _hours([2.2, 1.6, 1.2, .9, .7, .7, 1, 1.8, 3, 3.6, 3.9, 4, 4.1, 4.3, 4.6, 5.4, 6, 6.2, 6.1,
                      5.8, 5.4, 4.8, 4, 3])
HOURS_MISSING = _hours([4, 3, 2, 1.5, 1, 1, 1, 1.5, 2, 2.5, 2.5, 2.5, 2.5, 3, 3.5, 4.5, 5.5, 6.5, 7, 7.5,
                        7.5, 7, 6, 5])
HOURS_OFFICE = _hours([.1] * 7 + [1, 3, 4, 4, 3.5, 3, 3.5, 3.5, 3, 2, .8] + [.4, .3, .2, .1, .1, .1])
HOURS_CUSTODY = _hours([1, .8, .6, .4, .3, .3, .5, 1, 2, 3, 3.5, 3.8, 4, 4.2, 4.4, 4.6, 4.8, 4.8, 4.5, 4,
                        3.5, 2.8, 2, 1.4])

INCIDENT_TYPES = ("domestic abuse", "concern for welfare", "missing person", "sexual offence",
                  "online abuse", "other")
CATEGORIES = ("exploitation", "sexual abuse", "online abuse", "physical abuse", "neglect", "other")
TEAMS = ("impact", "polit", "cait", "cid", "neighbourhood")
RISKS = ("low", "medium", "high")
SOURCES = ("ppn", "partner", "public", "other")
OUTCOMES = ("words of advice", "charged", "cautioned", "no further action", "ongoing")
AUDIT_AREAS = ("initial contact", "assessment and help", "investigation", "decision-making",
               "managing risk", "detention")
AUDIT_GRADES = ("good", "requires improvement", "inadequate")
# fmt: on

# Missing-person risk assessment texts, redacted at source (no names, places or schools).
# {p}: he/she/they, {P}: He/She/They, {r}: himself/herself/themselves, {is}: is/are.
_TEXT_CONTEXT = (
    "Reported missing from home after an argument with a parent.",
    "Failed to return to the children's home by the agreed time.",
    "Did not return from school; phone switched off.",
    "Left the foster placement overnight without permission.",
    "Last seen in the town centre with older associates.",
    "Missed curfew; carers concerned as this is out of character.",
    "Not seen since yesterday evening; family have checked with friends.",
    "Went out to meet friends and has not come home.",
)
_TEXT_RISK = (
    "Known to be at risk of criminal exploitation; trigger plan in place.",
    "Concerns about sexual exploitation; linked to older adults.",
    "No known medical needs.",
    "Has self-harmed previously; mental health concerns.",
    "First time missing; no known risk factors.",
    "Possible links to county lines activity.",
    "Has a phone but is not answering calls or messages.",
    "Recently moved placement and does not know the area well.",
)
_TEXT_BLAMING = (  # each contains a phrase of the default language list
    "{P} appears to be missing through choice.",
    "Child appears deliberately missing.",
    "{P} {has} voluntarily absented {r} again.",
    "{P} {is} putting {r} at risk by associating with older males.",
    "Going missing appears to be a lifestyle choice.",
    "{P} {is} streetwise and able to look after {r}.",
    "{P} {is} known to be promiscuous.",
    "{P} {is} choosing to stay with friends rather than come home.",
)
_TEXT_NEGATED = (  # a phrase of the list, negated: a reader has to judge the match
    "Not missing through choice; believed to be under the control of others.",
    "Nothing to suggest {p} {is} choosing to stay away; exploitation suspected.",
    "{P} should not be seen as putting {r} at risk: {p} {is} a victim.",
)
_TEXT_CLOSING = (
    "",
    " Officers to treat as a vulnerable child.",
    " Exploitation cannot be ruled out.",
    " Contact made with the on-call social worker.",
    " Trigger plan reviewed.",
)
_PRONOUNS = (  # female, male, unstated
    {"p": "she", "P": "She", "r": "herself", "is": "is", "has": "has"},
    {"p": "he", "P": "He", "r": "himself", "is": "is", "has": "has"},
    {"p": "they", "P": "They", "r": "themselves", "is": "are", "has": "have"},
)


def risk_text_templates() -> dict[str, tuple[str, ...]]:
    """The sentence banks, for tests: blaming ones must match the language list."""
    return {
        "blaming": _TEXT_BLAMING,
        "negated": _TEXT_NEGATED,
        "context": _TEXT_CONTEXT,
        "risk": _TEXT_RISK,
        "closing": _TEXT_CLOSING,
    }


def _fill(bank: tuple[str, ...]) -> np.ndarray:
    """Each sentence of ``bank`` for each pronoun set: index = sentence * 3 + pronoun."""
    return np.array([s.format(**pr) for s in bank for pr in _PRONOUNS], dtype=object)


# --------------------------------------------------------------------------- helpers


def _logit_shift(p: float, q: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return float(1 / (1 + np.exp(-(np.log(p / (1 - p)) + q))))


def _exact(rng: np.random.Generator, n: int, share: float) -> np.ndarray:
    """Exactly round(share * n) True values, in random places."""
    out = np.zeros(n, dtype=bool)
    out[rng.permutation(n)[: round(share * n)]] = True
    return out


def _lognormal_s(rng: np.random.Generator, median_min, sigma, n: int) -> np.ndarray:
    """Long-tailed delays in whole seconds from a median in minutes (scalar or per row)."""
    minutes = np.exp(np.log(median_min) + sigma * rng.standard_normal(n))
    return np.round(minutes * MINUTE).astype(np.int64)


def _ts(seconds: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    out = seconds.astype("datetime64[s]")
    if valid is not None:
        out[~valid] = np.datetime64("NaT")
    return out


def _dates(days: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    out = days.astype("datetime64[D]")
    if valid is not None:
        out[~valid] = np.datetime64("NaT")
    return out


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    return prefix + pd.Series(np.asarray(numbers, dtype=np.int64)).astype(str).str.zfill(width)


def _cat(values: tuple[str, ...] | list[str], codes: np.ndarray) -> pd.Categorical:
    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64), categories=list(values))


def _const(value: str, n: int) -> pd.Categorical:
    return _cat([value], np.zeros(n, dtype=np.int64))


def _choice(rng: np.random.Generator, probs, n: int) -> np.ndarray:
    p = np.asarray(probs, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def _choice_rows(rng: np.random.Generator, table: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One category per row, from the probability row ``table[rows[i]]``."""
    cum = np.cumsum(table / table.sum(axis=1, keepdims=True), axis=1)[rows]
    u = rng.random(len(rows))[:, None]
    return np.minimum((u > cum).sum(axis=1), table.shape[1] - 1)


class _Force:
    """One force over the generated months: random streams, rates, volumes, times."""

    def __init__(self, profile: ForceProfile, seed: int, months: np.ndarray):
        self.p = profile
        self.seed = seed
        self.months = months
        self.m = len(months)
        self.start_s = months.astype("datetime64[s]").astype(np.int64)
        self.end_s = (months + 1).astype("datetime64[s]").astype(np.int64)
        self.first_s = int(self.start_s[0])
        self.as_of = int(self.end_s[-1])  # extract date: nothing later is known
        self.ndays = (self.end_s - self.start_s) // DAY
        self.calendar = months.astype(np.int64) % 12  # 0 = January
        # The review's figures are counts at Dorset's own volume: below it they cannot be met.
        self.calibrate = profile.name == DORSET.name and profile.scale >= 1.0
        self.ramp = self.ramp_from(profile.inspection, profile.tau_months)
        self.shared: dict[str, object] = {}
        lpa_w = np.array([lpa.weight for lpa in profile.lpas])
        self.lpa_weights = lpa_w / lpa_w.sum()

    # streams, months
    def rng(self, *keys: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, _crc(self.p.name), *(_crc(k) for k in keys)])

    def idx(self, month: str) -> int | None:
        k = int((np.datetime64(month, "M") - self.months[0]).astype(np.int64))
        return k if 0 <= k < self.m else None

    def ramp_from(self, month: str | None, tau: float) -> np.ndarray:
        if month is None:
            return np.zeros(self.m)
        k = (self.months - np.datetime64(month, "M")).astype(np.int64)
        return np.where(k < 0, 0.0, 1 - np.exp(-(k + 0.5) / tau))

    # rates and delays
    def rate(self, pre: float, post: float, ramp: np.ndarray | None = None) -> np.ndarray:
        """A proportion per month moving from ``pre`` to ``post`` as the force improves."""
        ramp = self.ramp if ramp is None else ramp
        q = self.p.quality
        if q:
            pre, post = _logit_shift(pre, q), _logit_shift(post, q)
        return pre + (post - pre) * ramp

    def median(self, pre: float, post: float, ramp: np.ndarray | None = None) -> np.ndarray:
        """A median delay per month (geometric path), shorter in better forces."""
        ramp = self.ramp if ramp is None else ramp
        return pre * (post / pre) ** ramp * np.exp(-0.25 * self.p.quality)

    def volume(
        self, rng: np.random.Generator | None, base: float, season: np.ndarray, covid: str = ""
    ) -> np.ndarray:
        """Monthly counts (Poisson around the seasonal mean); the mean itself without ``rng``."""
        mean = base * self.p.scale * season[self.calendar]
        for month, factor in COVID.get(covid, {}).items():
            k = self.idx(month)
            if k is not None:
                mean[k] *= factor
        return mean if rng is None else rng.poisson(mean)

    # event times
    def times(
        self,
        rng: np.random.Generator,
        midx: np.ndarray,
        hours: np.ndarray,
        weekdays_only: np.ndarray | bool = False,
    ) -> np.ndarray:
        n = len(midx)
        day = np.floor(rng.random(n) * self.ndays[midx]).astype(np.int64)
        if weekdays_only is not False:
            dow = ((self.start_s[midx] // DAY + day) + 3) % 7  # Monday = 0
            move = (dow >= 5) & np.asarray(weekdays_only)
            back = np.where(dow == 5, -1, -2)  # to Friday
            fwd = np.where(dow == 5, 2, 1)  # to Monday
            shifted = np.where(day + back >= 0, day + back, day + fwd)
            day = np.where(move, shifted, day)
        hour = rng.choice(24, size=n, p=hours)
        return self.start_s[midx] + day * DAY + hour * HOUR + rng.integers(0, HOUR, n)

    def lpa_codes(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.choice(len(self.p.lpas), size=n, p=self.lpa_weights)

    def place(self, codes: np.ndarray, *, authority: bool = True) -> dict[str, pd.Categorical]:
        n = len(codes)
        cols = {
            "force": _const(self.p.name, n),
            "lpa": _cat([lpa.name for lpa in self.p.lpas], codes),
        }
        if authority:
            cols["local_authority"] = _cat([lpa.local_authority for lpa in self.p.lpas], codes)
        return cols

    def child_ids(self, numbers: np.ndarray) -> pd.Series:
        return _ids(f"C-{self.p.code}-", numbers, 5)

    @property
    def child_ranges(self) -> dict[str, tuple[int, int]]:
        """Disjoint child-number ranges per source, so a shared number is the same child."""
        s = max(self.p.scale, 0.3)
        bounds = np.round(np.array([1, 20_000, 70_000, 85_000, 95_000]) * s).astype(int)
        bounds[0] = 1
        keys = ("missing", "victim", "custody", "protection")
        return {k: (int(bounds[i]), int(bounds[i + 1])) for i, k in enumerate(keys)}

    @cached_property
    def frequent_missing(self) -> list[dict]:
        """Children missing very often, with the window in which they are active.

        Dorset's first three are the review's children: exactly 34, 28 and 16
        episodes in the 90 days to 1 April 2022.
        """
        rng = self.rng("frequent-missing")
        lo, hi = self.child_ranges["missing"]
        if self.calibrate:
            spec = [
                ("2021-10-20", "2022-06-20", 34),
                ("2021-11-25", "2022-05-31", 28),
                ("2021-09-10", "2022-04-25", 16),
                ("2020-06-15", "2020-12-20", None),
                ("2022-07-10", "2023-02-15", None),
            ]
            rates = [None, None, None, 0.26, 0.2]
        else:
            k = int(rng.poisson(2.5 * self.p.scale)) + 1
            spec, rates = [], []
            for _ in range(k):
                start = np.datetime64("2020-04-01") + int(rng.integers(0, 1000))
                end = start + int(rng.integers(90, 270))
                spec.append((str(start), str(end), None))
                rates.append(float(rng.uniform(0.1, 0.33)))
        numbers = rng.choice(np.arange(lo, hi), size=len(spec), replace=False)
        return [
            {"child": int(numbers[i]), "start": s, "end": e, "window_count": c, "per_day": rates[i]}
            for i, (s, e, c) in enumerate(spec)
        ]


# --------------------------------------------------------------------------- incidents


def _incidents(f: _Force) -> dict[str, pd.DataFrame]:
    rng = f.rng("incidents")
    counts = f.volume(rng, 1500, SEASON_INCIDENTS, "incidents")
    midx = np.repeat(np.arange(f.m), counts)
    received = f.times(rng, midx, HOURS_CALLS)
    order = np.argsort(received, kind="stable")
    midx, received = midx[order], received[order]
    n = len(midx)

    itype = _choice(rng, [0.35, 0.25, 0.12, 0.06, 0.05, 0.17], n)
    vuln = rng.random(n) < np.array([0.7, 0.6, 0.75, 0.9, 0.7, 0.25])[itype]
    graded_12 = rng.random(n) < f.rate(0.84, 0.95)[midx]
    grade_vuln = np.where(graded_12, np.where(rng.random(n) < 0.45, 1, 2), 3 + (rng.random(n) < 0.3))
    grade_other = 1 + _choice(rng, [0.04, 0.16, 0.40, 0.25, 0.15], n)
    grade = np.where(vuln, grade_vuln, grade_other).astype(np.int8)

    thrive = rng.random(n) < f.rate(0.88, 0.98)[midx]
    k = f.idx("2022-03") if f.calibrate else None
    if k is not None:  # the force's own audit: 97% of calls had a THRIVE assessment
        rows = np.flatnonzero(midx == k)
        thrive[rows] = _exact(rng, len(rows), 0.97)

    waiting = np.array([0.02, 0.05, 0.5, 1.1, 0.3, 0.0])[grade - 1]
    reassess = rng.poisson(waiting).astype(np.int32)
    callback = (reassess > 0) & (rng.random(n) < f.rate(0.2, 0.45)[midx])

    attend_p = np.array([0.995, 0.98, 0.92, 0.75, 0.08])[grade - 1]
    median = np.select(
        [grade == 1, grade == 2, grade == 3, grade == 4],
        [f.median(12, 9.5)[midx], f.median(16, 12)[midx], np.full(n, 150.0), np.full(n, 1200.0)],
        2000.0,
    )
    sigma = np.array([0.55, 0.65, 0.9, 0.8, 1.0])[grade - 1]
    arrived = received + _lognormal_s(rng, median, sigma, n)
    error = rng.random(n) < 0.0005  # a few arrivals logged before the call
    arrived = np.where(error, received - rng.integers(60, 1800, n), arrived)
    attended = (rng.random(n) < attend_p) & (arrived < f.as_of)

    ppn_p = np.where(vuln, f.rate(0.86, 0.96)[midx], 0.12)
    ppn_at = received + _lognormal_s(rng, f.median(300, 180)[midx], 1.1, n)
    ppn = (rng.random(n) < ppn_p) & (ppn_at < f.as_of)
    voice = rng.random(n) < np.where(ppn, f.rate(0.62, 0.9)[midx], 0.25)
    spoken = rng.random(n) < np.where(vuln, f.rate(0.7, 0.9)[midx], 0.45)
    bwv = attended & (rng.random(n) < f.rate(0.55, 0.75)[midx])

    frame = pd.DataFrame(
        {
            "incident_id": _ids(f"INC-{f.p.code}-", np.arange(1, n + 1), 6),
            **f.place(f.lpa_codes(rng, n)),
            "received_at": _ts(received),
            "incident_type": _cat(INCIDENT_TYPES, itype),
            "grade": grade,
            "vulnerability_identified": vuln,
            "thrive_completed": thrive,
            "thrive_reassessments": reassess,
            "victim_callback": callback,
            "arrived_at": _ts(arrived, attended),
            "ppn_submitted_at": _ts(ppn_at, ppn),
            "voice_of_child_recorded": voice,
            "child_spoken_to": spoken,
            "bwv_used": bwv,
        }
    )
    return {"incidents": frame}


# --------------------------------------------------------------------------- missing episodes


def _frequent_episodes(f: _Force, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Episode times and child numbers of the children missing very often."""
    times, children = [], []
    window = tuple(np.datetime64(d, "s").astype(np.int64) for d in ("2022-01-01", "2022-04-01"))
    for child in f.frequent_missing:
        start = np.datetime64(child["start"], "s").astype(np.int64)
        end = np.datetime64(child["end"], "s").astype(np.int64)
        if child["window_count"] is not None:
            per_day = child["window_count"] / 90 * 0.8
            segments = [
                (start, window[0], None),
                (window[0], window[1], child["window_count"]),
                (window[1], end, None),
            ]
        else:
            per_day = child["per_day"]
            segments = [(start, end, None)]
        for a, b, exact in segments:
            count = exact if exact is not None else int(rng.poisson(per_day * (b - a) / DAY))
            # evenly spread with jitter: a frequently missing child goes every few days
            slots = a + (np.arange(count) + rng.uniform(0.1, 0.9, count)) * (b - a) / max(count, 1)
            hour_shift = (rng.choice(24, count, p=HOURS_MISSING) - 12) * HOUR
            t = slots.astype(np.int64) // DAY * DAY + 12 * HOUR + hour_shift + rng.integers(0, HOUR, count)
            t = np.clip(t, a, b - 1)
            times.append(t)
            children.append(np.full(count, child["child"]))
    if not times:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(times), np.concatenate(children)


def _missing(f: _Force) -> dict[str, pd.DataFrame]:
    rng = f.rng("missing")
    target = f.volume(None, 150, SEASON_MISSING, "missing")
    freq_t, freq_child = _frequent_episodes(f, rng)
    freq_month = np.searchsorted(f.end_s, freq_t, side="right")
    freq_per_month = np.bincount(freq_month[(freq_month < f.m) & (freq_t >= f.first_s)], minlength=f.m)

    # Ordinary children: a spell of 1-5 episodes over a few weeks, then not again.
    k_probs = np.array([0.18, 0.2, 0.22, 0.2, 0.2])
    spells_mean = np.maximum(target - freq_per_month, 0) / (k_probs @ np.arange(1, 6))
    spells_mean = np.concatenate([[spells_mean[0]], spells_mean])  # one month of warm-up
    n_spells = np.maximum(np.round(spells_mean * (1 + 0.05 * rng.standard_normal(len(spells_mean)))), 0)
    n_spells = n_spells.astype(np.int64)
    sp_month = np.repeat(np.arange(-1, f.m), n_spells)
    sp_start = np.where(sp_month >= 0, f.start_s[np.maximum(sp_month, 0)], f.first_s - 30 * DAY)
    sp_start = sp_start + (rng.random(len(sp_month)) * 30 * DAY).astype(np.int64)
    sp_k = 1 + _choice(rng, k_probs, len(sp_month))
    sp_span = np.minimum(np.exp(np.log(12) + 0.6 * rng.standard_normal(len(sp_month))), 80) * DAY
    lo, hi = f.child_ranges["missing"]
    pool = np.setdiff1d(np.arange(lo, hi), [c["child"] for c in f.frequent_missing])
    sp_child = rng.choice(pool, size=len(sp_month), replace=len(sp_month) > len(pool))
    ep_spell = np.repeat(np.arange(len(sp_month)), sp_k)
    first = np.r_[True, ep_spell[1:] != ep_spell[:-1]]
    offset = np.where(first, 0, rng.random(len(ep_spell)) * sp_span[ep_spell]).astype(np.int64)
    day0 = (sp_start[ep_spell] + offset) // DAY * DAY
    n_ord = len(ep_spell)
    ord_t = day0 + rng.choice(24, n_ord, p=HOURS_MISSING) * HOUR + rng.integers(0, HOUR, n_ord)

    reported = np.concatenate([ord_t, freq_t])
    child = np.concatenate([sp_child[ep_spell], freq_child])
    frequent = np.r_[np.zeros(len(ord_t), bool), np.ones(len(freq_t), bool)]
    keep = (reported >= f.first_s) & (reported < f.as_of)
    reported, child, frequent = reported[keep], child[keep], frequent[keep]
    order = np.lexsort((child, reported))
    reported, child, frequent = reported[order], child[order], frequent[order]
    n = len(reported)
    midx = np.searchsorted(f.end_s, reported, side="right")

    # per-child attributes
    uniq, inv = np.unique(child, return_inverse=True)
    crng = f.rng("missing-children")
    age_c = (8 + _choice(crng, [1, 1, 2, 3, 5, 8, 12, 16, 17, 12], len(uniq))).astype(np.int8)
    sex_c = _choice(crng, [0.48, 0.46, 0.06], len(uniq))
    lpa_c = f.lpa_codes(crng, len(uniq))
    age, sex, lpa = age_c[inv], sex_c[inv], lpa_c[inv]

    risk_p = np.where(frequent[:, None], [[0.1, 0.6, 0.3]], [[0.5, 0.42, 0.08]])
    risk_p = np.where((age < 12)[:, None], [[0.2, 0.5, 0.3]], risk_p)
    risk = _choice_rows(rng, risk_p, np.arange(n))

    ratified_p = f.rate(0.8, 0.94)[midx]
    ratified_at = reported + _lognormal_s(rng, f.median(50, 30)[midx], 0.9, n)
    ratified = (rng.random(n) < ratified_p) & (ratified_at < f.as_of)
    deploy_p = np.array([0.45, 0.93, 0.99])[risk]
    med = np.select([risk == 2, risk == 1], [f.median(20, 10)[midx], f.median(40, 18)[midx]], 180.0)
    deployed_at = reported + _lognormal_s(rng, med, np.array([1.0, 0.9, 0.8])[risk], n)
    waits = ratified & (rng.random(n) < f.rate(0.55, 0.3)[midx])  # deployment waits for the supervisor
    deployed_at = np.where(waits, ratified_at + _lognormal_s(rng, 10, 0.7, n), deployed_at)
    deployed = (rng.random(n) < deploy_p) & (deployed_at < f.as_of)

    duration = _lognormal_s(rng, np.where(frequent, 300, 540), np.where(frequent, 0.9, 1.1), n)
    found_at = reported + np.minimum(duration, 30 * DAY)
    same_next = np.r_[child[1:] == child[:-1], False]
    next_rep = np.r_[reported[1:], 0]
    gap = next_rep - reported
    found_at = np.where(same_next & (found_at >= next_rep), reported + np.maximum(gap // 2, 60), found_at)
    error = rng.random(n) < 0.002  # a few found times keyed before the report
    found_at = np.where(error, reported - rng.integers(600, 7200, n), found_at)
    found = found_at < f.as_of

    prevention = found & (rng.random(n) < f.rate(0.75, 0.97)[midx])
    rhi_at = found_at + _lognormal_s(rng, 50 * 60, 0.5, n)
    rhi = found & (rng.random(n) < f.rate(0.12, 0.22)[midx]) & (rhi_at < f.as_of)
    ppn = rng.random(n) < f.rate(0.86, 0.98)[midx]
    strategy = rng.random(n) < np.where(risk == 2, f.rate(0.08, 0.15)[midx], 0.02)
    csc = rng.random(n) < np.where(frequent, 0.5, f.rate(0.35, 0.6)[midx])

    # Risk assessment rationale: mostly factual, some blaming (fewer after the inspection).
    blame_p = f.rate(0.08, 0.012)[midx]
    u = rng.random(n)
    kind = np.select(
        [u < f.rate(0.03, 0.01)[midx], u < 0.03 + blame_p, u < 0.03 + blame_p + 0.008], [0, 1, 2], 3
    )  # 0 none, 1 blaming, 2 negated, 3 factual
    ctx_s = _fill(_TEXT_CONTEXT)[rng.integers(0, len(_TEXT_CONTEXT), n) * 3 + sex]
    risk_s = _fill(_TEXT_RISK)[rng.integers(0, len(_TEXT_RISK), n) * 3 + sex]
    blame_s = _fill(_TEXT_BLAMING)[rng.integers(0, len(_TEXT_BLAMING), n) * 3 + sex]
    neg_s = _fill(_TEXT_NEGATED)[rng.integers(0, len(_TEXT_NEGATED), n) * 3 + sex]
    close_s = np.array(_TEXT_CLOSING, dtype=object)[rng.integers(0, len(_TEXT_CLOSING), n)]
    extra = np.select([kind == 1, kind == 2], [blame_s, neg_s], "")
    text = pd.Series(ctx_s) + " " + pd.Series(risk_s) + np.where(extra != "", " ", "") + extra + close_s
    text = text.where(kind != 0, None)

    frame = pd.DataFrame(
        {
            "episode_id": _ids(f"MIS-{f.p.code}-", np.arange(1, n + 1), 6),
            "child_id": f.child_ids(child),
            **f.place(lpa),
            "age": age,
            "reported_at": _ts(reported),
            "risk_level": _cat(RISKS, risk),
            "risk_assessment_text": text,
            "risk_ratified_at": _ts(ratified_at, ratified),
            "first_deployed_at": _ts(deployed_at, deployed),
            "found_at": _ts(found_at, found),
            "prevention_interview": prevention,
            "return_home_interview_at": _ts(rhi_at, rhi),
            "ppn_submitted": ppn,
            "strategy_meeting_held": strategy,
            "csc_referral": csc,
        }
    )
    return {"missing_episodes": frame}


# --------------------------------------------------------------------------- MASH


def _mash(f: _Force) -> dict[str, pd.DataFrame]:
    rng = f.rng("mash")
    counts = f.volume(rng, 900, SEASON_MASH, "mash")
    midx = np.repeat(np.arange(f.m), counts)
    n = len(midx)
    source = _choice(rng, [0.55, 0.3, 0.08, 0.07], n)
    received = np.where(
        source == 0,
        f.times(rng, midx, HOURS_CALLS),
        f.times(rng, midx, HOURS_OFFICE, weekdays_only=rng.random(n) < 0.85),
    )
    order = np.argsort(received, kind="stable")
    midx, received, source = midx[order], received[order], source[order]
    risk = _choice(rng, [0.55, 0.33, 0.12], n)

    med_days = np.select(
        [risk == 2, risk == 1], [f.median(0.6, 0.25)[midx], f.median(2.5, 1.2)[midx]], f.median(6, 3.5)[midx]
    )
    completed_at = received + _lognormal_s(rng, med_days * 1440, np.array([0.9, 0.8, 0.8])[risk], n)
    completed = completed_at < f.as_of

    required = rng.random(n) < np.array([0.02, 0.15, 0.55])[risk]
    held_at = received + _lognormal_s(rng, np.where(risk == 2, 0.8, 1.5) * 1440, 0.7, n)
    held = required & (rng.random(n) < f.rate(0.78, 0.9)[midx]) & (held_at < f.as_of)
    minutes_at = held_at + _lognormal_s(rng, f.median(14, 9)[midx] * 1440, 0.7, n)
    minutes = held & (rng.random(n) < f.rate(0.55, 0.7)[midx]) & (minutes_at < f.as_of)

    frame = pd.DataFrame(
        {
            "referral_id": _ids(f"MASH-{f.p.code}-", np.arange(1, n + 1), 6),
            **f.place(f.lpa_codes(rng, n)),
            "received_at": _ts(received),
            "risk_level": _cat(RISKS, risk),
            "source": _cat(SOURCES, source),
            "completed_at": _ts(completed_at, completed),
            "strategy_required": required,
            "strategy_held_at": _ts(held_at, held),
            "minutes_received_at": _ts(minutes_at, minutes),
        }
    )
    return {"mash_referrals": frame}


# --------------------------------------------------------------------------- investigations

# fmt: off
_TEAM_BY_CATEGORY = np.array([  # impact, polit, cait, cid, neighbourhood
    [0.62, 0.0, 0.03, 0.15, 0.20],  # exploitation
    [0.02, 0.03, 0.65, 0.20, 0.10],  # sexual abuse
    [0.02, 0.78, 0.05, 0.10, 0.05],  # online abuse
    [0.0, 0.0, 0.35, 0.20, 0.45],  # physical abuse
    [0.0, 0.0, 0.60, 0.05, 0.35],  # neglect
    [0.01, 0.01, 0.10, 0.28, 0.60],  # other
])
_RISK_BY_CATEGORY = np.array([
    [0.10, 0.35, 0.55], [0.25, 0.50, 0.25], [0.35, 0.45, 0.20],
    [0.40, 0.45, 0.15], [0.30, 0.50, 0.20], [0.60, 0.35, 0.05],
])
_DURATION_DAYS = np.array([110, 100, 80, 55, 35])  # median by team
# fmt: on


def _calibrate_cohort(
    f: _Force,
    rng: np.random.Generator,
    victim: np.ndarray,
    team: np.ndarray,
    risk: np.ndarray,
    opened: np.ndarray,
    closed: np.ndarray,
    target: int,
) -> None:
    """Make the IMPACT high-risk cohort open on 1 May 2022 exactly ``target`` children.

    Merges or splits victims of the open high-risk IMPACT crimes (in place), and
    puts the review's three frequently missing children in the cohort.
    """
    at = np.datetime64("2022-05-01", "s").astype(np.int64)
    rows = np.flatnonzero((team == 0) & (risk == 2) & (opened < at) & ((closed < 0) | (closed >= at)))
    if len(rows) < target:
        extra = np.flatnonzero((team == 0) & (risk != 2) & (opened < at) & ((closed < 0) | (closed >= at)))
        risk[rng.choice(extra, target - len(rows), replace=False)] = 2
        rows = np.flatnonzero((team == 0) & (risk == 2) & (opened < at) & ((closed < 0) | (closed >= at)))
    kids = np.unique(victim[rows])
    if len(kids) > target:
        keep = rng.choice(kids, target, replace=False)
        merge = np.isin(victim[rows], keep, invert=True)
        victim[rows[merge]] = rng.choice(keep, merge.sum())
    elif len(kids) < target:
        lo, hi = f.child_ranges["victim"]
        fresh = rng.choice(np.setdiff1d(np.arange(lo, hi), victim), target - len(kids), replace=False)
        _, first = np.unique(victim[rows], return_index=True)
        spare = np.setdiff1d(np.arange(len(rows)), first)  # a child's second and later crimes
        victim[rows[rng.choice(spare, len(fresh), replace=False)]] = fresh
    kids = np.unique(victim[rows])
    review_children = [c["child"] for c in f.frequent_missing[:3]]
    new = [c for c in review_children if c not in kids]
    old = rng.choice(np.setdiff1d(kids, review_children), len(new), replace=False)
    for a, b in zip(old, new, strict=True):
        victim[rows[victim[rows] == a]] = b


def _investigations(f: _Force) -> dict[str, pd.DataFrame]:
    rng = f.rng("investigations")
    counts = f.volume(rng, 350, SEASON_FLAT)
    midx = np.repeat(np.arange(f.m), counts)
    opened = np.sort(f.times(rng, midx, HOURS_OFFICE, weekdays_only=rng.random(len(midx)) < 0.6))
    midx = np.searchsorted(f.end_s, opened, side="right")
    n = len(midx)
    category = _choice(rng, [0.08, 0.2, 0.14, 0.26, 0.12, 0.2], n)
    team = _choice_rows(rng, _TEAM_BY_CATEGORY, category)
    risk = _choice_rows(rng, _RISK_BY_CATEGORY, category)
    risk = np.where(team == 0, _choice(rng, [0.05, 0.35, 0.6], n), risk)

    lo, hi = f.child_ranges["victim"]
    victim = rng.integers(lo, hi, n)
    # IMPACT works with a cohort of exploited children, many of them missing children.
    m_lo, m_hi = f.child_ranges["missing"]
    cohort = np.concatenate(
        [
            rng.integers(m_lo, m_hi, int(70 * f.p.scale) + 5),
            rng.integers(lo, hi, int(50 * f.p.scale) + 5),
            [c["child"] for c in f.frequent_missing],
        ]
    )
    weights = 1 / np.arange(1, len(cohort) + 1) ** 0.6
    impact = team == 0
    victim[impact] = rng.choice(cohort, impact.sum(), p=weights / weights.sum())

    duration = _lognormal_s(rng, _DURATION_DAYS[team] * 1440, 0.8, n)
    closed_at = opened + duration
    video_p = np.array([0.5, 0.55, 0.1, 0.45, 0.15, 0.1])[category]
    video_at = opened + _lognormal_s(rng, f.median(16, 10)[midx] * 1440, 0.8, n)
    video = (rng.random(n) < video_p) & (video_at < f.as_of)
    closed_at = np.where(
        video & (video_at >= closed_at), video_at + _lognormal_s(rng, 7 * 1440, 0.6, n), closed_at
    )
    error = rng.random(n) < 0.0005  # a few closures keyed before the crime was recorded
    closed_at = np.where(error, opened - rng.integers(HOUR, 5 * DAY, n), closed_at)
    closed_s = np.where(closed_at < f.as_of, closed_at, -1)

    if f.calibrate and f.idx("2022-04") is not None:
        _calibrate_cohort(f, rng, victim, team, risk, opened, closed_s, target=27)

    plan = rng.random(n) < np.clip(f.rate(0.68, 0.88)[midx] + np.where(impact, 0.08, 0), 0, 1)
    polit = team == 1
    kirat = pd.arrays.BooleanArray(rng.random(n) < f.rate(0.72, 0.96)[midx], ~polit)
    csc_p = np.where(polit, f.rate(0.45, 0.55)[midx], f.rate(0.7, 0.86)[midx])
    csc_at = opened + _lognormal_s(rng, f.median(20, 8)[midx] * 60, 1.2, n)
    csc = (rng.random(n) < csc_p) & (csc_at < f.as_of)

    ids = _ids(f"CR-{f.p.code}-", np.arange(1, n + 1), 6)
    lpa = f.lpa_codes(rng, n)
    frame = pd.DataFrame(
        {
            "crime_id": ids,
            "victim_child_id": f.child_ids(victim),
            **f.place(lpa, authority=False),
            "team": _cat(TEAMS, team),
            "category": _cat(CATEGORIES, category),
            "risk_level": _cat(RISKS, risk),
            "opened_at": _ts(opened),
            "closed_at": _ts(closed_at, closed_s >= 0),
            "plan_recorded": plan,
            "video_interview_at": _ts(video_at, video),
            "kirat_completed": kirat,
            "csc_informed_at": _ts(csc_at, csc),
        }
    )

    # Supervisory reviews every few weeks; some investigations drift with long gaps.
    drift = rng.random(n) < f.rate(0.22, 0.1)[midx] * np.where(impact, 0.7, 1.0)
    gap_med = np.where(drift, 40.0, 14.0) * np.exp(-0.15 * f.p.quality)
    gap_sigma = np.where(drift, 0.5, 0.45)
    end = np.where(closed_s >= 0, np.maximum(closed_s, opened), f.as_of)
    span_days = (end - opened) / DAY
    slots = (np.ceil(span_days / (gap_med * 0.45)) + 2).astype(np.int64)
    inv = np.repeat(np.arange(n), slots)
    gaps = np.exp(np.log(gap_med[inv]) + gap_sigma[inv] * rng.standard_normal(len(inv))) * DAY
    first = np.cumsum(slots) - slots  # each investigation's first slot (none if no investigation)
    first_gap = np.exp(np.log(np.where(drift, 20.0, 3.0)) + 0.6 * rng.standard_normal(n)) * DAY
    gaps[first] = first_gap
    csum = np.cumsum(gaps)
    base = np.repeat(csum[first] - gaps[first], slots)
    at = opened[inv] + (csum - base).astype(np.int64)
    at = at // MINUTE * MINUTE + rng.integers(0, MINUTE, len(at))
    keep = at < end[inv]
    reviews = pd.DataFrame(
        {
            "crime_id": ids.to_numpy()[inv[keep]],
            "force": _const(f.p.name, int(keep.sum())),
            "reviewed_at": _ts(at[keep]),
        }
    ).sort_values("reviewed_at", kind="stable", ignore_index=True)
    return {"investigations": frame, "investigation_reviews": reviews}


# --------------------------------------------------------------------------- police protection


def _police_protection(f: _Force) -> dict[str, pd.DataFrame]:
    rng = f.rng("police-protection")
    counts = f.volume(rng, 8, SEASON_MISSING)
    midx = np.repeat(np.arange(f.m), counts)
    invoked = np.sort(f.times(rng, midx, HOURS_MISSING))
    midx = np.searchsorted(f.end_s, invoked, side="right")
    n = len(midx)
    p_lo, p_hi = f.child_ranges["protection"]
    m_lo, m_hi = f.child_ranges["missing"]
    child = np.where(rng.random(n) < 0.25, rng.integers(m_lo, m_hi, n), rng.integers(p_lo, p_hi, n))
    ended_at = invoked + np.minimum(_lognormal_s(rng, 22 * 60, 0.6, n), 72 * HOUR)
    ended = (rng.random(n) < f.rate(0.4, 0.55)[midx]) & (ended_at < f.as_of)
    strategy_at = invoked + _lognormal_s(rng, f.median(14, 7)[midx] * 60, 0.7, n)
    strategy = (rng.random(n) < f.rate(0.8, 0.95)[midx]) & (strategy_at < f.as_of)
    frame = pd.DataFrame(
        {
            "pp_id": _ids(f"PP-{f.p.code}-", np.arange(1, n + 1), 4),
            "child_id": f.child_ids(child),
            **f.place(f.lpa_codes(rng, n), authority=False),
            "invoked_at": _ts(invoked),
            "ended_at": _ts(ended_at, ended),
            "ppn_submitted": rng.random(n) < f.rate(0.85, 0.97)[midx],
            "strategy_discussion_at": _ts(strategy_at, strategy),
            "template_used": rng.random(n) < f.rate(0.01, 0.06)[midx],
        }
    )
    return {"police_protection": frame}


# --------------------------------------------------------------------------- registered sex offenders


def _rso(f: _Force) -> dict[str, pd.DataFrame]:
    """A monthly register simulated from a year before the range, plus breaches."""
    rng = f.rng("rso")
    burn = 12
    sim = np.arange(f.months[0] - burn, f.months[-1] + 1)
    big_t = len(sim)
    m_start = sim.astype("datetime64[D]").astype(np.int64)
    m_last = (sim + 1).astype("datetime64[D]").astype(np.int64) - 1  # last day of the month
    m_len = m_last - m_start + 1
    s = f.p.scale

    n0 = int(rng.poisson(790 * s))
    joins = rng.poisson(10.5 * s, big_t)
    joins[0] = 0
    n = n0 + int(joins.sum())
    join_t = np.r_[np.zeros(n0, np.int64), np.repeat(np.arange(big_t), joins)]
    join_day = np.where(
        np.arange(n) < n0,
        m_start[0] - rng.integers(30, 3650, n),
        m_start[join_t] + (rng.random(n) * m_len[join_t]).astype(np.int64),
    )
    leave_t = join_t + rng.geometric(0.0115, n)
    lpa = f.lpa_codes(rng, n)
    slot = rng.random(n)
    arms_req = rng.random(n) < 0.5
    u_react = rng.random(n)
    react_rate = np.r_[np.full(burn, f.rate(0.18, 0.3)[0]), f.rate(0.18, 0.3)]
    interval = np.where(rng.random(n) < 0.4, 91, 182)
    annual = rng.random(n) < 0.3  # reactive offenders with an annual review visit

    # ARMS state: the latest assessment and when the next falls due.
    last = m_start[0] - rng.integers(1, 365, n)
    due = last + 365
    overdue0 = (np.arange(n) < n0) & (rng.random(n) < f.p.arms_outstanding_share)
    due = np.where(overdue0, m_start[0] - rng.integers(1, 150, n), due)
    last = np.where(overdue0, due - 365, last)
    joiner = np.arange(n) >= n0
    last[joiner] = NEVER
    due[joiner] = join_day[joiner] + rng.integers(45, 120, joiner.sum())
    next_visit = np.where(joiner, join_day + rng.integers(7, 28, n), m_start[0] + (rng.random(n) * interval))
    next_visit = next_visit.astype(np.int64)
    custody = (np.arange(n) < n0) & (rng.random(n) < 0.06)
    unknown = np.zeros(n, bool)

    k_cal = f.idx("2022-03") if f.calibrate else None
    visit_on = np.r_[np.full(burn, f.rate(0.82, 0.95)[0]), f.rate(0.82, 0.95)]
    share = f.p.arms_outstanding_share
    snaps = []
    for t in range(big_t):
        alive = (join_t <= t) & (t < leave_t)
        u = rng.random(n)
        custody = alive & np.where(custody, u > 0.085, u < 0.005)
        u = rng.random(n)
        unknown = alive & ~custody & np.where(unknown, u > 0.35, u < 0.0012)
        ms, me = m_start[t], m_last[t]
        reactive = u_react < react_rate[t]

        # ARMS: assessments falling due this month are done on time about half the time.
        fell_due = alive & (due >= ms) & (due <= me)
        on_time = fell_due & (rng.random(n) < 0.5)
        done = np.maximum(due - rng.integers(0, 21, n), np.where(last == NEVER, join_day + 1, last + 30))
        last = np.where(on_time, done, last)
        due = np.where(on_time, done + 365, due)
        community = alive & ~custody
        counted = community & arms_req & (due <= me)
        denominator = community & arms_req & ((last != NEVER) | (due <= me))
        if k_cal is not None and t == k_cal + burn:
            target = 63  # the review's figure for March 2022
        else:
            target = round(share * (1 + 0.06 * rng.standard_normal()) * denominator.sum())
        excess = int(counted.sum()) - target
        catch_up = np.zeros(n, bool)
        if excess > 0:
            catch_up[rng.choice(np.flatnonzero(counted), excess, replace=False)] = True
        others = alive & (due <= me) & ~(community & arms_req) & (rng.random(n) < 0.25)
        catch_up |= others
        done = ms + (rng.random(n) * m_len[t]).astype(np.int64)
        done = np.maximum(done, np.where(last == NEVER, join_day + 1, last + 30))
        done = np.minimum(done, me)
        last = np.where(catch_up, done, last)
        due = np.where(catch_up, done + 365, due)

        # Home visits: on time mostly, overdue ones caught up within a month or two.
        visiting = alive & ~custody & (~reactive | annual)
        vdue = visiting & (next_visit <= me)
        on = vdue & (next_visit >= ms) & (rng.random(n) < visit_on[t])
        late = vdue & (next_visit < ms) & (rng.random(n) < 0.65)
        any_day = ms + (rng.random(n) * m_len[t]).astype(np.int64)
        vday = np.where(on, next_visit - rng.integers(0, 7, n), any_day)
        step = np.where(reactive, 365, interval)
        next_visit = np.where(on | late, vday + step, next_visit)

        if t >= burn:
            rows = np.flatnonzero(alive)
            snaps.append(
                {
                    "t": np.full(len(rows), t - burn),
                    "row": rows,
                    "custody": custody[rows],
                    "unknown": unknown[rows],
                    "reactive": reactive[rows],
                    "last": last[rows],
                    "due": due[rows],
                    "next": np.where(visiting[rows], next_visit[rows], NEVER),
                }
            )
    snap = {k: np.concatenate([s_[k] for s_ in snaps]) for k in snaps[0]}

    if k_cal is not None:  # in-date count for 83.0% completion with 63 outstanding
        at = snap["t"] == k_cal
        me = m_last[k_cal + burn]
        in_date = at & ~snap["custody"] & (snap["last"] != NEVER) & (snap["due"] > me)
        req_rows = snap["row"][in_date & arms_req[snap["row"]]]
        spare_rows = snap["row"][in_date & ~arms_req[snap["row"]]]
        want = round(63 * 83 / 17)
        if len(req_rows) > want:
            arms_req[rng.choice(req_rows, len(req_rows) - want, replace=False)] = False
        elif len(req_rows) < want:
            arms_req[rng.choice(spare_rows, want - len(req_rows), replace=False)] = True

    # MOSOVO establishment: grows after the inspection; RSOs per officer about rso_per_om.
    community = np.bincount(snap["t"][~snap["custody"]], minlength=f.m).astype(float)
    shape = 1 + 0.28 * f.ramp
    if k_cal is not None:
        k_fte = community[k_cal] / (50.0 * shape[k_cal])
    else:
        k_fte = community[-1] / (f.p.rso_per_om * shape[-1])
    steps = np.cumsum(rng.normal(0, 0.01, f.m))  # vacancies and arrivals
    steps -= steps[k_cal] if k_cal is not None else steps[-1]
    fte = np.maximum(np.round(k_fte * shape * (1 + steps), 1), 1.0)
    if k_cal is not None:
        fte[k_cal] = round(community[k_cal] / 50.0, 1)
    f.shared["mosovo_fte"] = fte

    rows, t = snap["row"], snap["t"]
    officers = np.maximum(np.round(fte), 1).astype(np.int64)
    om = (slot[rows] * officers[t]).astype(np.int64) + 1
    req = arms_req[rows]
    register = pd.DataFrame(
        {
            "snapshot_month": f.months[t].astype("datetime64[D]"),
            "rso_id": _ids(f"RSO-{f.p.code}-", rows + 1, 5),
            **f.place(lpa[rows], authority=False),
            "offender_manager_id": _ids(f"OM-{f.p.code}-", om, 3),
            "management": _cat(("active", "reactive"), snap["reactive"].astype(np.int64)),
            "in_custody": snap["custody"],
            "whereabouts_unknown": snap["unknown"],
            "arms_required": req,
            "arms_completed_date": _dates(
                np.where(snap["last"] == NEVER, 0, snap["last"]), req & (snap["last"] != NEVER)
            ),
            "arms_due_date": _dates(snap["due"], req),
            "next_visit_due": _dates(np.where(snap["next"] == NEVER, 0, snap["next"]), snap["next"] != NEVER),
        }
    )

    # Breaches of notification requirements.
    brng = f.rng("rso-breaches")
    counts = brng.poisson(15 * s, f.m)
    counts[community == 0] = 0  # a very small force may have no offender in the community to breach
    k_b = f.idx("2022-03") if f.calibrate else None
    if k_b is not None:
        counts[k_b] = 15
    midx = np.repeat(np.arange(f.m), counts)
    recorded = f.times(brng, midx, HOURS_OFFICE, weekdays_only=True)
    order = np.argsort(recorded, kind="stable")
    midx, recorded = midx[order], recorded[order]
    nb = len(midx)
    who = np.empty(nb, np.int64)
    for k in range(f.m):
        here = np.flatnonzero(midx == k)
        pool = rows[(t == k) & ~snap["custody"]]
        who[here] = brng.choice(pool, len(here))
    orphan = brng.random(nb) < 0.025  # rso_id not on the register: a data-quality finding
    who = np.where(orphan, n + brng.integers(1, 400, nb), who)
    ramp = f.ramp_from("2022-05" if f.calibrate else f.p.inspection, 6.0)
    woa = f.rate(0.85, 0.5, ramp)[midx]
    probs = np.stack([woa, (1 - woa) * 0.45, (1 - woa) * 0.25, (1 - woa) * 0.2, (1 - woa) * 0.1], axis=1)
    outcome = _choice_rows(brng, probs, np.arange(nb))
    recent = recorded > f.as_of - 60 * DAY
    outcome = np.where(recent & (brng.random(nb) < 0.6), 4, outcome)
    visor = brng.random(nb) < f.rate(0.3, 0.75, ramp)[midx]
    if k_b is not None:  # the review's dip sample: all words of advice, 10 of 15 without ViSOR
        here = midx == k_b
        outcome[here] = 0
        visor[here] = ~_exact(brng, int(here.sum()), 10 / 15)
    blpa = np.where(orphan, f.lpa_codes(brng, nb), lpa[np.minimum(who, n - 1)])
    breaches = pd.DataFrame(
        {
            "breach_id": _ids(f"BR-{f.p.code}-", np.arange(1, nb + 1), 5),
            "rso_id": _ids(f"RSO-{f.p.code}-", who + 1, 5),
            **f.place(blpa, authority=False),
            "recorded_at": _ts(recorded),
            "outcome": _cat(OUTCOMES, outcome),
            "visor_updated": visor,
        }
    )
    return {"rso_register": register, "rso_breaches": breaches}


# --------------------------------------------------------------------------- staffing


def _staffing(f: _Force) -> dict[str, pd.DataFrame]:
    rng = f.rng("staffing")
    s = f.p.scale
    paths = {  # (before, after) FTE for Dorset
        "impact": (8.0, 10.0),
        "polit": (5.5, 8.0),
        "cait": (26.0, 29.0),
        "cid": (48.0, 50.0),
        "neighbourhood": (210.0, 210.0),
    }
    months, teams, fte = [], [], []
    for team, (pre, post) in paths.items():
        size = s * (1 if f.calibrate else rng.uniform(0.8, 1.2))
        walk = 1 + np.cumsum(rng.normal(0, 0.008, f.m))
        values = np.maximum(np.round((pre + (post - pre) * f.ramp) * size * walk, 1), 0.5)
        months.append(f.months)
        teams += [team] * f.m
        fte.append(values)
    months.append(f.months)
    teams += ["mosovo"] * f.m
    fte.append(np.asarray(f.shared["mosovo_fte"]))
    frame = pd.DataFrame(
        {
            "month": np.concatenate(months).astype("datetime64[D]"),
            "force": _const(f.p.name, len(teams)),
            "team": pd.Categorical(teams, categories=[*TEAMS, "mosovo"]),
            "officers_fte": np.concatenate(fte),
        }
    ).sort_values(["month", "team"], kind="stable", ignore_index=True)
    return {"team_staffing": frame}


# --------------------------------------------------------------------------- custody


def _custody(f: _Force) -> dict[str, pd.DataFrame]:
    rng = f.rng("custody")
    counts = f.volume(rng, 60, SEASON_INCIDENTS, "custody")
    midx = np.repeat(np.arange(f.m), counts)
    arrived = np.sort(f.times(rng, midx, HOURS_CUSTODY))
    midx = np.searchsorted(f.end_s, arrived, side="right")
    n = len(midx)
    lpa = f.lpa_codes(rng, n)
    suites = [lpa_.custody_suite for lpa_ in f.p.lpas]
    other = (lpa + 1 + rng.integers(0, max(len(suites) - 1, 1), n)) % len(suites)
    suite = np.where(rng.random(n) < 0.9, lpa, other)
    lo, hi = f.child_ranges["custody"]
    pool = rng.integers(lo, hi, max(int(n * 0.75), 1))
    weights = 1 / np.arange(1, len(pool) + 1) ** 0.5
    child = rng.choice(pool, n, p=weights / weights.sum())
    age = (10 + _choice(rng, [1, 2, 4, 8, 14, 20, 25, 26], n)).astype(np.int8)

    req_at = arrived + _lognormal_s(rng, f.median(50, 30)[midx], 0.9, n)
    requested = (rng.random(n) < f.rate(0.9, 0.97)[midx]) & (req_at < f.as_of)
    aa_at = req_at + _lognormal_s(rng, f.median(150, 110)[midx], 0.75, n)
    aa_error = rng.random(n) < 0.015  # AA arrival keyed before the request
    aa_at = np.where(aa_error, req_at - rng.integers(5 * MINUTE, HOUR, n), aa_at)
    aa = requested & (rng.random(n) < f.rate(0.3, 0.42)[midx]) & (aa_at < f.as_of)

    rights_delay = _lognormal_s(rng, 35, 1.25, n)
    long = rights_delay > 23 * HOUR
    rights_delay = np.where(long, rng.integers(15 * HOUR, 23 * HOUR, n), rights_delay)
    rights_at = arrived + rights_delay
    rights = (rng.random(n) < f.rate(0.9, 0.95)[midx]) & (rights_at < f.as_of)

    interview_at = arrived + _lognormal_s(rng, 180, 0.55, n)
    after_aa = np.maximum(interview_at, aa_at + rng.integers(10, 40, n) * MINUTE)
    interview_at = np.where(aa, after_aa, interview_at)
    # no interview before rights are given... except a few records that say so
    interview_at = np.where(
        rights & (rights_at >= interview_at), rights_at + _lognormal_s(rng, 60, 0.5, n), interview_at
    )
    interviewed = (rng.random(n) < 0.55) & (interview_at < f.as_of)
    rights_error = rights & interviewed & (rng.random(n) < 0.011)
    rights_at = np.where(rights_error, interview_at + rng.integers(10, 90, n) * MINUTE, rights_at)
    rights &= rights_at < f.as_of

    charged = rng.random(n) < 0.28
    bail_denied = charged & (rng.random(n) < f.rate(0.15, 0.1)[midx])
    released_at = arrived + _lognormal_s(rng, f.median(330, 250)[midx], 0.45, n)
    after_interview = np.maximum(released_at, interview_at + rng.integers(30, 120, n) * MINUTE)
    released_at = np.where(interviewed, after_interview, released_at)
    released_at = np.where(
        rights, np.maximum(released_at, rights_at + rng.integers(10, 60, n) * MINUTE), released_at
    )
    court_morning = (arrived // DAY + 1) * DAY + 9 * HOUR + rng.integers(0, 2 * HOUR, n)
    released_at = np.where(bail_denied, np.maximum(court_morning, released_at + HOUR), released_at)
    released = released_at < f.as_of
    overnight = bail_denied | ((released_at // DAY > arrived // DAY) & (released_at % DAY >= 6 * HOUR))
    alt_req = bail_denied & (rng.random(n) < 0.85)
    alt_given = alt_req & (rng.random(n) < f.rate(0.15, 0.3)[midx])

    frame = pd.DataFrame(
        {
            "detention_id": _ids(f"CUS-{f.p.code}-", np.arange(1, n + 1), 5),
            "child_id": f.child_ids(child),
            **f.place(lpa, authority=False),
            "custody_suite": _cat(suites, suite),
            "age": age,
            "arrived_at": _ts(arrived),
            "aa_requested_at": _ts(req_at, requested),
            "aa_arrived_at": _ts(aa_at, aa),
            "rights_given_at": _ts(rights_at, rights),
            "interview_at": _ts(interview_at, interviewed),
            "released_at": _ts(released_at, released),
            "charged": charged,
            "bail_denied": bail_denied,
            "held_overnight": overnight,
            "alt_accommodation_requested": alt_req,
            "alt_accommodation_provided": alt_given,
            "ppn_submitted": rng.random(n) < f.rate(0.45, 0.65)[midx],
        }
    )
    return {"custody_detentions": frame}


# --------------------------------------------------------------------------- case audits


def _audits(f: _Force) -> dict[str, pd.DataFrame]:
    rng = f.rng("case-audits")
    counts = np.zeros(f.m, np.int64)
    for month in f.p.audit_months:
        k = f.idx(month)
        if k is not None:
            counts[k] = 26 + rng.poisson(4)
    k_cal = f.idx("2022-04") if f.calibrate else None
    if k_cal is not None:
        counts[k_cal] = 31
    midx = np.repeat(np.arange(f.m), counts)
    n = len(midx)
    day = f.times(rng, midx, HOURS_OFFICE, weekdays_only=True) // DAY
    good = f.rate(0.18, 0.36)[midx]
    grade = _choice_rows(rng, np.stack([good, np.full(n, 0.33), 0.67 - good], axis=1), np.arange(n))
    if k_cal is not None:  # the review: 10 good, 10 requires improvement, 11 inadequate
        here = np.flatnonzero(midx == k_cal)
        grade[here] = rng.permutation(np.repeat([0, 1, 2], [10, 10, 11]))
    order = np.argsort(day, kind="stable")
    area = _choice(rng, [0.2, 0.2, 0.22, 0.12, 0.14, 0.12], n)
    frame = pd.DataFrame(
        {
            "audit_id": _ids(f"AUD-{f.p.code}-", np.arange(1, n + 1), 4),
            "force": _const(f.p.name, n),
            "audited_at": _dates(day[order]),
            "area": _cat(AUDIT_AREAS, area[order]),
            "grade": _cat(AUDIT_GRADES, grade[order]),
        }
    )
    return {"case_audits": frame}


# --------------------------------------------------------------------------- writing

# Generation order: the register sets the MOSOVO establishment that staffing uses.
GROUPS: tuple[tuple[str, Callable[[_Force], dict[str, pd.DataFrame]]], ...] = (
    ("incidents", _incidents),
    ("missing", _missing),
    ("mash", _mash),
    ("investigations", _investigations),
    ("police_protection", _police_protection),
    ("rso", _rso),
    ("staffing", _staffing),
    ("custody", _custody),
    ("audits", _audits),
)


class OutputExistsError(FileExistsError):
    """The output folder already holds table folders and overwrite was not asked for."""


def _month(text: str, what: str) -> np.datetime64:
    if not re.fullmatch(r"\d{4}-\d{2}", text or "") or not 1 <= int(text[5:]) <= 12:
        raise ValueError(f"{what} must be a month as YYYY-MM, not {text!r}")
    return np.datetime64(text, "M")


class _YearFiles:
    """Each table's ``<year>.parquet`` files, open for appending one force's rows at a time.

    A year's file is written exactly as ``write_parquet`` would write the whole
    year at once (one force: the same bytes), each force's rows its own row groups.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self.rows: dict[str, int] = {}
        self._writers: dict[tuple[str, int], pq.ParquetWriter] = {}
        self._empty: dict[str, pd.DataFrame] = {}

    def append(self, table: str, frame: pd.DataFrame) -> None:
        self.rows[table] = self.rows.get(table, 0) + len(frame)
        if len(frame) == 0:
            self._empty.setdefault(table, frame)
            return
        years = pd.DatetimeIndex(frame[TABLES[table].coverage_column]).year.to_numpy()
        whole = to_arrow(table, frame)  # once per force: converting year by year cost more
        for year in np.unique(years):
            arrow = whole.filter(years == year)
            writer = self._writers.get((table, int(year)))
            if writer is None:
                path = self.folder / table / f"{year}.parquet"
                path.parent.mkdir(parents=True, exist_ok=True)
                writer = self._writers[table, int(year)] = pq.ParquetWriter(path, arrow.schema)
            writer.write_table(arrow)

    def abandon(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()

    def close(self, first_year: int) -> None:
        """Finish every file; a table with no rows at all gets an empty ``<first_year>.parquet``."""
        for writer in self._writers.values():
            writer.close()
        written = {table for table, _ in self._writers}
        self._writers.clear()
        for table, frame in self._empty.items():
            if table not in written:
                write_parquet(table, frame, self.folder / table / f"{first_year}.parquet")


def existing_tables(out_dir: str | Path) -> list[str]:
    out = Path(out_dir)
    return [t for t in TABLES if os.path.lexists(out / t)]  # a table may be a symlink


GENERATED_MARKER = "_generated.json"  # hidden from the runner: it skips "_" names


def generate(
    out_dir: str | Path,
    *,
    seed: int = DEFAULT_SEED,
    start: str = DEFAULT_START,
    end: str = DEFAULT_END,
    forces: int = 1,
    incidents_per_year: float | None = None,
    overwrite: bool = False,
) -> dict[str, int]:
    """Write every contract table for ``forces`` forces (Dorset first) under ``out_dir``.

    Args:
        out_dir: the data directory; tables go to ``out_dir/<table>/<year>.parquet``.
        seed: the same seed gives the same files.
        start, end: first and last month, ``YYYY-MM``, inclusive.
        forces: Dorset plus ``forces - 1`` fictional forces.
        incidents_per_year: the national volume (incidents a year over the 43 forces
            of England and Wales): forces sized by population share (module
            docstring). None: Dorset's own volume and peers of random sizes.
        overwrite: replace table folders already in ``out_dir``.

    Returns:
        Rows written per table.

    Raises:
        OutputExistsError: ``out_dir`` holds table folders and ``overwrite`` is False.
        ValueError: a bad month range, force count or volume.
    """
    first, last = _month(start, "--from"), _month(end, "--to")
    if last < first:
        raise ValueError(f"--to {end} is before --from {start}")
    if forces < 1:
        raise ValueError("--forces must be at least 1")
    if incidents_per_year is not None and not incidents_per_year > 0:
        raise ValueError("--incidents-per-year must be a positive number")
    out = Path(out_dir).absolute()
    found = existing_tables(out)
    if found and not overwrite:
        raise OutputExistsError(
            f"{out} already holds table folders ({', '.join(found)}); use --overwrite to replace them"
        )
    months = np.arange(first, last + 1)
    first_year = int(str(first)[:4])
    profiles = force_profiles(seed, forces, incidents_per_year)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.generating-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    files = _YearFiles(tmp)
    try:
        # Force by force (each force's streams are its own, so the order changes no
        # value): memory holds one force's tables at a time.
        for profile in profiles:
            ctx = _Force(profile, seed, months)
            for _, build in GROUPS:
                for table, frame in build(ctx).items():
                    files.append(table, frame)
            del ctx
        files.close(first_year)
        rows = files.rows
        missing = set(TABLES) - set(rows)
        if missing:
            raise RuntimeError(f"no generator for tables {sorted(missing)}")
        _move_into_place(tmp, out)
        # The app offers its demo sign-in only on data this marker vouches for (auth.web.demo_allowed).
        marker = {"generator": "data.generate", "seed": seed, "from": start, "to": end, "forces": forces}
        if incidents_per_year is not None:
            marker["incidents_per_year"] = incidents_per_year
        (out / GENERATED_MARKER).write_text(json.dumps(marker))
    finally:
        files.abandon()  # after a failure: let go of half-written files before removing them
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return {t: rows[t] for t in TABLES}


def _move_into_place(tmp: Path, out: Path) -> None:
    """Move complete table folders from ``tmp`` into ``out`` (one rename when out is new)."""
    if not out.exists():
        os.rename(tmp, out)
        return
    old = tmp / "_replaced"
    old.mkdir()
    for table in TABLES:
        if os.path.lexists(out / table):  # a folder, or a symlink to a version (data/storage.py)
            os.rename(out / table, old / table)
        os.rename(tmp / table, out / table)


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m data.generate",
        description="Write synthetic child-protection extracts (Dorset and fictional peers) as parquet.",
    )
    parser.add_argument("--out", required=True, help="data directory to write the tables into")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"seed (default {DEFAULT_SEED})")
    parser.add_argument("--from", dest="start", default=DEFAULT_START, help="first month YYYY-MM")
    parser.add_argument("--to", dest="end", default=DEFAULT_END, help="last month YYYY-MM")
    parser.add_argument("--forces", type=int, default=1, help="number of forces, Dorset included (default 1)")
    parser.add_argument(
        "--incidents-per-year",
        type=float,
        metavar="N",
        help="national volume: incidents a year over England and Wales's 43 forces, each force its "
        "population share (Dorset 1.3%%; e.g. 2500000); default: Dorset's own volume, peers of "
        "random sizes",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace table folders already in --out")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    try:
        rows = generate(
            args.out,
            seed=args.seed,
            start=args.start,
            end=args.end,
            forces=args.forces,
            incidents_per_year=args.incidents_per_year,
            overwrite=args.overwrite,
        )
    except OutputExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    width = max(len(t) for t in rows)
    for table, count in rows.items():
        print(f"{table:<{width}}  {count:>10,}")
    elapsed = time.perf_counter() - began
    print(f"{'total':<{width}}  {sum(rows.values()):>10,}  rows in {elapsed:.1f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
