"""The monthly pack (issue 12): its PowerPoint and PDF read back against the KPI command and queries.

The synthetic pack is built once, by the command a force runs (``python -m exports pack``), and
read back with python-pptx and pypdf: slides and pages one for one with the plan, the native
charts' series against ``kpi_table`` month by month, the notes' sentences against
``kpi.summary.exceptions``, the matrix against ``python -m queries kpis``. Disclosure control
is checked on the KPI tests' tiny hand-made extract, where counts of 1–4 and percentages on
fewer than 5 records are everywhere. The command's refusals need no pack.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from exports import pack as pack_module
from exports.disclosure import NOTE, SUPPRESSED_COUNT, WITHHELD
from queries.kpis import Filters, Period, catalog, kpi_table
from tests import kpi_fixtures
from ui.formatting import format_value, month_label

ROOT = Path(__file__).resolve().parent.parent
MONTH = "2023-03"
FROM = "2022-04"  # the 12 months ending MONTH
SECTIONS = [
    pack_module.SECTION_TITLE,
    pack_module.SECTION_EXCEPTIONS,
    pack_module.SECTION_MATRIX,
    pack_module.SECTION_TRENDS,
    pack_module.SECTION_RECOMMENDATIONS,
    pack_module.SECTION_DEFINITIONS,
    pack_module.SECTION_QUALITY,
]


def run_cli(*args: str, instance: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "CPD_INSTANCE_DIR": str(instance)}
    command = [sys.executable, "-m", "exports", "pack", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def kpi_command(data_dir: Path, period_from: str, period_to: str, force: str) -> dict:
    command = [
        sys.executable,
        "-m",
        "queries",
        "kpis",
        "--data",
        str(data_dir),
        "--from",
        period_from,
        "--to",
        period_to,
        "--force",
        force,
        "--json",
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout)["kpis"]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def built(synthetic_dir, tmp_path_factory):
    """The synthetic pack for Dorset, Mar 2023, as the command line builds it."""
    out = tmp_path_factory.mktemp("pack")
    instance = tmp_path_factory.mktemp("pack-instance")
    done = run_cli("--data", str(synthetic_dir), "--month", MONTH, "--out", str(out), instance=instance)
    assert done.returncode == 0, done.stderr
    return {"out": out, "stdout": done.stdout, "instance": instance}


@pytest.fixture(scope="module")
def store(synthetic_dir):
    return pack_module.open_store(synthetic_dir)


@pytest.fixture(scope="module")
def plan(store, built):
    """The same pack's plan, in-process (no pictures): what the files must hold."""
    return pack_module.plan_pack(store, MONTH, Filters("Dorset"))


@pytest.fixture(scope="module")
def deck(built):
    from pptx import Presentation

    return Presentation(built["out"] / "pack-dorset-2023-03.pptx")


@pytest.fixture(scope="module")
def pdf_pages(built):
    from pypdf import PdfReader

    reader = PdfReader(built["out"] / "pack-dorset-2023-03.pdf")
    return reader, [page.extract_text() for page in reader.pages]


def chart_of(slide):
    return next(shape.chart for shape in slide.shapes if shape.has_chart)


def table_of(slide):
    return next(shape.table for shape in slide.shapes if shape.has_table)


def table_rows(table) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


# --------------------------------------------------------------------------- the files


def test_the_command_writes_both_files_and_says_how_long_it_took(built):
    assert sorted(p.name for p in built["out"].iterdir()) == [
        "pack-dorset-2023-03.pdf",
        "pack-dorset-2023-03.pptx",
    ]
    assert re.search(r"Built in \d+\.\d s \(figures .* PDF \d+\.\d s\)", built["stdout"])


def test_the_command_writes_an_audit_row(built, plan):
    from auth import audit

    rows = audit.search(audit.Query(action="export pack"), path=built["instance"] / "audit.sqlite")
    assert len(rows) == 1
    assert rows[0]["outcome"] == "done" and rows[0]["role"] == "cli"
    detail = json.loads(rows[0]["detail"])
    assert detail["pack_id"] == plan.pack_id and detail["pages"] == len(plan.pages)


def test_the_deck_is_16_9_with_a_slide_for_each_page_in_order(deck, plan):
    assert deck.slide_width * 9 == deck.slide_height * 16
    assert len(deck.slides) == len(plan.pages)
    assert [slide.shapes.title.text for slide in deck.slides] == [page.title for page in plan.pages]
    assert list(dict.fromkeys(page.section for page in plan.pages)) == SECTIONS
    assert sum(page.section == pack_module.SECTION_QUALITY for page in plan.pages) == 1


def test_there_is_a_trend_for_each_kpi_with_a_target_in_area_order(plan, store):
    from kpi.summary import kpis_with_target

    trends = [page.trend.kpi_id for page in plan.pages if page.trend is not None]
    with_target = kpis_with_target(store)
    order = list(catalog().areas)
    assert sorted(trends) == sorted(with_target)
    assert trends == sorted(
        with_target, key=lambda k: (order.index(catalog().kpis[k].area), with_target.index(k))
    )


def test_the_first_page_names_the_pack(deck, plan, pdf_pages, store):
    _reader, texts = pdf_pages
    first = " ".join(shape.text_frame.text for shape in deck.slides[0].shapes if shape.has_text_frame)
    for text in (first, texts[0]):
        flat = " ".join(text.split())
        assert "Dorset" in flat and "Mar 2023" in flat
        assert plan.pack_id in flat and store.version in flat
        assert "Apr 2022 – Mar 2023: the 12 months ending Mar 2023" in flat
        assert "Not applied" in flat and "Disclosure control applied" not in flat
        assert "--from 2022-04 --to 2023-03 --force Dorset" in flat
    # The contents' page numbers are the plan's.
    for section, first_page, last_page in plan.sections()[1:]:
        pages = f"p. {first_page}" if first_page == last_page else f"pp. {first_page}–{last_page}"
        assert f"{section} ({pages})" in " ".join(texts[0].split())


def test_each_trend_chart_holds_the_kpi_values_month_by_month(deck, plan, store):
    period, filters = Period(FROM, MONTH), Filters("Dorset")
    months = period.month_labels()
    for slide, page in zip(deck.slides, plan.pages, strict=True):
        if page.trend is None:
            continue
        chart = chart_of(slide)
        plot = chart.plots[0]
        assert list(plot.categories) == [month_label(m) for m in months]
        monthly = kpi_table(store, period, filters, monthly=True, kpi_ids=[page.trend.kpi_id])
        expected = [None if v is None else float(v) for v in monthly["value"]]
        values = list(plot.series[0].values)
        assert values == pytest.approx(expected, rel=1e-12, abs=1e-12), page.trend.kpi_id
        names = [series.name for series in plot.series]
        assert names[0] == page.trend.label
        assert {"Mean", "Lower process limit", "Upper process limit"} <= set(names)
        target = store.settings.targets[page.trend.kpi_id].target
        target_series = plot.series[names.index(next(n for n in names if n.startswith("Target")))]
        assert list(target_series.values) == [target] * len(months)


def test_a_single_month_equals_its_point_on_the_chart(deck, plan, store):
    page_index, page = next((i, p) for i, p in enumerate(plan.pages) if p.trend is not None)
    values = list(chart_of(deck.slides[page_index]).plots[0].series[0].values)
    for index in (0, 5, 11):
        month = Period(FROM, MONTH).month_labels()[index]
        one = kpi_table(store, Period(month, month), Filters("Dorset"), kpi_ids=[page.trend.kpi_id])
        assert values[index] == pytest.approx(float(one["value"].iloc[0]))


def test_the_mean_and_limits_are_the_spc_engines(deck, plan, store):
    from kpi.summary import kpi_history, kpi_spc
    from queries.kpis import KPI_IDS
    from ui.state import get_events

    history = kpi_history(store, Period(FROM, MONTH), Filters("Dorset"), list(KPI_IDS))
    results = kpi_spc(history, list(KPI_IDS), store.settings, get_events())
    for slide, page in zip(deck.slides, plan.pages, strict=True):
        if page.trend is None:
            continue
        frame = results[page.trend.kpi_id].frame.set_index("month").loc[Period(FROM, MONTH).month_labels()]
        series = {s.name: list(s.values) for s in chart_of(slide).plots[0].series}
        assert series["Mean"] == pytest.approx(list(frame["mean"]))
        unit = page.trend.unit
        upper = [min(v, 100.0) if unit == "pct" else v for v in frame["upper"]]
        lower = [max(v, 0.0) for v in frame["lower"]]
        assert series["Upper process limit"] == pytest.approx(upper)
        assert series["Lower process limit"] == pytest.approx(lower)


def test_special_causes_are_coloured_points_with_their_own_shape(deck, plan):
    seen = 0
    for slide, page in zip(deck.slides, plan.pages, strict=True):
        if page.trend is None:
            continue
        series = chart_of(slide).plots[0].series[0]
        points = {
            int(dpt.xpath("./c:idx/@val")[0]): (
                dpt.xpath("./c:marker/c:symbol/@val")[0],
                dpt.xpath("./c:marker/c:spPr/a:solidFill/a:srgbClr/@val")[0],
            )
            for dpt in series._element.xpath("./c:dPt")
        }
        for index, variation in enumerate(page.trend.variation):
            if variation in pack_module.POINT_STYLES and page.trend.values[index] is not None:
                colour, symbol, _words = pack_module.POINT_STYLES[variation]
                hollow = page.trend.small[index]
                assert points[index] == (symbol, "FFFFFF" if hollow else colour), (page.trend.kpi_id, index)
                seen += 1
    assert seen, "the synthetic month has special causes to colour"


def test_notes_hold_the_sentences(deck, plan, store):
    from kpi.summary import exceptions, kpi_history, kpi_spc
    from queries.kpis import KPI_IDS
    from ui.state import get_events

    history = kpi_history(store, Period(FROM, MONTH), Filters("Dorset"), list(KPI_IDS))
    results = kpi_spc(history, list(KPI_IDS), store.settings, get_events())
    sentences = {e.kpi_id: e.sentence for e in exceptions(results, store.settings, format_value, MONTH)}
    exception_notes = " ".join(
        slide.notes_slide.notes_text_frame.text
        for slide, page in zip(deck.slides, plan.pages, strict=True)
        if page.section == pack_module.SECTION_EXCEPTIONS
    )
    for slide, page in zip(deck.slides, plan.pages, strict=True):
        if page.trend is None:
            continue
        notes = slide.notes_slide.notes_text_frame.text
        kpi_id, label = page.trend.kpi_id, page.trend.label
        if kpi_id in sentences:
            assert notes == f"{label}: {sentences[kpi_id]}"
        else:  # no exception this month: value, target and status in a plain sentence
            row = kpi_table(store, Period(FROM, MONTH), Filters("Dorset"), kpi_ids=[kpi_id])
            assert format_value(row["value"].iloc[0], page.trend.unit) in notes
            assert "against a target of" in notes
    from kpi.briefing import sort_exceptions

    briefing = sort_exceptions(exceptions(results, store.settings, format_value, MONTH), results, MONTH)
    listed = [e for e, _new in briefing.concerns] + briefing.at_risk
    assert listed and all(e.sentence in exception_notes for e in listed)


def test_the_matrix_equals_the_kpi_command(deck, plan, pdf_pages, synthetic_dir, store):
    from kpi.summary import kpis_with_target

    values = kpi_command(synthetic_dir, FROM, MONTH, "Dorset")
    expected = {
        catalog().kpis[k].label: format_value(values[k], catalog().kpis[k].unit)
        for k in kpis_with_target(store)
    }
    shown = {}
    pdf_text = []
    for slide, page, text in zip(deck.slides, plan.pages, pdf_pages[1], strict=True):
        if page.section != pack_module.SECTION_MATRIX:
            continue
        pdf_text.append(text)
        for row in table_rows(table_of(slide))[1:]:
            if row[1]:  # an area heading spans the row
                shown[row[0]] = row[1]
    assert shown == expected
    text = "\n".join(pdf_text)
    for label, value in expected.items():
        assert re.search(re.escape(value) + r"\s", text), (label, value)


def test_the_pdf_has_a_page_for_each_page_numbered(pdf_pages, plan):
    reader, texts = pdf_pages
    assert len(reader.pages) == len(plan.pages)
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of {len(plan.pages)}" in text
        assert plan.pack_id in text
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (842, 595)  # A4 landscape


def test_each_pdf_trend_page_shows_its_picture_and_its_numbers(pdf_pages, plan, store):
    reader, texts = pdf_pages
    for index, page in enumerate(plan.pages):
        if page.trend is None:
            continue
        images = [xobj.get_object() for xobj in reader.pages[index]["/Resources"]["/XObject"].values()]
        assert any((int(i["/Width"]), int(i["/Height"])) == (3200, 1800) for i in images)
        flat = " ".join(texts[index].split())
        assert page.trend.label in flat
        row = kpi_table(store, Period(FROM, MONTH), Filters("Dorset"), kpi_ids=[page.trend.kpi_id])
        assert format_value(row["value"].iloc[0], page.trend.unit) in flat
        assert " ".join(page.trend.sentence.split()) in flat


def test_every_page_of_the_deck_fits_the_slide(deck):
    for slide in deck.slides:
        for shape in slide.shapes:
            assert shape.left >= 0 and shape.top >= 0
            assert shape.left + shape.width <= deck.slide_width
            assert shape.top + shape.height <= deck.slide_height, (slide.shapes.title.text, shape.name)


# --------------------------------------------------------------------------- disclosure control


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("pack-small")
    kpi_fixtures.write_fixtures(data_dir, kpi_fixtures.all_frames())
    return data_dir


@pytest.fixture(scope="module")
def controlled(small_dir, tmp_path_factory):
    """The hand-made extract's pack for Dorset, Mar 2022, with disclosure control."""
    store = pack_module.open_store(small_dir)
    out = tmp_path_factory.mktemp("pack-controlled")
    built = pack_module.build_pack(store, "2022-03", Filters("Dorset"), disclosure=True, out_dir=out)
    return store, built


def _expected(value, denominator, unit) -> str:
    if value is None:
        return format_value(value, unit)
    if unit == "count":
        return SUPPRESSED_COUNT if 0 < value <= 4 else format_value(value, unit)
    if denominator is not None and 0 < denominator < 5:
        return WITHHELD
    return format_value(value, unit)


def test_disclosure_control_applies_the_rule_to_the_matrix(controlled):
    from pptx import Presentation

    store, built = controlled
    plan = built.plan
    period = Period(plan.selection.state.period_from, "2022-03")
    table = kpi_table(
        store, period, Filters("Dorset"), kpi_ids=[k for k in catalog().kpis if k in store.settings.targets]
    )
    expected = {
        catalog().kpis[k].label: _expected(v, d, catalog().kpis[k].unit)
        for k, v, d in zip(table["kpi_id"], table["value"], table["denominator"], strict=True)
    }
    assert SUPPRESSED_COUNT in expected.values() and WITHHELD in expected.values()  # the rule is exercised
    deck = Presentation(built.pptx)
    shown = {}
    for slide, page in zip(deck.slides, plan.pages, strict=True):
        if page.section == pack_module.SECTION_MATRIX:
            shown |= {row[0]: row[1] for row in table_rows(table_of(slide))[1:] if row[1]}
    assert shown == expected


def test_disclosure_control_is_said_on_the_first_page_and_every_footer(controlled):
    from pypdf import PdfReader

    _store, built = controlled
    texts = [" ".join(page.extract_text().split()) for page in PdfReader(built.pdf).pages]
    assert len(texts) == len(built.plan.pages)
    assert " ".join(NOTE.split()) in texts[0]
    assert all("disclosure control applied" in text for text in texts)
    joined = " ".join(texts)
    assert SUPPRESSED_COUNT in joined and WITHHELD in joined
    assert "Dec 2021 – Mar 2022: Dorset's data starts Dec 2021" in texts[0]  # the period held to the data


def test_disclosure_control_takes_small_months_out_of_charts_and_pictures(controlled):
    from pptx import Presentation

    store, built = controlled
    plan = built.plan
    deck = Presentation(built.pptx)
    period = Period(plan.selection.state.period_from, "2022-03")
    checked = 0
    for slide, page in zip(deck.slides, plan.pages, strict=True):
        if page.trend is None:
            continue
        unit = page.trend.unit
        monthly = kpi_table(store, period, Filters("Dorset"), monthly=True, kpi_ids=[page.trend.kpi_id])
        values = list(chart_of(slide).plots[0].series[0].values)
        for value, shown, (v, d) in zip(
            values, page.trend.values, zip(monthly["value"], monthly["denominator"], strict=True), strict=True
        ):
            if v is not None and _expected(v, d, unit) in (SUPPRESSED_COUNT, WITHHELD):
                assert value is None and shown is None
                checked += 1
            elif v is not None:
                assert value == pytest.approx(float(v))
        # The picture: no point of the month's figure at a withheld month.
        hidden = {m for m, v in zip(page.trend.months, page.trend.values, strict=True) if v is None}
        for trace in page.trend.figure.data:
            if trace.hoverinfo == "skip" or trace.y is None:
                continue
            for x, y in zip(trace.x, trace.y, strict=True):
                if f"{x}"[:7] in hidden:
                    assert y is None
    assert checked


def test_disclosure_control_rewrites_a_sentence_that_would_quote_a_small_figure(synthetic_dir):
    store = pack_module.open_store(synthetic_dir)
    plan = pack_module.plan_pack(store, MONTH, Filters("Dorset"), disclosure=True)
    month = kpi_table(store, Period(MONTH, MONTH), Filters("Dorset"))
    small = {
        catalog().kpis[k].label
        for k, v, d in zip(month["kpi_id"], month["value"], month["denominator"], strict=True)
        if _expected(v, d, catalog().kpis[k].unit) in (SUPPRESSED_COUNT, WITHHELD)
    }
    items = [i for p in plan.pages if p.section == pack_module.SECTION_EXCEPTIONS for i in p.items]
    withheld = f"Its figure for {month_label(MONTH)} rests on fewer than 5 records and is withheld"
    on_small = [i for i in items if i.heading in small]
    # A sentence quotes the month's figure only for a signal; a target at risk quotes process limits.
    assert all(i.text.startswith((withheld, "Its process limits")) for i in on_small)
    assert any(i.text.startswith(withheld) for i in on_small), (
        "the synthetic month has a signal on a small count"
    )
    assert not any(re.search(r"\([1-4];", i.text) for i in on_small)


def test_without_disclosure_control_the_same_figures_are_shown_as_recorded(controlled, small_dir):
    store = pack_module.open_store(small_dir)  # ui.state's store: another test may have moved it
    plan = pack_module.plan_pack(store, "2022-03", Filters("Dorset"), disclosure=False)
    matrix = [page for page in plan.pages if page.section == pack_module.SECTION_MATRIX]
    cells = [row[1].text for page in matrix for row in page.tables[0].rows if len(row) > 1]
    assert SUPPRESSED_COUNT not in cells and WITHHELD not in cells
    assert plan.pages[0].lines[7][1] == pack_module.DISCLOSURE_OFF


# --------------------------------------------------------------------------- the command's refusals


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--data", "{missing}", "--month", "2023-03"), "does not exist"),
        (("--data", "{data}", "--month", "2024-03"), "Mar 2024 is outside Dorset's data"),
        (
            ("--data", "{data}", "--month", "2023-03", "--force", "Wessex"),
            "Force “Wessex” is not in the data",
        ),
        (("--data", "{data}", "--month", "2023-13"), "not a real month"),
        (
            ("--data", "{data}", "--month", "2023-03", "--lpa", "Nowhere"),
            "LPA “Nowhere” is not in Dorset's data",
        ),
        (("--data", "{two_forces}", "--month", "2022-03"), "holds 2 forces (Dorset, Wiltshire): name one"),
    ],
)
def test_the_command_refuses_with_a_sentence_and_exit_code_2(args, says, synthetic_dir, small_dir, tmp_path):
    folders = {"missing": tmp_path / "no-such-folder", "data": synthetic_dir, "two_forces": small_dir}
    filled = [a.format(**folders) for a in args]
    out = tmp_path / "out"
    done = run_cli(*filled, "--out", str(out), instance=tmp_path / "instance", timeout=120)
    assert done.returncode == 2, done.stderr
    assert says in done.stderr
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    assert not out.exists() or not any(out.iterdir())


def test_build_pack_needs_the_store_the_pages_read(synthetic_dir, tmp_path):
    from queries import DataStore

    with pytest.raises(ValueError, match=r"ui\.state"):
        pack_module.build_pack(DataStore(synthetic_dir), MONTH, Filters("Dorset"), out_dir=tmp_path)
