"""Exports (issue 12): an area chart as PNG or SVG, its numbers and a KPI's records as CSV or XLSX.

    GET /export/chart/<area>/<key>.<fmt>       png | svg | csv | xlsx; key trend-<kpi_id> or breakdown-<i>
    GET /export/records/<area>/<kpi_id>.<fmt>  csv | xlsx
    GET /export/pack/<job_id>/<file>           the PowerPoint or PDF a monthly-pack job wrote

The query string carries the filters as the pages' URLs do (``from``, ``to``, ``force``, ``lpa``,
``local_authority``) and, for data files, ``disclosure=1`` (``exports.disclosure``). The server
never trusts it: the state is resolved again against the data and the user's allowed force, as
``ui.filters.require_state`` does, and an export is refused rather than quietly made of another
selection than the one asked for (a force-limited user asking for another force gets a 403).

Every file says what it is: a picture carries its title, filters, period, as-of date and data
version, the KPI's source and definition, and for a trend its SPC summary and n
(:func:`snapshot_figure`); a data file opens with the same facts (CSV: a header block; XLSX: a first
sheet "About"), and every cell a spreadsheet would run as a formula is made inert
(``exports.cells.inert_cell``). Exports need the analyst role; records exports also need the
session's records purpose and count against the records rate limit. Each export, done or
refused, is a row of the audit log.

A monthly pack is built as a background job from the overview (``pages/overview.py``,
``ui.jobs``); its files are served only to the analyst whose job it is. Another user's job, a
job that does not exist (or was removed after a day) and a file the job did not write all get
the same 404, so job ids cannot be probed.

Pictures are drawn by one kaleido browser per process (:class:`Renderer`), one at a time.
"""

from __future__ import annotations

import asyncio
import csv
import html as html_text
import io
import logging
import re
import textwrap
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from flask import Blueprint, Response, request
from werkzeug.exceptions import (
    BadRequest,
    Forbidden,
    HTTPException,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
)

from auth import role_allows
from auth.web import current_principal
from exports.cells import inert_cell
from exports.disclosure import NOTE as DISCLOSURE_NOTE
from exports.disclosure import control_count, control_row
from ui.callbacks import record_action
from ui.records import records_scope

log = logging.getLogger("audit")
# kaleido and its browser driver log every tab at INFO: the app's log is for people.
for _name in ("kaleido", "choreographer", "logistro"):
    logging.getLogger(_name).setLevel(logging.WARNING)

EXPORT_ROLE = "analyst"
CHART_FORMATS = ("png", "svg", "csv", "xlsx")
RECORDS_FORMATS = ("csv", "xlsx")
IMAGE_FORMATS = ("png", "svg")
# Presentation size: a 16:9 slide, drawn at twice the pixels for a projector.
SNAPSHOT_WIDTH, SNAPSHOT_HEIGHT, SNAPSHOT_SCALE = 1600, 900, 2
MIME_TYPES = {
    "png": "image/png",
    "svg": "image/svg+xml; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "pdf": "application/pdf",
}
PACK_FORMATS = ("pptx", "pdf")
PACK_JOB = "pack"  # the ui.jobs kind of a monthly pack
DISCLOSURE_OFF = (
    "Not applied: counts and percentages are as recorded. For use inside the force only; "
    "add disclosure=1 to the address for a file that may leave it."
)


# --------------------------------------------------------------------------- names


def slug(text: str) -> str:
    """``text`` as a safe, whole file-name part: ASCII letters, digits and hyphens, lower case.

    Never truncated. A name with no ASCII letter or digit at all (say, all in another script)
    becomes ``x`` and a short hash of it, so that it still names one thing.
    """
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    part = re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-").lower()
    if part:
        return part
    import hashlib

    return "x" + hashlib.sha256(str(text).encode()).hexdigest()[:8]


def file_stem(area: str, what: str, state) -> str:
    """``<area>_<what>_<from>_<to>_<force>[_<lpa>][_<local authority>]`` (every part slugged)."""
    parts = [slug(area).replace("-", "_"), what, state.period_from, state.period_to, slug(state.force)]
    if state.lpa:
        parts.append(slug(state.lpa))
    if state.local_authority:
        parts.append(slug(state.local_authority))
    return "_".join(parts)


def chart_what(view, column: str | None) -> str:
    """The file name's KPI part: the KPI id, with ``-by-<column>`` for a breakdown (one KPI can
    have a trend and several breakdowns on a page; each must have its own name)."""
    if view.kind == "breakdown" and column:
        return f"{view.kpi_id}-by-{slug(column)}"
    return view.kpi_id


# --------------------------------------------------------------------------- what a file says about itself


@dataclass(frozen=True)
class About:
    """What an export rests on, in words: the one source of its header block and its picture's footer."""

    title: str  # what, where, when — as plain text
    area: str  # the area's name
    kpi_id: str
    kpi_label: str
    unit: str
    definition: str
    numerator: str | None
    denominator: str | None
    period_rule: str
    source: str
    target: str
    force: str
    lpa: str | None
    local_authority: str | None
    period_from: str
    period_to: str
    as_of: date | None
    as_of_tables: str  # the source tables whose latest record gives the as-of date
    data_version: str
    spc_words: str = ""
    n: float | None = None
    exported_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    exported_by: str | None = None
    extra: tuple[tuple[str, str], ...] = ()  # further rows for the header block (records: rows shown)

    @property
    def period_words(self) -> str:
        from ui.formatting import period_label

        return period_label(self.period_from, self.period_to)

    @property
    def filter_words(self) -> str:
        return " · ".join(
            [
                f"Force {self.force}",
                f"LPA {self.lpa}" if self.lpa else "all LPAs",
                f"local authority {self.local_authority}"
                if self.local_authority
                else "all local authorities",
            ]
        )

    @property
    def as_of_words(self) -> str:
        if self.as_of is None:
            return f"no records in {self.as_of_tables}"
        return f"{self.as_of.day} {self.as_of:%b %Y} (latest record in {self.as_of_tables})"

    @property
    def n_words(self) -> str:
        if self.n is None or pd.isna(self.n):
            return "n not applicable"
        return f"n = {self.n:,.0f}" if float(self.n).is_integer() else f"n = {self.n:,.1f}"


def where_words(force: str, lpa: str | None, local_authority: str | None) -> str:
    """Where, as the chart titles say it: "Dorset", "Dorset, East LPA", "Dorset, East LPA, Poole"."""
    where = force
    if lpa:
        where += f", {lpa} LPA"
    if local_authority:
        where += f", {local_authority}"
    return where


def as_of(store, state, tables: Sequence[str]) -> tuple[date | None, str]:
    """The data's as-of date for these tables: the earliest of their latest records, as the Data
    quality page shows them ("Latest record", ``queries.quality.table_summary``), for the force."""
    from queries.quality import table_summary

    summary = table_summary(store, state.period, state.filters)
    rows = summary[summary["table_name"].isin(tables)]
    latest = [pd.Timestamp(v) for v in rows["latest_at"] if v is not None and not pd.isna(v)]
    words = ", ".join(t.replace("_", " ") for t in tables)
    return (min(latest).date() if latest else None), words


def build_about(
    area: str,
    kpi_id: str,
    state,
    *,
    title: str,
    spc_words: str = "",
    n: float | None = None,
    user: str | None = None,
    extra: tuple[tuple[str, str], ...] = (),
) -> About:
    """Gather an export's facts: the KPI's definition (``queries.definitions.define``), the store's
    data version and the as-of date of the KPI's source tables."""
    from queries.definitions import define
    from queries.kpis import catalog
    from ui.state import get_store

    store = get_store()
    item = define(kpi_id, store.settings)
    query = catalog().queries[catalog().kpis[kpi_id].query]
    day, tables = as_of(store, state, (query.table, *query.also))
    return About(
        title=title,
        area=item.area,
        kpi_id=kpi_id,
        kpi_label=item.label,
        unit=catalog().kpis[kpi_id].unit,
        definition=item.definition,
        numerator=item.numerator,
        denominator=item.denominator,
        period_rule=item.period_rule,
        source=item.source,
        target=item.target,
        force=state.force,
        lpa=state.lpa,
        local_authority=state.local_authority,
        period_from=state.period_from,
        period_to=state.period_to,
        as_of=day,
        as_of_tables=tables,
        data_version=store.version,
        spc_words=spc_words,
        n=n,
        exported_by=user,
        extra=extra,
    )


def about_rows(about: About, *, disclosure: bool) -> list[tuple[str, str]]:
    """The header block of a data file (CSV) and the rows of its "About" sheet (XLSX)."""
    rows = [
        ("Export", about.title),
        ("Area", about.area),
        ("KPI", f"{about.kpi_label} ({about.kpi_id})"),
        ("Definition", about.definition),
    ]
    if about.numerator:
        rows += [("Numerator", about.numerator), ("Denominator", about.denominator or "")]
    rows += [
        ("Period rule", about.period_rule),
        ("Source", about.source),
        ("Target", about.target),
        ("Force", about.force),
        ("LPA", about.lpa or "All LPAs"),
        ("Local authority", about.local_authority or "All local authorities"),
        ("Period", f"{about.period_words} ({about.period_from} to {about.period_to})"),
        ("Data as of", about.as_of_words),
        ("Data version", about.data_version),
    ]
    if about.spc_words:
        rows.append(("Variation and assurance", about.spc_words))
    if about.n is not None and not pd.isna(about.n):
        shown = control_count(about.n) if disclosure else about.n
        rows.append(("n", f"{shown:,.0f}" if isinstance(shown, int | float) else str(shown)))
    rows += list(about.extra)
    rows.append(("Disclosure control", DISCLOSURE_NOTE if disclosure else DISCLOSURE_OFF))
    by = f" by {about.exported_by}" if about.exported_by else ""
    rows.append(
        ("Exported", f"{about.exported_at:%Y-%m-%d %H:%M} UTC{by}, from the child protection dashboard")
    )
    return rows


# --------------------------------------------------------------------------- the picture

FOOTER_WRAP = 150  # characters per footer line at 1600 px and 15 px type
_FONT_SIZE = re.compile(r"font-size:\s*(\d+)px")


def _escaped(text: object) -> str:
    # Plotly reads a subset of HTML in labels: a value from the data is shown as the characters it is.
    return html_text.escape(str(text), quote=False)


def _bigger(title: str, factor: float = 1.4) -> str:
    """A chart title's inline font sizes scaled up for a slide."""
    return _FONT_SIZE.sub(lambda m: f"font-size:{round(int(m.group(1)) * factor)}px", title)


def footer_lines(about: About) -> list[str]:
    """The picture's footer in Plotly's HTML subset: filters, period, data, source, SPC and n."""
    lines = [
        f"<b>Filters</b>: {_escaped(about.filter_words)}   <b>Period</b>: {_escaped(about.period_words)}",
        f"<b>Data as of</b> {_escaped(about.as_of_words)} · data version {_escaped(about.data_version)}",
    ]
    source = f"Source: {about.source}. {about.definition}"
    wrapped = textwrap.wrap(source, FOOTER_WRAP) or [source]
    lines.append("<b>Source</b>:" + _escaped(wrapped[0][len("Source:") :]))
    lines += [_escaped(line) for line in wrapped[1:]]
    facts = []
    if about.spc_words:
        facts.append(f"<b>SPC</b>: {_escaped(about.spc_words)}")
    facts.append(f"<b>{_escaped(about.n_words)}</b>")
    lines.append(" · ".join(facts))
    lines.append(
        f"<span style='color:#6c757d'>{about.kpi_id} · exported {about.exported_at:%Y-%m-%d %H:%M} UTC "
        "from the child protection dashboard</span>"
    )
    return lines


def snapshot_figure(figure: go.Figure | dict, about: About) -> go.Figure:
    """The chart as a slide: 1600×900, larger type, and a footer saying what it rests on.

    Pure: the figure's data are untouched; its layout gains the size, margins and the footer
    annotation (named "export-footer"). Labels from the data show as text (``figures.text_only``).
    """
    from figures import text_only

    fig = go.Figure(figure)
    title = fig.layout.title.text or _escaped(about.title)
    title_lines = title.count("<br>") + 1
    lines = footer_lines(about)
    line_px = 22
    axis_px = 70  # below the plot: tick labels and axis title
    legend_px = 40  # a trend's legend (mean, limits, special causes); a breakdown leaves it blank
    bottom = axis_px + legend_px + line_px * len(lines) + 16
    top = 50 + 30 * title_lines
    plot_px = SNAPSHOT_HEIGHT - top - bottom
    fig.update_layout(
        width=SNAPSHOT_WIDTH,
        height=SNAPSHOT_HEIGHT,
        font={"size": 16},
        title={
            "text": _bigger(title),
            "font": {"size": 24},
            "x": 0.01,
            "xanchor": "left",
            "y": 1,
            "yref": "container",
            "yanchor": "top",
            "pad": {"t": 24},
        },
        margin={"t": top, "b": bottom, "l": 90, "r": 40},
        legend={"y": -axis_px / plot_px, "yanchor": "top", "x": 0, "font": {"size": 14}},
    )
    fig.add_annotation(
        name="export-footer",
        text="<br>".join(lines),
        xref="paper",
        yref="paper",
        x=0,
        y=0,
        xanchor="left",
        yanchor="top",
        xshift=-80,
        yshift=-(axis_px + legend_px),
        align="left",
        showarrow=False,
        font={"size": 15, "color": "#343a40"},
    )
    return text_only(fig)


def footer_text(fig: go.Figure) -> str:
    """The footer annotation's text (for tests and the pack)."""
    return next(a.text for a in fig.layout.annotations if a.name == "export-footer")


class RenderError(RuntimeError):
    """A picture could not be drawn (no browser, a crash, a timeout); the message says which."""


class Renderer:
    """One headless chromium (kaleido 1.x) per process, drawing one image at a time.

    kaleido's own global server is not thread-safe (kaleido #441/#444: threads can receive each
    other's images), and it waits for ever when its browser has died. So the browser lives in
    one worker thread's event loop, each call waits for its own future with a timeout, calls are
    serialised by a lock, and a browser that failed is started again on the next call. Started
    on first use (not at import, so a forking server never forks a running browser).
    """

    def __init__(self, timeout_s: float = 60.0, start_timeout_s: float = 60.0):
        self.timeout_s = timeout_s
        self.start_timeout_s = start_timeout_s
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._kaleido = None

    def _start(self) -> None:
        import kaleido

        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, name="export-renderer", daemon=True).start()

        async def open_browser():
            # mathjax=False: its default is a CDN script, and the force's network is closed.
            browser = kaleido.Kaleido(n=1, timeout=self.timeout_s, mathjax=False)
            await browser.open()
            return browser

        try:
            self._kaleido = asyncio.run_coroutine_threadsafe(open_browser(), loop).result(
                self.start_timeout_s
            )
        except Exception as exc:
            loop.call_soon_threadsafe(loop.stop)
            raise RenderError(f"the chart renderer (headless chromium) could not start: {exc}") from exc
        self._loop = loop

    def _stop(self) -> None:
        loop, browser = self._loop, self._kaleido
        self._loop = self._kaleido = None
        if loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(browser.close(), loop).result(10)
        except Exception:  # a browser that crashed may not close cleanly; the next start is fresh
            log.warning("the chart renderer did not close cleanly", exc_info=True)
        loop.call_soon_threadsafe(loop.stop)

    def render(self, figure: go.Figure, fmt: str, *, width: int, height: int, scale: float) -> bytes:
        """The figure as PNG or SVG bytes.

        Raises:
            RenderError: the browser could not start, crashed or took longer than the timeout.
        """
        opts = {"format": fmt, "width": width, "height": height, "scale": scale}
        with self._lock:
            if self._loop is None:
                self._start()
            future = asyncio.run_coroutine_threadsafe(self._kaleido.calc_fig(figure, opts=opts), self._loop)
            try:
                return future.result(self.timeout_s + 5)
            except Exception as exc:
                future.cancel()
                self._stop()
                raise RenderError(f"the chart could not be drawn ({type(exc).__name__}: {exc})") from exc

    def close(self) -> None:
        with self._lock:
            self._stop()


renderer = Renderer()


def render_snapshot(fig: go.Figure, fmt: str) -> bytes:
    """A snapshot figure as the PNG (1600×900 at scale 2) or SVG (1600×900) a meeting pack takes."""
    if fmt not in IMAGE_FORMATS:
        raise ValueError(f"not an image format: {fmt!r}")
    return renderer.render(
        fig, fmt, width=SNAPSHOT_WIDTH, height=SNAPSHOT_HEIGHT, scale=SNAPSHOT_SCALE if fmt == "png" else 1
    )


# --------------------------------------------------------------------------- data files


def cell(value: object) -> object:
    """A value as a CSV/XLSX cell: missing → None, numpy → Python, time → naive datetime, text inert."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, pd.Timestamp | datetime):
        stamp = pd.Timestamp(value)
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert(None)
        return stamp.to_pydatetime()
    if isinstance(value, date):
        return value
    return inert_cell(str(value))


def controlled(table: pd.DataFrame, unit: str) -> pd.DataFrame:
    """The chart's numbers with the disclosure rule applied (``exports.disclosure.control_row``).

    Counts (numerator, denominator — and the value itself for a count KPI) from 1 to 4 show
    as "<5"; a value resting on fewer than 5 records is withheld.
    """
    counts = ("numerator", "denominator", *(("value",) if unit == "count" else ()))
    counts = tuple(c for c in counts if c in table.columns)
    value = "value" if unit != "count" and "denominator" in table.columns else None
    rows = [
        control_row(row, counts=counts, value=value, denominator="denominator" if value else None)
        for row in table.to_dict("records")
    ]
    return pd.DataFrame(rows, columns=table.columns)


def _csv_text(value: object) -> object:
    if value is None:
        return ""
    return value.isoformat(sep=" ") if isinstance(value, datetime) else value


def to_csv(header: list[tuple[str, str]], table: pd.DataFrame) -> bytes:
    """A header block (label, text), a blank row, then the table; UTF-8 with a BOM, so Excel reads it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for label, text in header:
        writer.writerow([inert_cell(label), inert_cell(text)])
    writer.writerow([])
    writer.writerow([cell(c) for c in table.columns])
    for row in table.itertuples(index=False):
        writer.writerow([_csv_text(cell(v)) for v in row])
    return out.getvalue().encode("utf-8-sig")


def _xlsx_text(value: object) -> object:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    # A control character an extract may carry makes openpyxl refuse the whole file.
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def to_xlsx(header: list[tuple[str, str]], table: pd.DataFrame, sheet: str = "Data") -> bytes:
    """A workbook: a first sheet "About" (the header block), then the table on ``sheet``."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    about = book.active
    about.title = "About"
    for label, text in header:
        about.append([_xlsx_text(inert_cell(label)), _xlsx_text(inert_cell(text))])
    for (row,) in about.iter_rows(min_col=1, max_col=1):
        row.font = Font(bold=True)
    for (row,) in about.iter_rows(min_col=2, max_col=2):
        row.alignment = Alignment(wrap_text=True, vertical="top")
    about.column_dimensions["A"].width = 24
    about.column_dimensions["B"].width = 110
    data = book.create_sheet(sheet)
    data.append([_xlsx_text(cell(c)) for c in table.columns])
    for row in table.itertuples(index=False):
        data.append([_xlsx_text(cell(v)) for v in row])
    for header_cell in data[1]:
        header_cell.font = Font(bold=True)
    data.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- requests


def split_name(name: str, formats: Sequence[str]) -> tuple[str, str]:
    """``"trend-x.png"`` → ("trend-x", "png"); NotFound for a name without a known format."""
    stem, dot, fmt = name.rpartition(".")
    if not dot or not stem:
        raise NotFound(f"“{name}” names no file: add one of .{', .'.join(formats)}.")
    if fmt not in formats:
        raise NotFound(f"“.{fmt}” is not offered here: use one of .{', .'.join(formats)}.")
    return stem, fmt


def disclosure_asked() -> bool:
    value = request.args.get("disclosure", "")
    if value in ("", "0"):
        return False
    if value == "1":
        return True
    raise BadRequest("disclosure must be 1 (apply disclosure control) or 0.")


def export_state():
    """The filter state of the request, resolved as ``ui.filters.require_state`` resolves a page's.

    Raises:
        Forbidden: a force-limited user asked for another force (never shown), or their force has no data.
        BadRequest: a value the data does not hold, or a month that is not one (the export would
            otherwise be of another selection than the one asked for).
    """
    from queries import DataError
    from ui.filters import allowed_force, load_options, parse_search, resolve

    query = parse_search(request.query_string.decode("utf-8", "replace"))
    limit = allowed_force()
    try:
        state, messages = resolve(query, load_options(), allowed_force=limit)
    except DataError as exc:
        if limit is not None:
            raise Forbidden(f"No export: {exc}.") from exc
        raise
    if limit is not None and query.get("force") and query["force"] != limit:
        raise Forbidden(f"Your account exports {limit} only; “{query['force']}” is not exported.")
    if messages:
        raise BadRequest("No export: " + " ".join(messages))
    return state


def _attachment(body: bytes, fmt: str, stem: str) -> Response:
    response = Response(body, content_type=MIME_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    return response


def _audited(action: str, build: Callable[[dict, dict], Response]) -> Response:
    """Run one export behind the role check, writing its audit row whatever happens."""
    started = time.perf_counter()
    principal = current_principal()
    row: dict = {"page": request.path[:200], "filters": request.query_string.decode("utf-8", "replace")[:500]}
    detail: dict = {}
    outcome, error = "done", None
    try:
        if principal is None:
            raise Unauthorized("Sign in first.")
        if not role_allows(principal.role, EXPORT_ROLE):
            raise Forbidden(f"Exports need the {EXPORT_ROLE} role; you are signed in as {principal.role}.")
        return build(row, detail)
    except HTTPException as exc:
        outcome, error = "refused", exc
    except RenderError as exc:
        outcome, error = "failed", ServiceUnavailable(f"No picture: {exc}. Try again, or export the data.")
    except Exception as exc:
        from queries import DataError

        if not isinstance(exc, DataError):
            outcome = "failed"
            detail["error"] = type(exc).__name__
            raise
        outcome, error = "failed", ServiceUnavailable(f"The data could not be read: {exc}")
    finally:
        if error is not None:
            detail["reason"] = error.description
        record_action(principal, action, outcome, (time.perf_counter() - started) * 1000, detail, **row)
    raise error


@dataclass(frozen=True)
class Export:
    """One file made: its bytes, its name and what it rests on (for the route's audit row)."""

    body: bytes
    fmt: str
    stem: str
    kpi_id: str
    rows: int
    about: About
    total: int | None = None  # records: how many matched (the file holds ``rows`` of them)
    render_ms: int | None = None

    @property
    def filename(self) -> str:
        return f"{self.stem}.{self.fmt}"


def chart_export(
    area: str, key: str, fmt: str, state, *, disclosure: bool = False, user: str | None = None
) -> Export:
    """An area chart as a file: a snapshot picture (png, svg) or its numbers (csv, xlsx).

    ``state`` must already be resolved (the route does it from the request). No request is needed.

    Raises:
        NotFound: no such area, chart or format.
        BadRequest: disclosure control asked of a picture.
        RenderError: the picture could not be drawn.
    """
    from queries.kpis import catalog
    from ui.area_page import AREA_BREAKDOWNS, AREA_PATHS, BREAKDOWN_WORDS, area_chart
    from ui.formatting import period_label

    if area not in AREA_PATHS:
        raise NotFound(f"There is no area “{area}”: use one of {', '.join(AREA_PATHS)}.")
    if fmt not in CHART_FORMATS:
        raise NotFound(f"“.{fmt}” is not offered here: use one of .{', .'.join(CHART_FORMATS)}.")
    if disclosure and fmt in IMAGE_FORMATS:
        raise BadRequest("Disclosure control applies to the numbers (csv, xlsx), not to a picture.")
    try:
        view = area_chart(area, key, state)
    except KeyError:
        raise NotFound(f"The {area} page has no chart “{key}”.") from None
    column = AREA_BREAKDOWNS[area][int(key.partition("-")[2])][1] if view.kind == "breakdown" else None
    label = catalog().kpis[view.kpi_id].label
    if column:
        label += f" by {BREAKDOWN_WORDS.get(column, column)}"
    title = (
        f"{label}, {where_words(state.force, state.lpa, state.local_authority)}, "
        f"{period_label(state.period_from, state.period_to)}"
    )
    about = build_about(area, view.kpi_id, state, title=title, spc_words=view.spc_words, n=view.n, user=user)
    stem = file_stem(area, chart_what(view, column), state)
    if fmt in IMAGE_FORMATS:
        drawn = time.perf_counter()
        body = render_snapshot(snapshot_figure(view.figure, about), fmt)
        render_ms = round((time.perf_counter() - drawn) * 1000)
        return Export(body, fmt, stem, view.kpi_id, len(view.table), about, render_ms=render_ms)
    table = controlled(view.table, about.unit) if disclosure else view.table
    header = about_rows(about, disclosure=disclosure)
    body = to_csv(header, table) if fmt == "csv" else to_xlsx(header, table)
    return Export(body, fmt, stem, view.kpi_id, len(table), about)


def records_export(
    area: str, kpi_id: str, fmt: str, state, *, purpose: str, user: str | None = None, every_row: bool = False
) -> Export:
    """The records behind a KPI (``queries.kpis.kpi_records``, the rows its Records grid shows) as a file.

    Raises:
        NotFound: no such area, KPI on its page, or format.
    """
    from queries.kpis import catalog, kpi_records
    from ui.area_page import AREA_PATHS, area_kpis
    from ui.formatting import period_label
    from ui.state import get_store

    if area not in AREA_PATHS:
        raise NotFound(f"There is no area “{area}”: use one of {', '.join(AREA_PATHS)}.")
    if kpi_id not in area_kpis(area):
        raise NotFound(f"The {area} page has no KPI “{kpi_id}”.")
    if fmt not in RECORDS_FORMATS:
        raise NotFound(f"“.{fmt}” is not offered here: use one of .{', .'.join(RECORDS_FORMATS)}.")
    # The rows the Records grid shows: the KPI's own by default, every row in scope on request.
    records, total = kpi_records(
        get_store(), kpi_id, state.period, state.filters, rows="all" if every_row else "kpi"
    )
    kpi = catalog().kpis[kpi_id]
    shown = f"{len(records):,} of {total:,}"
    if len(records) < total:
        shown += f" (the first {len(records):,}: narrow the filters or the months for the rest)"
    which = records_scope(kpi_id, every_row=every_row)
    title = (
        f"Records behind {kpi.label}: {which}, "
        f"{where_words(state.force, state.lpa, state.local_authority)}, "
        f"{period_label(state.period_from, state.period_to)}"
    )
    extra = (("Rows", shown), ("Purpose", purpose))
    about = build_about(area, kpi_id, state, title=title, user=user, extra=extra)
    stem = file_stem(area, f"{kpi_id}_records", state)
    # Rows, not counts: disclosure control does not apply, so the block does not speak of it.
    header = [(k, v) for k, v in about_rows(about, disclosure=False) if k != "Disclosure control"]
    body = to_csv(header, records) if fmt == "csv" else to_xlsx(header, records, sheet="Records")
    return Export(body, fmt, stem, kpi_id, len(records), about, total=int(total))


blueprint = Blueprint("exports", __name__, url_prefix="/export")


def _done(export: Export, row: dict, detail: dict) -> Response:
    row.update(kpi=export.kpi_id, rows=export.rows)
    detail.update(file=export.filename, data_version=export.about.data_version)
    if export.total is not None:
        detail["total"] = export.total
    if export.render_ms is not None:
        detail["render_ms"] = export.render_ms
    return _attachment(export.body, export.fmt, export.stem)


@blueprint.get("/chart/<area>/<name>")
def export_chart(area: str, name: str) -> Response:
    """A chart of an area page as a picture (png, svg) or its numbers (csv, xlsx)."""

    def build(row: dict, detail: dict) -> Response:
        key, fmt = split_name(name, CHART_FORMATS)
        detail.update(area=area, chart=key, format=fmt)
        disclosure = disclosure_asked()
        detail["disclosure"] = disclosure
        state = export_state()
        row["filters"] = state.to_search()
        export = chart_export(area, key, fmt, state, disclosure=disclosure, user=current_principal().name)
        return _done(export, row, detail)

    return _audited("export chart", build)


@blueprint.get("/records/<area>/<name>")
def export_records(area: str, name: str) -> Response:
    """The pseudonymised records behind a KPI (the rows its Records grid shows) as csv or xlsx."""

    def build(row: dict, detail: dict) -> Response:
        from ui.area_page import AREA_PATHS, area_kpis
        from ui.callbacks import RateLimited, _check_records_rate
        from ui.purpose import NEEDED, records_purpose

        kpi_id, fmt = split_name(name, RECORDS_FORMATS)
        detail.update(area=area, format=fmt)
        if area not in AREA_PATHS or kpi_id not in area_kpis(area):
            raise NotFound(f"The {area} page has no KPI “{kpi_id}”.")
        row["kpi"] = kpi_id
        if disclosure_asked():
            raise BadRequest("Records are rows, not counts: disclosure control does not apply to them.")
        purpose = records_purpose()
        if purpose is None:
            raise Forbidden(NEEDED)
        row["purpose"] = purpose
        principal = current_principal()
        try:  # the records views' own limit: an export is a records view too
            _check_records_rate(principal)
        except RateLimited as exc:
            raise TooManyRequests(str(exc)) from None
        rows = request.args.get("rows", "kpi")
        if rows not in ("kpi", "all"):
            raise BadRequest("rows must be “kpi” (the rows the KPI counts) or “all” (every row in scope).")
        state = export_state()
        row["filters"] = state.to_search()
        export = records_export(
            area, kpi_id, fmt, state, purpose=purpose, user=principal.name, every_row=rows == "all"
        )
        return _done(export, row, detail)

    return _audited("export records", build)


@blueprint.get("/pack/<job_id>/<name>")
def export_pack_file(job_id: str, name: str) -> Response:
    """A file (pptx, pdf) of the signed-in analyst's own monthly-pack job, once it is done."""

    def build(row: dict, detail: dict) -> Response:
        from flask import send_file

        from ui.jobs import JobNotFound, job_file, job_status

        detail.update(job=job_id[:40], file=name[:160])
        _stem, fmt = split_name(name, PACK_FORMATS)
        try:
            status = job_status(job_id, current_principal().name)
            if status.get("kind") != PACK_JOB:
                raise JobNotFound("no such job")
            path = job_file(job_id, current_principal().name, name)
        except JobNotFound:
            raise NotFound(
                "No such pack file of yours: a pack is kept for a day after it is built, "
                "and only for the analyst who built it. Build it again from the overview."
            ) from None
        asked = status.get("detail") or {}
        row["filters"] = asked.get("filters")
        detail.update(month=asked.get("month"), disclosure=asked.get("disclosure"), bytes=path.stat().st_size)
        response = send_file(path, mimetype=MIME_TYPES[fmt], as_attachment=True, download_name=name)
        response.headers["Cache-Control"] = "no-store"
        return response

    return _audited("export pack download", build)
