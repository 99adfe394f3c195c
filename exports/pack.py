"""The gold group's monthly pack (issue 12): one plan of pages, written as PowerPoint and as PDF.

    build_pack(store, "2023-03", Filters("Dorset"), disclosure=False, out_dir=DIR)
        -> (DIR/pack-dorset-2023-03.pptx, DIR/pack-dorset-2023-03.pdf)

The pack holds, in order: a title page (force, month, period, as-of date, data version, pack
id, disclosure control, contents); this month's exceptions (concerns, new or continuing, with
the group that moved most; then targets at risk); the KPI matrix (value, target, status,
change, SPC variation and assurance); each area's key trends (its KPIs with a target, one page
each); the recommendation tracker (status, last 6 months, direction of travel); the KPI
definitions (``queries.definitions.define``); and one page of data-quality notes
(``queries.quality``). A topic that does not fit one page runs over several ("2 of 3").

Every number comes from the functions the overview and the area pages call (``kpi.summary``,
``kpi.briefing``, ``ui.area_page.area_chart``), over the 12 months ending at the month (held
to the force's data), so the matrix equals ``python -m queries kpis`` for the same period and
filters. One plan (:func:`plan_pack`) feeds both writers, so the PowerPoint's slides and the PDF's
pages are the same pages in the same order. The PowerPoint draws trends as native line charts
(value, mean, process limits, target; special causes as coloured points) that staff can
restyle, with each trend's sentence in the slide notes; the PDF (A4 landscape, page numbers)
shows the pictures the pages draw (``snapshot_figure`` → ``render_snapshot``) and the sentences.

Disclosure control (``exports.disclosure``, the one rule) applies to every number shown when
asked for, and the first page says whether it was.

The charts and the as-of date are read through ``ui.state``'s store (as the pages read them):
pass ``ui.state.get_store()``, or open a data folder with :func:`open_store` first.

A caller that shows progress (the overview's background job) passes ``progress``, called as
``progress(done, total, message)`` before each step: reading the KPIs, the exceptions, the matrix,
each area's trends, the tracker, the definitions, data quality, the PowerPoint, each picture and
the PDF (:func:`pack_steps` counts them before any is taken).
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pandas as pd

from data.settings import STATUS_NEAR, STATUS_NONE, STATUS_OFF, STATUS_ON
from exports.disclosure import NOTE as DISCLOSURE_NOTE
from exports.disclosure import SUPPRESSED_COUNT, WITHHELD, control_count, control_value
from figures import SMALL_DENOMINATOR, SMALL_N_UNITS  # a hollow point: fewer cases than this, these units
from kpi import spc
from kpi.summary import (
    KpiException,
    clip_to_unit,
    exceptions,
    kpi_history,
    kpi_spc,
    kpi_summary,
    kpis_with_target,
    load_recommendations,
)
from queries import DataStore
from queries.kpis import KPI_IDS, Filters, Period, PeriodError, add_months, catalog, kpi_table, parse_month
from ui.formatting import format_target, format_value, is_missing, month_label, period_label

PACK_MONTHS = 12
DISCLOSURE_OFF = (
    "Not applied: counts and percentages are as recorded, so this pack is for use inside the force "
    "only. Build it with disclosure control for a copy that may leave the force."
)

SECTION_TITLE = "Title"
SECTION_EXCEPTIONS = "This month's exceptions"
SECTION_MATRIX = "KPIs with a target"
SECTION_TRENDS = "Key trends"
SECTION_RECOMMENDATIONS = "Recommendation tracker"
SECTION_DEFINITIONS = "Definitions"
SECTION_QUALITY = "Data quality"

# Tones: a light fill beside the words (never colour alone), dark text on it (contrast above 4.5:1).
TONE_FILLS = {
    "on": "D1E7DD",
    "near": "FFF3CD",
    "off": "F8D7DA",
    "concern": "FBE3B8",
    "improvement": "CFE2F3",
    "group": "E9ECEF",
}
STATUS_TONES = {STATUS_ON: "on", STATUS_NEAR: "near", STATUS_OFF: "off"}
# The pages' special-cause styles (figures.VARIATION_STYLE): colour and shape together.
POINT_STYLES = {
    "improvement": ("0072B2", "circle", "blue circles: special cause, improvement"),
    "concern": ("E69F00", "diamond", "orange diamonds: special cause, concern"),
    "neither": ("6F3F8F", "square", "purple squares: special cause, neither better nor worse"),
}
VALUE_LINE, LIMIT_LINE, TARGET_LINE, MUTED = "495057", "6C757D", "212529", "495057"


class PackError(ValueError):
    """A pack that cannot be built as asked (a month outside the data, an unknown force); a sentence."""


ProgressHook = Callable[[int, int, str], None]  # (steps done, steps in all, what is being done now)


def pack_steps(store: DataStore) -> tuple[list[str], int]:
    """The areas that get trend pages (one step each) and the number of trend pictures.

    Both follow from the settings' targets alone, so the total is known before the first step
    and the bar never runs backwards.
    """
    from ui.area_page import area_kpis

    with_target = set(kpis_with_target(store))
    areas = [a for a in catalog().areas if any(k in with_target for k in area_kpis(a))]
    pictures = sum(1 for a in catalog().areas for k in area_kpis(a) if k in with_target)
    return areas, pictures


class _Steps:
    """Counts the pack's steps and tells ``hook`` of each one as it starts (nothing without a hook)."""

    def __init__(self, hook: ProgressHook | None, total: int):
        self.hook, self.total, self.done = hook, total, 0

    def start(self, message: str) -> None:
        """Say what is being done now; the step before it counts as done."""
        if self.hook is not None:
            # Never "12 of 11": a step the count missed stretches the total instead.
            self.hook(self.done, max(self.total, self.done + 1), message)
        self.done += 1

    def finish(self, message: str) -> None:
        self.done = self.total
        if self.hook is not None:
            self.hook(self.total, self.total, message)


PLAN_STEPS = 6  # reading the KPIs, exceptions, matrix, tracker, definitions, data quality (+ one per area)
PDF_STEPS = 8  # the PDF's pages take as long as the pictures: its share of the bar moves as they are laid out


# --------------------------------------------------------------------------- the store


def open_store(data_dir: str | Path | None = None, settings_path=None, events_path=None) -> DataStore:
    """Point ``ui.state`` at a data folder (as ``python app.py --data`` does) and return its store.

    Raises:
        DataError: the folder does not exist or holds no table.
        SettingsError, EventsError: a settings or events file that cannot be used.
    """
    from ui import state

    store = state.configure(data_dir, settings_path, events_path)
    store.check_data_dir()
    return store


def _app_store(store: DataStore) -> DataStore:
    from ui.state import get_store

    if store is not get_store():
        raise ValueError(
            "build_pack draws its charts through ui.state's store, as the pages do: pass "
            "ui.state.get_store(), or open the data folder with exports.pack.open_store(DIR) first"
        )
    return store


# --------------------------------------------------------------------------- what is asked


@dataclass(frozen=True)
class Selection:
    """The pack's force, area filters and months, checked against the data."""

    state: object  # ui.filters.FilterState: period_from, period_to (= month), force, lpa, local_authority
    month: str
    period_note: str  # the period in words, with why it is what it is

    @property
    def filters(self) -> Filters:
        return self.state.filters

    @property
    def period(self) -> Period:
        return self.state.period


def _listed(values: Sequence[str], most: int = 8) -> str:
    shown = ", ".join(values[:most])
    return shown + (f" and {len(values) - most} more" if len(values) > most else "")


def select(store: DataStore, month: str, filters: Filters, *, period_from: str | None = None) -> Selection:
    """Check the month and filters against the data and fix the period.

    The period is the :data:`PACK_MONTHS` months ending at ``month`` (or from ``period_from``),
    held to the months the force's data covers.

    Raises:
        PackError: a month that is not one or lies outside the force's data; a force, LPA or
            local authority the data does not hold; several forces and none named.
        DataError: the data folder is missing or unreadable.
    """
    from ui.filters import FilterOptions, FilterState

    store.check_data_dir()
    options = FilterOptions.from_frame(store.run("meta/filter_options"))
    if not options.forces:
        raise PackError(f"The data in {store.data_dir} holds no force.")
    force = filters.force
    if force is None:
        if len(options.forces) > 1:
            raise PackError(
                f"The data holds {len(options.forces)} forces ({_listed(options.forces)}): "
                "name one with --force."
            )
        force = options.forces[0]
    if force not in options.forces:
        raise PackError(f"Force “{force}” is not in the data, which holds {_listed(options.forces)}.")
    for value, allowed, noun in (
        (filters.lpa, options.lpas.get(force, ()), "LPA"),
        (filters.local_authority, options.local_authorities.get(force, ()), "Local authority"),
    ):
        if value is not None and value not in allowed:
            raise PackError(f"{noun} “{value}” is not in {force}'s data, which holds {_listed(allowed)}.")
    try:
        end = parse_month(month, what="month").strftime("%Y-%m")
        start = (
            parse_month(period_from, what="from").strftime("%Y-%m")
            if period_from
            else add_months(parse_month(end), -(PACK_MONTHS - 1)).strftime("%Y-%m")
        )
        Period(start, end)
    except PeriodError as exc:
        raise PackError(f"{str(exc)[0].upper()}{str(exc)[1:]}.") from None
    first, last = options.coverage[force]
    if not first <= end <= last:
        raise PackError(
            f"{month_label(end)} is outside {force}'s data, which covers {period_label(first, last)}: "
            "choose a month inside it."
        )
    asked = period_label(start, end)
    if period_from:
        note = f"{asked}, as asked"
    else:
        note = f"{asked}: the {PACK_MONTHS} months ending {month_label(end)}"
    if start < first:
        start = first
        note = (
            f"{period_label(start, end)}: {force}'s data starts {month_label(first)} ({asked} was asked for)"
        )
    state = FilterState(start, end, force, filters.lpa, filters.local_authority)
    return Selection(state, end, note)


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Cell:
    """One table cell: its words, a tone (a light fill beside the words), bold or not."""

    text: str
    tone: str | None = None
    bold: bool = False


@dataclass(frozen=True)
class Table:
    """A table: header, rows of cells, column widths as shares of the width. A row of one cell spans."""

    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    widths: tuple[float, ...]
    caption: str = ""
    size: float = 11.0  # font size in points, on the slide


@dataclass(frozen=True)
class Item:
    """One line of a list page: a marker ("New"), a heading (the KPI), its sentence, and a detail."""

    marker: str
    heading: str
    text: str
    detail: str = ""
    tone: str | None = None


@dataclass(frozen=True)
class Trend:
    """One KPI's trend, as numbers for a native chart and as the page's figure for a picture."""

    kpi_id: str
    area: str
    label: str
    unit: str
    months: tuple[str, ...]
    values: tuple[float | None, ...]  # None: a gap, or withheld by disclosure control
    mean: tuple[float | None, ...]
    lower: tuple[float | None, ...]
    upper: tuple[float | None, ...]
    target: float | None
    variation: tuple[str | None, ...]  # special cause per month: improvement, concern, neither, None
    small: tuple[bool, ...]  # fewer than SMALL_DENOMINATOR cases (a hollow point)
    facts: str
    sentence: str
    figure: object = None  # the snapshot figure (go.Figure) the PDF renders


@dataclass
class Page:
    """One slide and one PDF page."""

    section: str
    title: str
    layout: str  # title, items, table, trend, quality
    subtitle: str = ""
    notes: str = ""
    lines: list[tuple[str, str]] = field(default_factory=list)  # (label, text) rows of the title page
    items: list[Item] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    trend: Trend | None = None
    footnote: str = ""


@dataclass
class Plan:
    """What the pack says: its pages, and the facts of its first page and footers."""

    selection: Selection
    pages: list[Page]
    force: str
    month: str
    pack_id: str
    data_version: str
    as_of: date | None
    disclosure: bool
    made_at: datetime

    @property
    def footer(self) -> str:
        control = (
            "disclosure control applied"
            if self.disclosure
            else "not disclosure-controlled: inside the force only"
        )
        return f"{self.force} · {month_label(self.month)} · pack {self.pack_id} · {control}"

    def sections(self) -> list[tuple[str, int, int]]:
        """Each section with its first and last page (1-based), in order."""
        out: list[list] = []
        for number, page in enumerate(self.pages, start=1):
            if out and out[-1][0] == page.section:
                out[-1][2] = number
            else:
                out.append([page.section, number, number])
        return [tuple(s) for s in out]


def pack_id(version: str, selection: Selection, disclosure: bool) -> str:
    """A short hash naming this pack: data version, filters, period, month and disclosure."""
    state = selection.state
    key = "|".join(
        str(v)
        for v in (
            version,
            state.force,
            state.lpa,
            state.local_authority,
            state.period_from,
            selection.month,
            disclosure,
        )
    )
    return hashlib.sha256(key.encode()).hexdigest()[:8]


def pack_stem(selection: Selection) -> str:
    """``pack-<force>-YYYY-MM``, with ``-<lpa>`` and ``-<local authority>`` when they are set."""
    from exports.routes import slug

    state = selection.state
    parts = ["pack", slug(state.force)]
    parts += [slug(v) for v in (state.lpa, state.local_authority) if v]
    return "-".join([*parts, selection.month])


class Numbers:
    """Numbers as the pack shows them: formatted as the pages do, under disclosure control if asked."""

    def __init__(self, disclosure: bool):
        self.disclosure = disclosure

    def hidden(self, value, denominator, unit: str) -> bool:
        """Would the rule keep this value from the reader?"""
        if not self.disclosure or is_missing(value):
            return False
        if unit == "count":
            return control_count(value) == SUPPRESSED_COUNT
        return control_value(value, denominator) == WITHHELD

    def value(self, value, denominator, unit: str) -> str:
        if self.hidden(value, denominator, unit):
            return SUPPRESSED_COUNT if unit == "count" else WITHHELD
        return format_value(value, unit)

    def describe(self, value, unit: str) -> str:
        """For sentences, which hold no denominators: every count-unit number from 1 to 4 is "<5"."""
        if self.disclosure and unit == "count" and control_count(value) == SUPPRESSED_COUNT:
            return SUPPRESSED_COUNT
        return format_value(value, unit)

    def count(self, value) -> str:
        if is_missing(value):
            return "—"
        shown = control_count(value) if self.disclosure else value
        return shown if isinstance(shown, str) else f"{shown:,.0f}"

    def share(self, part, whole) -> str:
        """A percentage of ``whole`` records (withheld on fewer than 5)."""
        if is_missing(whole) or not whole:
            return "—"
        if self.disclosure and control_value(1.0, whole) == WITHHELD:
            return WITHHELD
        return f"{100.0 * part / whole:.1f}%"


def _change(now, then, unit: str) -> str:
    from ui.formatting import format_change

    return format_change(now, then, unit)


def _chunks(entries: list, weights: list[float], budget: float) -> list[list]:
    """Entries in order, cut into pages whose weights stay within ``budget`` (at least one a page)."""
    pages: list[list] = [[]]
    used = 0.0
    for entry, weight in zip(entries, weights, strict=True):
        if pages[-1] and used + weight > budget:
            pages.append([])
            used = 0.0
        pages[-1].append(entry)
        used += weight
    return pages if pages[-1] else pages[:-1]


def _lines(text: str, chars_per_line: int) -> int:
    return max(1, math.ceil(len(text) / chars_per_line))


CELL_PAD_PT = 2.5
CHAR_WIDTH_EM = 0.5  # an average character width (Calibri, bold aside)


def row_inches(row: Sequence, table: Table, width_in: float = 12.33) -> float:
    """How tall a table row will be on the slide: its tallest cell's wrapped lines, and padding."""
    if len(row) == 1:
        lines = 1
    else:
        lines = 1
        for cell, share in zip(row, table.widths, strict=True):
            words = cell if isinstance(cell, str) else cell.text
            chars = max(6, int(width_in * share * 72 / (table.size * CHAR_WIDTH_EM)) - 1)
            lines = max(lines, _lines(words, chars))
    return (lines * table.size * 1.2 + 2 * CELL_PAD_PT + 1) / 72


def table_pages(
    header: tuple[str, ...],
    groups: list[list[tuple[Cell, ...]]],
    widths: tuple[float, ...],
    *,
    size: float,
    budget_in: float = 4.75,
) -> list[tuple[tuple[Cell, ...], ...]]:
    """Groups of rows (kept together) cut into tables that each fit the slide's body."""
    probe = Table(header, (), widths, size=size)
    room = budget_in - row_inches(header, probe)
    pieces: list[list] = []
    for group in groups:  # a group taller than a page is cut where it must be
        heights = [row_inches(row, probe) for row in group]
        pieces += _chunks(group, heights, room) if sum(heights) > room else [group]
    weights = [sum(row_inches(row, probe) for row in piece) for piece in pieces]
    return [tuple(row for piece in chunk for row in piece) for chunk in _chunks(pieces, weights, room)]


def _numbered(title: str, index: int, count: int) -> str:
    return title if count == 1 else f"{title} ({index} of {count})"


@dataclass
class _Facts:
    """What the plan reads once and every section shares."""

    store: DataStore
    selection: Selection
    numbers: Numbers
    history: pd.DataFrame
    results: dict
    summary: pd.DataFrame
    previous: pd.DataFrame
    month_rows: pd.DataFrame  # history at the month: value and denominator per KPI
    where: str

    def month_value(self, kpi_id: str):
        rows = self.month_rows[self.month_rows["kpi_id"] == kpi_id]
        if rows.empty:
            return None, None
        return rows["value"].iloc[0], rows["denominator"].iloc[0]


def plan_pack(
    store: DataStore,
    month: str,
    filters: Filters,
    *,
    disclosure: bool = False,
    period_from: str | None = None,
    user: str | None = None,
    progress: ProgressHook | None = None,
    steps: _Steps | None = None,
) -> Plan:
    """The pack's pages, without drawing a picture (the PDF writer draws them).

    Args:
        progress: called as ``progress(done, total, message)`` before each step (see the module).
        steps: the step counter of a :func:`build_pack` under way (which has steps of its own).

    Raises:
        PackError, DataError: see :func:`select`.
    """
    from exports.routes import as_of, where_words
    from kpi.briefing import sort_exceptions
    from ui.state import get_events

    store = _app_store(store)
    selection = select(store, month, filters, period_from=period_from)
    if steps is None:
        areas, _pictures = pack_steps(store)
        steps = _Steps(progress, PLAN_STEPS + len(areas))
    version = store.version
    state, settings = selection.state, store.settings
    numbers = Numbers(disclosure)
    steps.start("Reading every KPI's monthly history")
    history = kpi_history(store, selection.period, selection.filters, list(KPI_IDS))
    results = kpi_spc(history, list(KPI_IDS), settings, get_events())
    matrix_kpis = kpis_with_target(store)
    summary = kpi_summary(store, selection.period, selection.filters, matrix_kpis, history=history)
    previous = kpi_table(store, selection.period.previous(), selection.filters, kpi_ids=matrix_kpis)
    facts = _Facts(
        store,
        selection,
        numbers,
        history,
        results,
        summary,
        previous.set_index("kpi_id"),
        history[history["month"] == selection.month],
        where_words(state.force, state.lpa, state.local_authority),
    )
    steps.start(f"Finding {month_label(selection.month)}'s exceptions")
    found = _exceptions(facts)
    day, _tables = as_of(store, state, tuple(_contract_tables()))
    pages: list[Page] = []
    briefing = sort_exceptions(found, results, selection.month)
    pages += _exception_pages(facts, briefing)
    steps.start("The KPI matrix")
    pages += _matrix_pages(facts)
    pages += _trend_pages(facts, found, user, on_area=lambda name: steps.start(f"Key trends: {name}"))
    steps.start("The recommendation tracker")
    pages += _recommendation_pages(facts)
    steps.start("Definitions")
    pages += _definition_pages(facts, briefing)
    steps.start("Data-quality notes")
    pages.append(_quality_page(facts))
    plan = Plan(
        selection=selection,
        pages=pages,
        force=state.force,
        month=selection.month,
        pack_id=pack_id(version, selection, disclosure),
        data_version=version,
        as_of=day,
        disclosure=disclosure,
        made_at=datetime.now(UTC),
    )
    if store.version != version:  # a load landed mid-way: the pages would mix two versions of the data
        raise PackError("The data changed while the pack was being built (a load): build it again.")
    plan.pages.insert(0, _title_page(plan, facts, user))
    _contents(plan)
    return plan


def _contract_tables() -> list[str]:
    from data.contract import TABLES

    return list(TABLES)


# --- title


def kpi_command(selection: Selection) -> str:
    """The KPI command that gives the matrix's figures."""
    state = selection.state
    parts = ["python -m queries kpis --data DIR", f"--from {state.period_from}", f"--to {state.period_to}"]
    parts.append(f"--force {_shell(state.force)}")
    if state.lpa:
        parts.append(f"--lpa {_shell(state.lpa)}")
    if state.local_authority:
        parts.append(f"--local-authority {_shell(state.local_authority)}")
    return " ".join([*parts, "--json"])


def _shell(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _title_page(plan: Plan, facts: _Facts, user: str | None) -> Page:
    state = plan.selection.state
    as_of_words = f"{plan.as_of.day} {plan.as_of:%b %Y}" if plan.as_of else "no records"
    lines = [
        ("Force", state.force),
        ("Area", facts.where if (state.lpa or state.local_authority) else "All LPAs and local authorities"),
        ("Month", f"{month_label(plan.month)}: this month's exceptions and SPC signals are for it"),
        ("Period", f"{plan.selection.period_note}; values, targets and status are for the period"),
        ("Data as of", f"{as_of_words} (the earliest of the tables' latest records; see the last page)"),
        ("Data version", plan.data_version),
        ("Pack id", plan.pack_id),
        ("Disclosure control", DISCLOSURE_NOTE if plan.disclosure else DISCLOSURE_OFF),
        ("Same figures as", kpi_command(plan.selection)),
        (
            "Made",
            f"{plan.made_at.day} {plan.made_at:%b %Y, %H:%M} UTC"
            + (f" by {user}" if user else "")
            + ", from the dashboard",
        ),
        ("Contents", ""),  # filled in by _contents once the pages are known
    ]
    return Page(
        SECTION_TITLE,
        f"Child protection: monthly pack for {state.force}",
        "title",
        subtitle=f"{month_label(plan.month)} · for the gold group",
        lines=lines,
    )


def _contents(plan: Plan) -> None:
    parts = []
    for section, first, last in plan.sections()[1:]:
        pages = f"p. {first}" if first == last else f"pp. {first}–{last}"
        parts.append(f"{section} ({pages})")
    title = plan.pages[0]
    title.lines[-1] = ("Contents", " · ".join(parts))
    title.notes = (
        f"Monthly pack for {plan.force}, {month_label(plan.month)}; pack {plan.pack_id}, data version "
        f"{plan.data_version}. {DISCLOSURE_NOTE if plan.disclosure else DISCLOSURE_OFF}"
    )


# --- exceptions


def _exceptions(facts: _Facts) -> list[KpiException]:
    """This month's exceptions as the overview finds them, with the rule applied to their numbers.

    A KPI whose month figure the rule withholds keeps its SPC verdict, but its sentence says the
    figure is withheld instead of quoting it (the target part, which quotes limits, stays).
    """
    settings, numbers, month = facts.store.settings, facts.numbers, facts.selection.month
    found = exceptions(facts.results, settings, numbers.describe, month)
    if not numbers.disclosure:
        return found
    out = []
    by_kpi = {e.kpi_id: e for e in found}
    for kpi_id, result in facts.results.items():
        value, denominator = facts.month_value(kpi_id)
        unit = catalog().kpis[kpi_id].unit
        signal = result.signal
        if not (signal is not None and signal.month == month and numbers.hidden(value, denominator, unit)):
            if kpi_id in by_kpi:
                out.append(by_kpi[kpi_id])
            continue
        quiet = exceptions({kpi_id: replace(result, signal=None)}, settings, numbers.describe, month)
        sentence = (
            f"Its figure for {month_label(month)} rests on fewer than 5 records and is withheld "
            f"(disclosure control); SPC reads the month as “{result.variation.label}”."
        )
        if quiet:
            sentence += " " + quiet[0].sentence
        assured = quiet[0].assurance if quiet else None
        if assured is None:
            target = settings.targets.get(kpi_id)
            assured = spc.assurance(result, target.target, target.comparison) if target else None
        out.append(KpiException(kpi_id, catalog().kpis[kpi_id].area, sentence, result.variation, assured))
    order = list(catalog().kpis)
    return sorted(out, key=lambda e: order.index(e.kpi_id))


def mover_words(facts: _Facts, kpi_id: str) -> str:
    """'Moved most by LPA East (32.0% → 34.5% this month).', under the rule; "" when none."""
    from kpi.briefing import largest_mover, months_ending
    from queries.kpis import kpi_breakdown
    from ui.area_page import mover_sentence

    selection, numbers = facts.selection, facts.numbers
    mover = largest_mover(facts.store, kpi_id, selection.month, selection.filters)
    if mover is None:
        return ""
    unit = catalog().kpis[kpi_id].unit
    shown = []
    for when, value in zip(months_ending(selection.month, 2), (mover.before, mover.after), strict=True):
        frame = kpi_breakdown(facts.store, kpi_id, mover.column, Period(when, when), selection.filters)
        rows = frame[frame["group"].astype(str) == mover.group]
        denominator = rows["denominator"].iloc[0] if not rows.empty else None
        shown.append(numbers.value(value, denominator, unit))
    return mover_sentence(mover.column, mover.group, shown[0], shown[1])


def _exception_pages(facts: _Facts, briefing) -> list[Page]:
    month = facts.selection.month
    items: list[Item] = []
    for exception, is_new in briefing.concerns:
        kpi = catalog().kpis[exception.kpi_id]
        items.append(
            Item(
                "New concern" if is_new else "Continuing concern",
                kpi.label,
                exception.sentence,
                mover_words(facts, exception.kpi_id),
                "concern",
            )
        )
    if not briefing.concerns:
        items.append(
            Item(
                "No concerns", "", f"No KPI's figure for {month_label(month)} signals a worsening.", tone=None
            )
        )
    for exception in briefing.at_risk:
        marker = "Target at risk"
        if exception.variation.code.startswith("improvement"):
            marker = "Improving, target at risk"
        items.append(
            Item(
                marker,
                catalog().kpis[exception.kpi_id].label,
                exception.sentence,
                tone="off",
            )
        )
    intro = (
        f"{len(briefing.concerns)} concern{'s' if len(briefing.concerns) != 1 else ''} "
        f"({sum(1 for _, new in briefing.concerns if new)} new this month), "
        f"{len(briefing.at_risk)} target{'s' if len(briefing.at_risk) != 1 else ''} at risk, "
        f"{len(briefing.improving)} improving (listed on the dashboard's overview). "
        "Concerns first, new before continuing; then targets the process limits put at risk."
    )
    # Lines of 13-point text on the slide (about 130 characters each; the PDF holds more).
    weights = [
        _lines(f"{i.marker} · {i.heading}: {i.text}", 125)
        + 0.8 * (_lines(i.detail, 140) if i.detail else 0)
        + 0.4
        for i in items
    ]
    chunks = _chunks(items, weights, 21.5)
    pages = []
    for index, chunk in enumerate(chunks, start=1):
        pages.append(
            Page(
                SECTION_EXCEPTIONS,
                _numbered(f"{month_label(month)}: this month's exceptions", index, len(chunks)),
                "items",
                subtitle=intro if index == 1 else f"{facts.where} · continued",
                items=chunk,
                notes=" ".join(f"{i.marker}: {i.heading}. {i.text} {i.detail}".strip() for i in chunk),
            )
        )
    return pages


# --- the KPI matrix


def _matrix_pages(facts: _Facts) -> list[Page]:
    numbers, selection = facts.numbers, facts.selection
    period_words = period_label(selection.state.period_from, selection.month)
    groups: list[tuple[str, list[tuple[Cell, ...]]]] = []
    counts = {STATUS_ON: 0, STATUS_NEAR: 0, STATUS_OFF: 0}
    for area, rows in facts.summary.groupby("area", sort=False):
        body = []
        for _, row in rows.iterrows():
            kpi_id, unit = row["kpi_id"], row["unit"]
            previous = facts.previous.loc[kpi_id] if kpi_id in facts.previous.index else None
            before = previous["value"] if previous is not None else None
            before_n = previous["denominator"] if previous is not None else None
            hidden = numbers.hidden(row["value"], row["denominator"], unit)
            status = row["status"] if isinstance(row["status"], str) else "No data"
            if hidden:
                status = WITHHELD
            elif status in counts:
                counts[status] += 1
            change = (
                WITHHELD
                if hidden or numbers.hidden(before, before_n, unit)
                else _change(row["value"], before, unit)
            )
            result = facts.results.get(kpi_id)
            assured = (
                spc.assurance(result, row["target"], row["comparison"])
                if result is not None and row["comparison"] in (">=", "<=")
                else None
            )
            body.append(
                (
                    Cell(row["label"]),
                    Cell(numbers.value(row["value"], row["denominator"], unit), bold=True),
                    Cell(format_target(row["target"], row["comparison"], unit)),
                    Cell(status, STATUS_TONES.get(status)),
                    Cell(change),
                    Cell(result.variation.label if result is not None else "—", _variation_tone(result)),
                    Cell(assured.label if assured else "—"),
                )
            )
        groups.append((catalog().areas[area], body))
    total = sum(counts.values())
    notes = (
        f"{counts[STATUS_ON]} of the {total} KPIs with a target and a value shown are on target for "
        f"{period_words}, {counts[STATUS_NEAR]} near and {counts[STATUS_OFF]} off target."
    )
    header = (
        "KPI",
        "Value",
        "Target",
        "Status",
        "Change",
        f"Variation, {month_label(selection.month)}",
        "Assurance",
    )
    widths = (0.23, 0.1, 0.08, 0.1, 0.11, 0.22, 0.16)
    # Whole areas to a page where they fit, each under its heading.
    chunks = table_pages(
        header, [[(Cell(name, "group", bold=True),), *body] for name, body in groups], widths, size=10.5
    )
    return [
        Page(
            SECTION_MATRIX,
            _numbered(f"KPIs with a target, {period_words}", index, len(chunks)),
            "table",
            subtitle=(
                f"{facts.where} · status against the target for the period; "
                f"SPC for {month_label(selection.month)}"
            ),
            tables=[Table(header, rows, widths, size=10.5)],
            notes=notes,
            footnote=f"Value: {period_words}. Change: against the previous period of the same length. "
            "Variation and assurance: XmR chart over the KPI's whole history (Making Data Count).",
        )
        for index, rows in enumerate(chunks, start=1)
    ]


def _variation_tone(result) -> str | None:
    if result is None:
        return None
    code = result.variation.code
    return (
        "concern" if code.startswith("concern") else "improvement" if code.startswith("improvement") else None
    )


# --- trends


def _optional(value) -> float | None:
    return None if is_missing(value) or value is None or pd.isna(value) else float(value)


def _trend_pages(
    facts: _Facts,
    found: list[KpiException],
    user: str | None,
    on_area: Callable[[str], None] | None = None,
) -> list[Page]:
    """One page per KPI with a target, area by area; ``on_area(name)`` as each area starts."""
    from exports.routes import build_about, snapshot_figure
    from ui.area_page import area_chart, area_kpis

    selection, numbers, settings = facts.selection, facts.numbers, facts.store.settings
    state = selection.state
    sentences = {e.kpi_id: e.sentence for e in found}
    with_target = set(kpis_with_target(facts.store))
    period_words = period_label(state.period_from, selection.month)
    pages = []
    for area, area_name in catalog().areas.items():
        area_trends = [k for k in area_kpis(area) if k in with_target]
        if area_trends and on_area is not None:
            on_area(area_name)
        for kpi_id in area_trends:
            kpi = catalog().kpis[kpi_id]
            view = area_chart(area, f"trend-{kpi_id}", state)
            table = view.table
            spc_frame = facts.results[kpi_id].frame.set_index("month")
            months = tuple(table["month"])
            hidden = [
                numbers.hidden(v, d, kpi.unit)
                for v, d in zip(table["value"], table["denominator"], strict=True)
            ]
            values = tuple(None if h else _optional(v) for v, h in zip(table["value"], hidden, strict=True))
            target = settings.targets[kpi_id]

            variation = tuple(
                (spc_frame.at[m, "variation"] if m in spc_frame.index else None) if not h else None
                for m, h in zip(months, hidden, strict=True)
            )
            small = tuple(
                kpi.unit in SMALL_N_UNITS and _optional(d) is not None and float(d) < SMALL_DENOMINATOR
                for d in table["denominator"]
            )
            row = facts.summary.set_index("kpi_id").loc[kpi_id]
            withheld = numbers.hidden(row["value"], row["denominator"], kpi.unit)
            value_words = numbers.value(row["value"], row["denominator"], kpi.unit)
            target_words = format_target(target.target, target.comparison, kpi.unit)
            status = row["status"] if isinstance(row["status"], str) else "No data"
            month_value, month_n = facts.month_value(kpi_id)
            month_words = numbers.value(month_value, month_n, kpi.unit)
            facts_line = (
                f"{period_words}: {value_words} · target {target_words}"
                + ("" if withheld else f" · {status}")
                + f" · {month_label(selection.month)}: {month_words} · {view.spc_words}"
            )
            if any(hidden):
                facts_line += " · months under 5 records withheld (gaps)"
            if withheld:
                plain = (
                    f"{kpi.label}, {period_words}: the figure rests on fewer than 5 records and is withheld "
                    f"(disclosure control); the target is {target_words}. SPC: {view.spc_words}."
                )
            else:
                plain = (
                    f"{kpi.label}, {period_words}: {value_words} against a target of {target_words}, "
                    f"so {status.lower()}. In {month_label(selection.month)}: {month_words}; "
                    f"{view.spc_words}."
                )
            sentence = f"{kpi.label}: {sentences[kpi_id]}" if kpi_id in sentences else plain
            title = f"{kpi.label}, {facts.where}, {period_words}"
            about = build_about(
                area, kpi_id, state, title=title, spc_words=view.spc_words, n=view.n, user=user
            )
            figure = snapshot_figure(view.figure, about)
            if numbers.disclosure:
                _withhold(figure, {m for m, h in zip(months, hidden, strict=True) if h}, about, numbers)
            trend = Trend(
                kpi_id,
                area_name,
                kpi.label,
                kpi.unit,
                months,
                values,
                _limits(table, "mean", kpi.unit),
                _limits(table, "lower", kpi.unit),
                _limits(table, "upper", kpi.unit),
                float(target.target),
                variation,
                small,
                facts_line,
                sentence,
                figure,
            )
            pages.append(
                Page(
                    SECTION_TRENDS,
                    kpi.label,
                    "trend",
                    subtitle=f"{area_name} · {facts.where} · {period_words} · monthly, with SPC",
                    trend=trend,
                    notes=sentence,
                )
            )
    return pages


def _limits(table: pd.DataFrame, column: str, unit: str) -> tuple[float | None, ...]:
    """A trend's mean or process limit by month; limits clipped to what the unit allows, as drawn."""
    if column not in table.columns:
        return (None,) * len(table)
    return tuple(
        None if _optional(v) is None else (float(v) if column == "mean" else clip_to_unit(float(v), unit))
        for v in table[column]
    )


def _withhold(figure, months: set[str], about, numbers: Numbers) -> None:
    """The picture under the rule: the withheld months' points taken out, and a small n shown as "<5"."""
    for trace in figure.data:
        if trace.hoverinfo == "skip" or trace.x is None or trace.y is None:
            continue  # mean and process limits carry no month's figure
        trace.y = [
            None if pd.Timestamp(x).strftime("%Y-%m") in months else y
            for x, y in zip(trace.x, trace.y, strict=True)
        ]
    if about.n is not None and numbers.count(about.n) == SUPPRESSED_COUNT:
        for annotation in figure.layout.annotations:
            if annotation.name == "export-footer":
                annotation.text = annotation.text.replace(about.n_words, f"n = {SUPPRESSED_COUNT}")


# --- recommendations


def _recommendation_pages(facts: _Facts) -> list[Page]:
    from kpi.briefing import HISTORY_MONTHS, TRAVEL_MONTHS, recommendation_progress

    month, settings = facts.selection.month, facts.store.settings
    progress = [
        recommendation_progress(facts.history, settings, rec, month) for rec in load_recommendations()
    ]
    months = progress[0].months if progress else ()
    then = months[max(0, len(months) - 1 - TRAVEL_MONTHS)] if months else month
    rows = []
    for item in progress:
        rec = item.recommendation
        on_words = (
            f"{item.on_target[-1]} of {item.with_target} on target (was {item.on_target[-1 - TRAVEL_MONTHS]})"
            if item.with_target
            else "no KPI with a target"
        )
        rows.append(
            (
                Cell(f"{rec.id} {rec.title}", bold=True),
                Cell(item.statuses[-1], STATUS_TONES.get(item.statuses[-1])),
                *(Cell(_short_status(s), STATUS_TONES.get(s)) for s in item.statuses[:-1]),
                Cell(f"{item.words}: {on_words}"),
            )
        )
    header = (
        "Recommendation",
        f"Status, {month_label(month)}",
        *(month_label(m) for m in months[:-1]),
        f"Since {month_label(then)}",
    )
    others = len(months) - 1
    widths = (0.25, 0.11, *(0.075,) * others, 0.265) if others else (0.3, 0.2, 0.5)
    notes = "; ".join(
        f"{p.recommendation.id} {p.recommendation.title}: {p.statuses[-1]}, {p.words.lower()}"
        for p in progress
    )
    return [
        Page(
            SECTION_RECOMMENDATIONS,
            "Recommendations of the 2021 inspection",
            "table",
            subtitle=(
                f"{facts.where} · status each month is the worst of the recommendation's KPIs with a target; "
                f"last {HISTORY_MONTHS} months; direction of travel over {TRAVEL_MONTHS} months"
            ),
            tables=[Table(header, tuple(rows), widths, size=11)],
            notes=notes + ".",
            footnote=(
                f"Direction: KPIs on target now against {TRAVEL_MONTHS} months before "
                "(on a tie, fewer off target is better)."
            ),
        )
    ]


def _short_status(status: str) -> str:
    return {STATUS_ON: "On", STATUS_NEAR: "Near", STATUS_OFF: "Off", STATUS_NONE: "No target"}.get(
        status, status
    )


# --- definitions


def _definition_pages(facts: _Facts, briefing) -> list[Page]:
    """The definitions of the KPIs the pack names: those with a target, and this month's concerns."""
    from queries.definitions import define

    named = [*kpis_with_target(facts.store), *(e.kpi_id for e, _new in briefing.concerns)]
    named = list(dict.fromkeys([*named, *(e.kpi_id for e in briefing.at_risk)]))
    named.sort(key=list(catalog().kpis).index)
    rows = []
    for kpi_id in named:
        item = define(kpi_id, facts.store.settings)
        rows.append(
            (
                Cell(f"{item.label} ({item.area})", bold=True),
                Cell(f"{item.definition} Period: {item.period_rule}"),
                Cell(item.source.replace("_", " ")),
                Cell(item.target),
            )
        )
    header, widths = ("KPI", "Definition", "Source tables", "Target"), (0.22, 0.55, 0.12, 0.11)
    chunks = table_pages(header, [[row] for row in rows], widths, size=10)
    return [
        Page(
            SECTION_DEFINITIONS,
            _numbered("Definitions of the KPIs in this pack", index, len(chunks)),
            "table",
            subtitle="From queries/catalog.toml and the settings, as the dashboard's About panels show them",
            tables=[Table(header, chunk, widths, size=10)],
            notes="The definitions of the KPIs named in this pack: "
            + "; ".join(r[0].text for r in chunk)
            + ".",
        )
        for index, chunk in enumerate(chunks, start=1)
    ]


# --- data quality


def _quality_page(facts: _Facts) -> Page:
    from queries.quality import CHECKS, data_errors, recording_gaps, table_summary

    store, numbers, selection = facts.store, facts.numbers, facts.selection
    period, filters = selection.period, selection.filters
    summary = table_summary(store, period, filters)
    gaps = recording_gaps(store, period, filters)
    errors = data_errors(store, period, filters)
    stale_days = store.settings.stale_after_days
    table_rows = []
    for _, row in summary.iterrows():
        latest = row["latest_at"]
        if latest is None or pd.isna(latest):
            fresh, tone, latest_words = "No records", None, "—"
        else:
            days = int(row["days_since_latest"])
            fresh = f"{'Stale' if days > stale_days else 'Fresh'} ({days:,} days)"
            tone = "off" if days > stale_days else "on"
            latest_words = f"{pd.Timestamp(latest).day} {pd.Timestamp(latest):%b %Y}"
        table_rows.append(
            (
                Cell(row["table_name"].replace("_", " ")),
                Cell(numbers.count(row["rows_in_period"])),
                Cell(latest_words),
                Cell(fresh, tone),
            )
        )
    tables = [
        Table(
            ("Table", "Rows in period", "Latest record", "Freshness"),
            tuple(table_rows),
            (0.32, 0.18, 0.2, 0.3),
            caption=f"Tables: rows and freshness (stale: latest record over {stale_days} days before today)",
            size=10,
        )
    ]
    gap_rows = []
    if not gaps.empty:
        totals = gaps.groupby("series", sort=False)[["rows_missing", "rows_judged"]].sum()
        totals = totals[totals["rows_missing"] > 0]
        totals = totals.assign(share=totals["rows_missing"] / totals["rows_judged"]).sort_values(
            "share", ascending=False
        )
        for series, row in totals.head(5).iterrows():
            table_name, _, column = series.partition(".")
            gap_rows.append(
                (
                    Cell(f"{table_name.replace('_', ' ')}: {column.replace('_', ' ')}"),
                    Cell(numbers.count(row["rows_missing"])),
                    Cell(numbers.share(row["rows_missing"], row["rows_judged"])),
                )
            )
        if len(totals) > 5:
            gap_rows.append((Cell(f"and {len(totals) - 5} more columns with gaps"),))
    if not gap_rows:
        gap_rows.append((Cell("No recording gaps in the period."),))
    tables.append(
        Table(
            ("Recording gap (time not recorded)", "Records", "Share"),
            tuple(gap_rows),
            (0.64, 0.16, 0.2),
            caption="Recording gaps in the period, worst first",
            size=10,
        )
    )
    error_rows = []
    if not errors.empty:
        found = errors.groupby("check_id", sort=False)["errors"].sum()
        found = found[found > 0].sort_values(ascending=False)
        for check_id, count in found.head(5).items():
            error_rows.append((Cell(CHECKS[check_id].label), Cell(numbers.count(count))))
        if len(found) > 5:
            error_rows.append((Cell(f"and {len(found) - 5} more checks with findings"),))
    if not error_rows:
        error_rows.append((Cell("No data errors found in the period."),))
    tables.append(
        Table(
            ("Data error", "Records"),
            tuple(error_rows),
            (0.8, 0.2),
            caption="Data errors in the period, most first",
            size=10,
        )
    )
    stale = int(sum(1 for r in table_rows if r[3].text.startswith("Stale")))
    return Page(
        SECTION_QUALITY,
        "Data quality notes",
        "quality",
        subtitle=f"{facts.where} · {period_label(selection.state.period_from, selection.month)}",
        tables=tables,
        notes=f"{stale} of {len(table_rows)} tables are stale by the settings' rule.",
        footnote=(
            "The dashboard's Data quality page has every month, the records behind each error "
            "and the ingest history."
        ),
    )


# --------------------------------------------------------------------------- PowerPoint


def _rgb(hex_text: str):
    from pptx.dml.color import RGBColor

    return RGBColor.from_string(hex_text)


def write_pptx(plan: Plan, path: Path) -> Path:
    """The plan as a 16:9 PowerPoint: native tables and line charts, each page's sentence in its notes."""
    from pptx import Presentation
    from pptx.util import Emu

    prs = Presentation()
    prs.slide_width, prs.slide_height = Emu(12192000), Emu(6858000)  # 13.333 × 7.5 in: 16:9
    prs.core_properties.title = plan.pages[0].title
    prs.core_properties.subject = f"{month_label(plan.month)} · pack {plan.pack_id}"
    prs.core_properties.author = "Child protection dashboard"
    total = len(plan.pages)
    for number, page in enumerate(plan.pages, start=1):
        slide = prs.slides.add_slide(prs.slide_layouts[5])  # "Title Only": a real title, for screen readers
        _slide_title(slide, page)
        {
            "title": _pptx_title,
            "items": _pptx_items,
            "table": _pptx_tables,
            "trend": _pptx_trend,
            "quality": _pptx_quality,
        }[page.layout](slide, page)
        if page.footnote:
            _textbox(slide, 0.5, 6.55, 12.33, 0.4, [(page.footnote, 10, False, MUTED)])
        _textbox(slide, 0.5, 7.0, 12.33, 0.35, [(f"{plan.footer} · {number} of {total}", 10, False, MUTED)])
        slide.notes_slide.notes_text_frame.text = page.notes or page.title
    prs.save(path)
    return path


def _inches(value: float):
    from pptx.util import Inches

    return Inches(value)


def _slide_title(slide, page: Page) -> None:
    from pptx.util import Pt

    title = slide.shapes.title
    big = page.layout == "title"
    title.left, title.top = _inches(0.5), _inches(1.2 if big else 0.3)
    title.width, title.height = _inches(12.33), _inches(1.0 if big else 0.7)
    title.text_frame.word_wrap = True
    title.text = page.title
    paragraph = title.text_frame.paragraphs[0]
    paragraph.alignment = 1  # left
    for run in paragraph.runs:
        run.font.size = Pt(36 if big else 26)
        run.font.bold = True
    if page.subtitle and not big:
        _textbox(slide, 0.5, 0.98, 12.33, 0.5, [(page.subtitle, 13, False, MUTED)])


def _textbox(slide, left, top, width, height, paragraphs, *, space_after: float = 0):
    """A text box of paragraphs; each paragraph a list of runs (text, size, bold, colour) or one run."""
    from pptx.util import Pt

    box = slide.shapes.add_textbox(_inches(left), _inches(top), _inches(width), _inches(height))
    frame = box.text_frame
    frame.word_wrap = True
    for index, runs in enumerate(paragraphs):
        paragraph = frame.paragraphs[0] if index == 0 else frame.add_paragraph()
        if space_after:
            paragraph.space_after = Pt(space_after)
        for text, size, bold, colour in runs if isinstance(runs, list) else [runs]:
            run = paragraph.add_run()
            run.text = text
            run.font.size = Pt(size)
            run.font.bold = bold
            if colour:
                run.font.color.rgb = _rgb(colour)
    return box


def _pptx_title(slide, page: Page) -> None:
    _textbox(slide, 0.5, 2.15, 12.33, 0.5, [(page.subtitle, 20, False, MUTED)])
    rows = [[(f"{label}: ", 12, True, None), (text, 12, False, None)] for label, text in page.lines]
    _textbox(slide, 0.5, 2.8, 12.33, 4.1, rows, space_after=3)


def _pptx_items(slide, page: Page) -> None:
    paragraphs = []
    for item in page.items:
        colour = {"concern": "8A5300", "off": "842029"}.get(item.tone or "")
        heading = f" · {item.heading}: " if item.heading else ": "
        paragraphs.append(
            [(item.marker, 13, True, colour), (heading, 13, True, None), (item.text, 13, False, None)]
        )
        if item.detail:
            paragraphs.append([(item.detail, 11, False, MUTED)])
    _textbox(slide, 0.5, 1.55, 12.33, 4.95, paragraphs, space_after=4)


def _pptx_tables(slide, page: Page) -> None:
    top = 1.6
    for table in page.tables:
        top = _pptx_table(slide, table, 0.5, top, 12.33) + 0.2


def _pptx_table(slide, table: Table, left: float, top: float, width: float) -> float:
    """A native table; returns where it ends (an estimate: PowerPoint grows rows to fit their text)."""
    from pptx.util import Pt

    if table.caption:
        _textbox(slide, left, top, width, 0.35, [(table.caption, 12, True, None)])
        top += 0.38
    columns = len(table.header)
    heights = [row_inches(table.header, table, width), *(row_inches(r, table, width) for r in table.rows)]
    shape = slide.shapes.add_table(
        len(table.rows) + 1, columns, _inches(left), _inches(top), _inches(width), _inches(sum(heights))
    )
    grid = shape.table
    grid.horz_banding = False
    for index, share in enumerate(table.widths):
        grid.columns[index].width = _inches(width * share)
    for index, height in enumerate(heights):
        grid.rows[index].height = _inches(height)

    def put(cell, text: str, *, bold=False, fill=None, colour="212529"):
        cell.text = text
        cell.margin_top = cell.margin_bottom = Pt(CELL_PAD_PT)
        cell.fill.solid()
        cell.fill.fore_color.rgb = _rgb(fill or "FFFFFF")
        for paragraph in cell.text_frame.paragraphs:
            for run in paragraph.runs:
                run.font.size = Pt(table.size)
                run.font.bold = bold
                run.font.color.rgb = _rgb(colour)

    for column, text in enumerate(table.header):
        put(grid.cell(0, column), text, bold=True, fill="343A40", colour="FFFFFF")
    for row_index, row in enumerate(table.rows, start=1):
        if len(row) == 1:  # a heading row spanning the table
            grid.cell(row_index, 0).merge(grid.cell(row_index, columns - 1))
            fill = TONE_FILLS.get(row[0].tone or "", "F8F9FA")
            put(grid.cell(row_index, 0), row[0].text, bold=True, fill=fill)
            continue
        for column, cell in enumerate(row):
            put(grid.cell(row_index, column), cell.text, bold=cell.bold, fill=TONE_FILLS.get(cell.tone or ""))
    return top + sum(heights)


def _pptx_quality(slide, page: Page) -> None:
    first, *others = page.tables
    _pptx_table(slide, first, 0.5, 1.6, 6.6)
    top = 1.6
    for table in others:
        top = _pptx_table(slide, table, 7.4, top, 5.43) + 0.25


def _pptx_trend(slide, page: Page) -> None:
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE, XL_LEGEND_POSITION, XL_MARKER_STYLE
    from pptx.enum.dml import MSO_LINE_DASH_STYLE
    from pptx.util import Pt

    trend = page.trend
    data = CategoryChartData(number_format="0.0" if trend.unit != "count" else "#,##0")
    data.categories = [month_label(m) for m in trend.months]
    data.add_series(trend.label, trend.values)
    styles = [("value", VALUE_LINE, None, 2.25)]
    for name, values, colour, dash in (
        ("Mean", trend.mean, LIMIT_LINE, None),
        ("Lower process limit", trend.lower, LIMIT_LINE, MSO_LINE_DASH_STYLE.DASH),
        ("Upper process limit", trend.upper, LIMIT_LINE, MSO_LINE_DASH_STYLE.DASH),
    ):
        if any(v is not None for v in values):
            data.add_series(name, values)
            styles.append((name, colour, dash, 1.25))
    if trend.target is not None:
        shown = f"{trend.target:g}{'%' if trend.unit == 'pct' else ''}"
        data.add_series(f"Target {shown}", [trend.target] * len(trend.months))
        styles.append(("target", TARGET_LINE, MSO_LINE_DASH_STYLE.LONG_DASH, 1.5))
    frame = slide.shapes.add_chart(
        XL_CHART_TYPE.LINE_MARKERS, _inches(0.5), _inches(1.45), _inches(12.33), _inches(4.45), data
    )
    chart = frame.chart
    chart.has_title = False
    chart.font.size = Pt(12)
    chart.has_legend = True
    chart.legend.position = XL_LEGEND_POSITION.BOTTOM
    chart.legend.include_in_layout = False
    axis = chart.value_axis
    axis.minimum_scale = 0
    if trend.unit == "pct":
        axis.maximum_scale = 100
    axis.has_major_gridlines = True
    axis.major_gridlines.format.line.color.rgb = _rgb("E9ECEF")
    axis.has_title = True
    axis.axis_title.text_frame.text = {
        "pct": "%",
        "min": "minutes",
        "days": "days",
        "ratio": "per officer",
    }.get(trend.unit, trend.unit)
    for series, (name, colour, dash, width) in zip(chart.plots[0].series, styles, strict=True):
        series.smooth = False
        series.format.line.color.rgb = _rgb(colour)
        series.format.line.width = Pt(width)
        if dash is not None:
            series.format.line.dash_style = dash
        if name != "value":
            series.marker.style = XL_MARKER_STYLE.NONE
            continue
        series.marker.style = XL_MARKER_STYLE.CIRCLE
        series.marker.size = 7
        series.marker.format.fill.solid()
        series.marker.format.fill.fore_color.rgb = _rgb(VALUE_LINE)
        series.marker.format.line.color.rgb = _rgb(VALUE_LINE)
        for index, (variation, small) in enumerate(zip(trend.variation, trend.small, strict=True)):
            if trend.values[index] is None or (variation not in POINT_STYLES and not small):
                continue
            colour, symbol, _words = POINT_STYLES.get(variation, (VALUE_LINE, "circle", ""))
            marker = series.points[index].marker
            marker.style = {
                "circle": XL_MARKER_STYLE.CIRCLE,
                "diamond": XL_MARKER_STYLE.DIAMOND,
                "square": XL_MARKER_STYLE.SQUARE,
            }[symbol]
            marker.size = 11 if variation in POINT_STYLES else 7
            marker.format.fill.solid()
            marker.format.fill.fore_color.rgb = _rgb("FFFFFF" if small else colour)
            marker.format.line.color.rgb = _rgb(colour)
    legend = [words for code, (_c, _s, words) in POINT_STYLES.items() if code in trend.variation]
    if any(trend.small):
        legend.append(f"hollow points: fewer than {SMALL_DENOMINATOR} cases that month")
    lines = [[(trend.facts, 12, False, None)]]
    if legend:
        lines.append([("Points: " + "; ".join(legend) + ".", 10, False, MUTED)])
    _textbox(slide, 0.5, 5.95, 12.33, 0.95, lines)


# --------------------------------------------------------------------------- PDF

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),)
PDF_FONT, PDF_BOLD = "PackSans", "PackSans-Bold"
_font_fix: list[Callable[[str], str]] = []


def _no_arrows(text: str) -> str:
    return text.replace("→", "to")


def _fonts() -> Callable[[str], str]:
    """Register one Unicode font for the PDF, once: Debian's DejaVu Sans when installed, else the
    Vera that reportlab ships (which lacks arrows: the returned function writes them as words)."""
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if _font_fix:
        return _font_fix[0]
    fix: Callable[[str], str] = str
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            break
    else:
        import reportlab

        folder = Path(reportlab.__file__).parent / "fonts"
        regular, bold, fix = folder / "Vera.ttf", folder / "VeraBd.ttf", _no_arrows
    pdfmetrics.registerFont(TTFont(PDF_FONT, str(regular)))
    pdfmetrics.registerFont(TTFont(PDF_BOLD, str(bold)))
    for is_bold in (0, 1):
        for is_italic in (0, 1):
            addMapping(PDF_FONT, is_bold, is_italic, PDF_BOLD if is_bold else PDF_FONT)
    _font_fix.append(fix)
    return fix


def _canvas_maker(footer: str):
    """A canvas that writes the footer and "page n of N" on every page (N known only at the end)."""
    from reportlab.pdfgen.canvas import Canvas

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):  # reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for number, page in enumerate(self._pages, start=1):
                self.__dict__.update(page)
                width, _height = self._pagesize
                self.setFont(PDF_FONT, 8.5)
                self.setFillColorRGB(0.29, 0.31, 0.34)
                self.drawString(40, 24, footer)
                self.drawRightString(width - 40, 24, f"Page {number} of {total}")
                super().showPage()
            super().save()

    return NumberedCanvas


def write_pdf(
    plan: Plan, path: Path, pictures: dict[str, bytes], on_page: Callable[[int], None] | None = None
) -> Path:
    """The plan as an A4 landscape PDF: one page per page of the plan, page numbers in the footer.

    Args:
        pictures: each trend's PNG (``render_snapshot``), by KPI id.
        on_page: called with each page's number as it is laid out (the PDF is a long step).
    """
    from reportlab import rl_config
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.platypus import KeepInFrame, PageBreak, SimpleDocTemplate

    fix = _fonts()
    # Binary streams, not ASCII85: the pictures' bytes are most of the file, and ASCII85 (in pure
    # Python here) takes a third of the PDF's time and adds a quarter to its size.
    rl_config.useA85 = 0
    size = landscape(A4)
    margin_x, margin_top, margin_bottom = 40, 34, 44
    width, height = size[0] - 2 * margin_x, size[1] - margin_top - margin_bottom
    doc = SimpleDocTemplate(
        str(path),
        pagesize=size,
        leftMargin=margin_x,
        rightMargin=margin_x,
        topMargin=margin_top,
        bottomMargin=margin_bottom,
        title=plan.pages[0].title,
        subject=f"{month_label(plan.month)} · pack {plan.pack_id}",
        author="Child protection dashboard",
        creator="Child protection dashboard (exports.pack)",
    )
    styles = _pdf_styles()
    story = []
    for index, page in enumerate(plan.pages):
        content = _pdf_page(page, styles, fix, width, pictures)
        # One page of the plan is one page of the PDF: shrink what would run over, never split it.
        story.append(KeepInFrame(width, height - 6, content, mode="shrink"))
        if index < len(plan.pages) - 1:
            story.append(PageBreak())

    def page_begun(_canvas, document) -> None:
        if on_page is not None:
            on_page(document.page)

    doc.build(
        story,
        onFirstPage=page_begun,
        onLaterPages=page_begun,
        canvasmaker=_canvas_maker(fix(plan.footer)),
    )
    return path


def _pdf_styles() -> dict:
    from reportlab.lib.styles import ParagraphStyle

    base = ParagraphStyle("body", fontName=PDF_FONT, fontSize=10.5, leading=13.5, textColor="#212529")
    return {
        "body": base,
        "title": ParagraphStyle("title", base, fontName=PDF_BOLD, fontSize=20, leading=24, spaceAfter=2),
        "big": ParagraphStyle("big", base, fontName=PDF_BOLD, fontSize=28, leading=34, spaceBefore=40),
        "subtitle": ParagraphStyle(
            "subtitle", base, fontSize=10, leading=13, textColor="#495057", spaceAfter=8
        ),
        "lead": ParagraphStyle("lead", base, fontSize=15, leading=19, textColor="#495057", spaceAfter=18),
        "item": ParagraphStyle("item", base, fontSize=11, leading=14.5, spaceBefore=5),
        "detail": ParagraphStyle(
            "detail", base, fontSize=9.5, leading=12, textColor="#495057", leftIndent=12
        ),
        "cell": ParagraphStyle("cell", base, fontSize=9, leading=11),
        "fact": ParagraphStyle("fact", base, fontSize=11, leading=14),
        "head": ParagraphStyle("head", base, fontName=PDF_BOLD, fontSize=9, leading=11, textColor="#FFFFFF"),
        "caption": ParagraphStyle(
            "caption", base, fontName=PDF_BOLD, fontSize=10, leading=13, spaceBefore=4, spaceAfter=3
        ),
        "small": ParagraphStyle("small", base, fontSize=8.5, leading=11, textColor="#495057", spaceBefore=6),
    }


def _pdf_page(page: Page, styles: dict, fix, width: float, pictures: dict[str, bytes]) -> list:
    from reportlab.platypus import Image, Paragraph, Spacer
    from reportlab.platypus import Table as PdfTable

    def text(value: str) -> str:
        return escape(fix(value))

    if page.layout == "title":
        rows = [
            [Paragraph(f"<b>{text(label)}</b>", styles["fact"]), Paragraph(text(value), styles["fact"])]
            for label, value in page.lines
        ]
        facts = PdfTable(rows, colWidths=[140, width - 140], style=_grid_style(header=False))
        return [
            Paragraph(text(page.title), styles["big"]),
            Paragraph(text(page.subtitle), styles["lead"]),
            facts,
        ]
    out = [Paragraph(text(page.title), styles["title"])]
    if page.subtitle:
        out.append(Paragraph(text(page.subtitle), styles["subtitle"]))
    if page.layout == "items":
        for item in page.items:
            colour = {"concern": "#8A5300", "off": "#842029"}.get(item.tone or "", "#212529")
            heading = f" · {text(item.heading)}:" if item.heading else ":"
            out.append(
                Paragraph(
                    f"<font color='{colour}'><b>{text(item.marker)}</b></font>"
                    f"<b>{heading}</b> {text(item.text)}",
                    styles["item"],
                )
            )
            if item.detail:
                out.append(Paragraph(text(item.detail), styles["detail"]))
    elif page.layout == "table":
        for table in page.tables:
            out += _pdf_table(table, styles, text, width)
    elif page.layout == "quality":
        first, *others = page.tables
        left = _pdf_table(first, styles, text, width * 0.52 - 10)
        right = [part for table in others for part in _pdf_table(table, styles, text, width * 0.48 - 10)]
        out.append(
            PdfTable(
                [[left, right]],
                colWidths=[width * 0.52, width * 0.48],
                style=[("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)],
            )
        )
    elif page.layout == "trend":
        trend = page.trend
        picture_width = width * 0.92
        out.append(
            Image(io.BytesIO(pictures[trend.kpi_id]), width=picture_width, height=picture_width * 9 / 16)
        )
        out.append(Spacer(1, 4))
        out.append(Paragraph(text(trend.facts), styles["body"]))
        out.append(Paragraph(text(trend.sentence), styles["item"]))
    if page.footnote:
        out.append(Paragraph(text(page.footnote), styles["small"]))
    return out


def _grid_style(*, header: bool = True) -> list:
    style = [
        ("FONT", (0, 0), (-1, -1), PDF_FONT, 9),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, "#DEE2E6"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), "#343A40"))
    return style


def _pdf_table(table: Table, styles: dict, text, width: float) -> list:
    from reportlab.platypus import Paragraph
    from reportlab.platypus import Table as PdfTable

    columns = len(table.header)
    data = [[Paragraph(text(h), styles["head"]) for h in table.header]]
    style = _grid_style()
    for row_index, row in enumerate(table.rows, start=1):
        if len(row) == 1:
            data.append([Paragraph(f"<b>{text(row[0].text)}</b>", styles["cell"])] + [""] * (columns - 1))
            style.append(("SPAN", (0, row_index), (-1, row_index)))
            style.append(
                (
                    "BACKGROUND",
                    (0, row_index),
                    (-1, row_index),
                    "#" + TONE_FILLS.get(row[0].tone or "", "F8F9FA"),
                )
            )
            continue
        cells = []
        for column, cell in enumerate(row):
            words = text(cell.text)
            cells.append(Paragraph(f"<b>{words}</b>" if cell.bold else words, styles["cell"]))
            if cell.tone in TONE_FILLS:
                style.append(
                    ("BACKGROUND", (column, row_index), (column, row_index), "#" + TONE_FILLS[cell.tone])
                )
        data.append(cells)
    out = []
    if table.caption:
        out.append(Paragraph(text(table.caption), styles["caption"]))
    out.append(PdfTable(data, colWidths=[width * share for share in table.widths], style=style, repeatRows=1))
    return out


# --------------------------------------------------------------------------- the pack


class Built(tuple):
    """``(pptx_path, pdf_path)``, which also knows its plan and how long each step took."""

    plan: Plan
    seconds: dict[str, float]

    def __new__(cls, pptx: Path, pdf: Path, plan: Plan, seconds: dict[str, float]):
        built = super().__new__(cls, (pptx, pdf))
        built.plan, built.seconds = plan, seconds
        return built

    @property
    def pptx(self) -> Path:
        return self[0]

    @property
    def pdf(self) -> Path:
        return self[1]


def _replace_into(write: Callable[[Path], object], path: Path) -> None:
    """Write to a temporary name beside ``path`` and rename: a reader never sees half a file."""
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        write(part)
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)


def build_pack(
    store: DataStore,
    month: str,
    filters: Filters,
    *,
    disclosure: bool = False,
    out_dir: str | Path,
    period_from: str | None = None,
    user: str | None = None,
    progress: ProgressHook | None = None,
) -> Built:
    """Build the monthly pack for one force and month: ``(pptx_path, pdf_path)`` in ``out_dir``.

    Args:
        store: ``ui.state.get_store()`` (the store the pages read; :func:`open_store` outside the app).
        month: ``YYYY-MM``; the period is the :data:`PACK_MONTHS` months ending there.
        filters: force (needed when the data holds several), LPA, local authority.
        disclosure: apply the disclosure rule (``exports.disclosure``) to every number shown.
        out_dir: where ``pack-<force>-YYYY-MM.pptx`` and ``.pdf`` are written (made if missing).
        period_from: a first month other than 11 months before ``month``.
        user: named on the first page and in the pictures' footers.
        progress: called as ``progress(done, total, message)`` before each step and once at the
            end with ``done == total`` (the overview's job passes ``ui.jobs.Progress.report``).

    Raises:
        PackError: a month outside the data, an unknown force, LPA or local authority.
        DataError: the data folder is missing or unreadable.
        exports.routes.RenderError: a trend's picture could not be drawn (no browser, a crash).
    """
    from exports.routes import render_snapshot

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    areas, picture_count = pack_steps(_app_store(store))
    # The plan's steps, then the PowerPoint, each picture and the PDF.
    steps = _Steps(progress, PLAN_STEPS + len(areas) + 1 + picture_count + PDF_STEPS)
    plan = plan_pack(
        store, month, filters, disclosure=disclosure, period_from=period_from, user=user, steps=steps
    )
    seconds["figures"] = time.perf_counter() - started
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = pack_stem(plan.selection)
    pptx_path, pdf_path = out / f"{stem}.pptx", out / f"{stem}.pdf"
    step = time.perf_counter()
    steps.start("Writing the PowerPoint")
    _replace_into(lambda p: write_pptx(plan, p), pptx_path)
    seconds["pptx"] = time.perf_counter() - step
    step = time.perf_counter()
    trends = [page.trend for page in plan.pages if page.trend is not None]
    pictures = {}
    for number, trend in enumerate(trends, start=1):
        steps.start(f"Drawing the pictures for the PDF: {number} of {len(trends)} ({trend.label})")
        pictures[trend.kpi_id] = render_snapshot(trend.figure, "png")
    seconds["pictures"] = time.perf_counter() - step
    step = time.perf_counter()
    pdf_from, page_count = steps.done, len(plan.pages)

    def pdf_page(number: int) -> None:
        # The PDF's steps in proportion to its pages, so the bar keeps moving to the end.
        steps.done = pdf_from + (PDF_STEPS * (number - 1)) // page_count
        steps.start(f"Writing the PDF: page {number} of {page_count}")

    _replace_into(lambda p: write_pdf(plan, p, pictures, on_page=pdf_page), pdf_path)
    seconds["pdf"] = time.perf_counter() - step
    seconds["total"] = time.perf_counter() - started
    steps.finish(f"Done: {len(plan.pages)} pages in {seconds['total']:.0f} s")
    return Built(pptx_path, pdf_path, plan, seconds)
