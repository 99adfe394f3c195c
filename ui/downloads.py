"""The "Download" menu of a chart and the records download links: plain links to ``/export/...``.

The links carry no filters: the pages keep theirs in the URL, and ``assets/export-links.js``
adds the page's current query string to a link with class ``export-link`` when it is
clicked. The server resolves those filters again (``exports.routes``), so a link is only a
convenience: it is shown to analysts, and the routes refuse everyone else.
"""

from __future__ import annotations

import json

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


def chart_download_items(area: str, key: str) -> list[list[str] | None]:
    """The menu's items as [label, href, title], with None for the divider before the controlled ones."""
    plain = [[label, chart_href(area, key, fmt) + query, title] for fmt, query, label, title in CHART_ITEMS]
    controlled = [
        [label, chart_href(area, key, fmt) + query, title] for fmt, query, label, title in CONTROLLED_ITEMS
    ]
    return [*plain, None, *controlled]


def chart_download_menu(area: str, key: str) -> html.Div | None:
    """A small "Download" menu for a chart's toolbar (``key``: "trend-<kpi_id>" or "breakdown-<i>");
    None for a user who may not export (a toolbar's children may hold None).

    One component: the button carries its items as data, and ``assets/export-menu.js`` builds
    the Bootstrap menu of plain links when it is first opened. A page of 22 charts held 176
    menu components that Dash's renderer walked on every update (issue 11)."""
    if not user_may(EXPORT_ROLE):
        return None
    return html.Div(
        html.Button(
            "Download",
            type="button",
            className="btn btn-link btn-sm px-1 dropdown-toggle chart-download-toggle",
            title="Download this chart's picture or numbers",
            **{
                "aria-haspopup": "true",
                "aria-expanded": "false",
                "data-items": json.dumps(chart_download_items(area, key)),
            },
        ),
        className="dropdown chart-download",
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
