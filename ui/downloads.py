"""The "Download" menu of a chart and the records download links: plain links to ``/export/...``.

The links carry no filters: the pages keep theirs in the URL, and ``assets/export-links.js``
adds the page's current query string to a link with class ``export-link`` when it is
clicked. The server resolves those filters again (``exports.routes``), so a link is only a
convenience: it is shown to analysts, and the routes refuse everyone else.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from ui.callbacks import user_may

EXPORT_ROLE = "analyst"
CHART_ITEMS = (
    ("png", "", "Picture (PNG)", "A 1600 × 900 image for slides, with its filters, source and date"),
    ("svg", "", "Picture (SVG)", "The same picture as a scalable drawing"),
    ("csv", "", "Numbers (CSV)", "The chart's numbers with a header naming the filters and definition"),
    ("xlsx", "", "Numbers (Excel)", "The chart's numbers, with an About sheet"),
)
CONTROLLED_ITEMS = (
    ("csv", "?disclosure=1", "Numbers (CSV), disclosure controlled", "Counts of 1–4 as “<5”"),
    ("xlsx", "?disclosure=1", "Numbers (Excel), disclosure controlled", "Counts of 1–4 as “<5”"),
)


def chart_href(area: str, key: str, fmt: str) -> str:
    return f"/export/chart/{area}/{key}.{fmt}"


def records_href(area: str, kpi_id: str, fmt: str, *, every_row: bool = False) -> str:
    return f"/export/records/{area}/{kpi_id}.{fmt}" + ("?rows=all" if every_row else "")


def _link(text: str, href: str, title: str, class_name: str) -> html.A:
    # A plain <a download>: Dash's router never takes it, the browser saves the file.
    return html.A(text, href=href, download="", title=title, className=f"{class_name} export-link")


def chart_download_menu(area: str, key: str) -> dbc.DropdownMenu | None:
    """A small "Download" menu for a chart's toolbar (``key``: "trend-<kpi_id>" or "breakdown-<i>");
    None for a user who may not export (a toolbar's children may hold None)."""
    if not user_may(EXPORT_ROLE):
        return None
    items = [
        _link(label, chart_href(area, key, fmt) + query, title, "dropdown-item small")
        for fmt, query, label, title in CHART_ITEMS
    ]
    items.append(html.Hr(className="dropdown-divider"))
    items += [
        _link(label, chart_href(area, key, fmt) + query, title, "dropdown-item small")
        for fmt, query, label, title in CONTROLLED_ITEMS
    ]
    return dbc.DropdownMenu(
        items,
        label="Download",
        size="sm",
        color="link",
        align_end=True,
        class_name="chart-download",
        toggle_class_name="px-1",
    )


def records_download_links(area: str, kpi_id: str, *, every_row: bool = False) -> html.Div | None:
    """Links "Download these records: CSV · Excel" for a records view; None for a user who may not export."""
    if not user_may(EXPORT_ROLE):
        return None
    title = "The rows shown here, with a header naming the filters, the purpose and the definition"
    return html.Div(
        [
            html.Span("Download these records: ", className="me-1"),
            _link("CSV", records_href(area, kpi_id, "csv", every_row=every_row), title, "records-download"),
            html.Span(" · ", **{"aria-hidden": "true"}),
            _link(
                "Excel", records_href(area, kpi_id, "xlsx", every_row=every_row), title, "records-download"
            ),
        ],
        className="small records-downloads mb-2",
    )
